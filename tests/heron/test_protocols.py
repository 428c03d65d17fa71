"""Vertical and horizontal protocols and the agent tree."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heron.agents import CoordinatorAgent, FieldAgent, SystemAgent
from heron.errors import ConvergenceError, HeronError, ProtocolError, UnknownAgentError
from heron.protocols import (
    ConsensusProtocol,
    P2PTradingProtocol,
    PriceSignalProtocol,
    SetpointProtocol,
    central_dispatch,
    path_graph,
)
from heron.protocols.consensus import metropolis_weights

TOL = 1e-9


# --------------------------------------------------------------------------- agents


def make_tree() -> SystemAgent:
    c1 = CoordinatorAgent("c1", [FieldAgent("f1", -1.0, 1.0), FieldAgent("f2", 0.0, 5.0)], SetpointProtocol())
    c2 = CoordinatorAgent("c2", [FieldAgent("f3", -2.0, 0.0)], PriceSignalProtocol())
    c3 = CoordinatorAgent("c3", [], SetpointProtocol())
    return SystemAgent("sys", [c1, c2, c3], P2PTradingProtocol())


def test_agent_tree_helpers() -> None:
    system = make_tree()
    assert system.coordinator_ids == ["c1", "c2", "c3"]
    assert system.peers("c2") == ["c1", "c3"]
    assert system.coordinators[0].children_ids == ["f1", "f2"]
    low, high = system.coordinators[0].bounds
    np.testing.assert_array_equal(low, [-1.0, 0.0])
    np.testing.assert_array_equal(high, [1.0, 5.0])
    assert [a.id for a in system.walk()] == ["sys", "c1", "f1", "f2", "c2", "f3", "c3"]
    assert system.parent_of("f3") == "c2"
    assert system.parent_of("c1") == "sys"
    assert system.parent_of("sys") is None
    assert system.find("f2").high == 5.0
    with pytest.raises(KeyError):
        system.peers("f1")
    for lookup in (system.find, system.parent_of, system.peers):
        with pytest.raises(UnknownAgentError, match="nope"):
            lookup("nope")


def test_agent_tree_rejects_bad_bounds_and_duplicates() -> None:
    with pytest.raises(ValueError, match="low <= high"):
        FieldAgent("f", 2.0, 1.0)
    with pytest.raises(ValueError, match="duplicate"):
        CoordinatorAgent("c", [FieldAgent("f", 0, 1), FieldAgent("f", 0, 1)])
    with pytest.raises(ValueError, match="duplicate"):
        SystemAgent("s", [CoordinatorAgent("c", [FieldAgent("f")]), CoordinatorAgent("d", [FieldAgent("f")])])


# --------------------------------------------------------------------------- setpoint


def test_setpoint_linear_map_and_bounds() -> None:
    low, high = np.array([-1.0, 0.0, 10.0]), np.array([1.0, 4.0, 10.0])
    proto = SetpointProtocol()
    np.testing.assert_allclose(proto.split(np.array([-1.0, -1.0, -1.0]), low, high), low)
    np.testing.assert_allclose(proto.split(np.array([1.0, 1.0, 1.0]), low, high), high)
    np.testing.assert_allclose(proto.split(np.array([0.0, 0.5, 0.3]), low, high), [0.0, 3.0, 10.0])
    # out-of-range actions are clipped; setpoints sum to what the mapped actions imply
    out = proto.split(np.array([5.0, -3.0, 0.0]), low, high)
    np.testing.assert_allclose(out, [1.0, 0.0, 10.0])
    assert out.sum() == pytest.approx(11.0)


@given(st.integers(1, 8).flatmap(lambda n: st.lists(st.floats(-3, 3), min_size=3 * n, max_size=3 * n)))
@settings(max_examples=60, deadline=None)
def test_setpoint_within_bounds(values: list[float]) -> None:
    v = np.array(values).reshape(3, -1)
    low, high = np.minimum(v[1], v[2]), np.maximum(v[1], v[2])
    out = SetpointProtocol().split(v[0], low, high)
    assert (out >= low).all()
    assert (out <= high).all()


def test_setpoint_batch_axis() -> None:
    out = SetpointProtocol().split(np.array([[-1.0, 1.0], [0.0, 0.0]]), np.zeros(2), np.array([2.0, 4.0]))
    np.testing.assert_allclose(out, [[0.0, 4.0], [1.0, 2.0]])


def test_setpoint_errors() -> None:
    proto = SetpointProtocol()
    with pytest.raises(ValueError, match=r"expected 3 .* got shape \(2,\)"):
        proto.split(np.zeros(2), np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        proto.split(np.array([0.0, np.nan]), np.zeros(2), np.ones(2))
    with pytest.raises(ValueError, match="low must be <= high"):
        proto.split(np.zeros(2), np.ones(2), np.zeros(2))


# --------------------------------------------------------------------------- price signal


def test_price_signal_broadcasts_the_price_to_the_childrens_rule() -> None:
    seen = []

    def response(price: np.ndarray) -> np.ndarray:
        seen.append(price)
        return np.array([1.0, -2.0]) * price

    out = PriceSignalProtocol().split(3.0, response, 2)
    np.testing.assert_allclose(out, [3.0, -6.0])
    assert float(seen[0]) == 3.0


def test_price_signal_checks_what_crosses_the_boundary() -> None:
    with pytest.raises(ProtocolError, match="NaN"):
        PriceSignalProtocol().split(float("nan"), lambda p: np.zeros(2), 2)
    with pytest.raises(ProtocolError, match="2 entries"):
        PriceSignalProtocol().split(1.0, lambda p: np.zeros(3), 2)
    with pytest.raises(ProtocolError, match="not finite"):
        PriceSignalProtocol().split(1.0, lambda p: np.array([np.inf, 0.0]), 2)


# --------------------------------------------------------------------------- P2P trading


def test_p2p_simple_market() -> None:
    proto = P2PTradingProtocol()
    res = proto.clear(np.array([5.0, -3.0, -4.0, 2.0]), np.array([10.0, 30.0, 20.0, 50.0]), 0.0, 100.0)
    # sellers: 0 @10 (5 units), 3 @50 (2); buyers: 1 @30 (3), 2 @20 (4) -> 5 units trade; buyer 2 is filled in
    # part, so only 20 clears the market (below it buyer 2 would want more): the clearing interval is [20, 20]
    np.testing.assert_allclose(res.traded, [-5.0, 3.0, 2.0, 0.0])
    assert res.price == pytest.approx(20.0)
    np.testing.assert_allclose(res.payment, [-100.0, 60.0, 40.0, 0.0])
    np.testing.assert_allclose(res.fees, 0.0)


def test_p2p_fees_keep_individual_rationality() -> None:
    proto = P2PTradingProtocol(fee_per_unit=6.0)
    res = proto.clear(np.array([5.0, -3.0, -4.0]), np.array([10.0, 30.0, 20.0]), 0.0, 100.0)
    # seller asks 16, buyer 1 bids 24, buyer 2 bids 14 (no trade); the seller is filled in part: price 16, so the
    # seller nets 16 − 6 = 10 (its valuation) and buyer 1 pays 16 + 6 = 22 ≤ 30
    np.testing.assert_allclose(res.traded, [-3.0, 3.0, 0.0])
    np.testing.assert_allclose(res.fees, [18.0, 18.0, 0.0])
    assert res.price == pytest.approx(16.0)


def test_p2p_batch_axis_matches_unbatched() -> None:
    rng = np.random.default_rng(3)
    net, mp = rng.normal(size=(4, 7)), rng.uniform(0, 10, size=(4, 7))
    proto = P2PTradingProtocol(fee_per_unit=0.2, pricing="pay-as-bid", k=0.3)
    batched = proto.clear(net, mp, 1.0, 9.0)
    for i in range(4):
        single = proto.clear(net[i], mp[i], 1.0, 9.0)
        np.testing.assert_allclose(batched.traded[i], single.traded, atol=TOL)
        np.testing.assert_allclose(batched.payment[i], single.payment, atol=TOL)


def test_p2p_errors() -> None:
    with pytest.raises(ValueError, match="fee_per_unit"):
        P2PTradingProtocol(fee_per_unit=-1.0)
    with pytest.raises(ValueError, match="same shape"):
        P2PTradingProtocol().clear(np.zeros(3), np.zeros(2), 0.0, 1.0)
    with pytest.raises(ValueError, match="price_floor"):
        P2PTradingProtocol().clear(np.zeros(3), np.zeros(3), 2.0, 1.0)


@st.composite
def p2p_markets(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, float, float]:
    n = draw(st.integers(1, 12))
    net = np.array(draw(st.lists(st.one_of(st.just(0.0), st.floats(-20, 20)), min_size=n, max_size=n)))
    mp = np.array(draw(st.lists(st.integers(-5, 25).map(float), min_size=n, max_size=n)))
    floor = float(draw(st.integers(0, 10)))
    return net, mp, floor, floor + draw(st.integers(0, 10))


@given(
    p2p_markets(),
    st.sampled_from([0.0, 0.5, 2.0]),
    st.floats(0, 1),
    st.sampled_from(["uniform", "pay-as-bid"]),
)
@settings(max_examples=200, deadline=None)
def test_p2p_conservation_rationality_bounds(market: tuple, fee: float, k: float, pricing: str) -> None:
    net, mp, floor, cap = market
    res = P2PTradingProtocol(fee_per_unit=fee, k=k, pricing=pricing).clear(net, mp, floor, cap)
    scale = 1.0 + np.abs(net).sum() * cap
    assert abs(res.traded.sum()) <= 1e-9 * scale
    assert abs(res.payment.sum()) <= 1e-9 * scale
    # never beyond the position, never the wrong way
    assert (np.abs(res.traded) <= np.abs(net) + 1e-9).all()
    assert (res.traded * net <= 1e-12).all()
    # individual rationality against the clipped valuation, fees included
    value = np.clip(mp, floor, cap)
    surplus = value * res.traded - res.payment - res.fees
    assert (surplus >= -1e-7 * scale).all()
    np.testing.assert_allclose(res.fees, fee * np.abs(res.traded))
    if res.volume > 0 and pricing == "uniform":
        assert floor - 1e-9 <= res.price <= cap + 1e-9


# --------------------------------------------------------------------------- consensus


def path_plus_star(n_path: int, n_leaves: int) -> np.ndarray:
    """A path 0-1-...-(n_path-1) whose last node is also the hub of a star with ``n_leaves`` leaves."""
    n = n_path + n_leaves
    g = np.zeros((n, n), dtype=bool)
    i = np.arange(n_path - 1)
    g[i, i + 1] = True
    g[n_path - 1, n_path:] = True
    return g | g.T


def test_metropolis_weights_doubly_stochastic() -> None:
    w = metropolis_weights(path_plus_star(4, 5))
    np.testing.assert_allclose(w.sum(axis=0), 1.0)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    np.testing.assert_allclose(w, w.T)
    assert (w >= 0).all()


def test_consensus_average_on_irregular_graph() -> None:
    values = np.random.default_rng(0).normal(10.0, 5.0, size=9)
    result, iterations = ConsensusProtocol(path_plus_star(4, 5)).average(values)
    np.testing.assert_allclose(result, np.mean(values), atol=1e-7)
    assert 0 < iterations < 10_000


def test_consensus_average_vector_values_and_zero_iterations() -> None:
    proto = ConsensusProtocol(path_plus_star(3, 2))
    values = np.arange(10.0).reshape(5, 2)
    result, _ = proto.average(values)
    np.testing.assert_allclose(result, np.broadcast_to(values.mean(axis=0), (5, 2)), atol=1e-7)
    assert proto.average(np.full(5, 3.0))[1] == 0


def test_consensus_errors() -> None:
    g = np.zeros((4, 4), dtype=bool)
    g[0, 1] = g[1, 0] = g[2, 3] = g[3, 2] = True
    with pytest.raises(ValueError, match="disconnected"):
        ConsensusProtocol(g)
    with pytest.raises(ValueError, match="symmetric"):
        ConsensusProtocol(np.triu(np.ones((3, 3), dtype=bool)))
    with pytest.raises(ConvergenceError, match="did not converge"):
        ConsensusProtocol(path_plus_star(4, 5), max_iterations=3).average(np.arange(9.0))
    with pytest.raises(ValueError, match="rows"):
        ConsensusProtocol(path_plus_star(2, 2)).average(np.zeros(3))


def centralized_dispatch(a, b, pmin, pmax, demand) -> tuple[np.ndarray, float]:
    """Reference: bisection on λ for Σ clip((λ - b) / 2a, pmin, pmax) = demand."""
    lo, hi = float((2 * a * pmin + b).min()), float((2 * a * pmax + b).max())
    for _ in range(200):
        lam = 0.5 * (lo + hi)
        if np.clip((lam - b) / (2 * a), pmin, pmax).sum() < demand:
            lo = lam
        else:
            hi = lam
    return np.clip((lam - b) / (2 * a), pmin, pmax), lam


@pytest.mark.parametrize("seed", range(5))
def test_distributed_economic_dispatch_matches_centralized(seed: int) -> None:
    rng = np.random.default_rng(seed)
    graph = path_plus_star(4, 6)
    n = graph.shape[0]
    a, b = rng.uniform(0.005, 0.1, n), rng.uniform(10.0, 30.0, n)
    pmin = rng.uniform(0.0, 20.0, n)
    pmax = pmin + rng.uniform(5.0, 100.0, n)
    demand = float(rng.uniform(pmin.sum(), pmax.sum()))
    result = ConsensusProtocol(graph).economic_dispatch(a, b, pmin, pmax, demand)
    dispatch, lam, iterations = result.dispatch, result.price, result.iterations
    ref, ref_lam = centralized_dispatch(a, b, pmin, pmax, demand)
    closed = central_dispatch(a, b, pmin, pmax, demand)
    np.testing.assert_allclose(closed.dispatch, ref, rtol=1e-9, atol=1e-9)
    assert closed.price == pytest.approx(ref_lam, rel=1e-9)
    assert abs(result.outside) <= 1e-6 * demand
    np.testing.assert_allclose(dispatch, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())
    assert lam == pytest.approx(ref_lam, rel=1e-4)
    assert dispatch.sum() == pytest.approx(demand, rel=1e-4)
    assert (dispatch >= pmin - 1e-9).all()
    assert (dispatch <= pmax + 1e-9).all()
    assert 0 < iterations < 10_000


def test_economic_dispatch_local_demands_and_binding_bounds() -> None:
    graph = path_plus_star(3, 3)
    a = np.array([0.01, 0.02, 0.05, 0.01, 0.03, 0.04])
    b = np.array([10.0, 12.0, 8.0, 20.0, 15.0, 11.0])
    pmin, pmax = np.zeros(6), np.array([30.0, 50.0, 10.0, 80.0, 40.0, 60.0])
    local = np.array([50.0, 0.0, 40.0, 0.0, 60.0, 0.0])
    dispatch = ConsensusProtocol(graph).economic_dispatch(a, b, pmin, pmax, local).dispatch
    ref, _ = centralized_dispatch(a, b, pmin, pmax, local.sum())
    np.testing.assert_allclose(dispatch, ref, rtol=1e-4, atol=1e-3)
    assert np.isclose(ref, pmax).any()  # a unit is at its upper bound


def test_economic_dispatch_errors() -> None:
    proto = ConsensusProtocol(path_plus_star(2, 1))
    with pytest.raises(ValueError, match="feasible"):
        proto.economic_dispatch(np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), 10.0)
    with pytest.raises(ValueError, match="a > 0"):
        proto.economic_dispatch(np.array([1.0, 0.0, 1.0]), np.zeros(3), np.zeros(3), np.ones(3), 1.0)


@pytest.mark.parametrize(("demand", "where"), [(400.0, "cap"), (150.0, "inside"), (5.0, "floor")])
def test_economic_dispatch_with_an_outside_source_matches_the_closed_form(demand: float, where: str) -> None:
    """Units (cost 0.001 p² + b p) against an outside source selling at 0.30 and buying at 0.12: λ stays in the band
    and the source covers what the units do not; the consensus reaches the closed form."""
    a = np.array([0.001, 0.002, 0.001, 1.0])  # the last agent has no unit (pmax = 0): it only relays λ
    b = np.array([0.10, 0.08, 0.14, 0.0])
    pmin, pmax = np.zeros(4), np.array([80.0, 60.0, 70.0, 0.0])
    band = (0.12, 0.30)
    ref = central_dispatch(a, b, pmin, pmax, demand, price_range=band)
    got = ConsensusProtocol(path_graph(4)).economic_dispatch(a, b, pmin, pmax, demand, price_range=band)
    np.testing.assert_allclose(got.dispatch, ref.dispatch, atol=1e-4)
    assert got.price == pytest.approx(ref.price, abs=1e-6)
    assert got.outside == pytest.approx(ref.outside, abs=1e-4)
    assert got.dispatch.sum() + got.outside == pytest.approx(demand, abs=1e-4)
    assert band[0] <= got.price <= band[1]
    expected_price = {"cap": band[1], "floor": band[0]}.get(where)
    if expected_price is None:
        assert abs(got.outside) < 1e-4 and band[0] < got.price < band[1]
    else:
        assert got.price == pytest.approx(expected_price) and np.sign(got.outside) == (1 if where == "cap" else -1)


def test_economic_dispatch_that_does_not_converge_raises_heron_convergence_error() -> None:
    a, b = np.array([0.01, 0.02, 0.03]), np.array([1.0, 2.0, 3.0])
    proto = ConsensusProtocol(path_graph(3), max_iterations=5)
    with pytest.raises(ConvergenceError, match="did not converge in 5 iterations") as info:
        proto.economic_dispatch(a, b, np.zeros(3), np.full(3, 100.0), 150.0)
    assert isinstance(info.value, HeronError) and isinstance(info.value, RuntimeError)
    with pytest.raises(ProtocolError, match="price_range"):
        proto.economic_dispatch(a, b, np.zeros(3), np.full(3, 100.0), 150.0, price_range=(0.3, 0.1))
