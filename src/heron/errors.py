"""heron's own error types: one base class, one subclass per part. Each is also a ValueError (bad input);
``ConvergenceError`` (an iteration budget exhausted) is a RuntimeError as well, ``UnknownAgentError`` (a lookup in
the agent tree) a KeyError."""

from __future__ import annotations


class HeronError(ValueError):
    """Base of every error heron raises."""


class OrderBookError(HeronError):
    """An order book or clearing argument is malformed (shapes, non-finite values, price rule parameters)."""


class ProtocolError(HeronError):
    """A coordination protocol got bad parameters or inputs (bounds, prices, graphs, fees)."""


class AgentTreeError(HeronError):
    """The agent tree is malformed (duplicate ids, bad bounds)."""


class MessagingError(HeronError):
    """The message broker got bad settings (latency, drop probability)."""


class ConvergenceError(HeronError, RuntimeError):
    """An iterative protocol (consensus) did not converge within its iteration budget: too few iterations, too
    tight a tolerance, or too large a step for the communication graph. Also a ``RuntimeError``."""


class UnknownAgentError(AgentTreeError, KeyError):
    """An agent id that is not in the tree (a lookup: also a ``KeyError``)."""
