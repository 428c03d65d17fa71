"""The batched engine (K copies stepped as (K, N) arrays): every copy is exactly the unbatched engine."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from powergrid.actions import Actions
from powergrid.engine import CommunityEngine, StepResult
from powergrid.errors import ActionError, ConservationError
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import build_community
from scenario_factory import tiny_dict

ARRAY_FIELDS = [f.name for f in fields(StepResult) if f.name not in ("interventions", "trades", "network")]


def random_actions(rng: np.random.Generator, shape: tuple[int, ...]) -> Actions:
    battery, trade, price = rng.normal(0, 5, shape), rng.normal(0, 5, shape), rng.uniform(-0.1, 0.7, shape)
    battery[rng.random(shape) < 0.03] = np.nan  # filtered and counted like in the unbatched engine
    return Actions(battery, trade, price)


def community_for(mechanism: str, **changes):
    raw = tiny_dict(market={"mechanism": mechanism, "fee_per_kwh": 0.01}, **changes)
    return build_community(load_scenario(raw))


def run_both(community, starts: list[int], steps: int, seed: int = 0, follow_fill: bool = False):
    """Step K copies batched and each copy alone with the same actions; yield (batched, [single results])."""
    k, n = len(starts), community.n_agents
    batched = CommunityEngine(community, copies=k)
    batched.reset(np.array(starts), np.array(starts) + steps)
    singles = [CommunityEngine(community) for _ in starts]
    for engine, start in zip(singles, starts, strict=True):
        engine.reset(start, start + steps)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        a = random_actions(rng, (k, n))
        a = Actions(a.battery_kw, a.trade_kw, a.limit_price, follow_fill=follow_fill)
        result = batched.step(a)
        alone = [
            e.step(Actions(a.battery_kw[i], a.trade_kw[i], a.limit_price[i], follow_fill=follow_fill))
            for i, e in enumerate(singles)
        ]
        yield result, alone


@pytest.mark.parametrize("mechanism", ["uniform", "pay-as-bid", "mcafee", "mid-market", "sdr", "none"])
def test_each_copy_equals_the_unbatched_engine(mechanism):
    community = community_for(mechanism, grid={"import_capacity_kw": 2.5, "export_capacity_kw": 3.0})
    steps = 0
    for result, alone in run_both(community, [0, 5, 17, 0], 20, follow_fill=mechanism == "uniform"):
        for i, single in enumerate(alone):
            for name in ARRAY_FIELDS:
                np.testing.assert_allclose(
                    np.ravel(getattr(result, name))[i]
                    if np.ndim(getattr(result, name)) < 2
                    else getattr(result, name)[i],
                    getattr(single, name),
                    atol=1e-12,
                    err_msg=f"{name} of copy {i}",
                )
            mine = result.trades.market == i
            np.testing.assert_allclose(result.trades.quantity[mine], single.trades.quantity, atol=1e-12)
            np.testing.assert_array_equal(result.trades.buyer[mine], single.trades.buyer)
            for flag in ("nonfinite", "battery_clipped", "trade_clipped"):
                np.testing.assert_array_equal(
                    getattr(result.interventions, flag)[i], getattr(single.interventions, flag)
                )
        steps += 1
    assert steps == 20


def test_copies_restart_independently_and_observe_their_own_step():
    community = community_for("uniform")
    engine = CommunityEngine(community, copies=3)
    obs = engine.reset(np.array([0, 10, 20]), np.array([2, 12, 30]))
    assert obs.load_kw.shape == (3, community.n_agents)
    assert obs.retail.shape == (3, 1)
    np.testing.assert_array_equal(obs.load_kw[1], community.profiles.load_kw[10])
    zeros = np.zeros((3, community.n_agents))
    idle = Actions(zeros, zeros, zeros)
    engine.step(idle)
    engine.step(idle)
    np.testing.assert_array_equal(engine.done, [True, True, False])
    with pytest.raises(RuntimeError, match="has ended"):
        engine.step(idle)
    engine.restart(np.array([True, True, False]), np.array([30, 40, 0]), np.array([31, 41, 0]))
    np.testing.assert_array_equal(engine.t, [30, 40, 22])
    np.testing.assert_array_equal(engine.soc[0], community.agents.battery.initial_soc_kwh)
    with pytest.raises(ValueError, match="start < stop"):
        engine.restart(np.array([True, False, False]), 5, 5)


def test_batched_actions_of_the_wrong_shape_are_an_error():
    community = community_for("uniform")
    engine = CommunityEngine(community, copies=2)
    bad = np.zeros((3, community.n_agents))
    with pytest.raises(ActionError, match=r"shape \(2, 8\)"):
        engine.step(Actions(bad, bad, bad))


def test_the_balance_check_names_the_copy(monkeypatch):
    community = community_for("uniform")
    engine = CommunityEngine(community, copies=2)
    engine.reset(np.array([0, 7]), np.array([5, 12]))
    import powergrid.engine.step as step_module

    real = step_module.settle_with_grid

    def leaky(*args):
        settled = real(*args)
        settled.imported[1, 3] += 0.5  # copy 1, agent 3 imports energy that goes nowhere
        return settled

    monkeypatch.setattr(step_module, "settle_with_grid", leaky)
    zeros = np.zeros((2, community.n_agents))
    with pytest.raises(ConservationError, match=rf"agent '{community.agents.ids[3]}' at step 7 \(copy 1\)"):
        engine.step(Actions(zeros, zeros, zeros))


def test_copies_on_a_feeder_solve_their_flows_in_one_batch_and_match():
    community = community_for("uniform", network={"feeder": "cigre-lv", "losses": "allocated"})
    for result, alone in run_both(community, [3, 9], 6):
        assert result.network.v_min.shape == (2,)
        for i, single in enumerate(alone):
            np.testing.assert_allclose(result.voltage_pu[i], single.voltage_pu, atol=1e-9)
            np.testing.assert_allclose(result.loss_cost[i], single.loss_cost, atol=1e-12)
            assert result.network.row(i).violations == single.network.violations
