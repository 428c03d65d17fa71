"""Synthetic benchmark communities shared by the benchmark scripts (one definition, not one per script)."""

from __future__ import annotations

from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import Community, build_community


def synthetic_community(n_agents: int, n_steps: int, feeder: str | None = None, name: str = "bench") -> Community:
    """Half prosumers, a quarter PV-only, a quarter consumers; 1 h steps from 1 May 2024; retail 0.3 with a
    17–21 h peak at 0.4, feed-in 0.08; on ``feeder`` when given (power flow every step)."""
    raw = {
        "name": name,
        "seed": 0,
        "time": {"start": "2024-05-01T00:00:00", "step_minutes": 60, "n_steps": n_steps, "utc_offset_hours": 1},
        "agents": [
            {"kind": "prosumer", "count": n_agents // 2},
            {"kind": "pv-only", "count": n_agents // 4},
            {"kind": "consumer", "count": n_agents - n_agents // 2 - n_agents // 4},
        ],
        "tariff": {"retail": 0.3, "feed_in": 0.08, "peak_windows": [{"start": "17:00", "end": "21:00", "retail": 0.4}]},
    }
    if feeder is not None:
        raw["network"] = {"feeder": feeder}
    return build_community(load_scenario(raw))
