"""Train/test split by whole days, and episode windows (step ranges) on them."""

from __future__ import annotations

import math

import numpy as np

from powergrid.errors import ScenarioError
from powergrid.scenarios.build import Community


def steps_per_day(community: Community) -> int:
    return 24 * 60 // community.grid.step_minutes


def day_split(community: Community) -> tuple[np.ndarray, np.ndarray]:
    """(train days, test days) as day indices; the test days are the scenario's, or its last ``test_fraction``."""
    split = community.scenario.split
    n_days = community.n_steps // steps_per_day(community)
    if n_days < 2:
        raise ScenarioError(f"split: the scenario has {n_days} whole day(s); a train/test split needs at least 2")
    if split.test_days is not None:
        bad = [d for d in split.test_days if not 0 <= d < n_days]
        if bad:
            raise ScenarioError(f"split.test_days: {bad} outside the scenario's days 0…{n_days - 1}")
        test = np.array(sorted(set(split.test_days)), dtype=int)
    else:
        k = max(1, math.ceil(split.test_fraction * n_days))
        test = np.arange(n_days - k, n_days)
    train = np.setdiff1d(np.arange(n_days), test)
    if train.size == 0:
        raise ScenarioError("split: no training days are left")
    return train, test


def day_steps(community: Community, days: np.ndarray) -> np.ndarray:
    """All step indices of the given days."""
    per_day = steps_per_day(community)
    return (np.asarray(days)[:, None] * per_day + np.arange(per_day)[None, :]).ravel()


def episode_starts(community: Community, days: np.ndarray) -> np.ndarray:
    """Days on which an episode of ``split.episode_days`` consecutive days of the same split can start."""
    length = community.scenario.split.episode_days
    day_set = set(np.asarray(days).tolist())
    starts = [d for d in sorted(day_set) if all(d + k in day_set for k in range(length))]
    if not starts:
        raise ScenarioError(f"split.episode_days={length}: no run of that many consecutive days in the split")
    return np.array(starts, dtype=int)
