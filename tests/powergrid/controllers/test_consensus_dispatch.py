"""consensus-dispatch: the microgrids' generators dispatched by λ-consensus (heron's ConsensusProtocol) over the
combined net demand, with the grid as the marginal source; equal to the centralised economic dispatch."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import cvxpy as cp
import numpy as np
import pytest

from heron.errors import ConvergenceError
from heron.protocols import ConsensusProtocol, path_graph
from powergrid.analytics.kpis import compute_kpis
from powergrid.controllers import make_controller
from powergrid.controllers.consensus_dispatch import ConsensusDispatch, generator_dispatch
from powergrid.controllers.rules import self_consumption_battery
from powergrid.devices.generator import GeneratorFleet
from powergrid.engine import CommunityEngine
from powergrid.errors import ScenarioError
from powergrid.runner.simulate import simulate
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import build_community

STEPS = 48


@cache
def two_generators():
    """multi-microgrid with a second, cheaper but steeper genset in MG2 (both microgrids dispatch)."""
    raw = load_scenario("multi-microgrid").model_dump(mode="json")
    raw["agents"][1]["generator"] = {"capacity_kw": 1500.0, "marginal_cost": 0.12, "quadratic_cost": 0.00006}
    return build_community(load_scenario(raw))


def fleet(n: int, rng: np.random.Generator) -> GeneratorFleet:
    """n agents, the last without a generator."""
    cap = np.append(rng.uniform(500.0, 2500.0, n - 1), 0.0)
    zero = np.zeros(n)
    return GeneratorFleet(
        cap, zero, np.full(n, np.inf), zero, rng.uniform(0.08, 0.2, n), rng.uniform(1e-5, 1e-4, n), zero, zero
    )


def observation(engine: CommunityEngine, high_kw: np.ndarray, retail: float, feed_in: float):
    return replace(engine.observe(), generator_high_kw=high_kw, retail=retail, feed_in=feed_in)


def cvxpy_dispatch(f: GeneratorFleet, high: np.ndarray, demand: float, retail: float, feed_in: float) -> np.ndarray:
    """The centralised problem as a QP: fuel b·P + c·P² plus grid import at retail minus export at feed-in."""
    p, imp, exp = cp.Variable(f.capacity_kw.size), cp.Variable(nonneg=True), cp.Variable(nonneg=True)
    cost = f.marginal_cost @ p + cp.sum(cp.multiply(f.quadratic_cost, cp.square(p))) + retail * imp - feed_in * exp
    problem = cp.Problem(cp.Minimize(cost), [cp.sum(p) + imp - exp == demand, p >= 0, p <= high])
    problem.solve(solver=cp.CLARABEL)
    assert problem.status == cp.OPTIMAL
    return np.asarray(p.value)


@pytest.mark.parametrize(("seed", "demand"), [(0, 3000.0), (1, 800.0), (2, 12000.0), (3, -500.0)])
def test_consensus_dispatch_equals_the_centralised_economic_dispatch(seed: int, demand: float) -> None:
    rng = np.random.default_rng(seed)
    n = 5
    f = fleet(n, rng)
    engine = CommunityEngine(two_generators())
    obs = observation(engine, f.capacity_kw, retail=0.22, feed_in=0.05)
    local = rng.dirichlet(np.ones(n)) * demand  # the microgrids' net demands (kW), summing to ``demand``
    obs = replace(obs, load_kw=np.zeros(n), pv_kw=np.zeros(n))
    protocol = ConsensusProtocol(path_graph(n), tolerance=1e-10, max_iterations=200_000)
    got = generator_dispatch(f, obs, local, protocol)
    closed = generator_dispatch(f, obs, local, None)
    reference = cvxpy_dispatch(f, f.capacity_kw, demand, 0.22, 0.05)
    np.testing.assert_allclose(got.dispatch, closed.dispatch, atol=1e-3)
    np.testing.assert_allclose(closed.dispatch, reference, atol=1e-2)
    assert got.price == pytest.approx(closed.price, abs=1e-7)
    assert 0.05 <= got.price <= 0.22
    assert got.dispatch[-1] == 0.0  # the agent without a generator only relays λ
    assert got.dispatch.sum() + got.outside == pytest.approx(demand, abs=1e-3)
    assert got.iterations > 0


@cache
def run(controller: str):
    return compute_kpis(simulate(two_generators(), controller, stop=STEPS)).community


def test_a_run_dispatches_every_step_as_the_centralised_dispatch_with_balances_checked() -> None:
    community = two_generators()
    engine = CommunityEngine(community, check_balances=True)
    controller = make_controller("consensus-dispatch")
    controller.reset(community)
    gens = community.agents.generators
    shared = 0
    obs = engine.observe()
    for _ in range(STEPS):
        actions = controller.act(obs)
        demand = obs.load_kw + self_consumption_battery(obs) - obs.pv_kw
        central = generator_dispatch(gens, obs, demand)
        np.testing.assert_allclose(controller.last.dispatch, central.dispatch, atol=1e-3)
        assert controller.last.price == pytest.approx(central.price, abs=1e-6)
        result = engine.step(actions, obs)  # the engine checks every balance (ConservationError otherwise)
        np.testing.assert_allclose(result.generation / obs.dt_hours, actions.generator_kw, atol=1e-9)
        assert not result.interventions.generator_clipped.any()
        surplus = result.generation + result.pv + result.discharge - result.load - result.charge
        shared += int(((surplus > 1.0) & (result.sold > 1.0)).any())  # a genset covered another microgrid's deficit
        obs = engine.observe()
    assert shared > 0


def test_dispatching_the_combined_demand_costs_less_than_each_microgrid_for_itself() -> None:
    assert run("consensus-dispatch")["cost"] < run("merit-order")["cost"]
    assert run("consensus-dispatch")["voltage_violations"] <= run("merit-order")["voltage_violations"] + 5


def test_a_consensus_that_does_not_converge_raises_heron_convergence_error() -> None:
    with pytest.raises(ConvergenceError, match="did not converge in 2 iterations"):
        simulate(two_generators(), ConsensusDispatch(max_iterations=2), start=8, stop=20)  # daytime: gensets run


def test_bad_graphs_and_linear_fuel_costs_are_scenario_errors() -> None:
    with pytest.raises(ScenarioError, match=r"graph must be \(2, 2\)"):
        ConsensusDispatch(graph=path_graph(3)).reset(two_generators())
    raw = load_scenario("multi-microgrid").model_dump(mode="json")
    raw["agents"][0]["generator"]["quadratic_cost"] = 0.0
    with pytest.raises(ScenarioError, match=r"strictly convex.*\['MG1'\]"):
        ConsensusDispatch().reset(build_community(load_scenario(raw)))
