"""Accumulating power-grid-model input rows for the feeders we build ourselves (IEEE 13 from its OpenDSS files).

Units: power-grid-model's (volts, ohms, farads, watts, var). Every component gets its id from one counter, so ids
are unique across component types and all below ``AGENT_ID_BASE`` (checked when the arrays are made).
"""

from __future__ import annotations

import numpy as np
from power_grid_model import BranchSide, initialize_array

from powergrid.errors import DataError
from powergrid.network.model import AGENT_ID_BASE

#: Lower triangle of a 3×3 phase matrix as power-grid-model's asym_line field suffixes → (row, column).
LOWER_TRIANGLE = {"aa": (0, 0), "ba": (1, 0), "bb": (1, 1), "ca": (2, 0), "cb": (2, 1), "cc": (2, 2)}
#: Tap fields of a transformer without a tap changer (its ratio is fixed by u1 and u2).
NO_TAP = {"tap_side": BranchSide.from_side, "tap_pos": 0, "tap_min": 0, "tap_max": 0, "tap_nom": 0, "tap_size": 0}


class RowBuilder:
    """Accumulates power-grid-model rows; ids from one counter (from 1); node names in the order nodes are made.

    ``regulators`` and ``capacitors`` collect the ids of the controllable components (transformers with a tap
    changer; shunts or generators that model switched capacitors) in the order they are added.
    """

    def __init__(self, what: str) -> None:
        self.what = what
        self.rows: dict[str, list[dict]] = {}
        self.next_id = 1
        self.names: list[str] = []
        self.regulators: list[int] = []
        self.capacitors: list[int] = []

    def add(self, component: str, **fields) -> int:
        cid = self.next_id
        self.next_id += 1
        self.rows.setdefault(component, []).append({"id": cid, **fields})
        return cid

    def new_node(self, name: str, u_rated: float) -> int:
        """A node of rated (line-to-line) voltage ``u_rated`` (V)."""
        self.names.append(name)
        return self.add("node", u_rated=u_rated)

    def transformer(self, from_node: int, to_node: int, **fields) -> int:
        """A transformer without magnetising branch; without tap fields in ``fields`` its ratio is fixed."""
        return self.add(
            "transformer",
            from_node=from_node,
            to_node=to_node,
            from_status=1,
            to_status=1,
            i0=0.0,
            p0=0.0,
            **{**NO_TAP, **fields},
        )

    def asym_line(self, from_node: int, to_node: int, z: np.ndarray, c: np.ndarray, i_n: float = np.nan) -> int:
        """A 3×3 line: z (Ω) and c (F, Maxwell form) lower triangles."""
        f = {"i_n": i_n}
        for tag, (i, j) in LOWER_TRIANGLE.items():
            f[f"r_{tag}"], f[f"x_{tag}"], f[f"c_{tag}"] = z[i, j].real, z[i, j].imag, c[i, j]
        return self.add("asym_line", from_node=from_node, to_node=to_node, from_status=1, to_status=1, **f)

    def arrays(self) -> dict[str, np.ndarray]:
        """The rows as power-grid-model input arrays, component name → structured array."""
        if self.next_id >= AGENT_ID_BASE:
            raise DataError(f"{self.what} needs {self.next_id} component ids, above AGENT_ID_BASE")
        out = {}
        for component, rows in self.rows.items():
            arr = initialize_array("input", component, len(rows))
            for i, row in enumerate(rows):
                for key, value in row.items():
                    arr[key][i] = value
            out[component] = arr
        return out


def embed(m: np.ndarray, phases: tuple[int, ...], fill: complex) -> np.ndarray:
    """A 3×3 matrix with ``m`` on ``phases``; missing phases get ``fill`` on the diagonal and no coupling."""
    out = np.zeros((3, 3), dtype=complex)
    missing = [p for p in range(3) if p not in phases]
    out[np.ix_(phases, phases)] = m
    out[missing, missing] = fill
    return out
