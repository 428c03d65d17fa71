"""Tests for the Ausgrid solar-home loader, on small fixture files written in the real file layout."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from powergrid.data.ausgrid import DataFillWarning, load_ausgrid
from powergrid.data.profiles import TimeGrid
from powergrid.errors import DataError

SLOTS = [f"{(m // 60) % 24}:{m % 60:02d}" for m in range(30, 24 * 60 + 1, 30)]
HEADER = "Customer,Generator Capacity,Postcode,Consumption Category,date," + ",".join(SLOTS) + ",Row Quality"
DAYS = [dt.date(2012, 7, 1), dt.date(2012, 7, 2), dt.date(2012, 7, 3)]
CUSTOMERS = (1, 2, 3)  # customer 2 has no controlled load


def kwh(customer: int, category: str, day: int) -> np.ndarray:
    """Fixture kWh per half hour for slot 0..47 of day index 0..2."""
    j = np.arange(48)
    if category == "GC":
        return 0.1 * customer + 0.001 * j + 0.01 * day
    if category == "CL":
        return np.where(j < 8, 0.5, 0.0)  # 00:00-04:00 off-peak hot water
    return np.where((j >= 16) & (j < 36), 0.2 * customer + 0.01 * day, 0.0)


def fixture_rows() -> list[list[str]]:
    rows = []
    for c in CUSTOMERS:
        for d, day in enumerate(DAYS):
            for cat in ("GC", "CL", "GG") if c != 2 else ("GC", "GG"):
                values = [f"{v:.3f}" for v in kwh(c, cat, d)]
                date = f"{day.day}/{day.month:02d}/{day.year}"
                rows.append([str(c), "3.78", "2076", cat, date, *values, ""])
    return rows


def write(path: Path, rows: list[list[str]], header: str = HEADER) -> Path:
    lines = ["Solar home electricity data from 1 July 2012 to 3 July 2012", header]
    path.write_text("\n".join([*lines, *(",".join(r) for r in rows)]) + "\n")
    return path


def drop(rows: list[list[str]], customer: int, date: str, cat: str) -> list[list[str]]:
    out = [r for r in rows if not (r[0] == str(customer) and r[4] == date and r[3] == cat)]
    assert len(out) == len(rows) - 1
    return out


def grid(start: str = "2012-07-01 00:00", step: int = 30, n_steps: int = 96) -> TimeGrid:
    return TimeGrid(start=pd.Timestamp(start), step_minutes=step, n_steps=n_steps)


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    return write(tmp_path / "solar.csv", fixture_rows())


def expected_half_hour_kw(customer: int, kind: str) -> np.ndarray:
    """Expected mean kW per half hour over all three days."""
    if kind == "load":
        parts = [kwh(customer, "GC", d) + (kwh(customer, "CL", d) if customer != 2 else 0) for d in range(3)]
    else:
        parts = [kwh(customer, "GG", d) for d in range(3)]
    return np.concatenate(parts) / 0.5


def test_30min_values_in_kw_with_cl_added(csv: Path) -> None:
    p = load_ausgrid(csv, grid())
    assert p.agent_ids == ("c1", "c2", "c3")
    assert p.load_kw.shape == (96, 3)
    # customer 1, 1 July 00:00-00:30: GC 0.100 + CL 0.5 kWh = 0.6 kWh -> 1.2 kW
    assert p.load_kw[0, 0] == pytest.approx(1.2)
    # customer 2 has no CL: 0.200 kWh -> 0.4 kW
    assert p.load_kw[0, 1] == pytest.approx(0.4)
    # the "0:00" column is 23:30-24:00 of the row's date: customer 3, 1 July, GC 0.3 + 0.047 kWh, CL 0
    assert p.load_kw[47, 2] == pytest.approx(0.694)
    # customer 3 PV on 2 July 08:00-08:30 (slot 16): 0.61 kWh -> 1.22 kW; 07:30-08:00 is zero
    assert p.pv_kw[48 + 16, 2] == pytest.approx(1.22)
    assert p.pv_kw[48 + 15, 2] == 0.0
    for i, c in enumerate(CUSTOMERS):
        np.testing.assert_allclose(p.load_kw[:, i], expected_half_hour_kw(c, "load")[:96])
        np.testing.assert_allclose(p.pv_kw[:, i], expected_half_hour_kw(c, "pv")[:96])


def test_60min_is_mean_of_half_hours_and_preserves_energy(csv: Path) -> None:
    p = load_ausgrid(csv, grid(step=60, n_steps=72))
    assert p.load_kw.shape == (72, 3)
    # customer 1, 00:00-01:00 on 1 July: (1.2 + 1.202) / 2
    assert p.load_kw[0, 0] == pytest.approx(1.201)
    for i, c in enumerate(CUSTOMERS):
        half = expected_half_hour_kw(c, "load")
        np.testing.assert_allclose(p.load_kw[:, i], half.reshape(72, 2).mean(axis=1))
        total_kwh = sum(kwh(c, "GG", d).sum() for d in range(3))
        assert p.pv_kw[:, i].sum() * 1.0 == pytest.approx(total_kwh)


def test_15min_holds_each_half_hour(csv: Path) -> None:
    p = load_ausgrid(csv, grid(start="2012-07-01 00:30", step=15, n_steps=5))
    np.testing.assert_allclose(p.load_kw[:, 0], [1.202, 1.202, 1.204, 1.204, 1.206])
    assert p.load_kw.shape == (5, 3)


def test_offset_window_across_midnight(csv: Path) -> None:
    p = load_ausgrid(csv, grid(start="2012-07-01 23:00", step=60, n_steps=3))
    half = expected_half_hour_kw(3, "load")
    np.testing.assert_allclose(p.load_kw[:, 2], half[46:52].reshape(3, 2).mean(axis=1))
    # 2 July 00:00-01:00 for customer 1 includes CL: GC (0.110 + 0.111) + CL 1.0 kWh over 1 h
    assert p.load_kw[1, 0] == pytest.approx(1.221)


def test_customer_order_and_n_agents(csv: Path) -> None:
    p = load_ausgrid(csv, grid(), customers=[3, 1])
    assert p.agent_ids == ("c3", "c1")
    np.testing.assert_allclose(p.load_kw[:, 0], expected_half_hour_kw(3, "load")[:96])
    np.testing.assert_allclose(p.pv_kw[:, 1], expected_half_hour_kw(1, "pv")[:96])
    assert load_ausgrid(csv, grid(), n_agents=2).agent_ids == ("c1", "c2")


def test_missing_day_is_an_error_by_default(tmp_path: Path) -> None:
    path = write(tmp_path / "gap.csv", drop(fixture_rows(), 1, "2/07/2012", "GG"))
    with pytest.raises(DataError, match=r"customer 1 2012-07-02 GG"):
        load_ausgrid(path, grid())
    # not an error when the gap lies outside the grid's period
    p = load_ausgrid(path, grid(step=30, n_steps=48))
    assert p.n_steps == 48


def test_missing_day_previous_day_fill(tmp_path: Path) -> None:
    path = write(tmp_path / "gap.csv", drop(fixture_rows(), 1, "2/07/2012", "GG"))
    with pytest.warns(DataFillWarning, match=r"filled 1 .*customer 1 2012-07-02 GG"):
        p = load_ausgrid(path, grid(n_steps=144), fill_missing="previous-day")
    pv = expected_half_hour_kw(1, "pv")
    np.testing.assert_allclose(p.pv_kw[48:96, 0], pv[:48])  # copy of 1 July
    assert not np.allclose(pv[:48], pv[48:96])  # the fill is distinguishable from the real day
    np.testing.assert_allclose(p.pv_kw[96:, 0], pv[96:])
    np.testing.assert_allclose(p.load_kw[:, 0], expected_half_hour_kw(1, "load"))


def test_missing_first_day_filled_from_next_and_missing_cl(tmp_path: Path) -> None:
    rows = drop(drop(fixture_rows(), 3, "1/07/2012", "GC"), 1, "3/07/2012", "CL")
    path = write(tmp_path / "gaps.csv", rows)
    with pytest.raises(DataError, match=r"customer 1 2012-07-03 CL"):
        load_ausgrid(path, grid(n_steps=144), customers=[1])
    with pytest.warns(DataFillWarning, match=r"filled 2 ") as record:
        p = load_ausgrid(path, grid(n_steps=144), fill_missing="previous-day")
    assert len(record) == 1
    gc3_day2 = kwh(3, "GC", 1)  # 1 July has no predecessor: filled from 2 July
    np.testing.assert_allclose(p.load_kw[:48, 2], (gc3_day2 + kwh(3, "CL", 0)) / 0.5)
    np.testing.assert_allclose(p.load_kw[96:, 0], expected_half_hour_kw(1, "load")[96:])  # CL from 2 July


def test_period_not_covered(csv: Path) -> None:
    with pytest.raises(DataError, match=r"customer 1 .*missing 2012-07-04 00:00:00\.\.2012-07-05"):
        load_ausgrid(csv, grid(start="2012-07-03 00:00", n_steps=96))
    with pytest.raises(DataError, match=r"customer 1 .*2012-06-30"):
        load_ausgrid(csv, grid(start="2012-06-30 23:00", n_steps=4))


def test_unknown_customer_lists_available(csv: Path) -> None:
    with pytest.raises(DataError, match=r"unknown customer\(s\) \[99\]; available include \[1, 2, 3\]"):
        load_ausgrid(csv, grid(), customers=[1, 99])


def test_malformed_date_and_number_name_file_and_line(tmp_path: Path) -> None:
    rows = fixture_rows()
    rows[4][4] = "2012-07-02"
    with pytest.raises(DataError, match=r"bad\.csv line 7: date"):
        load_ausgrid(write(tmp_path / "bad.csv", rows), grid())
    rows = fixture_rows()
    rows[2][10] = "n/a"
    with pytest.raises(DataError, match=r"num\.csv line 5: reading in slot 3:00 is not a number"):
        load_ausgrid(write(tmp_path / "num.csv", rows), grid())


def test_bad_header(tmp_path: Path) -> None:
    path = write(tmp_path / "hdr.csv", fixture_rows(), header=HEADER.replace("0:30", "0:15"))
    with pytest.raises(DataError, match=r"hdr\.csv line 2: header"):
        load_ausgrid(path, grid())


def test_duplicate_row(tmp_path: Path) -> None:
    rows = fixture_rows()
    rows.append(list(rows[1]))
    with pytest.raises(DataError, match=r"duplicate row for customer 1, CL, 2012-07-01"):
        load_ausgrid(write(tmp_path / "dup.csv", rows), grid())


def test_negative_reading(tmp_path: Path) -> None:
    rows = fixture_rows()
    idx = next(i for i, r in enumerate(rows) if r[0] == "2" and r[4] == "3/07/2012" and r[3] == "GG")
    rows[idx][5 + 20] = "-0.100"
    with pytest.raises(DataError, match=rf"neg\.csv line {idx + 3}: negative .*customer 2 on 2012-07-03"):
        load_ausgrid(write(tmp_path / "neg.csv", rows), grid())


def test_misaligned_grid_start(csv: Path) -> None:
    with pytest.raises(DataError, match="30-min boundary"):
        load_ausgrid(csv, grid(start="2012-07-01 00:15", step=15, n_steps=4))
    with pytest.raises(DataError, match="60-min boundary"):
        load_ausgrid(csv, grid(start="2012-07-01 00:30", step=60, n_steps=4))


@pytest.mark.parametrize("layout", ["2012-13", "2011-12", "2010-11"])
def test_every_yearly_layout_of_the_public_data_loads_the_same(tmp_path: Path, layout: str) -> None:
    rows = fixture_rows()
    header = HEADER
    if layout != "2012-13":  # no Row Quality column
        header = header.removesuffix(",Row Quality")
        rows = [r[:-1] for r in rows]
    if layout == "2010-11":  # dates like 1-Jul-12
        rows = [
            [*r[:4], pd.Timestamp(dt.datetime.strptime(r[4], "%d/%m/%Y")).strftime("%-d-%b-%y"), *r[5:]] for r in rows
        ]
    p = load_ausgrid(write(tmp_path / f"{layout}.csv", rows, header), grid())
    reference = load_ausgrid(write(tmp_path / "ref.csv", fixture_rows()), grid())
    np.testing.assert_array_equal(p.load_kw, reference.load_kw)
    np.testing.assert_array_equal(p.pv_kw, reference.pv_kw)


def test_a_date_in_another_format_than_the_files_is_named(tmp_path: Path) -> None:
    rows = fixture_rows()
    rows[4][4] = "2-Jul-12"  # the file writes 1/07/2012
    with pytest.raises(DataError, match=r"line 7: date is not like the file's first date"):
        load_ausgrid(write(tmp_path / "mixed.csv", rows), grid())
