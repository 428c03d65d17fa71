"""Run controllers through the engine: one run, or a comparison on the same data and seed."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from powergrid.analytics.kpis import KPIReport, add_share_of_oracle_savings, compute_kpis
from powergrid.analytics.results import RunWriter, atomic_directory, write_kpi_csv
from powergrid.analytics.totals import RunTotals
from powergrid.controllers import Controller, make_controller
from powergrid.engine import CommunityEngine, StepResult
from powergrid.forecasting import forecast_errors
from powergrid.scenarios.build import Community, build_community
from powergrid.scenarios.loader import dump_scenario
from powergrid.scenarios.model import Scenario

BASELINE = "grid-only"

ProgressCallback = Callable[[int], None]


@dataclass(frozen=True)
class RunOutcome:
    """One controller's run: its totals and KPIs (savings against the baseline run)."""

    controller: str
    totals: RunTotals
    kpis: KPIReport


#: Steps whose power flows are solved in one batch call (a week at 1 h); 1 = solve every step on its own.
NETWORK_BATCH = 168


def simulate(
    community: Community,
    controller: Controller | str,
    writer: RunWriter | None = None,
    progress: ProgressCallback | None = None,
    network_batch: int = NETWORK_BATCH,
    start: int = 0,
    stop: int | None = None,
    on_step: Callable[[StepResult], None] | None = None,
) -> RunTotals:
    """Run ``controller`` over the whole horizon; stream steps to ``writer``; return the totals.

    With a feeder, every step's power flow is solved, ``network_batch`` steps per power-grid-model call, for
    controllers that do not observe network results (``observes_network`` False): the same outcome as solving
    step by step (tested) at a fraction of the cost. Controllers that do (trained policies) and interactive faces
    (RL environments) get every step solved on its own.
    """
    if isinstance(controller, str):
        controller = make_controller(controller)
    if network_batch < 1:
        raise ValueError(f"network_batch must be >= 1, got {network_batch}")
    controller.reset(community)
    engine = CommunityEngine(community, defer_network=network_batch > 1 and not controller.observes_network)
    engine.reset(start, stop)
    n_steps = int(engine.stop) - start
    totals = RunTotals.for_community(community, n_steps, first_step=start)
    pending = []

    def record(results) -> None:
        for result in engine.complete(results) if engine.defer_network else results:
            totals.add(result)
            if writer is not None:
                writer.add(result)
            if on_step is not None:
                on_step(result)

    while not engine.done:
        obs = engine.observe()
        pending.append(engine.step(controller.act(obs), obs))
        if len(pending) >= network_batch or engine.done:
            record(pending)
            pending = []
        if progress is not None:
            progress(1)
    totals.optimiser_fallbacks = controller.fallbacks
    warn_fallbacks(controller, n_steps)
    return totals


def warn_fallbacks(controller: Controller, n_steps: int) -> None:
    """One RuntimeWarning per run summarising the controller's optimiser fallbacks (none when there were none)."""
    if not controller.fallbacks:
        return
    events = list(controller.fallback_events)
    shown = "; ".join(events[:3]) + (f"; … {len(events) - 3} more" if len(events) > 3 else "")
    warnings.warn(
        f"{controller.name}: {controller.fallbacks} of {n_steps} steps fell back to self-consumption because the "
        f"solve was not optimal ({shown}); counted as optimiser_fallbacks in the KPIs",
        RuntimeWarning,
        stacklevel=3,
    )


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
    draw: Callable[[dict[str, KPIReport], Path, str], object] | None = None,
) -> dict[str, KPIReport]:
    """Build the scenario, run the controllers (and the grid-only baseline) and write ``out`` atomically.

    ``single``: ``out`` is the one controller's run directory. Otherwise ``out`` holds one run directory per
    controller and one for the grid-only baseline (the dashboard's reference overlay), plus ``comparison.csv`` and,
    when a face passes ``draw(reports, path, title)`` (e.g. ``powergrid.app.figures.comparison_figure``),
    ``comparison.png`` (of the controllers asked for): the run loop itself draws nothing. ``on_built(total_steps)``
    is called once the community is built, with the number of engine steps the runs will take (for a progress bar).
    """
    if single and len(controllers) != 1:
        raise ValueError(f"single=True takes one controller, got {list(controllers)}")
    with atomic_directory(out, overwrite=overwrite) as tmp:
        community = build_community(spec)
        dirs = {controllers[0]: tmp} if single else {c: tmp / c for c in dict.fromkeys([BASELINE, *controllers])}
        for folder in dirs.values():
            folder.mkdir(exist_ok=True)
        if on_built is not None:
            on_built(len(dict.fromkeys([BASELINE, *controllers])) * community.n_steps)
        outcomes = run_controllers(community, controllers, dirs, progress)
        reports = {name: o.kpis for name, o in outcomes.items()}
        if not single:
            if draw is not None:
                draw(reports, tmp / "comparison.png", f"{spec.name}, seed {spec.seed}")
            write_kpi_csv(reports, tmp / "comparison.csv")
    return reports
