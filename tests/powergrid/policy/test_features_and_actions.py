"""What a shared policy sees and how its actions map: descriptors of each home, the coming day's prices and net
load, and actions relative to the feasible range (the zero action is self-consumption, nothing is clipped)."""

from __future__ import annotations

import numpy as np
import pytest

from powergrid.controllers.rules import self_consumption_battery
from powergrid.engine import CommunityEngine
from powergrid.policy.action_map import scale_actions
from powergrid.policy.features import ObservationBuilder
from powergrid.safety import FeasibilityFilter
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import build_community


def _setup(name: str = "prosumer-20"):
    c = build_community(load_scenario(name))
    builder = ObservationBuilder(c, np.arange(24 * 20))
    return c, builder, CommunityEngine(c)


def test_descriptors_tell_homes_apart():
    c, builder, engine = _setup()
    x = builder.build(engine.observe(), c.n_steps)
    col = {name: x[:, builder.names.index(name)] for name in builder.names}
    kinds = np.array(c.agents.kinds)
    np.testing.assert_array_equal(col["is_consumer"], kinds == "consumer")
    np.testing.assert_array_equal(col["is_pv_only"], kinds == "pv-only")
    np.testing.assert_allclose(col["pv_size"], c.agents.pv_peak_kw / c.agents.pv_peak_kw.max(), rtol=1e-6)
    assert col["battery_capacity"].max() == 1.0
    assert col["battery_capacity"][kinds == "consumer"].max() == 0.0


def test_the_coming_day_reaches_the_evening_peak_from_the_morning():
    c, builder, engine = _setup()
    for _ in range(8):  # 08:00: the 16:00-21:00 peak at 0.45 starts 8 hours ahead, beyond the 4-step forecast
        engine.step(scale_actions(np.zeros((c.n_agents, 3)), engine.observe(), c.agents.battery.power_kw))
    obs = engine.observe()
    x = builder.build(obs, c.n_steps)
    col = {name: x[0, builder.names.index(name)] for name in builder.names}
    assert col["retail_max_day"] * builder.price_scale == pytest.approx(0.45)
    assert col["hours_to_retail_max"] * 24 == pytest.approx(8.0)
    assert max(x[0, builder.names.index(f"retail_forecast_{h}")] for h in range(1, 5)) * builder.price_scale < 0.45


def test_the_zero_action_is_self_consumption_and_trades_half_the_residual():
    c, _, engine = _setup()
    obs = engine.observe()
    a = scale_actions(np.zeros((c.n_agents, 3)), obs, c.agents.battery.power_kw)
    own = self_consumption_battery(obs)
    np.testing.assert_allclose(a.battery_kw, own)
    np.testing.assert_allclose(a.trade_kw, 0.5 * (obs.load_kw + own - obs.pv_kw))


def test_no_action_in_the_box_is_ever_clipped_by_the_filter():
    c = build_community(load_scenario({"extends": "prosumer-20", "name": "p", "market": {"gate": "realised"}}))
    engine = CommunityEngine(c)
    rng = np.random.default_rng(0)
    safety = FeasibilityFilter()
    for _ in range(48):
        obs = engine.observe()
        a = scale_actions(rng.uniform(-1, 1, (c.n_agents, 3)), obs, c.agents.battery.power_kw)
        _, flags = safety.apply(a, obs)
        assert not (flags.battery_clipped.any() or flags.trade_clipped.any() or flags.price_clipped.any())
        engine.step(a, obs)


def test_the_team_term_adds_the_communitys_mean_profit():
    from powergrid.actions import Actions
    from powergrid.reward import RewardTracker

    for w_team in (0.0, 1.0):
        c = build_community(load_scenario({"extends": "community-5", "name": "t", "reward": {"w_team": w_team}}))
        engine = CommunityEngine(c)
        tracker = RewardTracker(c)
        tracker.reset(0, c.n_steps)
        obs = engine.observe()
        rewards, parts = tracker.step(engine.step(Actions.idle(c.n_agents, obs.price_floor), obs))
        np.testing.assert_allclose(parts["team"], parts["profit"].mean())
        np.testing.assert_allclose(rewards, parts["profit"] + w_team * parts["profit"].mean())
