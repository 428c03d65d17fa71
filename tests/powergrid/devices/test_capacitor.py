"""Switched capacitor banks as a controllable set-point of microgrids: the rule, the FeasibilityFilter, the engine
(state, observation, power flow, result, run directory), merit-order and the microgrid environment."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import numpy as np
import pytest

from powergrid.actions import Actions
from powergrid.analytics.kpis import compute_kpis
from powergrid.controllers.rules import GridOnly
from powergrid.controllers.taps import regulate
from powergrid.devices.capacitor import capacitor_rule
from powergrid.engine import CommunityEngine
from powergrid.envs.multi_agent_microgrids import MultiAgentMicrogrids
from powergrid.errors import ActionError
from powergrid.runner.simulate import simulate
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import build_community

BAND = (0.95, 1.05)


@cache
def community():
    return build_community(load_scenario("multi-microgrid"))


@pytest.mark.parametrize(
    ("on", "v_min", "v_max", "expected"),
    [
        (0.0, 0.94, 1.02, 1.0),  # too low, room above: in
        (1.0, 0.99, 1.07, 0.0),  # too high, room below: out
        (0.0, 0.94, 1.045, 0.0),  # too low but the top is within the margin: hold
        (1.0, 0.955, 1.07, 1.0),  # too high but the bottom is within the margin: hold
        (1.0, 0.97, 1.03, 1.0),  # inside: hold
        (0.0, np.nan, np.nan, 0.0),  # nothing measured: hold
        (np.nan, 0.94, 1.0, np.nan),  # no banks in the section
    ],
)
def test_capacitor_rule_switches_in_when_low_and_out_when_high(on, v_min, v_max, expected):
    out = capacitor_rule(np.array([on]), np.array([v_min]), np.array([v_max]), BAND)
    np.testing.assert_array_equal(out, [expected])


def step_with(capacitor, t: int = 12):
    engine = CommunityEngine(community())
    engine.reset(t)
    obs = engine.observe()
    actions = Actions(np.zeros(2), np.zeros(2), np.full(2, obs.price_floor), capacitor=capacitor)
    return engine, engine.step(actions, obs)


def test_switching_the_banks_out_lowers_the_voltages_and_is_recorded():
    engine = CommunityEngine(community())
    assert engine.observe().capacitor.tolist() == [1.0, 1.0]  # both sections' banks are in as built
    _, on = step_with(np.array([1.0, 1.0]))
    after, off = step_with(np.array([0.0, 0.2]))  # 0.2 rounds to out
    _, mixed = step_with(np.array([0.0, 1.0]))
    assert off.capacitor.tolist() == [0.0, 0.0] and after.observe().capacitor.tolist() == [0.0, 0.0]
    assert (off.voltage_pu < on.voltage_pu - 0.01).all()  # less reactive support: lower voltages at the agents
    assert (off.network.section_v_max < on.network.section_v_max).all()
    assert mixed.voltage_pu[0] == pytest.approx(off.voltage_pu[0], abs=2e-3)  # each section switches its own
    assert mixed.voltage_pu[1] == pytest.approx(on.voltage_pu[1], abs=2e-3)
    assert not on.interventions.capacitor_clipped.any() and not off.interventions.capacitor_clipped.any()


def test_a_nan_capacitor_set_point_holds_the_banks_and_is_counted():
    _, result = step_with(np.array([np.nan, 0.0]))
    assert result.capacitor.tolist() == [1.0, 0.0]
    assert result.interventions.capacitor_clipped.tolist() == [True, False]
    assert not result.interventions.nonfinite.any()  # the rest of the action stands
    with pytest.raises(ActionError, match=r"actions\.capacitor must have shape"):
        step_with(np.zeros(3))


def test_a_community_without_banks_has_no_capacitor_state():
    engine = CommunityEngine(build_community(load_scenario("community-5")))
    obs = engine.observe()
    assert np.isnan(obs.capacitor).all()
    result = engine.step(replace(Actions.idle(obs.load_kw.size), capacitor=np.ones(obs.load_kw.size)), obs)
    assert np.isnan(result.capacitor).all() and not result.interventions.capacitor_clipped.any()


def test_merit_orders_rule_switches_the_banks_out_when_the_taps_cannot_lower_the_voltage():
    obs = CommunityEngine(community()).observe()
    high = replace(obs, section_v_min_pu=np.array([0.99, 0.99]), section_v_max_pu=np.array([1.07, 1.03]))
    rule = regulate(Actions.idle(2), replace(high, tap=np.array([10.0, 10.0])), BAND, capacitors=True)
    assert rule.tap.tolist() == [6.0, 10.0] and rule.capacitor.tolist() == [1.0, 1.0]  # the taps act first
    stuck = replace(high, section_v_min_pu=np.array([0.955, 0.99]))  # no room to step down: the taps hold
    rule = regulate(Actions.idle(2), stuck, BAND, capacitors=True)
    assert rule.tap.tolist() == obs.tap.tolist()
    assert rule.capacitor.tolist() == [1.0, 1.0]  # the bottom has no margin either: hold
    roomy = replace(high, section_v_min_pu=np.array([0.965, 0.99]))  # 2 steps of room: taps move, banks wait
    assert regulate(Actions.idle(2), roomy, BAND, capacitors=True).capacitor.tolist() == [1.0, 1.0]
    assert regulate(Actions.idle(2), high, BAND).capacitor is None  # without capacitors=True: untouched
    limits = (np.full(2, -16.0), np.full(2, 16.0))
    at_limit = replace(high, tap=np.array([-16.0, -16.0]))  # the regulators cannot step further down: banks out
    rule = regulate(Actions.idle(2), at_limit, BAND, capacitors=True, tap_range=limits)
    assert rule.tap.tolist() == [-16.0, -16.0] and rule.capacitor.tolist() == [0.0, 1.0]


class BanksOnly(GridOnly):
    """grid-only (taps as built, at peak settings) with the banks switched by their voltage rule."""

    observes_network = True

    def act(self, obs):
        band = (0.95, 1.05)
        on = capacitor_rule(obs.capacitor, obs.section_v_min_pu, obs.section_v_max_pu, band)
        return replace(super().act(obs), capacitor=on)


def test_switching_the_banks_by_their_rule_takes_buses_out_of_overvoltage():
    """With the built (peak) taps the feeders sit above the band; the rule switches the banks out."""
    switched = []
    totals = simulate(community(), BanksOnly(), stop=48, on_step=lambda r: switched.append(r.capacitor.copy()))
    banks = compute_kpis(totals).community
    fixed = compute_kpis(simulate(community(), "grid-only", stop=48)).community
    assert (np.array(switched) == 0.0).any()
    assert banks["voltage_violations"] < 0.9 * fixed["voltage_violations"]


def test_the_microgrid_env_switches_the_banks_from_its_capacitor_slot():
    env = MultiAgentMicrogrids({"max_episode_steps": 2, "start": 12})
    assert env.slots == ("generator", "storage", "regulator", "capacitor")
    env.reset()
    keep = {"MG1": np.array([-1.0, 0.0, 0.0, 1.0]), "MG2": np.array([0.0, 0.0, 0.0, 1.0])}
    _, _, _, _, on = env.step(keep)
    env.reset()
    _, _, _, _, off = env.step({a: np.append(v[:3], -1.0) for a, v in keep.items()})
    assert on["MG1"]["result"].capacitor.tolist() == [1.0, 1.0]
    assert off["MG1"]["result"].capacitor.tolist() == [0.0, 0.0]
    assert (off["MG1"]["result"].voltage_pu < on["MG1"]["result"].voltage_pu).all()
    obs, *_ = env.step({"MG1": np.array([-1.0, 0.0, 0.0, np.nan]), "MG2": np.array([0.0, 0.0, 0.0, -1.0])})
    assert obs["MG1"][8] == 0.0  # the observation's capacitor entry: MG1's banks held (out), counted below
    assert env.totals["nonfinite"].tolist() == [1.0, 0.0]


def test_the_run_directory_records_the_banks_state(tmp_path):
    from powergrid.analytics.results import read_run
    from powergrid.runner.compare import run_controllers

    raw = load_scenario("multi-microgrid").model_dump(mode="json")
    raw["time"]["n_steps"] = 24
    (tmp_path / "mo").mkdir()
    run_controllers(build_community(load_scenario(raw)), ["merit-order"], out_dirs={"merit-order": tmp_path / "mo"})
    timeseries, _, _ = read_run(tmp_path / "mo")
    assert set(timeseries["capacitor"].unique()) <= {0.0, 1.0}
    assert timeseries["capacitor"].notna().all()
