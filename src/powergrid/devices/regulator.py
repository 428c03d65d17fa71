"""The on-load tap changer of a voltage regulator: its standard band rule, as arrays over microgrids."""

from __future__ import annotations

import numpy as np

#: Voltage change of one regulator step (pu): a 32-step regulator, ±10 % in 0.625 % steps (ANSI C57.15).
TAP_STEP_PU = 0.00625

#: Margin (pu) inside the voltage band that the tap rule aims for.
TAP_MARGIN_PU = 0.005


def tap_rule(
    tap: np.ndarray, v_min: np.ndarray, v_max: np.ndarray, band: tuple[float, float], margin: float = TAP_MARGIN_PU
) -> np.ndarray:
    """The band rule of an on-load tap changer, on the measured extremes of each section (arrays (N,), pu):
    step down by as many steps as the highest voltage exceeds ``high − margin``, else up by as many as the lowest
    falls below ``low + margin``, never so far that the other extreme leaves the band; hold where nothing was
    measured (NaN) or both extremes are inside. Returns the new steps (N,) (whole numbers; the FeasibilityFilter
    clips to the regulators' range)."""
    lo, hi = band[0] + margin, band[1] - margin
    down = np.ceil(np.maximum(v_max - hi, 0.0) / TAP_STEP_PU)
    up = np.ceil(np.maximum(lo - v_min, 0.0) / TAP_STEP_PU)
    room_down = np.floor(np.maximum(v_min - band[0], 0.0) / TAP_STEP_PU)  # steps before v_min leaves the band
    room_up = np.floor(np.maximum(band[1] - v_max, 0.0) / TAP_STEP_PU)
    move = np.where(down > 0, -np.minimum(down, room_down), np.minimum(up, room_up))
    return np.where(np.isfinite(v_min) & np.isfinite(v_max) & np.isfinite(tap), tap + move, tap)
