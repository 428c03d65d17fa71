"""Battery fleet physics and the FeasibilityFilter under arbitrary (hypothesis-generated) actions."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from powergrid.actions import Actions
from powergrid.engine import CommunityEngine

ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True, width=64)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, (12, 8, 3), elements=ANY_FLOAT))
def test_soc_never_leaves_bounds_under_arbitrary_actions(tiny_community_factory, actions):
    engine = CommunityEngine(tiny_community_factory)
    fleet = tiny_community_factory.agents.battery
    for step in actions:
        r = engine.step(Actions(step[:, 0], step[:, 1], step[:, 2]))
        assert np.all(r.soc >= fleet.soc_min_kwh - 1e-9) and np.all(r.soc <= fleet.soc_max_kwh + 1e-9)
        assert np.all(np.isfinite(r.cost))
        assert np.all(r.charge <= fleet.power_kw * 1.0 + 1e-9) and np.all(r.discharge <= fleet.power_kw + 1e-9)
        bad = ~np.isfinite(step).all(axis=1)
        np.testing.assert_array_equal(r.interventions.nonfinite, bad)


def test_power_bounds_respect_efficiency_and_ramp(tiny_community):
    fleet = tiny_community.agents.battery
    soc = fleet.soc_max_kwh - 0.95  # room for 1 kWh of AC energy at charge efficiency 0.95
    max_c, max_d = fleet.power_bounds(soc, 1.0, last_power_kw=np.zeros(fleet.n_agents))
    has = fleet.capacity_kwh > 0
    np.testing.assert_allclose(max_c[has], 1.0)
    np.testing.assert_allclose(max_d[has], np.minimum(fleet.power_kw, (soc * 0.95))[has])
    stored = fleet.next_soc(soc, max_c * 1.0, np.zeros(fleet.n_agents))
    np.testing.assert_allclose(stored[has], fleet.soc_max_kwh[has])


def test_ramp_limits_increases_and_reversals_but_not_reductions(tiny_community):
    fleet = tiny_community.agents.battery
    soc = 0.5 * fleet.capacity_kwh
    n = fleet.n_agents
    ramp = np.full(n, 1.0)
    limited = type(fleet)(**{**fleet.__dict__, "ramp_kw": ramp})
    max_c, max_d = limited.power_bounds(soc, 1.0, last_power_kw=np.full(n, 2.0))
    has = fleet.capacity_kwh > 0
    np.testing.assert_allclose(max_c[has], np.minimum(3.0, fleet.power_kw[has]))  # 2 + 1, within the 3 kW rating
    np.testing.assert_allclose(max_d[has], 0.0)  # no reversal from +2 kW in one step
    max_c, max_d = limited.power_bounds(soc, 1.0, last_power_kw=np.full(n, -0.5))
    np.testing.assert_allclose(max_c[has], 0.5)
    np.testing.assert_allclose(max_d[has], 1.5)
