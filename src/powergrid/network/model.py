"""A feeder as power-grid-model input data plus the names and connection points the engine needs.

Units follow power-grid-model: volts, ohms, farads, amperes, watts, var. Agents (households) are not part of a
Feeder: the solver adds one load per agent at its connection node when it is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

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

    @property
    def node_ids(self) -> np.ndarray:
        return self.input_data["node"]["id"]

    @property
    def source_node(self) -> int:
        return int(self.input_data["source"]["node"][0])
