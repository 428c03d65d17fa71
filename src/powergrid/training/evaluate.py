"""Evaluate a trained policy against the rule-based baselines on held-out days, with the same engine, KPIs and
reward definition for every controller."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from powergrid.analytics.kpis import KPIReport, add_share_of_oracle_savings, compute_kpis
from powergrid.analytics.totals import merge_totals
from powergrid.controllers import make_controller
from powergrid.controllers.policy import PolicyController
from powergrid.reward import RewardTracker
from powergrid.runner.simulate import simulate
from powergrid.scenarios.build import Community, build_community
from powergrid.scenarios.loader import ScenarioLike, load_scenario, scenario_from_dict
from powergrid.scenarios.split import day_split, steps_per_day

#: The controllers a policy is compared with on the same days (the oracle bounds them all).
BASELINES = ("grid-only", "self-consumption", "truthful-bidder", "greedy", "mpc", "oracle")


@dataclass(frozen=True)
class Evaluation:
    """KPIs per controller, and per-step community grid import (kWh) and reward (sum over agents)."""

    reports: dict[str, KPIReport]
    grid_import: dict[str, np.ndarray]
    reward: dict[str, np.ndarray]
    days: np.ndarray
    dt_hours: float
    final_stored_kwh: dict[str, float]  # community battery energy at the end of each block, summed


def contiguous_blocks(days: np.ndarray) -> list[tuple[int, int]]:
    """Runs of consecutive days as (first day, last day + 1)."""
    blocks, start = [], int(days[0])
    for a, b in itertools.pairwise(days):
        if b != a + 1:
            blocks.append((start, int(a) + 1))
            start = int(b)
    blocks.append((start, int(days[-1]) + 1))
    return blocks


def _run(community: Community, controller, blocks, per_day: int):
    tracker = RewardTracker(community)
    imports, rewards, parts, final = [], [], [], []

    def record(r) -> None:
        rewards.append(float(tracker.step(r)[0].sum()))
        imports.append(float(r.imported.sum()))
        final.append(float(r.soc.sum()))

    stored = 0.0
    for first, last in blocks:
        tracker.reset(first * per_day, last * per_day)
        parts.append(simulate(community, controller, start=first * per_day, stop=last * per_day, on_step=record))
        stored += final[-1]
    return merge_totals(parts), np.array(imports), np.array(rewards), stored


def evaluate_policy(model_dir: Path, scenario: ScenarioLike | None = None, split: str = "test") -> Evaluation:
    """Run the policy and ``BASELINES`` on the split's days (each block of consecutive days from its start, from
    the initial state of charge; the oracle and MPC plan each block on their own); ``share_of_oracle_savings`` is
    filled in every report."""
    policy = PolicyController(Path(model_dir))  # validates the directory first
    config = policy.config
    import yaml

    spec = (
        load_scenario(scenario, seed=config["seed"])
        if scenario is not None
        else scenario_from_dict(yaml.safe_load(config["scenario_yaml"]), "(from the model)")
    )
    community = build_community(spec)
    train, test = day_split(community)
    days = test if split == "test" else train
    blocks = contiguous_blocks(days)
    per_day = steps_per_day(community)
    controllers = {name: make_controller(name) for name in BASELINES}
    controllers[policy.name] = policy
    totals, grid_import, reward, stored = {}, {}, {}, {}
    for name, ctrl in controllers.items():
        totals[name], grid_import[name], reward[name], stored[name] = _run(community, ctrl, blocks, per_day)
    reports = {name: compute_kpis(t, totals["grid-only"]) for name, t in totals.items()}
    add_share_of_oracle_savings(reports)
    return Evaluation(reports, grid_import, reward, days, community.grid.dt_hours, stored)
