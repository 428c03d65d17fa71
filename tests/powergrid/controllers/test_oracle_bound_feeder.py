"""The oracle is a bound on a feeder that binds (``market.network_constraints: enforce``): its LP carries the
linearised network limits, no controller has a lower headline cost, and the limits change what the oracle does."""

from __future__ import annotations

import numpy as np
import pytest

from powergrid.runner.compare import run_controllers
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import build_community

RIVALS = ("self-consumption", "truthful-bidder", "zi-c", "greedy", "mpc")


def feeder_scenario(seed: int, mode: str = "enforce") -> dict:
    """10–20 homes on the Dickert rural feeder, a cheap night and a dear evening, a narrow voltage band."""
    rng = np.random.default_rng(seed)
    retail = float(rng.uniform(0.15, 0.3))
    return {
        "name": f"feeder-{seed}",
        "seed": seed,
        "time": {
            "start": "2024-03-04T00:00:00",
            "step_minutes": 60,
            "n_steps": 24 * int(rng.integers(1, 3)),
            "utc_offset_hours": 1,
        },
        "devices": {
            "pv": {"peak_kw": float(rng.uniform(3.0, 8.0))},
            "battery": {
                "capacity_kwh": float(rng.uniform(10, 20)),
                "power_kw": float(rng.uniform(5, 10)),
                "initial_soc": float(rng.uniform(0.1, 0.5)),
            },
        },
        "agents": [
            {"kind": "prosumer", "count": int(rng.integers(8, 16))},
            {"kind": "consumer", "count": int(rng.integers(2, 6))},
        ],
        "tariff": {
            "retail": retail,
            "feed_in": float(rng.uniform(0.1, 0.35) * retail),
            "peak_windows": [
                {"start": "01:00", "end": "05:00", "retail": retail * 0.4},
                {"start": "17:00", "end": "21:00", "retail": retail * 2},
            ],
        },
        "market": {
            "mechanism": str(rng.choice(["uniform", "pay-as-bid", "mid-market", "none"])),
            "network_constraints": mode,
        },
        "network": {
            "feeder": "dickert-rural",
            "voltage_band": [float(rng.uniform(0.985, 0.995)), float(rng.uniform(1.005, 1.02))],
        },
        "mpc": {"horizon": 12, "forecaster": "perfect"},
    }


def violations(kpis: dict) -> float:
    return kpis["voltage_violations"] + kpis["overloads"]


@pytest.mark.parametrize("seed", range(4))
def test_no_controller_beats_the_oracle_on_an_enforced_feeder(seed):
    outcomes = run_controllers(build_community(load_scenario(feeder_scenario(seed))), [*RIVALS, "oracle"])
    oracle = outcomes["oracle"].kpis.community
    assert oracle["optimiser_fallbacks"] == 0
    for name in RIVALS:
        cost = outcomes[name].kpis.community["cost"]
        assert oracle["cost"] <= cost + 1e-6 * max(1.0, abs(cost)), f"{name} beats the oracle"


def test_the_linearised_limits_keep_the_oracle_in_band():
    """Seed 1: grid-blind, the oracle charges every battery at night and breaks the band; with the limits in its LP
    it breaks nothing, the operator curtails nothing, and it pays little for it."""
    blind, aware = (
        run_controllers(build_community(load_scenario(feeder_scenario(1, mode))), ["oracle"])["oracle"].kpis.community
        for mode in ("ignore", "enforce")
    )
    assert violations(blind) > 50
    assert violations(aware) == 0
    assert aware["network_curtailed_kwh"] == pytest.approx(0.0, abs=1e-9)
    assert aware["cost"] <= blind["cost"] + 0.02 * abs(blind["cost"]) + 0.5
