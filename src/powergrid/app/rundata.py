"""Run directories as the dashboard and the reports see them: found under a folder, loaded once into per-step arrays
(community sums and per-agent matrices), decimated server-side for plotting.

Loading reads only the columns it needs from ``timeseries.parquet`` and scatters them into (n_steps, N) matrices,
so a run of 100 households × 1 year at 1 h (876,000 rows) loads in well under a second.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from powergrid.analytics.kpis import KPIReport
from powergrid.analytics.results import AGENT_FACTS, DASHBOARD_COLUMNS
from powergrid.analytics.totals import HEADLINE_PARTS
from powergrid.errors import ResultsError
from powergrid.ledger.run_directory import AGENTS, KPIS, LEDGER_FILE, NETWORK, RUN, SCENARIO, TIMESERIES, TRADES

#: Per-agent columns kept as (n_steps, N) matrices (kWh per step; soc in kWh stored; money in currency): the result
#: fields marked for the dashboard, and ``cost``, the headline cost per step: the sum of its parts (cash cost +
#: unserved cost), and at the run's last step the end-of-horizon storage adjustment from ``kpis.json``, so that its
#: sum over the run is each agent's headline cost (KPIS.md).
AGENT_COLUMNS = (*DASHBOARD_COLUMNS, "cost")
_FILE_COLUMNS = (*DASHBOARD_COLUMNS, *HEADLINE_PARTS)


@dataclass(frozen=True)
class RunInfo:
    """What the run list shows, read from ``kpis.json`` and ``scenario.yaml`` only (cheap)."""

    key: str  # the run directory relative to the runs folder (POSIX), unique
    path: Path
    scenario: str
    controller: str
    seed: int
    n_agents: int
    n_steps: int
    has_ledger: bool
    feeder: str | None  # the feeder's name, None on a copper plate
    variant: str  # hash of the resolved scenario without its seed: runs that differ only by seed share it
    voltage_band: tuple[float, float] | None = None  # the feeder's allowed band (pu), None on a copper plate

    @property
    def has_network(self) -> bool:
        return self.feeder is not None

    @property
    def group(self) -> str:
        """The folder holding the run: runs of one comparison share it."""
        parent = self.key.rpartition("/")[0]
        return parent or "."

    @property
    def label(self) -> str:
        return f"{self.key} · {self.scenario} · {self.controller} · seed {self.seed}"


def read_run_info(folder: Path, key: str) -> RunInfo:
    """The RunInfo of one complete run directory; ResultsError naming the file if it is missing or unreadable."""
    folder = Path(folder)
    missing = [f for f in (TIMESERIES, TRADES, KPIS, SCENARIO, RUN, AGENTS) if not (folder / f).exists()]
    if missing:
        old = " (written by an older version: rerun it)" if RUN in missing else ""
        raise ResultsError(f"{folder} is not a complete run directory: missing {', '.join(missing)}{old}")
    try:
        run = json.loads((folder / RUN).read_text(encoding="utf-8"))
        scenario = yaml.safe_load((folder / SCENARIO).read_text(encoding="utf-8"))
        return RunInfo(
            key=key,
            path=folder,
            scenario=str(run["scenario"]),
            controller=str(run["controller"]),
            seed=int(run["seed"]),
            n_agents=int(run["n_agents"]),
            n_steps=int(run["n_steps"]),
            has_ledger=(folder / LEDGER_FILE).exists(),
            feeder=run["feeder"],
            variant=scenario_variant(scenario),
            voltage_band=tuple(scenario["network"]["voltage_band"]) if scenario.get("network") else None,
        )
    except (ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise ResultsError(f"{folder}: unreadable {RUN} or {SCENARIO} ({exc})") from exc


def scenario_variant(scenario: dict) -> str:
    """A short hash of a resolved scenario with the seed left out."""
    rest = {k: v for k, v in scenario.items() if k != "seed"}
    return hashlib.sha256(json.dumps(rest, sort_keys=True, default=str).encode()).hexdigest()[:16]


def seed_siblings(run: RunInfo, runs: list[RunInfo]) -> list[RunInfo]:
    """Runs of the same scenario (up to the seed) and controller, one per seed, ``run`` included: a CI band's runs."""
    by_seed = {run.seed: run}
    for other in runs:
        if other.variant == run.variant and other.controller == run.controller and other.seed not in by_seed:
            by_seed[other.seed] = other
    return [by_seed[s] for s in sorted(by_seed)]


def pool_runs(infos: list[RunInfo], groupby: str) -> dict[str, list[RunInfo]]:
    """Runs grouped for the dashboard's Analysis page and the report: by run (``groupby="run"``), or by controller
    *within one scenario* (runs that differ only by seed; one run per seed). Labels name the scenario when the
    runs come from more than one."""
    if groupby != "controller":
        return {i.key: [i] for i in infos}
    variants = list(dict.fromkeys(i.variant for i in infos))
    names = [next(i.scenario for i in infos if i.variant == v) for v in variants]
    groups: dict[str, list] = {}
    for info in infos:
        scenario = info.scenario if names.count(info.scenario) == 1 else f"{info.scenario} [{info.variant[:6]}]"
        label = info.controller if len(variants) == 1 else f"{info.controller} · {scenario}"
        members = groups.setdefault(label, [])
        if all(m.seed != info.seed for m in members):  # the same seed twice would count one run twice
            members.append(info)
    return groups


def baseline_of(run: RunInfo, runs: list[RunInfo], controller: str = "grid-only") -> RunInfo | None:
    """The baseline run written beside ``run`` (same folder, same scenario and seed), if any."""
    for other in runs:
        if (
            other.group == run.group
            and other.controller == controller
            and other.variant == run.variant
            and other.seed == run.seed
            and other.key != run.key
        ):
            return other
    return None


def discover_runs(
    root: Path, problems: list[str] | None = None, read: Callable[[Path, str], RunInfo] = read_run_info
) -> list[RunInfo]:
    """Every complete run directory under ``root`` (``root`` itself included), sorted by key.

    Hidden folders (``.name.partial-…``: runs being written) are skipped, so a run appears only when complete.
    An unreadable run directory is a ResultsError, or, given ``problems``, left out and described there.
    """
    root = Path(root)
    if not root.is_dir():
        raise ResultsError(f"--runs: {root} is not a directory")
    runs = []
    for kpis in sorted(root.rglob(KPIS)):
        folder = kpis.parent
        rel = folder.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not (folder / TIMESERIES).exists():
            continue
        try:
            runs.append(read(folder, rel.as_posix() if rel.parts else "."))
        except ResultsError as exc:
            if problems is None:
                raise
            problems.append(str(exc))
    return runs


@dataclass(frozen=True)
class Trades:
    """A run's trades sorted by step; ``bounds[t]:bounds[t + 1]`` are the rows of step t (relative to the run)."""

    buyer: np.ndarray  # agent index
    seller: np.ndarray
    kwh: np.ndarray
    price: np.ndarray  # currency/kWh
    bounds: np.ndarray  # (n_steps + 1,)

    def at(self, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        lo, hi = self.bounds[t], self.bounds[t + 1]
        return self.buyer[lo:hi], self.seller[lo:hi], self.kwh[lo:hi], self.price[lo:hi]


@dataclass(frozen=True)
class RunData:
    """A loaded run: ``agent[name]`` (n_steps, N) matrices, the trades, the KPIs, and network series if any."""

    info: RunInfo
    agent_ids: tuple[str, ...]
    timestamps: np.ndarray  # (n_steps,) datetime64
    agent: dict[str, np.ndarray]
    trades: Trades
    kpis: dict
    network: dict[str, np.ndarray] | None  # NETWORK_SERIES columns, (n_steps,)
    facts: dict[str, np.ndarray]  # agents.parquet: AGENT_FACTS columns (N,), in agent_ids order

    @property
    def n_steps(self) -> int:
        return self.timestamps.size

    def community(self, name: str) -> np.ndarray:
        """Sum over agents of an AGENT_COLUMNS series, (n_steps,)."""
        return self.agent[name].sum(axis=1)

    def p2p_volume(self) -> np.ndarray:
        """Traded kWh per step (each trade once)."""
        steps = np.repeat(np.arange(self.n_steps), np.diff(self.trades.bounds))
        return np.bincount(steps, weights=self.trades.kwh, minlength=self.n_steps)

    @functools.cached_property
    def net_position(self) -> np.ndarray:
        """(n_steps, N) kWh bought from grid and peers minus sold to them: > 0 a net buyer, < 0 a net seller
        (computed once per loaded run: every slider move reads it)."""
        a = self.agent
        return a["imported"] + a["bought"] - a["exported"] - a["sold"]

    def report(self) -> KPIReport:
        return KPIReport.from_json(self.kpis)


def load_run(info: RunInfo) -> RunData:
    """Read a run directory into arrays (only the columns the dashboard shows)."""
    folder = info.path
    kpis = json.loads((folder / KPIS).read_text(encoding="utf-8"))
    ids = tuple(kpis["agent_ids"])
    table = _read_table(folder / TIMESERIES, ["step", "timestamp", "agent", *_FILE_COLUMNS])
    step = table.column("step").to_numpy()
    first = int(step.min()) if step.size else 0
    n_steps = int(step.max()) - first + 1 if step.size else 0
    agent_col = table.column("agent").combine_chunks()
    names = agent_col.dictionary.to_pylist()
    if sorted(names) != sorted(ids):
        raise ResultsError(f"{folder}: agents in {TIMESERIES} differ from {KPIS}")
    code_to_index = np.array([ids.index(n) for n in names], dtype=np.int64)
    col = code_to_index[agent_col.indices.to_numpy()]
    row = step - first
    if step.size != n_steps * len(ids):
        raise ResultsError(f"{folder}: {TIMESERIES} has {step.size} rows, expected {n_steps} steps × {len(ids)}")
    agent = {}
    for name in _FILE_COLUMNS:
        matrix = np.empty((n_steps, len(ids)))
        matrix[row, col] = table.column(name).to_numpy()
        agent[name] = matrix
    cost = np.zeros((n_steps, len(ids)))
    for name in HEADLINE_PARTS:
        cost = cost + agent.pop(name)
    agent["cost"] = cost
    adjustment = kpis.get("agents", {}).get("storage_adjustment")
    if adjustment is None or len(adjustment) != len(ids):
        raise ResultsError(f"{folder}: {KPIS} has no per-agent storage_adjustment (written by an older version?)")
    if n_steps:
        agent["cost"][-1] += np.nan_to_num(np.array(adjustment, dtype=float))
    timestamps = np.empty(n_steps, dtype="datetime64[us]")
    timestamps[row] = table.column("timestamp").to_numpy()
    trades = _load_trades(folder, ids, first, n_steps)
    network = None
    if (folder / NETWORK).exists():
        frame = _read_table(folder / NETWORK).to_pandas()
        network = {c: frame[c].to_numpy(dtype=float) for c in frame.columns if c not in ("step", "timestamp")}
    facts_table = _read_table(folder / AGENTS)
    facts = {name: facts_table.column(name).to_numpy(zero_copy_only=False) for name in AGENT_FACTS}
    if tuple(str(x) for x in facts["id"]) != ids:
        raise ResultsError(f"{folder}: agents in {AGENTS} differ from {KPIS}")
    return RunData(info, ids, timestamps, agent, trades, kpis, network, facts)


def _read_table(path: Path, columns: list[str] | None = None) -> pa.Table:
    """A Parquet file, or a ResultsError naming it (a damaged or foreign file, a missing column)."""
    try:
        return pq.read_table(path, columns=columns)
    except (OSError, pa.ArrowException) as exc:
        raise ResultsError(f"{path} is unreadable: {exc}") from None


def _load_trades(folder: Path, ids: tuple[str, ...], first: int, n_steps: int) -> Trades:
    table = _read_table(folder / TRADES)
    index = {a: i for i, a in enumerate(ids)}

    def codes(name: str) -> np.ndarray:
        column = table.column(name).combine_chunks()
        if table.num_rows == 0:
            return np.zeros(0, dtype=np.int64)
        lookup = np.array([index[n] for n in column.dictionary.to_pylist()], dtype=np.int64)
        return lookup[column.indices.to_numpy()]

    step = table.column("step").to_numpy().astype(np.int64) - first
    order = np.argsort(step, kind="stable")
    bounds = np.searchsorted(step[order], np.arange(n_steps + 1))
    return Trades(
        codes("buyer")[order],
        codes("seller")[order],
        table.column("kwh").to_numpy()[order],
        table.column("price").to_numpy()[order],
        bounds,
    )


class RunCache:
    """The runs folder with a small LRU cache of loaded runs (thread-safe: Dash serves callbacks on threads)."""

    def __init__(self, root: Path, capacity: int = 8) -> None:
        self.root = Path(root)
        self.capacity = capacity
        self._loaded: OrderedDict[tuple[str, float], RunData] = OrderedDict()
        self._loading: dict[tuple[str, float], threading.Lock] = {}
        self._lock = threading.Lock()
        self.problems: list[str] = []
        self._infos: dict[str, tuple[int, RunInfo]] = {}

    def runs(self) -> list[RunInfo]:
        """The readable runs; ``self.problems`` says which directories were left out and why."""
        problems: list[str] = []
        runs = discover_runs(self.root, problems, lambda folder, key: self.info(key))
        self.problems = problems
        return runs

    def info(self, key: str) -> RunInfo:
        """The run's RunInfo, read again only when its ``kpis.json`` changed (a rerun replaces it)."""
        folder = self.root / key
        try:
            stamp = (folder / KPIS).stat().st_mtime_ns
        except OSError:
            return read_run_info(folder, key)  # missing: the ResultsError naming what is missing
        with self._lock:
            cached = self._infos.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        info = read_run_info(folder, key)
        with self._lock:
            self._infos[key] = (stamp, info)
        return info

    def get(self, key: str) -> RunData:
        info = self.info(key)
        stamp = (key, (info.path / KPIS).stat().st_mtime)  # a rerun replaces the directory: reload it
        with self._lock:
            if stamp in self._loaded:
                self._loaded.move_to_end(stamp)
                return self._loaded[stamp]
            loading = self._loading.setdefault(stamp, threading.Lock())
        with loading:  # callbacks asking for the same run at once: one loads it, the others wait for it
            with self._lock:
                if stamp in self._loaded:
                    return self._loaded[stamp]
            data = load_run(info)
            with self._lock:
                self._loaded[stamp] = data
                self._loading.pop(stamp, None)
                while len(self._loaded) > self.capacity:
                    self._loaded.popitem(last=False)
        return data


def time_label(stamp: np.datetime64) -> str:
    """``YYYY-MM-DD HH:MM`` of a step's start."""
    return str(stamp)[:16].replace("T", " ")


def decimate(values: np.ndarray, max_points: int, how: str = "mean") -> np.ndarray:
    """Shorten a series (n,) or matrix (n, k) to at most ``max_points`` rows by bucket means or last values."""
    n = values.shape[0]
    if n <= max_points:
        return values
    size = -(-n // max_points)  # ceil
    edges = np.arange(0, n, size)
    if how == "last":
        return values[np.minimum(edges + size, n) - 1]
    if how == "first":
        return values[edges]
    sums = np.add.reduceat(values, edges, axis=0)
    counts = np.diff(np.append(edges, n)).reshape((-1,) + (1,) * (values.ndim - 1))
    return sums / counts
