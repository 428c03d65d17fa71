"""Loader for CityLearn data sets: ``schema.json`` plus one CSV per building, ``pricing.csv`` and
``carbon_intensity.csv`` (the layout of the CityLearn repository's ``data/datasets/<name>/``), or the package's
compressed copy of the CityLearn Challenge 2022 set (``schema.json`` + ``buildings.parquet`` + ``grid.parquet``,
built by ``tools/bundle_citylearn.py``; MIT licence in ``citylearn_2022/LICENSE``).

Units (CityLearn's): ``non_shiftable_load`` is kWh in the hour (= mean kW); ``solar_generation`` is **W per kW of
installed PV**, so PV (kW) = ``solar_generation × pv.nominal_power / 1000``; ``electricity_pricing`` is
currency/kWh; ``carbon_intensity`` kg CO₂/kWh. The battery's ``efficiency`` is CityLearn's round-trip efficiency
η: its ``StorageDevice`` stores ``energy·√η`` when charging and takes ``energy/√η`` when discharging, so each
direction is √η here (CityLearn's power-dependent efficiency curves and capacity fade are not modelled).

Calendar: rows carry ``month``, ``hour`` (1–24, the hour *ending*) and ``day_type`` (1 = Monday … 7 = Sunday,
8 = holiday) but no year. Row ``r`` is the hour starting at ``first_row + r h``; :func:`select_rows` checks every
selected row against that calendar and names the first row that disagrees (rows of the bundled Parquet files are
0-based, CSV lines count the header). A start off by whole weeks keeps month, hour and weekday and cannot be
detected.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from powergrid.data.profiles import TimeGrid
from powergrid.data.resample import resample_mean_kw
from powergrid.errors import DataError

#: The columns of a building file the loader reads.
BUILDING_COLUMNS = ("month", "hour", "day_type", "non_shiftable_load", "solar_generation")
#: The package's copy of the CityLearn Challenge 2022 data set (17 homes, one year at 1 h, from 2022-07-31 23:00).
BUNDLED_2022 = Path(__file__).parent / "citylearn_2022"
SCHEMA = "schema.json"
_BUNDLE_BUILDINGS, _BUNDLE_GRID = "buildings.parquet", "grid.parquet"


@dataclass(frozen=True)
class CityLearnSet:
    """The selected buildings of a data set, whole year. Arrays (rows,) or (rows, B) in building order."""

    folder: Path
    buildings: tuple[str, ...]
    building_file: str  # the file the calendar is read from (for messages)
    month: np.ndarray
    hour: np.ndarray  # hour ending, 1–24
    day_type: np.ndarray
    load_kw: np.ndarray  # (rows, B) mean kW
    pv_kw: np.ndarray  # (rows, B) mean kW (solar_generation × nominal power / 1000)
    pv_peak_kw: np.ndarray  # (B,) nominal PV power
    battery_capacity_kwh: np.ndarray  # (B,)
    battery_power_kw: np.ndarray  # (B,)
    battery_efficiency: np.ndarray  # (B,) one-way (√ of CityLearn's round-trip efficiency)
    retail: np.ndarray  # (rows,) currency/kWh
    carbon_kg_per_kwh: np.ndarray  # (rows,)

    @property
    def n_rows(self) -> int:
        return self.month.size


def read_citylearn(folder: Path | None, buildings: Sequence[str] | None = None) -> CityLearnSet:
    """Read a CityLearn data set folder (``None`` = the bundled 2022 set); ``buildings`` selects and orders the
    buildings (default: every building the schema includes). Cached per folder, selection and file stamps (an
    edited file is read again).

    Raises DataError naming the file (and row and column) for: no ``schema.json``, a building not in it, missing
    columns, missing or non-numeric values, negative load or PV, files of different lengths."""
    folder = BUNDLED_2022 if folder is None else Path(folder)
    stamp = (
        tuple(sorted((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in folder.iterdir() if f.is_file()))
        if folder.is_dir()
        else ()
    )
    return _read_cached(str(folder.resolve()), None if buildings is None else tuple(buildings), stamp)


@lru_cache(maxsize=8)
def _read_cached(folder_name: str, buildings: tuple[str, ...] | None, _stamp: tuple) -> CityLearnSet:
    folder = Path(folder_name)
    schema = _read_schema(folder)
    listed = schema["buildings"]
    names = tuple(n for n, b in listed.items() if b.get("include", True)) if buildings is None else buildings
    unknown = [n for n in names if n not in listed]
    if unknown:
        raise DataError(
            f"data.buildings: {unknown[:5]} not in {folder / SCHEMA} (its buildings: {', '.join(list(listed)[:20])})"
        )
    if not names:
        raise DataError(f"{folder / SCHEMA}: no building is included")
    if len(set(names)) != len(names):
        raise DataError(f"data.buildings: repeated names {sorted({n for n in names if names.count(n) > 1})}")
    frames, where = _building_frames(folder, listed, names)
    first = where[names[0]]
    calendar = {c: frames[names[0]][c].to_numpy() for c in ("month", "hour", "day_type")}
    for name in names[1:]:
        for c, values in calendar.items():
            other = frames[name][c].to_numpy()
            if other.size != values.size or (other != values).any():
                row = int(np.argmax(other != values)) if other.size == values.size else min(other.size, values.size)
                raise DataError(
                    f"{where[name]}: {other.size} rows, column {c!r} differs from {first} at row {row} "
                    "(every building file must cover the same hours)"
                )
    grid = _grid_series(folder, listed[names[0]], calendar["month"].size)
    pv_peak = np.array([_attribute(listed[n], "pv", "nominal_power") for n in names])
    storage = [listed[n] for n in names]
    efficiency = np.array([_attribute(b, "electrical_storage", "efficiency", default=1.0) for b in storage])
    return CityLearnSet(
        folder=folder,
        buildings=tuple(names),
        building_file=first,
        month=calendar["month"].astype(int),
        hour=calendar["hour"].astype(int),
        day_type=calendar["day_type"].astype(int),
        load_kw=np.column_stack([frames[n]["non_shiftable_load"].to_numpy(float) for n in names]),
        pv_kw=np.column_stack([frames[n]["solar_generation"].to_numpy(float) for n in names]) * pv_peak / 1000.0,
        pv_peak_kw=pv_peak,
        battery_capacity_kwh=np.array([_attribute(b, "electrical_storage", "capacity") for b in storage]),
        battery_power_kw=np.array([_attribute(b, "electrical_storage", "nominal_power") for b in storage]),
        battery_efficiency=np.sqrt(efficiency),
        retail=grid["electricity_pricing"],
        carbon_kg_per_kwh=grid["carbon_intensity"],
    )


def _read_schema(folder: Path) -> dict:
    path = folder / SCHEMA
    if not folder.is_dir():
        raise DataError(f"data.path: {folder} is not a folder (a CityLearn data set is a folder with {SCHEMA})")
    if not path.is_file():
        raise DataError(f"{folder}: no {SCHEMA} (not a CityLearn data set)")
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(schema, dict) or not isinstance(schema.get("buildings"), dict):
        raise DataError(f"{path}: no 'buildings' mapping")
    return schema


def _attribute(building: dict, device: str, name: str, default: float = 0.0) -> float:
    """A device attribute of a schema building (0 when the building has no such device)."""
    spec = building.get(device) or {}
    value = (spec.get("attributes") or {}).get(name, default)
    if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise DataError(f"{SCHEMA}: {device}.attributes.{name} must be a non-negative number, got {value!r}")
    return float(value)


def _building_frames(folder: Path, listed: dict, names: Sequence[str]) -> tuple[dict, dict]:
    """Per building: a DataFrame of BUILDING_COLUMNS (numeric, checked) and a 'file' label for messages."""
    bundle = folder / _BUNDLE_BUILDINGS
    frames, where = {}, {}
    if bundle.is_file():
        table = pd.read_parquet(bundle)
        table["_line"] = table.groupby("building", observed=True).cumcount()
        for name in names:
            part = table[table["building"] == name]
            if part.empty:
                raise DataError(f"{bundle}: no rows for building {name!r}")
            where[name] = f"{bundle.name} (building {name})"
            frames[name] = _checked(part.reset_index(drop=True), where[name], parquet=True)
        return frames, where
    for name in names:
        file = listed[name].get("energy_simulation")
        if not isinstance(file, str):
            raise DataError(f"{folder / SCHEMA}: building {name!r} names no energy_simulation file")
        path = folder / file
        if not path.is_file():
            raise DataError(f"{path}: file not found (named by {SCHEMA} for building {name!r})")
        where[name] = path.name
        frames[name] = _checked(_read_csv(path), path.name, parquet=False)
    return frames, where


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        head = pd.read_csv(path, nrows=0)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(f"{path.name}: not a readable CSV ({err})") from None
    missing = [c for c in BUILDING_COLUMNS if c not in head.columns]
    if missing:
        raise DataError(f"{path.name}: missing column(s) {missing}; found {list(head.columns)[:12]}")
    return pd.read_csv(path, usecols=list(BUILDING_COLUMNS), dtype=str, keep_default_na=False)


def _checked(df: pd.DataFrame, where: str, parquet: bool) -> pd.DataFrame:
    """Numeric columns; the first empty, non-numeric or negative value is a DataError naming row and column."""
    out = {}
    for column in BUILDING_COLUMNS:
        if column not in df.columns:
            raise DataError(f"{where}: missing column {column!r}")
        raw = df[column]
        values = pd.to_numeric(raw, errors="coerce")
        bad = values.isna().to_numpy() | ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
        if not bad.any() and column in ("non_shiftable_load", "solar_generation"):
            bad = values.to_numpy(dtype=float) < 0
        if bad.any():
            i = int(np.argmax(bad))
            line = f"row {i} (0-based)" if parquet else f"line {i + 2}"
            text = str(raw.iloc[i])
            what = "is empty" if text.strip() in ("", "nan", "None") else f"{text!r} is not a non-negative number"
            raise DataError(f"{where} {line}, column {column!r}: {what}")
        out[column] = values.to_numpy(dtype=float)
    return pd.DataFrame(out)


def _grid_series(folder: Path, building: dict, rows: int) -> dict[str, np.ndarray]:
    """``electricity_pricing`` and ``carbon_intensity`` (rows,), checked like the building files."""
    bundle = folder / _BUNDLE_GRID
    if bundle.is_file():
        table = pd.read_parquet(bundle)
        sources = {"electricity_pricing": (table, bundle.name, True), "carbon_intensity": (table, bundle.name, True)}
    else:
        sources = {}
        for column, key in (("electricity_pricing", "pricing"), ("carbon_intensity", "carbon_intensity")):
            file = building.get(key)
            path = folder / file if isinstance(file, str) else None
            if path is None or not path.is_file():
                raise DataError(f"{folder / SCHEMA}: the {key} file {file!r} is not in {folder}")
            table = pd.read_csv(path, dtype=str, keep_default_na=False)
            sources[column] = (table, path.name, False)
    out = {}
    for column, (table, name, parquet) in sources.items():
        if column not in table.columns:
            raise DataError(f"{name}: missing column {column!r}; found {list(table.columns)[:8]}")
        values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            i = int(np.argmax(bad))
            line = f"row {i}" if parquet else f"line {i + 2}"
            raise DataError(f"{name} {line}, column {column!r}: {table[column].iloc[i]!r} is not a non-negative number")
        if values.size != rows:
            raise DataError(f"{name}: {values.size} rows, the building files have {rows}")
        out[column] = values
    return out


def select_rows(data: CityLearnSet, grid: TimeGrid, first_row: pd.Timestamp) -> np.ndarray:
    """Row indices (hours) covering the scenario's time grid, given the timestamp of the data's first row.

    Raises DataError when the grid starts off the hour or before the data, when the data has too few rows, or when
    a selected row's month, hour ending or day type disagrees with the scenario's calendar (naming that row)."""
    offset_h = (grid.start - first_row) / pd.Timedelta(hours=1)
    if offset_h < 0 or offset_h != int(offset_h):
        raise DataError(
            f"time.start {grid.start} must be a whole number of hours at or after the data's first row "
            f"({first_row}; data.start)"
        )
    hours = math.ceil(grid.n_steps * grid.step_minutes / 60)
    rows = np.arange(int(offset_h), int(offset_h) + hours)
    if rows[-1] >= data.n_rows:
        raise DataError(
            f"{data.building_file}: {data.n_rows} rows from {first_row}; the scenario needs rows {rows[0]}–{rows[-1]} "
            f"({grid.start} + {hours} h)"
        )
    stamps = first_row + pd.to_timedelta(rows, unit="h")
    expected = {
        "month": stamps.month.to_numpy(),
        "hour": stamps.hour.to_numpy() + 1,
        "day_type": stamps.dayofweek.to_numpy() + 1,
    }
    wrong = np.zeros(rows.size, dtype=bool)
    for column, want in expected.items():
        got = getattr(data, column)[rows]
        wrong |= (got != want) & ~((column == "day_type") & (got == 8))  # 8 = holiday: any weekday
    if wrong.any():
        i = int(np.argmax(wrong))
        r = rows[i]
        raise DataError(
            f"{data.building_file} row {r} (0-based): month {data.month[r]}, hour {data.hour[r]}, "
            f"day_type {data.day_type[r]} but the scenario's calendar puts {stamps[i]} there "
            f"(month {expected['month'][i]}, hour ending {expected['hour'][i]}, day_type {expected['day_type'][i]}); "
            "check time.start and data.start"
        )
    return rows


def window(data: CityLearnSet, grid: TimeGrid, first_row: pd.Timestamp) -> dict[str, np.ndarray]:
    """The scenario's window on the grid's steps: ``load_kw``/``pv_kw`` (n_steps, B), ``retail`` and
    ``carbon_kg_per_kwh`` (n_steps,); hourly values are held over finer steps (energy preserved)."""
    rows = select_rows(data, grid, first_row)

    def on_grid(values: np.ndarray) -> np.ndarray:
        return resample_mean_kw(values[rows], 60, grid.step_minutes)[: grid.n_steps]

    return {
        "load_kw": on_grid(data.load_kw),
        "pv_kw": on_grid(data.pv_kw),
        "retail": on_grid(data.retail),
        "carbon_kg_per_kwh": on_grid(data.carbon_kg_per_kwh),
    }
