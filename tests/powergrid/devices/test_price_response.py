"""Devices' answers to a price signal (the rules behind heron's PriceSignalProtocol): values, batches, errors,
monotone in price and within each device's range."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heron.protocols import PriceSignalProtocol
from powergrid.devices.price_response import PriceResponse

KIND = np.array(["generator", "generator", "storage", "storage", "flexible_load", "flexible_load"])
PARAMS = {
    "capacity": np.array([10.0, 5.0, 0, 0, 0, 0]),
    "marginal_cost": np.array([20.0, 40.0, 0, 0, 0, 0]),
    "power": np.array([0, 0, 3.0, 2.0, 0, 0]),
    "charge_threshold": np.array([0, 0, 15.0, 30.0, 0, 0]),
    "discharge_threshold": np.array([0, 0, 35.0, 30.0, 0, 0]),
    "baseline": np.array([0, 0, 0, 0, 8.0, 4.0]),
    "flexibility": np.array([0, 0, 0, 0, 4.0, 4.0]),
    "reduce_from": np.array([0, 0, 0, 0, 20.0, 50.0]),
    "reduce_to": np.array([0, 0, 0, 0, 60.0, 50.0]),
}


def test_price_response_rules() -> None:
    step = PriceResponse(KIND, **PARAMS)
    np.testing.assert_allclose(step(10.0), [0, 0, -3, -2, -8, -4])
    np.testing.assert_allclose(step(25.0), [10, 0, 0.0, -2, -7.5, -4])
    np.testing.assert_allclose(step(40.0), [10, 5, 3, 2, -6, -4])
    np.testing.assert_allclose(step(100.0), [10, 5, 3, 2, -4, 0])
    ramped = PriceResponse(KIND, band=0.5, **PARAMS)  # generator 0 ramps over [10, 30]
    np.testing.assert_allclose(ramped(15.0)[:2], [2.5, 0.0])


def test_price_response_batch_of_prices() -> None:
    out = PriceResponse(KIND, **PARAMS)(np.array([[10.0], [100.0]]))
    assert out.shape == (2, 6)
    np.testing.assert_allclose(out[1], PriceResponse(KIND, **PARAMS)(100.0))


def test_price_response_errors() -> None:
    with pytest.raises(ValueError, match="unknown kinds"):
        PriceResponse(np.array(["battery"]))
    with pytest.raises(ValueError, match="expected 6"):
        PriceResponse(KIND, capacity=np.ones(2))
    with pytest.raises(ValueError, match="charge_threshold"):
        PriceResponse(np.array(["storage"]), charge_threshold=[2.0], discharge_threshold=[1.0])


finite = st.floats(-100, 100, allow_nan=False)


@st.composite
def price_population(draw: st.DrawFn) -> tuple[np.ndarray, dict[str, np.ndarray], float]:
    n = draw(st.integers(1, 8))
    kind = np.array(draw(st.lists(st.sampled_from(["generator", "storage", "flexible_load"]), min_size=n, max_size=n)))

    def vec(lo: float, hi: float) -> np.ndarray:
        return np.array(draw(st.lists(st.floats(lo, hi), min_size=n, max_size=n)))

    t1, t2, r1, r2 = vec(-100, 100), vec(-100, 100), vec(-100, 100), vec(-100, 100)
    base = vec(0, 50)
    params = {
        "capacity": vec(0, 50),
        "marginal_cost": vec(-100, 100),
        "power": vec(0, 50),
        "charge_threshold": np.minimum(t1, t2),
        "discharge_threshold": np.maximum(t1, t2),
        "baseline": base,
        "flexibility": base * vec(0, 1),
        "reduce_from": np.minimum(r1, r2),
        "reduce_to": np.maximum(r1, r2),
    }
    return kind, params, draw(st.floats(0, 1))


@given(price_population(), finite, finite)
@settings(max_examples=200, deadline=None)
def test_price_response_monotone_non_decreasing(pop: tuple, p1: float, p2: float) -> None:
    kind, params, band = pop
    rules = PriceResponse(kind, band=band, **params)
    lo, hi = rules(min(p1, p2)), rules(max(p1, p2))
    assert (hi >= lo - 1e-9).all()
    # bounded by each device's range
    upper = np.select([kind == "generator", kind == "storage"], [params["capacity"], params["power"]], 0.0)
    lower = np.select([kind == "generator", kind == "storage"], [0.0 * upper, -params["power"]], -params["baseline"])
    assert (lo >= lower - 1e-9).all()
    assert (hi <= upper + 1e-9).all()


def test_the_rules_answer_through_the_protocol() -> None:
    rules = PriceResponse(KIND, **PARAMS)
    np.testing.assert_allclose(PriceSignalProtocol().split(40.0, rules, KIND.size), rules(40.0))
