"""Error types. Every message names what is wrong and where (field, file, row, agent, step)."""


class HeronGridError(Exception):
    """Base class for errors caused by bad input or violated invariants (not internal bugs)."""


class ScenarioError(HeronGridError):
    """A scenario file or object is invalid."""


class DataError(HeronGridError):
    """An input data file (profiles, tariffs) is malformed, incomplete or does not cover the scenario."""


class ActionError(HeronGridError):
    """Actions passed to the engine have the wrong shape or type."""


class ConservationError(HeronGridError):
    """An energy or money balance did not close within tolerance."""


class ResultsError(HeronGridError):
    """A results directory cannot be written or read."""
