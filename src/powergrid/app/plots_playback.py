"""Plotly figures of the Playback page: six synchronized time series, and the network view at one step."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from powergrid.analytics.aggregate import t_half_width
from powergrid.app.colours import colour_of
from powergrid.app.rundata import RunData, decimate, time_label
from powergrid.app.topology import Topology

#: Points per series sent to the browser: longer runs are averaged into buckets server-side.
MAX_POINTS = 1500
#: Trades drawn as arrows at one step (the largest); the rest are counted in the title.
MAX_ARROWS = 40
#: Above this many households the network view aggregates them (by bus on a feeder, by sector on a copper plate).
MAX_MARKERS = 60


@dataclass(frozen=True)
class Panel:
    """One time-series panel: series name → values (n_steps,) of a run, and how to decimate them."""

    title: str
    series: Callable[[RunData], dict[str, np.ndarray]]
    how: str = "mean"  # "mean" for per-step flows, "last" for running totals
    baseline: bool = True  # overlay the baseline run (not for data that every controller shares)


PANELS = (
    Panel(
        "Wallet (−cumulative headline cost, currency)", lambda r: {"wallet": -np.cumsum(r.community("cost"))}, "last"
    ),
    Panel("Grid buy (kWh/step)", lambda r: {"grid buy": r.community("imported")}),
    Panel("Grid sell (kWh/step)", lambda r: {"grid sell": r.community("exported")}),
    Panel("Battery storage (kWh)", lambda r: {"stored": r.community("soc")}),
    Panel(
        "Production vs consumption (kWh/step)",
        lambda r: {"production": r.community("pv"), "consumption": r.community("load")},
        baseline=False,
    ),
    Panel("P2P volume (kWh/step)", lambda r: {"P2P volume": r.p2p_volume()}),
)


def _network(run: RunData) -> dict[str, np.ndarray]:
    """The network series of a run with a feeder (``panels_of`` shows NETWORK_PANELS for no other run)."""
    assert run.network is not None, "a network panel of a run without a feeder"
    return run.network


#: With a feeder: the voltage band of the LV buses and the most loaded line or transformer, per step.
NETWORK_PANELS = (
    Panel(
        "Voltage (pu): lowest and highest LV bus",
        lambda r: {"v min": _network(r)["v_min"], "v max": _network(r)["v_max"]},
    ),
    Panel(
        "Most loaded line or transformer (% of rating)",
        lambda r: {
            "max loading": 100.0 * np.maximum(_network(r)["max_line_loading"], _network(r)["max_trafo_loading"])
        },
    ),
)


def panels_of(run: RunData) -> tuple[Panel, ...]:
    """The panels a run has data for: PANELS, plus NETWORK_PANELS with a feeder."""
    return PANELS + NETWORK_PANELS if run.network is not None else PANELS


#: Series → the colour key of ``powergrid.app.colours`` (one colour per series in every figure).
SERIES_COLOUR = {
    "wallet": "wallet",
    "grid buy": "import",
    "grid sell": "export",
    "stored": "stored",
    "production": "production",
    "consumption": "consumption",
    "P2P volume": "p2p",
}


def timeseries_figure(
    run: RunData,
    baseline: RunData | None = None,
    seeds: Sequence[RunData] = (),
    step: int = 0,
    max_points: int = MAX_POINTS,
) -> go.Figure:
    """Six panels sharing the time axis (eight with a feeder: the voltage band and the most loaded element, with the
    scenario's band as dotted lines); ``baseline`` dashed; ``seeds`` (≥ 2 runs of the same scenario and
    controller with other seeds, this run included) as a 95 % confidence band; a line at ``step``."""
    panels = panels_of(run)
    fig = make_subplots(
        rows=len(panels), cols=1, shared_xaxes=True, vertical_spacing=0.03, subplot_titles=[p.title for p in panels]
    )
    x = decimate(run.timestamps, max_points, "first")
    for row, panel in enumerate(panels, start=1):
        values = panel.series(run)
        for k, (name, y) in enumerate(values.items()):
            colour = colour_of(SERIES_COLOUR.get(name, name))
            if len(seeds) >= 2:
                stack = np.stack([panel.series(s)[name] for s in seeds])
                mean, half = stack.mean(axis=0), t_half_width(stack)
                lo, hi = decimate(mean - half, max_points, panel.how), decimate(mean + half, max_points, panel.how)
                fig.add_trace(
                    go.Scatter(
                        x=x,
                        y=hi,
                        mode="lines",
                        line={"width": 0},
                        showlegend=False,
                        hoverinfo="skip",
                        name=f"{name} CI high",
                    ),
                    row=row,
                    col=1,
                )
                fig.add_trace(
                    go.Scatter(
                        x=x,
                        y=lo,
                        mode="lines",
                        line={"width": 0},
                        fill="tonexty",
                        fillcolor="rgba(120,120,120,0.25)",
                        hoverinfo="skip",
                        name=f"95 % CI over {len(seeds)} seeds",
                        showlegend=row == 1 and k == 0,
                    ),
                    row=row,
                    col=1,
                )
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=decimate(y, max_points, panel.how),
                    mode="lines",
                    name=name,
                    line={"color": colour},
                    legendgroup=name,
                ),
                row=row,
                col=1,
            )
            if panel.baseline and baseline is not None:
                base = decimate(panel.series(baseline)[name], max_points, panel.how)
                fig.add_trace(
                    go.Scatter(
                        x=x,
                        y=base,
                        mode="lines",
                        name=f"{baseline.info.controller} (baseline)",
                        line={"color": "#555", "dash": "dash", "width": 1},
                        legendgroup="baseline",
                        showlegend=row == 1,
                    ),
                    row=row,
                    col=1,
                )
    if run.network is not None:
        for level in run.info.voltage_band or ():
            fig.add_hline(y=level, line={"color": "#888", "dash": "dot", "width": 1}, row=len(PANELS) + 1, col=1)
        fig.add_hline(y=100.0, line={"color": "#888", "dash": "dot", "width": 1}, row=len(PANELS) + 2, col=1)
    stamp = str(run.timestamps[min(step, run.n_steps - 1)])
    fig.add_shape(
        type="line", x0=stamp, x1=stamp, y0=0, y1=1, xref="x", yref="paper", line={"color": "#d62728", "width": 1.5}
    )
    fig.update_layout(
        height=190 * len(panels),
        margin={"l": 60, "r": 20, "t": 60, "b": 70},
        legend={"orientation": "h", "y": -0.02, "yanchor": "top"},
        uirevision=run.info.key,
        title={"text": run.info.label, "font": {"size": 13}},
    )
    return fig


def step_marker(run: RunData, step: int) -> str:
    """The x of the current-step line (a timestamp string), for patching the time-series figure."""
    return str(run.timestamps[min(max(step, 0), run.n_steps - 1)])


def network_figure(
    topology: Topology, run: RunData, step: int, capacity_kwh: np.ndarray, max_arrows: int = MAX_ARROWS
) -> go.Figure:
    """Households coloured by net position (kWh bought − sold this step) and sized by state of charge; P2P trades
    as arrows seller → buyer labelled with kWh and price; the grid connection with this step's import/export."""
    step = min(max(step, 0), run.n_steps - 1)
    fig = go.Figure()
    crowded = topology.groups(MAX_MARKERS)
    segments = topology.branches
    if crowded is not None:  # households are drawn by group: link each group, not each household
        gx, gy = topology.grid_xy
        if topology.agent_group is None:
            starts = np.broadcast_to([gx, gy], crowded[1].shape)
        else:
            starts = crowded[1] - np.array([0.45, 0.0])
        n_links = len(topology.agent_xy)
        segments = np.vstack([segments[: len(segments) - n_links], np.column_stack([starts, crowded[1]])])
    if segments.size:
        xs = np.column_stack([segments[:, 0], segments[:, 2], np.full(len(segments), np.nan)]).ravel()
        ys = np.column_stack([segments[:, 1], segments[:, 3], np.full(len(segments), np.nan)]).ravel()
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"color": "#ccc", "width": 1},
                hoverinfo="skip",
                showlegend=False,
                name="branches",
            )
        )
    if len(topology.bus_xy):
        fig.add_trace(
            go.Scatter(
                x=topology.bus_xy[:, 0],
                y=topology.bus_xy[:, 1],
                mode="markers",
                marker={"size": 4, "color": "#999"},
                hoverinfo="skip",
                showlegend=False,
                name="buses",
            )
        )
    imported = float(run.agent["imported"][step].sum())
    exported = float(run.agent["exported"][step].sum())
    gx, gy = topology.grid_xy
    fig.add_trace(
        go.Scatter(
            x=[gx],
            y=[gy],
            mode="markers+text",
            name="grid",
            marker={"symbol": "square", "size": 22, "color": "#444"},
            text=[f"grid: import {imported:.2f} kWh, export {exported:.2f} kWh"],
            textposition="bottom center",
            showlegend=False,
        )
    )
    net = run.net_position
    soc_frac = np.divide(run.agent["soc"][step], capacity_kwh, out=np.zeros_like(capacity_kwh), where=capacity_kwh > 0)
    buyer, seller, kwh, price = run.trades.at(step)
    n_trades = kwh.size
    if crowded is None:
        xy, names, members = topology.agent_xy, list(run.agent_ids), np.ones(len(run.agent_ids), dtype=int)
        step_net, step_soc, group = net[step], soc_frac, np.arange(len(run.agent_ids))
        scale = float(np.abs(net).max()) or 1.0
    else:  # too many households for one marker each: one per bus (feeder) or sector (copper plate)
        group, xy, names = crowded
        g = len(names)
        members = np.bincount(group, minlength=g)
        step_net = np.bincount(group, weights=net[step], minlength=g)
        step_soc = np.divide(
            np.bincount(group, weights=run.agent["soc"][step], minlength=g),
            np.bincount(group, weights=capacity_kwh, minlength=g),
            out=np.zeros(g),
            where=np.bincount(group, weights=capacity_kwh, minlength=g) > 0,
        )
        scale = float(np.abs(step_net).max()) or 1.0
        buyer, seller = group[buyer], group[seller]
        inside = buyer != seller  # trades within a group are not drawn as arrows
        pair = buyer[inside] * g + seller[inside]
        pairs, inverse = np.unique(pair, return_inverse=True)
        value = np.bincount(inverse, weights=(kwh * price)[inside], minlength=pairs.size)
        kwh = np.bincount(inverse, weights=kwh[inside], minlength=pairs.size)
        price = np.divide(value, kwh, out=np.zeros_like(kwh), where=kwh > 0)
        buyer, seller = pairs // g, pairs % g
    hover = [
        f"{a}" + (f" ({m} households)" if m > 1 else "") + f"<br>net {n:+.2f} kWh<br>SoC {s:.0%}"
        for a, m, n, s in zip(names, members, step_net, step_soc, strict=True)
    ]
    fig.add_trace(
        go.Scatter(
            x=xy[:, 0],
            y=xy[:, 1],
            mode="markers",
            name="households",
            marker={
                "size": (12 + 16 * step_soc) if crowded is None else 10 + 14 * np.sqrt(members / members.max()),
                "color": step_net,
                "colorscale": "RdBu_r",
                "cmin": -scale,
                "cmax": scale,
                "line": {"width": 1, "color": "#333"},
                "colorbar": {"title": {"text": "net kWh<br>(+ buys)"}, "thickness": 12},
            },
            text=hover,
            hovertemplate="%{text}<extra></extra>",
            showlegend=False,
        )
    )
    order = np.argsort(-kwh, kind="stable")[:max_arrows]
    annotations = []
    for b, s, q, p in zip(buyer[order], seller[order], kwh[order], price[order], strict=True):
        (x0, y0), (x1, y1) = xy[s], xy[b]
        annotations.append(
            {
                "x": x1,
                "y": y1,
                "ax": x0,
                "ay": y0,
                "xref": "x",
                "yref": "y",
                "axref": "x",
                "ayref": "y",
                "showarrow": True,
                "arrowhead": 3,
                "arrowsize": 1.2,
                "arrowwidth": 1.5,
                "arrowcolor": "#2ca02c",
                "text": "",
                "name": "trade",
            }
        )
        annotations.append(
            {
                "x": (x0 + x1) / 2,
                "y": (y0 + y1) / 2,
                "xref": "x",
                "yref": "y",
                "showarrow": False,
                "text": f"{q:.2f} kWh @ {p:.3f}",
                "font": {"size": 9, "color": "#1b5e20"},
                "bgcolor": "rgba(255,255,255,0.7)",
                "name": "trade-label",
            }
        )
    more = f" (the {max_arrows} largest of {kwh.size})" if kwh.size > max_arrows else ""
    if crowded is not None:
        by = "bus" if topology.agent_group is not None else "sector"
        more = f"; {len(run.agent_ids)} households shown by {by} ({len(names)} markers), {kwh.size} flows" + more
    fig.update_layout(
        title={
            "text": f"{topology.title}<br>step {step} · {time_label(run.timestamps[step])} · {n_trades} trade(s){more}",
            "font": {"size": 13},
            "y": 0.98,
        },
        annotations=annotations,
        height=560,
        margin={"l": 10, "r": 10, "t": 80, "b": 10},
        xaxis={"visible": False},
        yaxis={"visible": False, "scaleanchor": "x"},
        plot_bgcolor="white",
    )
    return fig
