"""The dashboard's page structure: five tabs (Parameters, Playback, Analysis, Households, Ledger).

Component ids are the contract with ``callbacks.py`` and the browser test; the form's inputs use pattern-matching
ids ``{"type": "param", "path": <dotted scenario path>}``.
"""

from __future__ import annotations

from dash import dcc, html

from powergrid.app.form import GENERAL, FormField, groups
from powergrid.controllers import available_controllers
from powergrid.scenarios import builtin_names

#: Groups open when the page loads; the others are collapsed.
OPEN_GROUPS = (GENERAL, "time", "agents", "market")
SPEEDS = (1, 2, 4, 12, 24, 168)

_ROW = {"display": "flex", "gap": "12px", "alignItems": "center", "flexWrap": "wrap", "margin": "6px 0"}
_ERROR = {"color": "#c62828", "fontSize": "12px", "minHeight": "0"}


def _input(f: FormField):
    pid = {"type": "param", "path": f.path}
    if f.kind == "choice":
        return dcc.Dropdown(
            id=pid,
            options=[{"label": str(o), "value": o} for o in f.options],
            clearable=False,
            style={"width": "220px"},
        )
    if f.kind == "bool":
        return dcc.Checklist(id=pid, options=[{"label": " on", "value": True}], inline=True)
    if f.kind == "yaml":
        return dcc.Textarea(id=pid, style={"width": "520px", "height": "90px", "fontFamily": "monospace"})
    if f.kind in ("number", "integer"):
        return dcc.Input(
            id=pid, type="number", step=1 if f.kind == "integer" else "any", debounce=True, style={"width": "140px"}
        )
    return dcc.Input(id=pid, type="text", debounce=True, style={"width": "300px"})


def _field(f: FormField) -> html.Div:
    tip = f.description or f.path
    if f.optional:
        tip += " (leave empty for none)"
    return html.Div(
        [
            html.Label(
                f.label, title=tip, style={"width": "230px", "cursor": "help", "textDecoration": "underline dotted"}
            ),
            _input(f),
            html.Div(id={"type": "param-error", "path": f.path}, style=_ERROR),
        ],
        style=_ROW,
        className="param-row",
    )


def parameters_tab(fields: list[FormField]) -> html.Div:
    sections = []
    for name, members in groups(fields).items():
        sections.append(
            html.Details(
                [
                    html.Summary(name, style={"fontWeight": "bold", "cursor": "pointer"}),
                    html.Div(id={"type": "group-error", "group": name}, style=_ERROR),
                    *[_field(f) for f in members],
                ],
                open=name in OPEN_GROUPS,
                id={"type": "group", "group": name},
                style={"margin": "8px 0"},
            )
        )
    controllers = [c for c in available_controllers() if c != "grid-only"]
    return html.Div(
        [
            html.Div(
                [
                    html.Label("start from scenario", title="A built-in scenario whose values fill the form."),
                    dcc.Dropdown(
                        id="base-scenario",
                        options=builtin_names(),
                        value="community-5",
                        clearable=False,
                        style={"width": "240px"},
                    ),
                ],
                style=_ROW,
            ),
            html.Div(sections, id="param-form"),
            html.Hr(),
            html.Div(
                [
                    html.Label("controllers", title="Run against the grid-only baseline, which is always written."),
                    dcc.Checklist(id="controllers", options=controllers, value=["truthful-bidder"], inline=True),
                ],
                style=_ROW,
            ),
            html.Div(
                [
                    html.Label("seeds", title="Number of seeds (scenario seed, +1, …): several give confidence bands."),
                    dcc.Input(id="n-seeds", type="number", min=1, max=50, step=1, value=1, style={"width": "80px"}),
                    html.Label("run name", title="Folder under the runs folder; default <scenario>-<time>."),
                    dcc.Input(id="run-name", type="text", placeholder="optional", style={"width": "220px"}),
                ],
                style=_ROW,
            ),
            html.Div(
                [
                    html.Button("Run", id="run-button", n_clicks=0),
                    html.Progress(id="run-progress", value="0", max="1", style={"width": "320px"}),
                    html.Span(id="run-status"),
                ],
                style=_ROW,
            ),
        ]
    )


def playback_tab() -> html.Div:
    return html.Div(
        [
            html.Div(
                [
                    html.Label("run"),
                    dcc.Dropdown(id="run-select", style={"width": "620px"}, clearable=False),
                    html.Label("baseline"),
                    dcc.Dropdown(id="baseline-select", style={"width": "360px"}),
                    dcc.Checklist(
                        id="band-toggle",
                        options=[{"label": " 95 % band across seeds", "value": "band"}],
                        value=["band"],
                        inline=True,
                    ),
                ],
                style=_ROW,
            ),
            html.Div(
                [
                    html.Button("▶ play", id="play-button", n_clicks=0),
                    html.Label("speed (steps/tick)"),
                    dcc.Dropdown(id="speed", options=list(SPEEDS), value=1, clearable=False, style={"width": "90px"}),
                    html.Span(id="step-info"),
                ],
                style=_ROW,
            ),
            dcc.Slider(id="step-slider", min=0, max=1, step=1, value=0, updatemode="mouseup"),
            dcc.Interval(id="play-timer", interval=600, disabled=True),
            dcc.Store(id="timeseries-run"),  # the run whose time series is drawn (the step line follows the slider)
            html.Div(
                [
                    dcc.Graph(id="network-graph", style={"flex": "1 1 45%"}),
                    dcc.Graph(id="timeseries-graph", style={"flex": "1 1 55%"}),
                ],
                style={"display": "flex", "gap": "8px", "alignItems": "flex-start"},
            ),
        ]
    )


def analysis_tab() -> html.Div:
    return html.Div(
        [
            html.Div(
                [
                    html.Label("runs"),
                    dcc.Dropdown(id="analysis-runs", multi=True, style={"minWidth": "700px"}),
                    dcc.RadioItems(
                        id="analysis-groupby",
                        options=[
                            {"label": " one bar per controller (seeds pooled: mean ± 95 % CI)", "value": "controller"},
                            {"label": " one bar per run", "value": "run"},
                        ],
                        value="controller",
                    ),
                ],
                style=_ROW,
            ),
            dcc.Graph(id="analysis-graph"),
            html.Div(id="analysis-table"),
        ]
    )


def households_tab() -> html.Div:
    return html.Div(
        [
            html.Div(
                [
                    html.Label("households"),
                    dcc.Dropdown(id="household-select", multi=True, style={"minWidth": "600px"}),
                ],
                style=_ROW,
            ),
            dcc.Graph(id="wallet-graph"),
            dcc.Graph(id="savings-graph"),
        ]
    )


def ledger_tab() -> html.Div:
    return html.Div(
        [
            html.Div(id="ledger-verify", style={"margin": "8px 0"}),
            html.Div(
                [
                    html.Label("block", title="A block holds one step's trades; block 0 is the genesis block."),
                    dcc.Dropdown(id="ledger-block", style={"width": "420px"}),
                ],
                style=_ROW,
            ),
            html.Div(id="ledger-trades"),
            html.H4("Blocks"),
            html.Div(id="ledger-blocks", style={"maxHeight": "420px", "overflowY": "auto"}),
        ]
    )


def table(rows: list[dict], limit: int | None = None) -> html.Table:
    """A plain HTML table of records (numbers to 6 significant digits); ``limit`` rows at most."""
    if not rows:
        return html.Table()
    shown = rows if limit is None else rows[:limit]
    cell = {"padding": "2px 8px", "borderBottom": "1px solid #eee", "fontFamily": "monospace", "fontSize": "12px"}

    def fmt(v):
        return f"{v:.6g}" if isinstance(v, float) else str(v)

    return html.Table(
        [
            html.Tr([html.Th(k, style=cell) for k in rows[0]]),
            *[html.Tr([html.Td(fmt(v), style=cell) for v in r.values()]) for r in shown],
        ]
    )


def page(fields: list[FormField], runs_folder: str) -> html.Div:
    return html.Div(
        [
            html.Div(
                [
                    html.H2("heron-grid", style={"margin": "0"}),
                    html.Span(f"runs folder: {runs_folder}", id="runs-folder", style={"color": "#666"}),
                    html.Span(id="runs-problems", style={"color": "#c62828", "fontSize": "12px"}),
                ],
                style={**_ROW, "justifyContent": "space-between"},
            ),
            dcc.Store(id="job-id"),
            dcc.Store(id="runs-version", data=0),
            dcc.Interval(id="job-poll", interval=700, disabled=True),
            dcc.Tabs(
                id="tabs",
                value="parameters",
                children=[
                    dcc.Tab(label="Parameters", value="parameters", children=parameters_tab(fields)),
                    dcc.Tab(label="Playback", value="playback", children=playback_tab()),
                    dcc.Tab(label="Analysis", value="analysis", children=analysis_tab()),
                    dcc.Tab(label="Households", value="households", children=households_tab()),
                    dcc.Tab(label="Ledger", value="ledger", children=ledger_tab()),
                ],
            ),
        ],
        style={"fontFamily": "sans-serif", "margin": "12px 20px"},
    )
