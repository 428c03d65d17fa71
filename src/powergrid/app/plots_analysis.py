"""Plotly figures of the Analysis and Households pages: KPI bars across runs, wallets and the savings ranking."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from powergrid.analytics.aggregate import aggregate_kpis
from powergrid.analytics.kpis import KPI_INFO, NA, KPIReport
from powergrid.app.colours import colour_of
from powergrid.app.rundata import RunData, decimate

#: The KPIs compared on the Analysis page (the issue's list: cost … violations).
ANALYSIS_KPIS = (
    "cost",
    "savings",
    "grid_import_kwh",
    "p2p_volume_kwh",
    "self_consumption_ratio",
    "self_sufficiency_ratio",
    "gini_savings",
    "co2_kg",
    "losses_kwh",
    "voltage_violations",
)


def kpi_bars_figure(groups: Mapping[str, Sequence[KPIReport]], kpis: Sequence[str] = ANALYSIS_KPIS) -> go.Figure:
    """One panel per KPI, one bar per group (a controller or run): the mean over the group's runs, with a 95 %
    confidence whisker when a group has several seeds. An undefined KPI is a labelled gap, never a zero bar; a KPI
    undefined for every group gets no panel, and the title says which were left out and why."""
    stats = {name: aggregate_kpis(reports) for name, reports in groups.items()}
    names = list(groups)
    empty = [k for k in kpis if all(isinstance(stats[n][k], NA) for n in names)]
    kpis = [k for k in kpis if k not in empty]
    cols = 5
    rows = max(-(-len(kpis) // cols), 1)
    titles = [f"{k} ({KPI_INFO[k][0]})" if KPI_INFO[k][0] != "-" else k for k in kpis]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, vertical_spacing=0.18, horizontal_spacing=0.05)
    if empty:
        reasons = {k: cast(NA, stats[names[0]][k]).reason for k in empty}  # n/a for every group, see `empty`
        fig.update_layout(
            title={
                "text": "left out, n/a for every run: " + "; ".join(f"{k} ({r})" for k, r in reasons.items()),
                "font": {"size": 11},
            }
        )
    for i, kpi in enumerate(kpis):
        row, col = divmod(i, cols)
        means: list[float | None] = []
        errors: list[float | None] = []
        labels: list[str] = []
        for name in names:
            s = stats[name][kpi]
            if isinstance(s, NA):
                means.append(None)
                errors.append(None)
                labels.append(f"n/a: {s.reason}")
            else:
                means.append(s.mean)
                errors.append(None if isinstance(s.half_width, NA) else s.half_width)
                labels.append(f"{s.mean:.4g}" + (f" ± {s.half_width:.2g} (n={s.n})" if s.n > 1 else ""))
        fig.add_trace(
            go.Bar(
                x=names,
                y=means,
                name=kpi,
                text=labels,
                textposition="none",
                hovertemplate="%{x}: %{text}<extra>" + kpi + "</extra>",
                error_y={
                    "type": "data",
                    "array": [e or 0 for e in errors],
                    "visible": any(e is not None for e in errors),
                },
                marker={"color": [colour_of(n) for n in names]},
                showlegend=False,
            ),
            row=row + 1,
            col=col + 1,
        )
        for j, m in enumerate(means):
            if m is None:
                fig.add_annotation(x=names[j], y=0, text="n/a", showarrow=False, row=row + 1, col=col + 1)
    for name in names:  # the legend names the bars: tick labels under each panel would overprint the next row
        fig.add_trace(
            go.Bar(x=[None], y=[None], name=name, marker={"color": colour_of(name)}, showlegend=True, hoverinfo="skip"),
            row=1,
            col=1,
        )
    fig.update_xaxes(showticklabels=False)
    fig.update_layout(
        height=300 * rows + 40,
        margin={"l": 40, "r": 10, "t": 50, "b": 20},
        bargap=0.3,
        legend={"orientation": "h", "y": -0.02, "yanchor": "top"},
    )
    return fig


def wallet_figure(
    run: RunData, households: Sequence[str], baseline: RunData | None = None, max_points: int = 1000
) -> go.Figure:
    """Each chosen household's wallet (−cumulative cost, currency) over time; its baseline dashed."""
    fig = go.Figure()
    x = decimate(run.timestamps, max_points, "first")
    index = {a: i for i, a in enumerate(run.agent_ids)}
    wallet = -np.cumsum(run.agent["cost"], axis=0)
    base = -np.cumsum(baseline.agent["cost"], axis=0) if baseline is not None else None
    for agent in households:
        colour = colour_of(agent)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=decimate(wallet[:, index[agent]], max_points, "last"),
                mode="lines",
                name=agent,
                line={"color": colour},
                legendgroup=agent,
            )
        )
        if base is not None:
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=decimate(base[:, index[agent]], max_points, "last"),
                    mode="lines",
                    name=f"{agent} baseline",
                    line={"color": colour, "dash": "dash", "width": 1},
                    legendgroup=agent,
                    showlegend=False,
                )
            )
    fig.update_layout(
        title={
            "text": f"{run.info.label}<br>Wallet: −cumulative headline cost (currency); dashed: baseline",
            "font": {"size": 13},
        },
        height=420,
        margin={"l": 50, "r": 10, "t": 40, "b": 30},
    )
    return fig


def savings_ranking_figure(run: RunData) -> go.Figure:
    """Per-household savings against the baseline (currency), best first."""
    report = run.report()
    savings = report.agents["savings"]
    order = np.argsort(-np.nan_to_num(savings, nan=-np.inf), kind="stable")
    ids = [run.agent_ids[i] for i in order]
    values = savings[order]
    fig = go.Figure(
        go.Bar(
            x=ids,
            y=values,
            marker={"color": np.where(values >= 0, "#2ca02c", "#d62728")},
            hovertemplate="%{x}: %{y:.3f}<extra>savings</extra>",
        )
    )
    fig.update_layout(
        title={
            "text": f"{run.info.label}<br>Savings ranking vs {run.kpis.get('baseline', 'baseline')} "
            "(headline cost, currency)",
            "font": {"size": 13},
        },
        height=360,
        margin={"l": 50, "r": 10, "t": 40, "b": 60},
        xaxis={"type": "category"},
    )
    return fig


def default_households(run: RunData, k: int = 3) -> list[str]:
    """The ``k`` households that save most and the ``k`` that save least (all of them in a small community)."""
    savings = np.nan_to_num(run.report().agents["savings"], nan=0.0)
    order = np.argsort(-savings, kind="stable")
    picked = order if order.size <= 2 * k else np.concatenate([order[:k], order[-k:]])
    return [run.agent_ids[i] for i in picked]
