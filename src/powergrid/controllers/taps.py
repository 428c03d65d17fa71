"""Voltage control of microgrids (``network.agent_sections``) for the rule-based and optimising controllers: the
regulator's band rule (``powergrid.devices.regulator``) on the measured voltages, and, for the rules that ask for
it, the switched capacitors' rule (``powergrid.devices.capacitor``). Neither is in the optimisers' plans: voltage
is kept by these rules."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from powergrid.actions import Actions, Observation
from powergrid.devices.capacitor import capacitor_rule
from powergrid.devices.regulator import tap_rule
from powergrid.scenarios.build import Community


def regulated_band(community: Community) -> tuple[float, float] | None:
    """The voltage band (pu) the tap rule keeps, for microgrids with controllable taps; None otherwise."""
    network = community.network
    return None if network is None or not network.sectioned else network.config.voltage_band


def tap_limits(community: Community) -> tuple[np.ndarray, np.ndarray] | None:
    """(lowest, highest) regulator step of each microgrid (N,); None without controllable taps."""
    network = community.network
    if network is None or not network.sectioned:
        return None
    from powergrid.network.setup import NetworkStage

    return NetworkStage(network).tap_range()


def regulate(
    actions: Actions,
    obs: Observation,
    band: tuple[float, float] | None,
    capacitors: bool = False,
    tap_range: tuple[np.ndarray, np.ndarray] | None = None,
) -> Actions:
    """``actions`` with taps by ``tap_rule`` (clipped into ``tap_range`` (lowest, highest) (N,) when given) and,
    with ``capacitors``, the banks switched by ``capacitor_rule`` (where the sections have banks: ``obs.capacitor``
    finite) in the sections whose taps hold their step this time (the usual coordination: the slower capacitor
    control acts behind the regulators, when they are at a limit, have no room or nothing to do, so both do not
    correct the same deviation at once); unchanged when ``band`` is None."""
    if band is None:
        return actions
    v_min, v_max = obs.section_v_min_pu, obs.section_v_max_pu
    tap = tap_rule(obs.tap, v_min, v_max, band)
    tap = tap if tap_range is None else np.clip(tap, *tap_range)
    actions = replace(actions, tap=tap)
    if capacitors and np.isfinite(obs.capacitor).any():
        switched = capacitor_rule(obs.capacitor, v_min, v_max, band)
        actions = replace(actions, capacitor=np.where(tap == obs.tap, switched, obs.capacitor))
    return actions
