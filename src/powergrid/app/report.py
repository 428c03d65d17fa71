"""``heron report``: one self-contained HTML file (Plotly, its JavaScript inlined: opens offline, can be mailed) and
PNG figures (matplotlib) for papers, from one or more run directories."""

from __future__ import annotations

import html
import os
from pathlib import Path

import numpy as np
import plotly.graph_objects as go

from powergrid.analytics.aggregate import aggregate_kpis
from powergrid.analytics.kpis import KPI_INFO, NA
from powergrid.app.figures import pooled_kpi_figure, timeseries_png
from powergrid.app.plots_analysis import kpi_bars_figure, savings_ranking_figure
from powergrid.app.plots_playback import timeseries_figure
from powergrid.app.rundata import RunData, RunInfo, baseline_of, discover_runs, load_run, pool_runs
from powergrid.errors import ResultsError

REPORT = "report.html"
FIGURES = "figures"


def collect_runs(paths: list[Path]) -> tuple[list[RunInfo], list[RunInfo]]:
    """(runs to report, every run found beside them — for baselines): each path is a run directory or a folder of
    run directories (e.g. a ``heron compare`` output)."""
    chosen: list[RunInfo] = []
    pool: list[RunInfo] = []
    for path in paths:
        path = Path(path)
        if not path.is_dir():
            raise ResultsError(f"{path} is not a directory")
        found = discover_runs(path)
        if not found:
            raise ResultsError(f"{path}: no run directory (timeseries.parquet + kpis.json) in it or below it")
        parent = discover_runs(path.parent) if found[0].key == "." else found  # siblings, for the baseline
        chosen += [_rekey(r, path) for r in found]
        pool += [_rekey(r, path.parent if found[0].key == "." else path) for r in parent]
    keys = [r.key for r in chosen]
    if len(set(keys)) != len(keys):
        raise ResultsError("the same run directory is named twice")
    return chosen, pool


def _rekey(info: RunInfo, root: Path) -> RunInfo:
    """Key runs by their path as given, so runs from different folders stay distinct."""
    path = info.path if info.key != "." else root
    return RunInfo(**{**info.__dict__, "key": path.as_posix(), "path": path})


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _kpi_table(runs: list[RunData]) -> str:
    head = "".join(
        f"<th>{html.escape(r.info.controller)}<br><small>{html.escape(r.info.key)}</small></th>" for r in runs
    )
    rows = []
    for kpi, (unit, definition) in KPI_INFO.items():
        cells = []
        for r in runs:
            v = r.report().community[kpi]
            shown = "0" if not isinstance(v, NA) and abs(v) < 1e-9 else None  # rounding noise, not a quantity
            cells.append(
                f"<td title='{html.escape(v.reason)}'>n/a</td>"
                if isinstance(v, NA)
                else f"<td>{shown or format(v, '.6g')}</td>"
            )
        rows.append(
            f"<tr><td title='{html.escape(definition)}'>{kpi}</td><td>{html.escape(unit)}</td>{''.join(cells)}</tr>"
        )
    return f"<table class='kpis'><tr><th>KPI</th><th>unit</th>{head}</tr>{''.join(rows)}</table>"


def write_report(paths: list[Path], out: Path | None = None) -> tuple[Path, list[Path]]:
    """Write ``report.html`` and ``figures/*.png`` into ``out`` (default: the one folder given, or the folder the
    given ones share); return (the HTML file, the PNG files). Each file is replaced atomically."""
    chosen, pool = collect_runs(paths)
    runs = [load_run(info) for info in chosen]
    loaded = {r.info.key: r for r in runs}
    bases: dict[str, RunData | None] = {}
    for info in chosen:
        base = baseline_of(info, pool)
        if base is not None and base.key not in loaded:
            loaded[base.key] = load_run(base)
        bases[info.key] = loaded[base.key] if base is not None else None
    if out is None:
        out = Path(paths[0]) if len(paths) == 1 else Path(os.path.commonpath([Path(p).resolve() for p in paths]))
    out = Path(out)
    figures = out / FIGURES
    figures.mkdir(parents=True, exist_ok=True)
    plots: list[tuple[str, go.Figure]] = []
    left_out: list[str] = []
    pooled = pool_runs([r.info for r in runs], "controller")  # seeds pooled within a scenario, like the dashboard
    reports = {label: [loaded[i.key].report() for i in infos] for label, infos in pooled.items()}
    n_runs = {label: len(infos) for label, infos in pooled.items()}
    title = "KPIs: mean ± 95 % CI over seeds" if max(n_runs.values()) > 1 else "KPIs"
    plots.append((title, kpi_bars_figure(reports)))
    pngs = [
        pooled_kpi_figure(
            {label: aggregate_kpis(r) for label, r in reports.items()},
            figures / "kpis.png",
            ", ".join(sorted({r.info.scenario for r in runs})),
        )
    ]
    for k, run in enumerate(runs):
        baseline = bases[run.info.key]
        plots.append((f"Time series · {run.info.key}", timeseries_figure(run, baseline)))
        savings = run.report().agents["savings"]
        if run.info.controller == run.kpis.get("baseline") or not np.isfinite(savings).any():
            left_out.append(
                f"Savings ranking · {run.info.key}: left out — the run is its own baseline (grid-only), "
                "so every household's savings are 0"
            )
        else:
            plots.append((f"Savings ranking · {run.info.key}", savings_ranking_figure(run)))
        pngs.append(timeseries_png(run, baseline, figures / f"timeseries-{k + 1}-{run.info.controller}.png"))
    body = []
    for i, (title, fig) in enumerate(plots):
        body.append(f"<h2>{html.escape(title)}</h2>")
        body.append(fig.to_html(full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False}))
    listing = "".join(f"<li>{html.escape(r.info.label)}</li>" for r in runs)
    notes = "".join(f"<p class='left-out'>{html.escape(line)}</p>" for line in left_out)
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>heron-grid report</title>
<style>body{{font-family:sans-serif;margin:20px}} table.kpis{{border-collapse:collapse;font-size:13px}}
table.kpis td,table.kpis th{{border:1px solid #ddd;padding:3px 8px;text-align:right}}</style></head>
<body><h1>heron-grid report</h1><ul>{listing}</ul>
<h2>KPIs (savings against each run's baseline)</h2>{_kpi_table(runs)}
{"".join(body)}
{notes}
</body></html>
"""
    html_path = out / REPORT
    _write_atomic(html_path, page)
    return html_path, pngs
