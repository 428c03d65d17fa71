"""Loader for generic long-format profile tables (CSV or Parquet) with one row per agent and time step.

Required columns: ``agent_id``, ``timestamp`` (start of the interval, naive local standard time; ISO 8601
text in CSV), ``load_kw`` and ``pv_kw`` (mean kW over the interval). Extra columns are ignored. Only the
selected agents' rows inside the grid's period are checked for values (NaN, negative); rows outside it are
ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from powergrid.data.profiles import ALLOWED_STEP_MINUTES, Profiles, TimeGrid, select_series
from powergrid.data.resample import resample_mean_kw
from powergrid.errors import DataError

REQUIRED_COLUMNS = ("agent_id", "timestamp", "load_kw", "pv_kw")
VALUE_COLUMNS = ("load_kw", "pv_kw")
_SHOW = 5


def _read(path: Path) -> pd.DataFrame:
    """Read the table and add ``_row`` (0-based data row, see :func:`_where`); column types not checked."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        df = pd.read_csv(path, dtype={"agent_id": str})
    elif suffix in (".parquet", ".pq"):
        df = pd.read_parquet(path)
    else:
        raise DataError(f"{path.name}: unsupported table format {suffix!r} (use .csv, .parquet or .pq)")
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"{path.name}: missing required column(s) {missing}; found {list(df.columns)}")
    df["_row"] = np.arange(len(df))
    return df


def _where(path: Path, row: pd.Series) -> str:
    """File name plus CSV line number (header is line 1) or 0-based Parquet row."""
    i = int(row["_row"])
    return f"{path.name} line {i + 2}" if path.suffix.lower() == ".csv" else f"{path.name} row {i}"


def _first(df: pd.DataFrame, bad: pd.Series) -> pd.Series:
    return df[bad.to_numpy()].iloc[0]


def _parse(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Return agent_id (str), timestamp (naive datetime64), load_kw and pv_kw (float, kW) and _row."""
    if df["agent_id"].isna().any():
        raise DataError(f"{_where(path, _first(df, df['agent_id'].isna()))}: empty agent_id")
    raw_ts = df["timestamp"]
    text = not pd.api.types.is_datetime64_any_dtype(raw_ts)
    if text:
        zoned = raw_ts.astype(str).str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True, na=False)
        if zoned.any():  # pandas would warn about mixed offsets before failing: name the first row instead
            row = _first(df, zoned)
            raise DataError(
                f"{_where(path, row)}: timestamp {row['timestamp']!r} has a UTC offset; timestamps must be naive "
                "local standard time (set the scenario's time.utc_offset_hours instead)"
            )
    ts = pd.to_datetime(raw_ts, errors="coerce", format="ISO8601" if text else None)
    if not (pd.api.types.is_datetime64_dtype(ts) and not isinstance(ts.dtype, pd.DatetimeTZDtype)):
        raise DataError(f"{path.name}: timestamp must be naive local standard time, got {ts.dtype}")
    if ts.isna().any():
        row = _first(df, ts.isna())
        raise DataError(f"{_where(path, row)}: timestamp {row['timestamp']!r} is not a date-time")
    out = pd.DataFrame({"agent_id": df["agent_id"].astype(str), "timestamp": ts, "_row": df["_row"]})
    for col in VALUE_COLUMNS:
        num = pd.to_numeric(df[col], errors="coerce")
        bad = num.isna() & df[col].notna()
        if bad.any():
            row = _first(df, bad)
            raise DataError(f"{_where(path, row)}: {col} {row[col]!r} is not a number")
        infinite = np.isinf(num.to_numpy(dtype=float))
        if infinite.any():
            row = _first(df, pd.Series(infinite, index=df.index))
            raise DataError(f"{_where(path, row)}: {col} {row[col]!r} is not a finite number")
        out[col] = num.astype(float)
    return out


def _infer_minutes(df: pd.DataFrame, name: str) -> int:
    """Most common positive timestamp difference within agents, which must be 15, 30 or 60 min."""
    s = df.sort_values(["agent_id", "timestamp"])
    same = s["agent_id"].eq(s["agent_id"].shift()).to_numpy()
    diffs = s["timestamp"].diff()[same]
    diffs = diffs[diffs > pd.Timedelta(0)]
    if diffs.empty:
        raise DataError(f"{name}: cannot infer the time step (no agent has two distinct timestamps)")
    step = pd.Timedelta(diffs.mode().iloc[0])
    minutes = step / pd.Timedelta(minutes=1)
    if minutes not in ALLOWED_STEP_MINUTES:
        raise DataError(
            f"{name}: inferred time step {step} is not one of {ALLOWED_STEP_MINUTES} minutes; pass native_minutes"
        )
    return int(minutes)


def load_table(
    path: str | Path,
    grid: TimeGrid,
    agent_ids: Sequence[str] | None = None,
    n_agents: int | None = None,
    native_minutes: int | None = None,
) -> Profiles:
    """Load a long-format table of mean kW per interval onto ``grid`` (resampled with ``resample_mean_kw``).

    ``agent_ids`` picks agents in that order; otherwise the first ``n_agents`` ids in sorted order; otherwise
    all. ``native_minutes`` is the data's step (inferred from the most common timestamp difference if None).
    Every selected agent needs exactly one row per native step covering ``[grid.start, grid.end)``; the grid
    start must lie on a native step boundary (counted from midnight).
    """
    path = Path(path)
    name = path.name
    df = _parse(_read(path), path)
    native = _infer_minutes(df, name) if native_minutes is None else int(native_minutes)
    if native < 1:
        raise DataError(f"native_minutes must be positive, got {native_minutes}")
    step = pd.Timedelta(minutes=native)
    if (grid.start - grid.start.normalize()) % step:
        raise DataError(f"grid start {grid.start} is not on a {native}-min boundary of the data")
    available = sorted(df["agent_id"].unique().tolist())
    requested = None if agent_ids is None else [str(a) for a in agent_ids]
    chosen = select_series(available, requested, n_agents, name, "agent id")

    n_native = -(-(grid.end - grid.start) // step)  # ceil: a finer grid may end inside a native step
    stop = grid.start + n_native * step
    df = df[df["agent_id"].isin(chosen) & (df["timestamp"] >= grid.start) & (df["timestamp"] < stop)]
    # The pandas type hints (2.3) lack `%` of a Timedelta series by a Timedelta, which pandas implements.
    off = df[((df["timestamp"] - grid.start) % step) != pd.Timedelta(0)]  # type: ignore[operator]
    if not off.empty:
        row = off.iloc[0]
        raise DataError(
            f"{_where(path, row)}: agent {row['agent_id']!r} timestamp {row['timestamp']} is not "
            f"on the {native}-min grid starting {grid.start}"
        )
    dup = df.duplicated(["agent_id", "timestamp"], keep=False)
    if dup.any():
        row = _first(df, dup)
        raise DataError(f"{name}: duplicate rows for agent {row['agent_id']!r} at {row['timestamp']}")

    t = ((df["timestamp"] - grid.start) // step).to_numpy()
    a = pd.Index(chosen).get_indexer(df["agent_id"])
    present = np.zeros((n_native, len(chosen)), dtype=bool)
    present[t, a] = True
    if not present.all():
        i = int(np.flatnonzero(~present.all(axis=0))[0])
        k = int(np.flatnonzero(~present[:, i])[0])
        raise DataError(
            f"{name}: agent {chosen[i]!r} has no row for {grid.start + k * step} "
            f"({int((~present[:, i]).sum())} of {n_native} steps missing in {grid.start}..{stop})"
        )
    arrays = {}
    for col in VALUE_COLUMNS:
        v = df[col].to_numpy()
        bad = np.isnan(v) | (v < 0)
        if bad.any():
            row = df.iloc[int(np.flatnonzero(bad)[0])]
            raise DataError(
                f"{_where(path, row)}: {col} is {row[col]} (NaN or negative) for agent "
                f"{row['agent_id']!r} at {row['timestamp']}"
            )
        arr = np.empty((n_native, len(chosen)))
        arr[t, a] = v
        arrays[col] = resample_mean_kw(arr, native, grid.step_minutes)[: grid.n_steps]
    return Profiles(load_kw=arrays["load_kw"], pv_kw=arrays["pv_kw"], agent_ids=tuple(chosen))
