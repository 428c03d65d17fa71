"""Per-section control and reporting for a sectioned Feeder (microgrids off a common bus), for ``FeederSolver``.

Everything a step needs is precomputed here as index arrays, so a solve does no Python loop over components:

- own-load scaling: each own load (any load component type, any load model) belongs to the section of its node;
  a ``(B,)`` scale multiplies every own load, a ``(B, S)`` scale each load by its section's column (loads on the
  shared nodes, section −1, by 1);
- regulator taps: ``tap_pos (B, S)`` integer steps, every regulator of section s gets column s (gang operation);
- capacitor switching: ``capacitor_on (B, S)``, the ``status`` of each section's capacitor components;
- per-section LV voltage extremes and band violations (the per-section power sums are in ``reduce``).
"""

from __future__ import annotations

import numpy as np
from power_grid_model import ComponentType

from powergrid.errors import DataError, HeronGridError
from powergrid.network.model import Feeder
from powergrid.network.reduce import LOADS, node_sections

_CAPACITORS = (ComponentType.shunt, ComponentType.sym_gen, ComponentType.asym_gen)


class NetworkError(HeronGridError):
    """A power flow could not be solved at all, or its controls (taps, capacitors, scales) are invalid."""


def _rows(arr: np.ndarray | None, ids: np.ndarray) -> np.ndarray:
    """Row of each id in the component array ``arr`` (−1 where absent)."""
    if arr is None or not arr.size:
        return np.full(ids.size, -1)
    order = np.argsort(arr["id"])
    pos = np.minimum(np.searchsorted(arr["id"], ids, sorter=order), arr.size - 1)
    rows = order[pos]
    return np.where(arr["id"][rows] == ids, rows, -1)


class SectionControls:
    """Index arrays of a feeder's own loads, regulators and capacitors by section (module docstring).

    Args:
        feeder: the network (``n_sections`` = S, 0 without sections).
        lv_mask: (n_nodes,) booleans, the nodes that count for the voltage band.
    """

    def __init__(self, feeder: Feeder, lv_mask: np.ndarray) -> None:
        data = feeder.input_data
        self.name = feeder.name
        self.n_sections = s = feeder.n_sections
        node_sec = node_sections(feeder, feeder.node_ids)
        self._lv_in = (lv_mask[None, :] & (node_sec[None, :] == np.arange(s)[:, None])).astype(float)  # (S, n)
        # own loads: component → (ids, p, q, column into [scale | 1]: the last column for shared nodes)
        self.loads = {}
        for c in LOADS:
            if c in data and data[c].size:
                sec = node_sections(feeder, data[c]["node"])
                col = np.where(sec >= 0, sec, s)
                self.loads[c] = (
                    data[c]["id"].copy(),
                    data[c]["p_specified"].copy(),
                    data[c]["q_specified"].copy(),
                    col,
                )
        self.regulators = self._regulators(data, feeder.regulators)
        self._has_regulators = np.isin(np.arange(s), self.regulators[1]) if self.regulators else np.zeros(s, bool)
        self.capacitors = self._capacitors(data, feeder.capacitors)

    def _grouped(self, groups: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Ids of all groups and the section (group index) of each."""
        ids = np.concatenate([*groups, []]).astype(np.int64)
        col = np.concatenate([np.full(len(g), k) for k, g in enumerate(groups)] + [[]]).astype(np.int64)
        return ids, col

    def _regulators(self, data: dict, groups: tuple[np.ndarray, ...]):
        """(ids, section, built tap_pos, per-section lowest and highest allowed step) or None."""
        ids, col = self._grouped(groups)
        if not ids.size:
            return None
        trafo = data.get(ComponentType.transformer)
        rows = _rows(trafo, ids)
        if trafo is None or np.any(rows < 0):
            raise DataError(f"feeder {self.name!r}: regulator ids {ids[rows < 0].tolist()} are not transformers")
        lo = np.minimum(trafo["tap_min"][rows], trafo["tap_max"][rows]).astype(np.int64)
        hi = np.maximum(trafo["tap_min"][rows], trafo["tap_max"][rows]).astype(np.int64)
        sec_lo, sec_hi = (
            np.full(self.n_sections, np.iinfo(np.int8).min),
            np.full(self.n_sections, np.iinfo(np.int8).max),
        )
        np.maximum.at(sec_lo, col, lo)
        np.minimum.at(sec_hi, col, hi)
        return ids, col, trafo["tap_pos"][rows].copy(), sec_lo, sec_hi

    def _capacitors(self, data: dict, groups: tuple[np.ndarray, ...]) -> dict:
        """Component → (ids, section, built status) of the capacitor rows."""
        ids, col = self._grouped(groups)
        out, found = {}, np.zeros(ids.size, dtype=bool)
        for c in _CAPACITORS:
            rows = _rows(data.get(c), ids)
            hit = rows >= 0
            if hit.any():
                out[c] = (ids[hit], col[hit], data[c]["status"][rows[hit]].copy())
                found |= hit
        if not found.all():
            raise DataError(
                f"feeder {self.name!r}: capacitor ids {ids[~found].tolist()} are not shunt / sym_gen / asym_gen rows"
            )
        return out

    # ------------------------------------------------------------------------------------------ updates

    def _sectioned(self, values, batch: int, what: str, unit: str) -> np.ndarray:
        arr = np.asarray(values)
        if arr.shape != (batch, self.n_sections):
            raise NetworkError(
                f"{what} must have shape (B, S) = ({batch}, {self.n_sections}) for feeder {self.name!r} "
                f"({unit}); got {arr.shape}"
            )
        return arr

    def load_values(self, scale, batch: int) -> dict[str, tuple[np.ndarray, dict[str, np.ndarray]]]:
        """Own loads scaled by ``scale`` ((B,) or (B, S); None = as built): component → (ids, {"p_specified",
        "q_specified": (B, n) or (B, n, 3) W / var})."""
        if not self.loads:
            return {}
        if scale is None:
            factor = np.ones((batch, self.n_sections + 1))
        else:
            arr = np.asarray(scale, dtype=float)
            if arr.shape == (batch,):
                factor = np.repeat(arr[:, None], self.n_sections + 1, axis=1)
            elif self.n_sections and arr.shape == (batch, self.n_sections):
                factor = np.concatenate([arr, np.ones((batch, 1))], axis=1)
            else:
                shapes = f"({batch},)" + (f" or ({batch}, {self.n_sections})" if self.n_sections else "")
                raise NetworkError(
                    f"background_scale must have shape {shapes} for feeder {self.name!r}; got {arr.shape}"
                )
            if not np.isfinite(arr).all():
                raise NetworkError(f"background_scale for feeder {self.name!r} is not finite: {arr.tolist()}")
        out: dict[str, tuple[np.ndarray, dict[str, np.ndarray]]] = {}
        for c, (ids, p, q, col) in self.loads.items():
            f = factor[:, col] if p.ndim == 1 else factor[:, col, None]
            out[c] = (ids, {"p_specified": p * f, "q_specified": q * f})
        return out

    def tap_values(self, tap_pos, batch: int) -> dict[str, tuple[np.ndarray, dict[str, np.ndarray]]]:
        """Regulators at ``tap_pos`` ((B, S) whole steps; None = as built): transformer → (ids, {"tap_pos"})."""
        if self.regulators is None:
            if tap_pos is not None:
                self._sectioned(tap_pos, batch, "tap_pos", "whole tap steps")
            return {}
        ids, col, built, lo, hi = self.regulators
        if tap_pos is None:
            pos = np.broadcast_to(built, (batch, ids.size))
        else:
            arr = self._sectioned(tap_pos, batch, "tap_pos", "whole tap steps")
            whole = np.issubdtype(arr.dtype, np.integer) or (
                np.issubdtype(arr.dtype, np.floating) and np.isfinite(arr).all() and (arr == np.round(arr)).all()
            )
            if not whole:
                raise NetworkError(f"tap_pos for feeder {self.name!r} must be whole tap steps; got {arr.tolist()}")
            bad = self._has_regulators & ((arr < lo) | (arr > hi))
            if bad.any():
                b, k = np.argwhere(bad)[0]
                raise NetworkError(
                    f"tap_pos {arr[b, k]} of section {k} (scenario {b}) of feeder {self.name!r} is outside the "
                    f"range of its regulators [{lo[k]}, {hi[k]}]"
                )
            pos = arr[:, col]
        return {ComponentType.transformer: (ids, {"tap_pos": pos})}

    def capacitor_values(self, on, batch: int) -> dict[str, tuple[np.ndarray, dict[str, np.ndarray]]]:
        """Capacitors switched by ``on`` ((B, S) booleans; None = as built): component → (ids, {"status"})."""
        arr = None
        if on is not None:
            arr = self._sectioned(on, batch, "capacitor_on", "booleans")
            if arr.dtype != bool and not np.isin(arr, (0, 1)).all():
                raise NetworkError(f"capacitor_on for feeder {self.name!r} must be booleans; got {arr.tolist()}")
        return {
            c: (ids, {"status": np.broadcast_to(built, (batch, ids.size)) if arr is None else arr[:, col]})
            for c, (ids, col, built) in self.capacitors.items()
        }

    # ------------------------------------------------------------------------------------------ results

    def voltages(self, u_lo: np.ndarray, u_hi: np.ndarray, band: tuple[float, float]):
        """Per-section (B, S): lowest and highest voltage (pu) over the section's LV nodes (±inf without any) and
        the count of its LV nodes outside ``band``; ``u_lo``, ``u_hi``: (B, n_nodes) per-node extremes."""
        lv = self._lv_in[None] > 0  # (1, S, n_nodes)
        v_min = np.where(lv, u_lo[:, None, :], np.inf).min(axis=-1)
        v_max = np.where(lv, u_hi[:, None, :], -np.inf).max(axis=-1)
        outside = ((u_lo < band[0]) | (u_hi > band[1])).astype(float)  # (B, n_nodes)
        return v_min, v_max, (outside @ self._lv_in.T).astype(np.int64)
