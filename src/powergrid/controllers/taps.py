"""Regulator taps of microgrids (``network.agent_sections``) for the rule-based and optimising controllers: the
regulator's band rule (``powergrid.devices.regulator``) on the measured voltages (taps are not in the optimisers'
plans: voltage is kept by this rule)."""

from __future__ import annotations

from dataclasses import replace

from powergrid.actions import Actions, Observation
from powergrid.devices.regulator import tap_rule
from powergrid.scenarios.build import Community


def regulated_band(community: Community) -> tuple[float, float] | None:
    """The voltage band (pu) the tap rule keeps, for microgrids with controllable taps; None otherwise."""
    network = community.network
    return None if network is None or not network.sectioned else network.config.voltage_band


def regulate(actions: Actions, obs: Observation, band: tuple[float, float] | None) -> Actions:
    """``actions`` with taps by ``tap_rule`` (unchanged when ``band`` is None)."""
    if band is None:
        return actions
    return replace(actions, tap=tap_rule(obs.tap, obs.section_v_min_pu, obs.section_v_max_pu, band))
