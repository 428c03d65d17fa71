"""Loader for Ausgrid "Solar Home Electricity Data" CSV files (kWh per half hour -> mean kW on a TimeGrid).

File layout: line 1 is a free-text title, line 2 the header ``Customer,Generator Capacity,Postcode,
Consumption Category,date,0:30,...,23:30,0:00[,Row Quality]``, then one row per customer, day and category
(``GC`` general consumption, ``CL`` controlled load, ``GG`` gross PV generation). Slot labels are interval
ends: ``0:30`` is 00:00-00:30 and the final ``0:00`` is 23:30-24:00 of the row's date.

The three yearly files of the public data set differ: 2012-13 has the ``Row Quality`` column and dates like
``1/07/2012``; 2011-12 and 2010-11 have no ``Row Quality`` column, and 2010-11 writes dates like ``1-Jul-10``. All
three load; a file uses one date format throughout (detected from its first row).

Conventions:

* Times in the file are taken as the grid's local standard time (no time-zone or DST conversion is done).
* ``load_kw = (GC + CL) / 0.5 h`` and ``pv_kw = GG / 0.5 h``. A customer with no CL row anywhere in the file
  has CL = 0; a customer with CL on some days needs it on every used day (same rules as GC).
* 60-min grids take the mean of the two half hours; 15-min grids hold each half hour's mean power.
* Structural problems (header, customer number, category, date, non-numeric reading, duplicate row) are errors
  anywhere in the file; empty or negative readings are errors in the selected customers' rows.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from powergrid.data.profiles import Profiles, TimeGrid, select_series
from powergrid.data.resample import resample_mean_kw
from powergrid.errors import DataError

SLOT_LABELS: tuple[str, ...] = tuple(f"{(m // 60) % 24}:{m % 60:02d}" for m in range(30, 24 * 60 + 1, 30))
ID_COLUMNS = ("Customer", "Generator Capacity", "Postcode", "Consumption Category", "date")
HEADER: tuple[str, ...] = (*ID_COLUMNS, *SLOT_LABELS, "Row Quality")
#: Date formats of the yearly files: 1/07/2012 (2011-13) and 1-Jul-10 (2010-11).
DATE_FORMATS = ("%d/%m/%Y", "%d-%b-%y", "%d-%b-%Y", "%d/%m/%y")
CATEGORIES = ("GC", "CL", "GG")
_NATIVE_MINUTES = 30
_FIRST_DATA_LINE = 3  # line 1 title, line 2 header
_SHOW = 5  # how many offenders to name in messages


class DataFillWarning(UserWarning):
    """Missing customer-day-categories were filled from an adjacent day of the same customer and category."""


def _fail_at(name: str, df: pd.DataFrame, bad: np.ndarray | pd.Series, what: str) -> None:
    """Raise DataError for the first row flagged in ``bad`` (boolean mask aligned with ``df``), if any."""
    bad = np.asarray(bad, dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"{name} line {int(df['line'].to_numpy()[i])}: {what} (first of {int(bad.sum())} such rows)")


def _per_unique(col: pd.Series, fn: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply ``fn`` to the distinct values of a text column only (fast for repetitive columns)."""
    codes, uniques = pd.factorize(col, use_na_sentinel=False)
    return pd.Series(fn(pd.Series(uniques, dtype=object)).to_numpy()[codes], index=col.index)


def _read(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """Parse and structurally validate the file; return ids (customer, category, date, line) and kWh."""
    name = path.name
    with path.open(encoding="utf-8-sig", newline="") as fh:
        fh.readline()
        header = fh.readline().rstrip("\r\n")
    columns = tuple(header.split(","))
    if columns not in (HEADER, HEADER[:-1]):
        raise DataError(f"{name} line 2: header is not the Ausgrid solar-home header {','.join(HEADER[:7])},...")
    try:
        raw = pd.read_csv(
            path,
            skiprows=2,
            header=None,
            names=list(columns),
            index_col=False,
            skip_blank_lines=False,
            keep_default_na=False,
            na_values=[""],
            dtype=dict.fromkeys((*ID_COLUMNS, "Row Quality"), str),
        )
    except pd.errors.ParserError as exc:
        raise DataError(f"{name}: malformed CSV ({exc})") from exc
    raw["line"] = np.arange(len(raw)) + _FIRST_DATA_LINE
    raw = raw[raw.drop(columns="line").notna().any(axis=1)].reset_index(drop=True)  # blank lines

    cust = _per_unique(raw["Customer"], lambda u: pd.to_numeric(u.str.strip(), errors="coerce"))
    _fail_at(name, raw, ~(cust.notna() & (cust % 1 == 0)), "Customer is not an integer")
    cat = _per_unique(raw["Consumption Category"], lambda u: u.str.strip())
    _fail_at(name, raw, ~cat.isin(CATEGORIES), f"Consumption Category is not one of {CATEGORIES}")
    fmt = _date_format(raw["date"])
    date = _per_unique(raw["date"], lambda u: pd.to_datetime(u.str.strip(), format=fmt, errors="coerce"))
    _fail_at(name, raw, date.isna(), f"date is not like the file's first date ({fmt}: d/mm/yyyy or d-Mon-yy)")

    values = np.empty((len(raw), len(SLOT_LABELS)))
    for j, label in enumerate(SLOT_LABELS):
        col = raw[label]
        if col.dtype == object:  # the C parser fell back to text: some entry is not a number
            num = pd.to_numeric(col, errors="coerce")
            _fail_at(name, raw, col.notna() & num.isna(), f"reading in slot {label} is not a number")
            col = num
        values[:, j] = col.to_numpy(dtype=float)

    ids = pd.DataFrame({"customer": cust.astype(np.int64), "category": cat, "date": date, "line": raw["line"]})
    dup = ids.duplicated(["customer", "category", "date"], keep=False).to_numpy()
    if dup.any():
        rows = ids[dup].sort_values(["customer", "category", "date", "line"]).head(2)
        c, k, d = rows.iloc[0][["customer", "category", "date"]]
        raise DataError(f"{name} lines {rows['line'].tolist()}: duplicate row for customer {c}, {k}, {d.date()}")
    return ids, values


def _date_format(dates: pd.Series) -> str:
    """The first of ``DATE_FORMATS`` that reads the file's first date (the formats of the yearly files)."""
    first = next((str(d).strip() for d in dates if isinstance(d, str) and d.strip()), "")
    for fmt in DATE_FORMATS:
        if not pd.isna(pd.to_datetime(first, format=fmt, errors="coerce")):
            return fmt
    return DATE_FORMATS[0]  # nothing reads it: the first row is reported as not a date


def _check_coverage(sel: pd.DataFrame, chosen: list[int], grid: TimeGrid, name: str) -> None:
    """Every selected customer's dates must span [grid.start, grid.end)."""
    span = sel.groupby("customer")["date"].agg(["min", "max"]).loc[chosen]
    first, end = span["min"], span["max"] + pd.Timedelta(days=1)
    bad = (first > grid.start) | (end < grid.end)
    if bad.any():
        c = bad.index[bad.to_numpy()][0]
        gaps = []
        if first[c] > grid.start:
            gaps.append(f"{grid.start}..{min(first[c], grid.end)}")
        if end[c] < grid.end:
            gaps.append(f"{max(end[c], grid.start)}..{grid.end}")
        raise DataError(
            f"{name}: customer {c} data covers {first[c].date()}..{span['max'][c].date()} but the "
            f"grid needs {grid.start}..{grid.end}; missing {' and '.join(gaps)}"
        )


def _source_rows(sel: pd.DataFrame, need: pd.DataFrame, fill_missing: str, name: str) -> np.ndarray:
    """Row position in ``sel`` for every needed (customer, category, date), filling gaps if allowed."""
    keys = ["customer", "category", "date"]
    avail = sel[keys].assign(pos=np.arange(len(sel)))
    pos = need.merge(avail, how="left", on=keys)["pos"].to_numpy()
    holes = np.isnan(pos)
    if not holes.any():
        return pos.astype(np.int64)
    miss = need[holes]
    listed = ", ".join(f"customer {c} {d.date()} {k}" for c, k, d in miss[keys].head(_SHOW).itertuples(False))
    if fill_missing == "error":
        raise DataError(
            f"{name}: {len(miss)} missing customer-day-categories: {listed}{', ...' if len(miss) > _SHOW else ''}"
        )
    if fill_missing != "previous-day":
        raise DataError(f"fill_missing must be 'error' or 'previous-day', got {fill_missing!r}")
    left = miss.assign(order=np.arange(len(miss))).sort_values("date")
    right = avail.sort_values("date")
    back = pd.merge_asof(left, right, on="date", by=["customer", "category"], direction="backward")
    fwd = pd.merge_asof(left, right, on="date", by=["customer", "category"], direction="forward")
    src = back["pos"].fillna(fwd["pos"]).to_numpy()[np.argsort(back["order"].to_numpy())]
    if np.isnan(src).any():
        c, k = miss.iloc[int(np.flatnonzero(np.isnan(src))[0])][["customer", "category"]]
        raise DataError(f"{name}: customer {c} has no {k} rows at all to fill from")
    warnings.warn(
        f"{name}: filled {len(miss)} missing customer-day-categories from the previous (else next) "
        f"available day: {listed}{', ...' if len(miss) > _SHOW else ''}",
        DataFillWarning,
        stacklevel=3,
    )
    pos[holes] = src
    return pos.astype(np.int64)


def load_ausgrid(
    path: str | Path,
    grid: TimeGrid,
    customers: Sequence[int] | None = None,
    n_agents: int | None = None,
    fill_missing: Literal["error", "previous-day"] = "error",
) -> Profiles:
    """Load Ausgrid solar-home data onto ``grid`` as mean kW per step (agent ids ``"c<customer>"``).

    ``customers`` picks customer numbers in that order; otherwise the first ``n_agents`` numbers in ascending
    order; otherwise all. ``fill_missing="previous-day"`` copies a missing GC/CL/GG day from the previous
    available day of that customer and category (the next one if none precedes) and emits a
    :class:`DataFillWarning`; ``"error"`` raises :class:`DataError` instead.
    """
    path = Path(path)
    name = path.name
    align = 60 if grid.step_minutes == 60 else _NATIVE_MINUTES
    if (grid.start - grid.start.normalize()) % pd.Timedelta(minutes=align):
        raise DataError(f"grid start {grid.start} is not on a {align}-min boundary (Ausgrid data is half-hourly)")
    ids, values = _read(path)
    available = np.sort(ids["customer"].unique()).tolist()
    requested = None if customers is None else [int(c) for c in customers]
    chosen = select_series(available, requested, n_agents, name, "customer")

    in_sel = ids["customer"].isin(chosen).to_numpy()
    sel, vals = ids[in_sel].reset_index(drop=True), values[in_sel]
    _fail_at(name, sel, np.isnan(vals).any(axis=1), "empty reading for a selected customer")
    neg = vals < 0
    if neg.any():
        i, j = np.argwhere(neg)[0]
        row = sel.iloc[i]
        raise DataError(
            f"{name} line {row['line']}: negative reading {vals[i, j]:.6g} kWh for customer "
            f"{row['customer']} on {row['date'].date()} ({row['category']}, slot {SLOT_LABELS[j]})"
        )
    _check_coverage(sel, chosen, grid, name)

    half = pd.Timedelta(minutes=_NATIVE_MINUTES)
    n_half = -(-(grid.end - grid.start) // half)  # ceil: a 15-min grid may end mid half hour
    day0 = grid.start.normalize()
    days = pd.date_range(day0, (grid.start + (n_half - 1) * half).normalize(), freq="D")
    has_cl = set(sel.loc[sel["category"] == "CL", "customer"].tolist())
    need = pd.MultiIndex.from_product(
        [range(len(chosen)), CATEGORIES, range(len(days))], names=["ci", "category", "di"]
    ).to_frame(index=False)
    need["customer"] = np.asarray(chosen, dtype=np.int64)[need["ci"].to_numpy()]
    need["date"] = days[need["di"].to_numpy()]
    need = need[(need["category"] != "CL") | need["customer"].isin(has_cl)].reset_index(drop=True)
    pos = _source_rows(sel, need, fill_missing, name)

    kwh = {k: np.zeros((len(chosen), len(days), len(SLOT_LABELS))) for k in CATEGORIES}
    for k in CATEGORIES:
        m = (need["category"] == k).to_numpy()
        kwh[k][need["ci"].to_numpy()[m], need["di"].to_numpy()[m]] = vals[pos[m]]
    hours = _NATIVE_MINUTES / 60.0
    first = (grid.start - day0) // half
    window = slice(first, first + n_half)

    def series(kwh_per_half: np.ndarray) -> np.ndarray:
        kw = kwh_per_half.reshape(len(chosen), -1).T[window] / hours
        return resample_mean_kw(kw, _NATIVE_MINUTES, grid.step_minutes)[: grid.n_steps]

    return Profiles(
        load_kw=series(kwh["GC"] + kwh["CL"]),
        pv_kw=series(kwh["GG"]),
        agent_ids=tuple(f"c{c}" for c in chosen),
    )
