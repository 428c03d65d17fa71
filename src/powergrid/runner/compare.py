"""Several controllers on the same data and seed, each against the grid-only baseline: KPI reports and, when
asked for, a folder of run directories (what ``heron compare`` writes)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from powergrid.analytics.kpis import KPIReport, add_share_of_oracle_savings, compute_kpis
from powergrid.analytics.results import RunWriter, atomic_directory, write_kpi_csv
from powergrid.analytics.totals import RunTotals
from powergrid.controllers import Controller, available_controllers, make_controller
from powergrid.errors import HeronGridError
from powergrid.forecasting import forecast_errors
from powergrid.ledger.run_directory import COMPARISON_CSV, COMPARISON_PNG
from powergrid.runner.simulate import ProgressCallback, simulate
from powergrid.scenarios.build import Community, build_community
from powergrid.scenarios.loader import ScenarioLike, dump_scenario, load_scenario
from powergrid.scenarios.model import Scenario

BASELINE = "grid-only"

#: ``draw(reports, path, title)``: a face's figure of the reports (e.g. ``powergrid.app.figures.comparison_figure``).
DrawCallback = Callable[[dict[str, KPIReport], Path, str], object]


def controller_names(asked: Sequence[str] | str | None, option: str = "controllers") -> list[str]:
    """Registered controller names, duplicates dropped in order: a list, one name, or None / ``"all"`` for every
    registered controller. An unknown name or an empty list is a HeronGridError naming ``option`` (e.g. the CLI
    flag) and listing the known names."""
    known = available_controllers()
    if asked is None or asked == "all":
        return known
    names = list(dict.fromkeys([asked] if isinstance(asked, str) else asked))
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise HeronGridError(
            f"{option}: unknown {', '.join(map(repr, unknown)) or '(empty list)'}; "
            f"available: {', '.join(known)} (or 'all')"
        )
    return names


@dataclass(frozen=True)
class RunOutcome:
    """One controller's run: its totals and KPIs (savings against the baseline run)."""

    controller: str
    totals: RunTotals
    kpis: KPIReport


def compare(
    scenario: ScenarioLike,
    controllers: Sequence[str] | None = None,
    seed: int | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    on_built: Callable[[int], None] | None = None,
    draw: DrawCallback | None = None,
) -> dict[str, KPIReport]:
    """Run ``controllers`` (registered names, or one name; None or ``"all"`` = all of them) and the grid-only
    baseline on the same data and seed; return each controller's KPI report (savings against the baseline), in the
    order asked for.

    ``scenario``: a built-in name, a YAML path, a mapping or a Scenario (``load_scenario``); ``seed`` replaces the
    scenario's. With ``out``, also writes what ``heron compare`` writes there, atomically (``write_comparison``):
    one run directory per controller and one for the baseline, ``comparison.csv`` and, with ``draw``,
    ``comparison.png``. ``on_built(total_steps)`` is called once the community is built, ``progress(k)`` after
    every ``k`` engine steps. Unknown controller names and invalid scenarios raise HeronGridError subclasses.
    """
    names = controller_names(controllers)
    spec = load_scenario(scenario, seed=seed)
    if out is not None:
        return write_comparison(spec, names, Path(out), overwrite, False, on_built, progress, draw)
    community = build_community(spec)
    if on_built is not None:
        on_built(_total_steps(community, names))
    return {name: outcome.kpis for name, outcome in run_controllers(community, names, None, progress).items()}


def _total_steps(community: Community, controllers: Sequence[str]) -> int:
    """Engine steps of a comparison: one run per controller and one for the baseline."""
    return len(dict.fromkeys([BASELINE, *controllers])) * community.n_steps


def agent_facts(community: Community) -> dict[str, np.ndarray]:
    """The ``agents.parquet`` columns (``AGENT_FACTS``) of a community: ids, kinds, feeder bus and phase (as placed
    for this scenario and seed), PV peak (kW), battery capacity (kWh) and power (kW)."""
    agents, network, n = community.agents, community.network, community.n_agents
    bus = np.full(n, -1, dtype=np.int64) if network is None else network.agent_nodes.astype(np.int64)
    phase = np.full(n, "", dtype=object)
    if network is not None:
        known = network.agent_phases >= 0
        phase[known] = np.array(["a", "b", "c"])[network.agent_phases[known]]
    return {
        "id": np.array(agents.ids, dtype=object),
        "kind": np.array(agents.kinds, dtype=object),
        "bus": bus,
        "phase": phase,
        "pv_peak_kw": agents.pv_peak_kw.astype(float),
        "battery_kwh": agents.battery.capacity_kwh.astype(float),
        "battery_kw": agents.battery.power_kw.astype(float),
    }


def run_facts(community: Community, controller: str) -> dict:
    """The ``run.json`` facts of one controller's run on a community."""
    from powergrid import __version__

    s = community.scenario
    return {
        "scenario": s.name,
        "controller": controller,
        "baseline": BASELINE,
        "seed": s.seed,
        "mechanism": s.market.mechanism,
        "feeder": None if s.network is None else s.network.feeder,
        "n_agents": community.n_agents,
        "n_steps": community.n_steps,
        "step_minutes": community.grid.step_minutes,
        "value_of_lost_load": community.value_of_lost_load,
        "package_version": __version__,
    }


def run_controllers(
    community: Community,
    controllers: Sequence[str],
    out_dirs: dict[str, Path] | None = None,
    progress: ProgressCallback | None = None,
) -> dict[str, RunOutcome]:
    """Run each controller (and the grid-only baseline once) on the same community; write run directories
    for the runs named in ``out_dirs`` (the baseline included, if named). Outcomes are returned for
    ``controllers``."""
    out_dirs = out_dirs or {}
    totals: dict[str, RunTotals] = {}
    writers: dict[str, RunWriter] = {}
    instances: dict[str, Controller] = {}
    for name in dict.fromkeys([BASELINE, *controllers]):
        instances[name] = make_controller(name)
        if name in out_dirs:
            scenario = community.scenario
            writers[name] = RunWriter(
                out_dirs[name],
                community.agents.ids,
                community.grid.index,
                ledger_seed=scenario.seed if scenario.ledger else None,
                fee_per_kwh=scenario.market.fee_per_kwh,
                agents=agent_facts(community),
                run=run_facts(community, name),
            )
        totals[name] = simulate(community, instances[name], writers.get(name), progress)
    outcomes = {}
    scenario_yaml = dump_scenario(community.scenario)
    reports = {name: compute_kpis(totals[name], totals[BASELINE]) for name in totals}  # incl. the baseline
    add_share_of_oracle_savings(reports)
    for name, ctrl in instances.items():
        if ctrl.forecaster is not None:
            errors = forecast_errors(ctrl.forecaster, community, np.arange(community.n_steps), ctrl.horizon)
            reports[name] = replace(reports[name], forecast_errors=errors)
    for name in controllers:
        outcomes[name] = RunOutcome(name, totals[name], reports[name])
    for name, writer in writers.items():  # the baseline too, when asked for: a reference run to compare against
        writer.close(scenario_yaml, {"controller": name, "baseline": BASELINE, **reports[name].to_json()})
    return outcomes


def write_comparison(
    spec: Scenario,
    controllers: Sequence[str],
    out: Path,
    overwrite: bool = False,
    single: bool = False,
    on_built: Callable[[int], None] | None = None,
    progress: ProgressCallback | None = None,
    draw: DrawCallback | None = None,
) -> dict[str, KPIReport]:
    """Build the scenario, run the controllers (and the grid-only baseline) and write ``out`` atomically.

    ``single``: ``out`` is the one controller's run directory (what ``heron run`` writes). Otherwise ``out`` holds
    one run directory per controller and one for the grid-only baseline (the dashboard's reference overlay), plus
    ``comparison.csv`` and, when a face passes ``draw(reports, path, title)`` (e.g.
    ``powergrid.app.figures.comparison_figure``), ``comparison.png`` (of the controllers asked for): the run loop
    itself draws nothing. ``on_built(total_steps)`` is called once the community is built, with the number of
    engine steps the runs will take (for a progress bar).
    """
    if single and len(controllers) != 1:
        raise ValueError(f"single=True takes one controller, got {list(controllers)}")
    with atomic_directory(out, overwrite=overwrite) as tmp:
        community = build_community(spec)
        dirs = {controllers[0]: tmp} if single else {c: tmp / c for c in dict.fromkeys([BASELINE, *controllers])}
        for folder in dirs.values():
            folder.mkdir(exist_ok=True)
        if on_built is not None:
            on_built(_total_steps(community, controllers))
        outcomes = run_controllers(community, controllers, dirs, progress)
        reports = {name: o.kpis for name, o in outcomes.items()}
        if not single:
            if draw is not None:
                draw(reports, tmp / COMPARISON_PNG, f"{spec.name}, seed {spec.seed}")
            write_kpi_csv(reports, tmp / COMPARISON_CSV)
    return reports
