"""Small communities for the forecasting tests (module-level builders, no fixtures to share names with)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from powergrid.data.profiles import Profiles
from powergrid.data.tariffs import Tariff
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import Community, build_community
from scenario_factory import tiny_dict

FIVE_DAYS = {"start": "2024-05-06T00:00:00", "step_minutes": 60, "n_steps": 120, "utc_offset_hours": 1}


def small_community(n_steps: int = 120) -> Community:
    """The tiny 8-agent community stretched to ``n_steps`` hourly steps (5 days by default)."""
    return build_community(load_scenario(tiny_dict(time={**FIVE_DAYS, "n_steps": n_steps})))


def with_data(community: Community, load_kw: np.ndarray, pv_kw: np.ndarray, tariff: Tariff | None = None) -> Community:
    """The community with its profiles (and optionally its tariff) replaced."""
    profiles = Profiles(load_kw, pv_kw, community.agents.ids)
    return replace(community, profiles=profiles, tariff=tariff or community.tariff)


def indexed(community: Community) -> Community:
    """Profiles whose value names its step and agent: load = 1000 + 10 t + i, PV = 10 t + i (kW)."""
    t = np.arange(community.n_steps)[:, None]
    i = np.arange(community.n_agents)[None, :]
    return with_data(community, 1000.0 + 10.0 * t + i, 10.0 * t + i + 0.0)


def seasonal_row(t: int, target: int, per_day: int) -> int:
    """Brute force: walk back whole days from the target until the step is known (<= t); t if none exists."""
    src = target - per_day
    while src > t:
        src -= per_day
    return src if src >= 0 else t
