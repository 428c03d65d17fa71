"""A feeder as power-grid-model input data plus the names and connection points the engine needs.

Units follow power-grid-model: volts, ohms, farads, amperes, watts, var. Agents (households) are not part of a
Feeder: the solver adds one load per agent at its connection node when it is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from powergrid.errors import DataError

#: Ids of components the solver adds (agent loads) start here, above any feeder component id.
AGENT_ID_BASE = 10_000_000


@dataclass(frozen=True)
class Feeder:
    """A distribution feeder ready for power-grid-model.

    Attributes:
        name: library name, e.g. ``"cigre-lv"``.
        input_data: power-grid-model input, component name → structured array (``initialize_array``), including
            the feeder's own loads (background loads, if any) and exactly one source (the upstream grid).
        symmetric: True for a balanced three-phase model (symmetric power flow); False needs asymmetric flow.
        node_names: a readable name per node, aligned with ``input_data["node"]``.
        connection_nodes: node ids where households may connect (load buses of the feeder), ascending.
        connection_phases: for asymmetric feeders, the phases (0 = a, 1 = b, 2 = c) present at each
            connection node, aligned with ``connection_nodes``; empty for symmetric feeders.
        lv_nodes: node ids whose voltage counts for the voltage band (the low-voltage side).
        description: where the data come from.
        phase_mask: for asymmetric feeders, (n_nodes, 3) booleans: which phases exist at each node (laterals lack
            some); None = all three everywhere.
        sections: (n_nodes,) integers aligned with ``input_data["node"]``: the section (microgrid) 0..S−1 of each
            node, −1 for the shared upstream nodes (the source node, a common bus). A branch may join a section to
            the shared nodes or stay within one section, never join two sections. None = no sections (S = 0).
        regulators: per section (S entries, or none at all), the ids of the ``transformer`` rows whose tap
            changers a controller sets together (gang operation: one tap_pos per section).
        capacitors: per section (S entries, or none at all), the ids of the switchable capacitor components
            (``shunt``, ``sym_gen`` or ``asym_gen`` rows; a controller sets their ``status``).
    """

    name: str
    input_data: dict[str, np.ndarray]
    symmetric: bool
    node_names: tuple[str, ...]
    connection_nodes: np.ndarray
    lv_nodes: np.ndarray
    connection_phases: tuple[tuple[int, ...], ...] = field(default_factory=tuple)
    description: str = ""
    phase_mask: np.ndarray | None = None
    sections: np.ndarray | None = None
    regulators: tuple[np.ndarray, ...] = field(default_factory=tuple)
    capacitors: tuple[np.ndarray, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        n_nodes = self.input_data["node"].size
        if self.sections is not None:
            sec = np.asarray(self.sections)
            used = np.unique(sec[sec >= 0]) if sec.shape == (n_nodes,) else None
            if used is None or (sec.size and sec.min() < -1) or not np.array_equal(used, np.arange(used.size)):
                raise DataError(
                    f"feeder {self.name!r}: sections must be ({n_nodes},) integers −1..S−1 with every section used"
                )
        for what, groups in (("regulators", self.regulators), ("capacitors", self.capacitors)):
            if groups and len(groups) != self.n_sections:
                raise DataError(
                    f"feeder {self.name!r}: {what} has {len(groups)} entries for {self.n_sections} sections"
                )

    @property
    def n_sections(self) -> int:
        """The number of sections S (0 without sections)."""
        if self.sections is None or not np.size(self.sections):
            return 0
        return int(np.max(self.sections)) + 1

    @property
    def node_ids(self) -> np.ndarray:
        return self.input_data["node"]["id"]

    @property
    def source_node(self) -> int:
        return int(self.input_data["source"]["node"][0])
