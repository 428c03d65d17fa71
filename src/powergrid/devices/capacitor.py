"""Switched capacitor banks of microgrids: the standard voltage-controlled switching rule, as arrays over agents.

A shunt capacitor injects reactive power, which raises the voltages downstream of it (by roughly ``Q·X / V²``):
a voltage-controlled capacitor controller switches the bank in when the voltage is too low and out when it is too
high (e.g. Kersting, *Distribution System Modeling and Analysis*, 4th ed., §8.2; the OpenDSS ``CapControl`` in
voltage mode). Here all banks of a microgrid's feeder section switch together (``capacitor_on`` of
``powergrid.network.powerflow.FeederSolver``), and the rule acts only when a measured extreme is outside the
band, leaving the regulators' tap rule (``powergrid.devices.regulator``) to keep the voltages inside it.
"""

from __future__ import annotations

import numpy as np

#: Margin (pu) inside the band that the other extreme must keep for a switching to be allowed (a bank moves the
#: voltages of an IEEE 13 node feeder by about 1 %).
CAPACITOR_MARGIN_PU = 0.01


def capacitor_rule(
    on: np.ndarray, v_min: np.ndarray, v_max: np.ndarray, band: tuple[float, float], margin: float = CAPACITOR_MARGIN_PU
) -> np.ndarray:
    """The switching rule on the measured extremes of each section (arrays (N,), pu; ``on`` 1.0 in / 0.0 out):
    switch in where the lowest voltage is below the band and the highest is at least ``margin`` below its top;
    switch out where the highest voltage is above the band and the lowest at least ``margin`` above its bottom;
    hold otherwise, and where nothing was measured (NaN) or the section has no bank (``on`` NaN). Returns the new
    states (N,) (1.0 / 0.0, NaN where ``on`` is NaN)."""
    low, high = band
    switch_in = (v_min < low) & (v_max <= high - margin)
    switch_out = (v_max > high) & (v_min >= low + margin)
    new = np.where(switch_in, 1.0, np.where(switch_out, 0.0, on))
    return np.where(np.isfinite(on), new, on)
