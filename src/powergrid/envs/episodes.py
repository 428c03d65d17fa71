"""What every community environment sets up the same way: the community, the split's episode starts and
length, and the observation builder (scales and forecaster from the training days only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import overload

import numpy as np

from powergrid.errors import ScenarioError
from powergrid.policy.features import ObservationBuilder
from powergrid.scenarios.build import Community, build_community
from powergrid.scenarios.loader import ScenarioLike, load_scenario
from powergrid.scenarios.split import day_split, day_steps, episode_starts, steps_per_day

SPLITS = ("train", "test", "all")


@dataclass(frozen=True)
class EpisodeSetup:
    """``starts``: the days an episode of ``split`` may start on; ``episode_steps``: steps per episode."""

    community: Community
    split: str
    starts: np.ndarray
    episode_steps: int
    builder: ObservationBuilder

    @overload
    def window(self, day: int) -> tuple[int, int]: ...
    @overload
    def window(self, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...
    def window(self, day: int | np.ndarray) -> tuple[int | np.ndarray, int | np.ndarray]:
        """(start, stop) steps of the episode starting on ``day`` (an int or an array of days)."""
        start = day * steps_per_day(self.community)
        return start, start + self.episode_steps


def episode_setup(
    scenario: ScenarioLike, seed: int, split: str, horizon: int, community: Community | None = None
) -> EpisodeSetup:
    """Build (or take) the community and everything episodes need; ScenarioError for an unknown split."""
    if split not in SPLITS:
        raise ScenarioError(f"split must be 'train', 'test' or 'all', got {split!r}")
    c = community if community is not None else build_community(load_scenario(scenario, seed=seed))
    train, test = day_split(c)
    days = {"train": train, "test": test, "all": np.arange(c.n_steps // steps_per_day(c))}[split]
    episode_steps = c.scenario.split.episode_days * steps_per_day(c)
    return EpisodeSetup(
        c, split, episode_starts(c, days), episode_steps, ObservationBuilder(c, day_steps(c, train), horizon)
    )
