"""Distributed economic dispatch of the microgrids' generators by λ-consensus (controller ``consensus-dispatch``).

The merit-order rule (``powergrid.controllers.merit_order``) lets each microgrid run its generator for its own
deficit only. Here the microgrids' coordinators agree, exchanging values only with their neighbours on a
communication graph (``heron.protocols.ConsensusProtocol``, Yang, Tan & Xu 2013), on one incremental cost λ
(currency/kWh) at which their generators together cover the *combined* net demand of all microgrids, with the
upstream grid as the marginal source: it sells any quantity at the step's retail price and buys any at the
feed-in price, so λ stays in [feed-in, retail]. Per step:

1. each microgrid's net demand ``d_i = load − PV + battery`` (kW; the battery by the self-consumption rule,
   + charge) is its local demand in the consensus;
2. its generator is a unit with the quadratic fuel cost of ``powergrid.devices.generator.GeneratorFleet``:
   marginal cost ``b + 2·c·P`` (``a = c``, ``b`` of the fleet; the no-load and start-up costs are commitment
   costs and take no part in the dispatch), output in ``[0, high]`` with ``high`` this step's upper end of its
   running range (rating and ramp, ``Observation.generator_high_kw``); a microgrid without a generator relays λ;
3. the consensus dispatch is rounded to a feasible output (``GeneratorFleet.feasible``: off below half the
   minimum stable output, else into the running range); the FeasibilityFilter checks it again in the engine;
4. the batteries, P2P orders (what a microgrid's generator produces for another microgrid's deficit is offered
   at the floor and bought at the cap through the engine's market) and regulator taps are the merit-order
   rule's. The consensus decides set-points; the market and settlement decide the money.

The dispatch equals the centralised economic dispatch (``heron.protocols.central_dispatch``) within the
protocol's tolerance. The use-of-system charge on P2P energy is not part of the dispatch problem.
"""

from __future__ import annotations

import numpy as np

from heron.protocols import ConsensusProtocol, DispatchResult, central_dispatch, path_graph
from powergrid.actions import Actions, Observation
from powergrid.controllers.base import register
from powergrid.controllers.merit_order import MeritOrder
from powergrid.controllers.optimizers import cover_with_orders
from powergrid.controllers.rules import self_consumption_battery
from powergrid.controllers.taps import regulate
from powergrid.devices.generator import GeneratorFleet
from powergrid.errors import ScenarioError
from powergrid.scenarios.build import Community

#: Cost coefficient ``a`` (currency/(kW²·h)) given to an agent without a generator: it has no output range, so
#: ``a`` only has to be positive (it then barely changes the protocol's default step).
RELAY_COST = 1.0


def dispatch_units(fleet: GeneratorFleet, obs: Observation) -> tuple[np.ndarray, ...]:
    """(a, b, pmin, pmax), arrays (N,), of the consensus problem: ``a`` = quadratic cost (currency/(kW²·h)),
    ``b`` = marginal cost at zero output (currency/kWh), output bounds 0 and this step's ``generator_high_kw``
    (kW; 0 for agents without a generator, which get ``a = RELAY_COST``)."""
    has = fleet.capacity_kw > 0
    a = np.where(has, fleet.quadratic_cost, RELAY_COST)
    b = np.where(has, fleet.marginal_cost, 0.0)
    return a, b, np.zeros_like(a), np.where(has, obs.generator_high_kw, 0.0)


def generator_dispatch(
    fleet: GeneratorFleet, obs: Observation, demand_kw: np.ndarray, protocol: ConsensusProtocol | None = None
) -> DispatchResult:
    """The economic dispatch (kW) of the generators for the microgrids' net demands ``demand_kw`` (N,), kW, with
    the grid as the marginal source (λ in [feed-in, retail] of the step): by λ-consensus over ``protocol``'s
    graph, or in closed form (the centralised reference) when ``protocol`` is None. ``outside`` is the grid's
    share (kW, + import). ``heron.errors.ConvergenceError`` if the consensus does not converge."""
    a, b, pmin, pmax = dispatch_units(fleet, obs)
    band = (float(obs.feed_in), float(obs.retail))
    if protocol is None:
        return central_dispatch(a, b, pmin, pmax, demand_kw, price_range=band)
    return protocol.economic_dispatch(a, b, pmin, pmax, demand_kw, price_range=band)


def check_convex(community: Community) -> None:
    """ScenarioError naming the agents whose generator's fuel cost is not strictly convex (``quadratic_cost`` 0:
    λ would not fix its output, and the consensus needs ``a > 0``)."""
    fleet = community.agents.generators
    linear = (fleet.capacity_kw > 0) & (fleet.quadratic_cost <= 0)
    if linear.any():
        ids = [community.agents.ids[i] for i in np.flatnonzero(linear)]
        raise ScenarioError(
            f"consensus dispatch needs a strictly convex fuel cost: the generators of {ids} have quadratic_cost 0 "
            "(give them a quadratic_cost > 0, or dispatch them by merit order)"
        )


def dispatch_setpoints(
    fleet: GeneratorFleet, obs: Observation, battery_kw: np.ndarray, protocol: ConsensusProtocol
) -> tuple[np.ndarray, DispatchResult]:
    """The gensets' set-points (kW, (N,), rounded to a feasible output by ``GeneratorFleet.feasible``) for the
    batteries' set-points ``battery_kw`` (N,), kW, + charge (NaN counts as 0), by λ-consensus over the combined net
    demand ``load − PV + battery``; and the ``DispatchResult`` (λ, iterations, the grid's share)."""
    demand = np.nan_to_num(obs.load_kw - obs.pv_kw + battery_kw)
    result = generator_dispatch(fleet, obs, demand, protocol)
    return fleet.feasible(result.dispatch, obs.generator_last_kw), result


@register("consensus-dispatch")
class ConsensusDispatch(MeritOrder):
    """The merit-order rule with the generators dispatched by λ-consensus among the microgrids (module docstring).

    Args:
        graph: (N, N) symmetric boolean adjacency of the coordinators' communication graph; None = a path
            (each microgrid talks to the one before and after it in the scenario's order).
        tolerance, max_iterations: of the ``ConsensusProtocol``.

    After each step ``last`` holds the ``DispatchResult`` (λ, iterations, the grid's share); None without
    generators (then the rule is merit-order's).
    """

    def __init__(self, graph: np.ndarray | None = None, tolerance: float = 1e-9, max_iterations: int = 100_000):
        self.graph = graph
        self.tolerance = tolerance
        self.max_iterations = max_iterations
        self.last: DispatchResult | None = None

    def reset(self, community: Community) -> None:
        """Build the protocol for the community's agents; ScenarioError for a graph of the wrong size or a
        generator whose fuel cost is not strictly convex (``quadratic_cost`` = 0: λ would not fix its output)."""
        super().reset(community)
        n = community.n_agents
        graph = path_graph(n) if self.graph is None else np.asarray(self.graph)
        if graph.shape != (n, n):
            raise ScenarioError(
                f"consensus-dispatch: the graph must be ({n}, {n}), one row per agent; got {graph.shape}"
            )
        check_convex(community)
        self.protocol = ConsensusProtocol(graph, tolerance=self.tolerance, max_iterations=self.max_iterations)
        self.last = None

    def act(self, obs: Observation) -> Actions:
        battery = self_consumption_battery(obs)
        generator = np.zeros_like(battery)
        if self.generators.any:
            generator, self.last = dispatch_setpoints(self.generators, obs, battery, self.protocol)
        actions = cover_with_orders(obs, battery, p2p_worth=True, generator_kw=generator)
        return regulate(actions, obs, self.band, capacitors=True, tap_range=self.tap_range)
