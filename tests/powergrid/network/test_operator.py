"""Grid-aware operation: the stressed built-in feeder, the network operator's check of battery schedules
(``market.network_constraints: enforce``), the network in every controller's observation, violations priced."""

from __future__ import annotations

import numpy as np
import pytest

from powergrid.actions import Actions, Observation
from powergrid.engine import CommunityEngine
from powergrid.errors import ScenarioError
from powergrid.runner.compare import run_controllers
from powergrid.runner.simulate import simulate
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import build_community
from scenario_factory import tiny_dict

DAYS = 2


class NightCharger:
    """Grid-blind on purpose: every battery charges at full power in the cheap night window (01:00–05:00)."""

    name = "night-charger"
    fallbacks = 0
    fallback_events: tuple[str, ...] = ()
    observes_network = False

    def reset(self, community) -> None:
        self.hours = community.grid.index.hour.to_numpy()

    def act(self, obs: Observation) -> Actions:
        night = 1 <= self.hours[obs.t] < 5
        battery = obs.max_charge_kw if night else np.zeros_like(obs.max_charge_kw)
        return Actions(battery, np.zeros_like(battery), np.full_like(battery, obs.price_floor))


def feeder(constraints: str):
    """Two days of pv-rich-feeder (extends the built-in, as a user's file would)."""
    raw = {
        "extends": "pv-rich-feeder",
        "name": f"feeder-{constraints}",
        "time": {"n_steps": 24 * DAYS},
        "market": {"network_constraints": constraints},
    }
    return build_community(load_scenario(raw))


@pytest.fixture(scope="module")
def runs():
    out = {}
    for constraints in ("ignore", "enforce"):
        steps: dict[str, list] = {}
        c = feeder(constraints)
        for name in ("grid-only", "mpc", "night-charger"):
            steps[name] = []
            simulate(c, NightCharger() if name == "night-charger" else name, on_step=steps[name].append)
        out[constraints] = (c, steps)
    return out


def _violations(steps) -> np.ndarray:
    return np.array([r.network.violations + r.network.overloads for r in steps])


@pytest.mark.parametrize("blind", ["mpc", "night-charger"])
def test_grid_blind_charging_breaks_the_feeder(runs, blind):
    base = _violations(runs["ignore"][1]["grid-only"])
    assert _violations(runs["ignore"][1][blind]).sum() > base.sum()  # batteries charging together at night


def test_the_operator_stops_a_grid_blind_controller(runs):
    _, ignore = runs["ignore"]
    _, enforce = runs["enforce"]
    base = _violations(ignore["grid-only"])
    np.testing.assert_array_equal(_violations(enforce["grid-only"]), base)  # nothing to curtail without batteries
    assert np.all(_violations(enforce["night-charger"]) <= base)  # step by step: no worse than load and PV alone
    curtailed = sum(r.network_curtailed.sum() for r in enforce["night-charger"])
    assert curtailed > 0 and sum(r.network_curtailed.sum() for r in ignore["night-charger"]) == 0


def test_mpc_plans_within_the_linearised_limits(runs):
    """Under enforce MPC's LP carries the feeder: nothing of its plan breaks a limit or needs curtailing."""
    _, enforce = runs["enforce"]
    assert np.all(_violations(enforce["mpc"]) <= _violations(enforce["grid-only"]))
    assert sum(r.network_curtailed.sum() for r in enforce["mpc"]) == pytest.approx(0.0, abs=1e-9)


def test_enforcement_keeps_most_of_the_savings(runs):
    def cost(steps):
        return sum((r.cash_cost + r.unserved_cost).sum() for r in steps)

    saved = {k: cost(runs[k][1]["grid-only"]) - cost(runs[k][1]["mpc"]) for k in runs}
    assert saved["enforce"] >= 0.9 * saved["ignore"]


def test_curtailed_battery_energy_is_part_of_the_position_not_an_imbalance():
    """With orders on realised values nothing deviates from the position but what the operator curtailed — and
    that counts as the position (settled at the tariff), not as an imbalance at the imbalance price."""
    raw = {
        "extends": "pv-rich-feeder",
        "name": "f",
        "time": {"n_steps": 24},
        "market": {"gate": "realised", "imbalance_price": 5.0},
    }
    steps: list = []
    simulate(build_community(load_scenario(raw)), NightCharger(), on_step=steps.append)
    assert sum(r.network_curtailed.sum() for r in steps) > 0
    for r in steps:
        np.testing.assert_allclose(r.imbalance, 0.0, atol=1e-9)
        np.testing.assert_allclose(r.grid_cost, r.imported * r.retail - r.exported * r.feed_in, atol=1e-9)


def test_observations_carry_the_last_steps_voltage_and_path_loading():
    c = feeder("ignore")
    engine = CommunityEngine(c)
    first = engine.observe()
    assert np.isnan(first.voltage_pu).all() and np.isnan(first.path_loading).all()

    r = engine.step(Actions.idle(c.n_agents, first.price_floor))
    second = engine.observe()
    np.testing.assert_array_equal(second.voltage_pu, r.voltage_pu)
    trafo = r.network.max_trafo_loading  # every path runs through the feeder's one transformer
    assert np.all(second.path_loading >= trafo - 1e-12)
    assert np.all(second.path_loading <= max(r.network.max_line_loading, trafo) + 1e-12)
    plain = CommunityEngine(build_community(load_scenario(tiny_dict())))
    plain.step(Actions.idle(8, 0.08))
    assert np.isnan(plain.observe().voltage_pu).all()


def test_violations_are_priced_at_the_penalty_for_every_controller(runs):
    c, _ = runs["ignore"]
    penalty = c.network.config.violation_penalty
    out = run_controllers(c, ["grid-only"])["grid-only"].kpis.community
    assert out["violation_cost"] == pytest.approx(penalty * (out["voltage_violations"] + out["overloads"]))
    k = run_controllers(build_community(load_scenario(tiny_dict())), ["grid-only"])["grid-only"].kpis.community
    assert str(k["violation_cost"]) == "n/a"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"market": {"network_constraints": "enforce"}}, "network_constraints: 'enforce' needs a feeder"),
        ({"network": {"feeder": "cigre-lv", "voltage_band": [0.7, 1.05]}}, "network.voltage_band: must be"),
        ({"network": {"feeder": "cigre-lv", "voltage_band": [0.95, 1.25]}}, "network.voltage_band: must be"),
        ({"network": {"feeder": "cigre-lv", "violation_penalty": -1}}, "violation_penalty: Input should be greater"),
    ],
)
def test_bad_network_settings_name_the_field(change, message):
    with pytest.raises(ScenarioError, match=message):
        load_scenario(tiny_dict(**change))
