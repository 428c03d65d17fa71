"""A tiny scenario (8 agents, 48 h) that builds in milliseconds, for tests in every folder."""

from __future__ import annotations

import copy

TINY = {
    "name": "tiny",
    "seed": 3,
    "time": {"start": "2024-05-06T00:00:00", "step_minutes": 60, "n_steps": 48, "utc_offset_hours": 1},
    "devices": {"pv": {"peak_kw": 6.0}, "battery": {"capacity_kwh": 8.0, "power_kw": 3.0}},
    "agents": [
        {"kind": "prosumer", "count": 4},
        {"kind": "pv-only", "count": 2},
        {"kind": "consumer", "count": 2, "load": {"annual_kwh": 5000}},
    ],
    "tariff": {"retail": 0.30, "feed_in": 0.08, "peak_windows": [{"start": "17:00", "end": "21:00", "retail": 0.40}]},
}


def tiny_dict(**changes) -> dict:
    """A deep copy of the tiny scenario with top-level keys replaced."""
    raw = copy.deepcopy(TINY)
    raw.update(changes)
    return raw
