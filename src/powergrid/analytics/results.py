"""Results directories: written atomically, streamed in row groups, read back for analysis.

A run directory holds ``scenario.yaml`` (resolved), ``run.json`` (what the run was: controller, seed, mechanism,
feeder, package and format version), ``agents.parquet`` (per-agent facts: kind, bus, phase, PV and battery sizes),
``timeseries.parquet`` (one row per agent per step), ``trades.parquet`` (one row per trade) and ``kpis.json``;
faces read these and never rebuild the scenario to learn what a run was. It is built under a temporary name
beside its target and renamed into place only when complete, so an interrupted run never leaves a directory that
looks complete, and an existing directory is replaced only when asked to (and only after the new one is complete).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from powergrid.analytics.kpis import KPI_INFO, NA, KPIReport
from powergrid.analytics.totals import NETWORK_COLUMNS
from powergrid.engine.result import INTERVENTION_FIELDS, RESULT_FIELDS, ResultField, Role, Scope, StepResult, Store
from powergrid.errors import ResultsError
from powergrid.ledger.run_directory import AGENTS, KPIS, MARKER, NETWORK, RUN, SCENARIO, TIMESERIES, TRADES

#: Version of the run directory layout (``run.json["format_version"]``).
FORMAT_VERSION = 7
#: Columns of ``agents.parquet``: id, kind (text); bus (feeder node id, −1 on a copper plate), phase ("a", "b", "c",
#: or "" when balanced); pv_peak_kw, battery_kwh, battery_kw (floats).
AGENT_FACTS = ("id", "kind", "bus", "phase", "pv_peak_kw", "battery_kwh", "battery_kw")

#: Float64 columns of timeseries.parquet besides step/timestamp/agent (RESULT_FIELDS stored there): per-agent
#: values, then per-step values repeated for each agent; the ``interventions`` column holds INTERVENTION_FIELDS bits.
_WRITTEN = tuple(f for f in RESULT_FIELDS if f.stored is Store.TIMESERIES)
_AGENT_WRITTEN: tuple[ResultField, ...] = tuple(f for f in _WRITTEN if f.scope is Scope.AGENT)
_STEP_WRITTEN: tuple[ResultField, ...] = tuple(f for f in _WRITTEN if f.scope is Scope.STEP)
SERIES_COLUMNS = tuple(f.name for f in _AGENT_WRITTEN)
STEP_COLUMNS = tuple(f.name for f in _STEP_WRITTEN)
#: The per-agent columns the dashboard loads as (n_steps, N) matrices (besides the headline cost's parts).
DASHBOARD_COLUMNS = tuple(f.name for f in _AGENT_WRITTEN if Role.DASHBOARD in f.roles)


@contextlib.contextmanager
def atomic_directory(target: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a fresh temporary directory that becomes ``target`` when the block succeeds.

    If ``target`` exists and ``overwrite`` is False the block is not run (ResultsError). With ``overwrite``, only a
    directory this product wrote (it holds the ``MARKER`` file) is ever replaced: anything else is a ResultsError,
    so a user's folder is never deleted. On any exception the temporary directory is removed and ``target`` is
    left as it was.
    """
    target = Path(target)
    if target.exists() and not (target / MARKER).is_file():
        raise ResultsError(
            f"{target} exists and was not written by heron-grid (no {MARKER} marker): --overwrite replaces only "
            "heron-grid's own output directories; choose another --out"
        )
    if target.exists() and not overwrite:
        raise ResultsError(f"{target} already exists; choose another --out or pass --overwrite")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        (tmp / MARKER).write_text("written by heron-grid; --overwrite may replace this directory\n", encoding="utf-8")
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    if target.exists():
        target.rename(old)
    tmp.rename(target)
    if old.exists():
        shutil.rmtree(old)


class RunWriter:
    """Streams engine steps into a run directory (an existing, empty folder, e.g. from ``atomic_directory``)."""

    def __init__(
        self,
        folder: Path,
        agent_ids: tuple[str, ...],
        timestamps: pd.DatetimeIndex,
        rows_per_group: int = 1_000_000,
        ledger_seed: int | None = None,
        fee_per_kwh: float = 0.0,
        agents: dict[str, np.ndarray] | None = None,
        run: dict | None = None,
    ) -> None:
        """``ledger_seed``: also record every step's trades in a signed ledger (keys derived from this seed).
        ``agents`` (``AGENT_FACTS`` columns, arrays (N,)) and ``run`` (JSON-ready facts) describe the run; they are
        written as ``agents.parquet`` and ``run.json`` (with ``format_version``) when given."""
        self.folder = Path(folder)
        if agents is not None and tuple(agents) != AGENT_FACTS:
            raise ValueError(f"agents must have the columns {AGENT_FACTS}, got {tuple(agents)}")
        self._agents = agents
        self._run = run
        self.ids = agent_ids
        self.n = len(agent_ids)
        self.timestamps = timestamps.to_numpy(dtype="datetime64[us]")
        self.steps_per_group = max(1, rows_per_group // max(self.n, 1))
        self._agent_codes = np.arange(self.n, dtype=np.int32)
        self._agent_dict = pa.array(agent_ids, type=pa.string())
        self._buffer: list = []
        self._trades: list = []
        self._series_writer: pq.ParquetWriter | None = None
        self._trades_writer: pq.ParquetWriter | None = None
        self._network_writer: pq.ParquetWriter | None = None
        self._fee = fee_per_kwh
        self._ledger = None
        if ledger_seed is not None:
            from powergrid.ledger import LedgerWriter

            self._ledger = LedgerWriter(self.folder, agent_ids, ledger_seed)

    def add(self, r: StepResult) -> None:
        self._buffer.append(r)
        if r.trades.quantity.size:
            self._trades.append(r)
            if self._ledger is not None:
                t = r.trades
                step = int(r.t)  # the writer records one copy: t is a plain step index
                sim_time = str(self.timestamps[step])
                self._ledger.append_step(step, sim_time, t.buyer, t.seller, t.quantity, t.price, self._fee)
        if len(self._buffer) >= self.steps_per_group:
            self.flush()

    def _series_table(self) -> pa.Table:
        steps = self._buffer
        t = np.repeat(np.array([r.t for r in steps], dtype=np.int32), self.n)
        agent = pa.DictionaryArray.from_arrays(pa.array(np.tile(self._agent_codes, len(steps))), self._agent_dict)
        cols: dict[str, pa.Array] = {
            "step": pa.array(t),
            "timestamp": pa.array(self.timestamps[t]),
            "agent": agent,
        }
        for f in _AGENT_WRITTEN:
            cols[f.name] = pa.array(np.concatenate([f.of(r) for r in steps]))
        for f in _STEP_WRITTEN:
            cols[f.name] = pa.array(np.repeat(np.array([f.of(r) for r in steps], dtype=float), self.n))
        flags = np.zeros(len(steps) * self.n, dtype=np.uint8)
        for bit, f in enumerate(INTERVENTION_FIELDS):
            flags |= np.concatenate([f.of(r.interventions) for r in steps]).astype(np.uint8) << bit
        cols["interventions"] = pa.array(flags)
        return pa.table(cols)

    def _trades_table(self) -> pa.Table:
        steps = self._trades
        sizes = [r.trades.quantity.size for r in steps]
        t = np.repeat(np.array([r.t for r in steps], dtype=np.int32), sizes)

        def ids(agents: list[np.ndarray]) -> pa.DictionaryArray:
            """Agent indices (one array per step) as a dictionary column of agent ids."""
            codes = np.concatenate(agents).astype(np.int32)
            return pa.DictionaryArray.from_arrays(pa.array(codes), self._agent_dict)

        return pa.table(
            {
                "step": pa.array(t),
                "timestamp": pa.array(self.timestamps[t]),
                "buyer": ids([r.trades.buyer for r in steps]),
                "seller": ids([r.trades.seller for r in steps]),
                "kwh": pa.array(np.concatenate([r.trades.quantity for r in steps])),
                "price": pa.array(np.concatenate([r.trades.price for r in steps])),
            }
        )

    def _network_table(self) -> pa.Table | None:
        steps = [r for r in self._buffer if r.network is not None]
        if not steps:
            return None
        t = np.array([r.t for r in steps], dtype=np.int32)
        cols = {"step": pa.array(t), "timestamp": pa.array(self.timestamps[t])}
        for f in NETWORK_COLUMNS:
            cols[f.name] = pa.array(np.array([f.of(r.network) for r in steps], dtype=float))
        return pa.table(cols)

    def flush(self) -> None:
        """Write buffered steps as one row group per file."""
        network = self._network_table()
        if network is not None:
            if self._network_writer is None:
                self._network_writer = pq.ParquetWriter(self.folder / NETWORK, network.schema)
            self._network_writer.write_table(network)
        if self._buffer:
            table = self._series_table()
            if self._series_writer is None:
                self._series_writer = pq.ParquetWriter(self.folder / TIMESERIES, table.schema)
            self._series_writer.write_table(table)
            self._buffer = []
        if self._trades:
            table = self._trades_table()
            if self._trades_writer is None:
                self._trades_writer = pq.ParquetWriter(self.folder / TRADES, table.schema)
            self._trades_writer.write_table(table)
            self._trades = []

    def close(self, scenario_yaml: str, kpis: dict) -> None:
        """Flush, close the Parquet files (an empty trades file if no trade) and write scenario and KPIs."""
        self.flush()
        if self._series_writer is not None:
            self._series_writer.close()
        if self._network_writer is not None:
            self._network_writer.close()
        if self._trades_writer is not None:
            self._trades_writer.close()
        else:
            empty = pa.table(
                {
                    "step": pa.array([], pa.int32()),
                    "timestamp": pa.array([], pa.timestamp("us")),
                    "buyer": pa.array([], pa.dictionary(pa.int32(), pa.string())),
                    "seller": pa.array([], pa.dictionary(pa.int32(), pa.string())),
                    "kwh": pa.array([], pa.float64()),
                    "price": pa.array([], pa.float64()),
                }
            )
            pq.write_table(empty, self.folder / TRADES)
        if self._ledger is not None:
            self._ledger.close()
        (self.folder / SCENARIO).write_text(scenario_yaml, encoding="utf-8")
        if self._agents is not None:
            table = pa.table({k: pa.array(np.asarray(v)) for k, v in self._agents.items()})
            pq.write_table(table, self.folder / AGENTS)
        if self._run is not None:
            run = {**self._run, "format_version": FORMAT_VERSION}
            (self.folder / RUN).write_text(json.dumps(run, indent=2, allow_nan=False), encoding="utf-8")
        (self.folder / KPIS).write_text(json.dumps(kpis, indent=2, allow_nan=False), encoding="utf-8")


def read_run(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(timeseries, trades, kpis) of a complete run directory; a missing file is a ResultsError."""
    folder = Path(folder)
    missing = [f for f in (TIMESERIES, TRADES, KPIS, SCENARIO) if not (folder / f).exists()]
    if missing:
        raise ResultsError(f"{folder} is not a complete run directory: missing {', '.join(missing)}")
    timeseries = pd.read_parquet(folder / TIMESERIES)
    absent = [c for c in SERIES_COLUMNS if c not in timeseries.columns]
    if absent:
        raise ResultsError(
            f"{folder / TIMESERIES} lacks the columns {', '.join(absent)}: it was written by an older heron-grid "
            f"(this one writes format {FORMAT_VERSION}); run the scenario again"
        )
    return timeseries, pd.read_parquet(folder / TRADES), json.loads((folder / KPIS).read_text(encoding="utf-8"))


def write_kpi_csv(reports: dict[str, KPIReport], path: Path) -> None:
    """Community KPIs as CSV: one row per KPI (name, unit), one column per run; an undefined KPI is empty."""
    lines = ["kpi,unit," + ",".join(reports)]
    for kpi, (unit, _) in KPI_INFO.items():
        cells = ["" if isinstance(r.community[kpi], NA) else repr(r.community[kpi]) for r in reports.values()]
        lines.append(",".join([kpi, unit, *cells]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
