"""Scenario sweeps: every (controller, seed) run is one task — a Ray task, or a plain call on the serial path.

Each run is exactly ``heron run``'s engine: ``load_scenario(name, seed=s)``, ``build_community``,
``run_controllers`` (the controller and its grid-only baseline) and the KPIs against that baseline — so a run on
Ray gives the same numbers, bit for bit, as the same run in this process.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from powergrid.analytics.aggregate import MeanCI, aggregate_kpis
from powergrid.analytics.kpis import NA, KPIReport
from powergrid.errors import HeronGridError
from powergrid.runner.compare import run_controllers
from powergrid.scenarios import Scenario, load_scenario
from powergrid.scenarios.build import build_community
from powergrid.scenarios.loader import ScenarioLike

_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


def parse_seeds(text: str) -> list[int]:
    """``"0-9"``, ``"3"``, ``"0,2,5"`` or ``"0-3,7"`` → seeds in the given order, each once."""
    seeds: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        match = _RANGE.match(part)
        if match is None:
            raise HeronGridError(f"--seeds: {part!r} in {text!r} is not a seed (e.g. 3) or a range (e.g. 0-9)")
        first, last = int(match[1]), int(match[2] if match[2] is not None else match[1])
        if last < first:
            raise HeronGridError(
                f"--seeds: range {part!r} is empty (its end is before its start); write {last}-{first}"
            )
        seeds.extend(range(first, last + 1))
    return list(dict.fromkeys(seeds))


def run_one(spec: Scenario, controller: str) -> KPIReport:
    """One controller on one resolved scenario (seed included): its KPIs against grid-only on the same data."""
    community = build_community(spec)
    return run_controllers(community, [controller])[controller].kpis


@dataclass(frozen=True)
class SweepResult:
    """KPIReports per controller in seed order, and their mean ± CI per KPI."""

    scenario: str
    seeds: list[int]
    reports: dict[str, list[KPIReport]]
    stats: dict[str, dict[str, MeanCI | NA]]


def run_sweep(
    scenario: ScenarioLike,
    controllers: Sequence[str],
    seeds: Sequence[int],
    use_ray: bool = True,
    address: str | None = None,
    confidence: float = 0.95,
    on_done: Callable[[], None] | None = None,
) -> SweepResult:
    """Run every (controller, seed) pair — as Ray tasks (on the cluster at ``address``, or a local instance) or
    serially in this process — and aggregate per controller. ``on_done`` is called once per finished run."""
    if not controllers or not seeds:
        raise HeronGridError("a sweep needs at least one controller and one seed")
    specs = {s: load_scenario(scenario, seed=s) for s in seeds}  # resolved here: files need not exist on workers
    pairs = [(c, s) for c in controllers for s in seeds]
    if use_ray:
        results = _on_ray(specs, pairs, address, on_done)
    else:
        results = []
        for c, s in pairs:
            results.append(run_one(specs[s], c))
            if on_done is not None:
                on_done()
    reports: dict[str, list[KPIReport]] = {c: [] for c in controllers}
    for (c, _), report in zip(pairs, results, strict=True):
        reports[c].append(report)
    stats = {c: aggregate_kpis(r, confidence) for c, r in reports.items()}
    return SweepResult(specs[seeds[0]].name, list(seeds), reports, stats)


def _on_ray(
    specs: dict[int, Scenario], pairs: list[tuple[str, int]], address: str | None, on_done: Callable[[], None] | None
) -> list[KPIReport]:
    from powergrid.scaling.ray_session import ray_session

    with ray_session(address):
        import ray

        task = ray.remote(num_cpus=1)(run_one)
        refs = [task.remote(specs[s], c) for c, s in pairs]
        pending = list(refs)
        while pending:
            _, pending = ray.wait(pending, num_returns=1)
            if on_done is not None:
                on_done()
        return ray.get(refs)
