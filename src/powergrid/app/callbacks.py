"""What the dashboard does, as plain functions of the inputs (unit-tested without a browser); ``wiring.register``
connects them to the page."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from dash import Patch, html, no_update

from powergrid.analytics.aggregate import aggregate_kpis
from powergrid.analytics.kpis import KPI_INFO, NA
from powergrid.app.form import form_fields, form_values, scenario_from_form
from powergrid.app.layout import table
from powergrid.app.plots_analysis import (
    ANALYSIS_KPIS,
    default_households,
    kpi_bars_figure,
    savings_ranking_figure,
    wallet_figure,
)
from powergrid.app.plots_playback import network_figure, step_marker, timeseries_figure
from powergrid.app.rundata import RunCache, RunData, baseline_of, pool_runs, seed_siblings, time_label
from powergrid.app.topology import Topology, community_topology, feeder_topology
from powergrid.errors import HeronGridError
from powergrid.scenarios import load_scenario


class Dashboard:
    """Server-side state: the runs folder (with its cache of loaded runs), background jobs, network layouts."""

    def __init__(self, runs_root: Path) -> None:
        from powergrid.app.jobs import JobRunner

        self.cache = RunCache(runs_root)
        self.jobs = JobRunner(runs_root)
        self.fields = form_fields()
        self._layouts: dict[str, tuple[Topology, np.ndarray]] = {}
        self._lock = threading.Lock()

    def layout_of(self, run: RunData) -> tuple[Topology, np.ndarray]:
        """The run's network view layout and battery capacities (kWh), built once per run directory."""
        key = f"{run.info.key}:{run.info.variant}"
        with self._lock:
            if key in self._layouts:
                return self._layouts[key]
        info = run.info
        capacity = run.facts["battery_kwh"].astype(float)
        topo = (
            community_topology(len(run.agent_ids), info.scenario)
            if info.feeder is None
            else feeder_topology(info.feeder, run.facts["bus"], f"{info.scenario}: {info.feeder}")
        )
        with self._lock:
            self._layouts[key] = (topo, capacity)
        return topo, capacity


def message_figure(text: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        title={"text": text, "font": {"size": 13}}, xaxis={"visible": False}, yaxis={"visible": False}, height=300
    )
    return fig


# --- Parameters -------------------------------------------------------------------------------------------------


def fill_form(d: Dashboard, scenario: str, paths: list[str]) -> list:
    """The base scenario's values for the inputs ``paths`` (in page order)."""
    values = form_values(load_scenario(scenario), d.fields)
    return [values[p] if not isinstance(values[p], bool) else ([True] if values[p] else []) for p in paths]


def validate_form(d: Dashboard, values: list, paths: list[str], groups: list[str]):
    """Error text per input and per section (empty when valid), and the validated Scenario or None."""
    spec, errors = scenario_from_form(dict(zip(paths, values, strict=True)), d.fields)
    return [errors.get(p, "") for p in paths], [errors.get(g, "") for g in groups], spec


def start_run(
    d: Dashboard,
    values: list,
    paths: list[str],
    controllers: list[str] | None,
    n_seeds: int | None,
    run_name: str | None,
) -> tuple[int | None, str, bool]:
    """(job id, status text, poll disabled). Invalid form or options: no job, and the reason."""
    _, _, spec = validate_form(d, values, paths, [])
    if spec is None:
        return None, "fix the fields marked in red first", True
    if not n_seeds or n_seeds < 1:
        return None, "seeds: give a whole number ≥ 1", True
    name = (run_name or "").strip() or None
    if name is not None and (Path(name).name != name or name.startswith(".")):
        return None, f"run name {name!r}: use a plain folder name (no '/', not starting with '.')", True
    try:
        job = d.jobs.start(spec, list(controllers or []), [spec.seed + k for k in range(int(n_seeds))], name)
    except HeronGridError as exc:
        return None, str(exc), True
    return job.id, f"job {job.id} started: {job.out}", False


def poll_job(d: Dashboard, job_id: int | None, version: int):
    """(progress value, status text, poll disabled, runs version, run to select) for the running job."""
    if job_id is None:
        return "0", "", True, version, no_update
    job = d.jobs.get(job_id)
    status = f"{job.state}: {job.message} ({job.done:,}/{job.total:,} steps)"
    if job.state == "running":
        return str(job.fraction), status, False, version, no_update
    chosen = next((k for k in job.run_keys if not k.endswith("/grid-only")), no_update)
    return str(job.fraction), status, True, version + 1, chosen if job.state == "done" else no_update


# --- Playback ---------------------------------------------------------------------------------------------------


def run_options(d: Dashboard, current: str | None, shown: list[dict] | None = None):
    """The run list and the selected run; ``no_update`` for what is unchanged (so nothing downstream reruns)."""
    runs = d.cache.runs()
    options = [{"label": r.label, "value": r.key} for r in runs]
    keys = [r.key for r in runs]
    if current in keys:
        return (no_update if options == shown else options), no_update
    preferred = [r.key for r in runs if r.controller != "grid-only"] or keys
    return options, preferred[0] if preferred else None


def select_run(d: Dashboard, key: str | None, step: int | None = None):
    """On choosing a run: slider range and marks, the slider back to step 0 (``no_update`` if it is there already),
    baseline choices (default: the grid-only run beside it), and the households shown by default."""
    if not key:
        return 1, {}, 0, [], None, [], []
    runs = d.cache.runs()
    info = d.cache.info(key)
    run = d.cache.get(key)
    n = run.n_steps
    ticks = np.linspace(0, n - 1, min(n, 7)).astype(int)
    marks = {int(t): time_label(run.timestamps[t]) for t in ticks}
    base = baseline_of(info, runs)
    options = [{"label": r.label, "value": r.key} for r in runs if r.key != key and r.n_steps == n]
    households = [{"label": a, "value": a} for a in run.agent_ids]
    first = no_update if step == 0 else 0
    return n - 1, marks, first, options, base.key if base else None, households, default_households(run)


def timeseries(d: Dashboard, key: str | None, baseline_key: str | None, band: list | None, step: int) -> go.Figure:
    if not key:
        return message_figure("no run selected (write runs with the Parameters tab or `heron compare --out`)")
    run = d.cache.get(key)
    baseline = d.cache.get(baseline_key) if baseline_key else None
    seeds = []
    if band:
        siblings = seed_siblings(run.info, d.cache.runs())
        seeds = [d.cache.get(s.key) for s in siblings] if len(siblings) >= 2 else []
    return timeseries_figure(run, baseline, seeds, step or 0)


def network(d: Dashboard, key: str | None, step: int) -> tuple[go.Figure, str]:
    if not key:
        return message_figure("no run selected"), ""
    run = d.cache.get(key)
    step = int(min(max(step or 0, 0), run.n_steps - 1))
    topo, capacity = d.layout_of(run)
    kwh = run.trades.at(step)[2]
    info = (
        f"step {step} of {run.n_steps - 1} · {time_label(run.timestamps[step])} · P2P {kwh.sum():.2f} kWh in "
        f"{kwh.size} trade(s) · grid import {run.agent['imported'][step].sum():.2f} kWh"
    )
    return network_figure(topo, run, step, capacity), info


def marker_patch(d: Dashboard, key: str | None, step: int) -> Patch:
    """Move the time series' current-step line without resending the series."""
    patch = Patch()
    if key:
        x = step_marker(d.cache.get(key), int(step or 0))
        patch["layout"]["shapes"][0]["x0"] = x
        patch["layout"]["shapes"][0]["x1"] = x
    return patch


def toggle_play(disabled: bool) -> tuple[bool, str]:
    """(timer disabled, button label) after a click on play/pause."""
    return (False, "⏸ pause") if disabled else (True, "▶ play")


def advance(d: Dashboard, key: str | None, step: int, speed: int) -> tuple[int, bool, str]:
    """One tick of playback: (new step, timer disabled, button label); stops at the last step."""
    if not key:
        return 0, True, "▶ play"
    last = d.cache.get(key).n_steps - 1
    nxt = min(int(step or 0) + int(speed or 1), last)
    return (nxt, True, "▶ play") if nxt >= last else (nxt, False, "⏸ pause")


# --- Analysis, households, ledger -------------------------------------------------------------------------------


def analysis_defaults(d: Dashboard, key: str | None) -> list[str]:
    """Runs compared by default: every run of the selected run's scenario (the same resolved scenario up to the
    seed), one per controller and seed — runs in the selected run's folder first. Never another scenario's."""
    if not key:
        return []
    info = d.cache.info(key)
    same = sorted((r for r in d.cache.runs() if r.variant == info.variant), key=lambda r: r.group != info.group)
    chosen: dict[tuple[str, int], str] = {}
    for r in same:
        chosen.setdefault((r.controller, r.seed), r.key)
    return sorted(chosen.values())


def analysis(d: Dashboard, keys: list[str] | None, groupby: str) -> tuple[go.Figure, html.Table | str]:
    if not keys:
        return message_figure("choose runs to compare"), ""
    pooled = pool_runs([d.cache.info(key) for key in keys], groupby)
    groups = {label: [d.cache.get(i.key).report() for i in infos] for label, infos in pooled.items()}
    header = html.Tr([html.Th("KPI"), html.Th("unit"), *[html.Th(f"{g} (n={len(r)})") for g, r in groups.items()]])
    stats = {g: aggregate_kpis(r) for g, r in groups.items()}
    rows = []
    for kpi in ANALYSIS_KPIS:
        cells = []
        for g in groups:
            s = stats[g][kpi]
            cells.append(
                "n/a"
                if isinstance(s, NA)
                else f"{s.mean:.4g}" + ("" if isinstance(s.half_width, NA) else f" ± {s.half_width:.2g}")
            )
        rows.append(html.Tr([html.Td(kpi), html.Td(KPI_INFO[kpi][0]), *[html.Td(c) for c in cells]]))
    return kpi_bars_figure(groups), html.Table([header, *rows], className="kpi-table")


def households(d: Dashboard, key: str | None, baseline_key: str | None, chosen: list[str] | None):
    if not key:
        return message_figure("no run selected"), message_figure("no run selected")
    run = d.cache.get(key)
    baseline = d.cache.get(baseline_key) if baseline_key else None
    valid = [a for a in chosen or [] if a in run.agent_ids]
    return wallet_figure(run, valid, baseline), savings_ranking_figure(run)


def ledger(d: Dashboard, key: str | None):
    """(verify result, blocks table, block choices) of the run's ledger."""
    from powergrid.analytics.ledger_check import verify_run_ledger
    from powergrid.ledger.store import read_blocks

    if not key:
        return "no run selected", None, []
    info = d.cache.info(key)
    if not info.has_ledger:
        return f"{info.label}: no ledger (enable `ledger: true` in the scenario)", None, []
    report = verify_run_ledger(info.path)
    verdict = (
        f"✔ ledger verified: {report.blocks} blocks (genesis included), {report.trades} trades, "
        f"head {report.head_hash[:16]}…"
        if report.ok
        else f"✘ ledger verification failed: {'; '.join(report.problems[:5])}"
    )
    verdict = f"{info.label}: {verdict}"
    trades = read_blocks(info.path)
    blocks = trades.groupby(["block", "step", "sim_time"], as_index=False).agg(
        trades=("seq", "size"), kwh=("kwh", "sum"), value=("value", "sum")
    )
    rows = blocks.to_dict("records")
    choices = [
        {"label": f"block {r['block']} · step {r['step']} · {r['trades']} trade(s)", "value": int(r["block"])}
        for r in rows
    ]
    colour = "#2e7d32" if report.ok else "#c62828"
    return html.Span(verdict, id="ledger-verdict", style={"color": colour}), table(rows, limit=1000), choices


def ledger_trades(d: Dashboard, key: str | None, block: int | None):
    """The chosen block's trades as stored (signatures left out)."""
    from powergrid.ledger.store import read_blocks

    if not key or block is None or not d.cache.info(key).has_ledger:
        return None
    frame = read_blocks(d.cache.info(key).path, block=int(block)).drop(columns=["sig_buyer", "sig_seller"])
    return html.Div([html.H4(f"Trades of block {block}"), table(frame.to_dict("records"))])
