"""Tests for the generic long-format (CSV / Parquet) profile loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from powergrid.data.profiles import TimeGrid
from powergrid.data.tabular import load_table
from powergrid.errors import DataError

START = pd.Timestamp("2024-01-01 00:00")


def table(agents: tuple[str, ...] = ("b", "a", "c"), minutes: int = 30, periods: int = 96) -> pd.DataFrame:
    """Long table: load = agent number + step/100 kW, pv = step/10 kW, plus an ignored extra column."""
    ts = pd.date_range(START, periods=periods, freq=f"{minutes}min")
    frames = [
        pd.DataFrame(
            {
                "agent_id": a,
                "timestamp": ts,
                "load_kw": k + np.arange(periods) / 100,
                "pv_kw": np.arange(periods) / 10,
                "site": "x",
            }
        )
        for k, a in enumerate(agents, start=1)
    ]
    return pd.concat(frames, ignore_index=True)


def grid(step: int = 30, n_steps: int = 48, start: pd.Timestamp = START) -> TimeGrid:
    return TimeGrid(start=start, step_minutes=step, n_steps=n_steps)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".pq"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"profiles{suffix}"
    df = table()
    df.to_csv(path, index=False) if suffix == ".csv" else df.to_parquet(path)
    p = load_table(path, grid())
    assert p.agent_ids == ("a", "b", "c")  # sorted when no selection is given
    np.testing.assert_allclose(p.load_kw[:, 0], 2 + np.arange(48) / 100)  # "a" was the second agent
    np.testing.assert_allclose(p.load_kw[:, 1], 1 + np.arange(48) / 100)
    np.testing.assert_allclose(p.pv_kw[:, 2], np.arange(48) / 10)


def test_selection_order_and_n_agents(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    table().to_csv(path, index=False)
    p = load_table(path, grid(), agent_ids=["c", "a"])
    assert p.agent_ids == ("c", "a")
    assert p.load_kw[0].tolist() == pytest.approx([3.0, 2.0])
    assert load_table(path, grid(), n_agents=2).agent_ids == ("a", "b")
    with pytest.raises(DataError, match=r"unknown agent id\(s\) \['z'\]; available include \['a', 'b', 'c'\]"):
        load_table(path, grid(), agent_ids=["a", "z"])


def test_integer_agent_ids_become_strings(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    df = table()
    df["agent_id"] = df["agent_id"].map({"a": 10, "b": 2, "c": 7})
    df.to_parquet(path)
    p = load_table(path, grid(), agent_ids=[7, 10])  # type: ignore[list-item]
    assert p.agent_ids == ("7", "10")
    assert p.load_kw[0].tolist() == pytest.approx([3.0, 2.0])


def test_inferred_step_and_resampling(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    table(minutes=15, periods=96).to_csv(path, index=False)
    p = load_table(path, grid(step=60, n_steps=24))  # 15-min data inferred, averaged to hours
    np.testing.assert_allclose(p.pv_kw[:, 0], (np.arange(96) / 10).reshape(24, 4).mean(axis=1))
    assert p.pv_kw[:, 0].sum() * 1.0 == pytest.approx((np.arange(96) / 10).sum() * 0.25)  # energy, kWh

    path = tmp_path / "h.csv"
    table(minutes=60, periods=24).to_csv(path, index=False)
    p = load_table(path, grid(step=15, n_steps=6))  # 60-min data held over quarter hours
    np.testing.assert_allclose(p.pv_kw[:, 0], [0, 0, 0, 0, 0.1, 0.1])


def test_inferred_step_must_be_allowed(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    table(minutes=20, periods=72).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"inferred time step 0 days 00:20:00 is not one of"):
        load_table(path, grid())


def test_explicit_native_minutes(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    table(minutes=30).to_csv(path, index=False)
    p = load_table(path, grid(step=60, n_steps=24), native_minutes=30)
    np.testing.assert_allclose(p.pv_kw[:2, 0], [0.05, 0.25])


def test_missing_row_names_agent_and_timestamp(tmp_path: Path) -> None:
    df = table()
    gone = (df["agent_id"] == "b") & df["timestamp"].isin(
        [START + pd.Timedelta(hours=5), START + pd.Timedelta(hours=6)]
    )
    path = tmp_path / "gap.csv"
    df[~gone].to_csv(path, index=False)
    with pytest.raises(DataError, match=r"agent 'b' has no row for 2024-01-01 05:00:00 \(2 of 48 steps missing"):
        load_table(path, grid())
    assert load_table(path, grid(n_steps=10)).n_steps == 10  # gap outside the period is fine


def test_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "cols.csv"
    table().drop(columns=["pv_kw"]).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"missing required column\(s\) \['pv_kw'\]"):
        load_table(path, grid())


def test_nan_and_negative_values(tmp_path: Path) -> None:
    df = table()
    i = df.index[(df["agent_id"] == "c") & (df["timestamp"] == START + pd.Timedelta(hours=2))][0]
    df.loc[i, "load_kw"] = np.nan
    path = tmp_path / "nan.parquet"
    df.to_parquet(path)
    with pytest.raises(DataError, match=rf"row {i}: load_kw is nan .*agent 'c' at 2024-01-01 02:00:00"):
        load_table(path, grid())
    df.loc[i, "load_kw"] = 1.0
    df.loc[i, "pv_kw"] = -0.5
    df.to_csv(tmp_path / "neg.csv", index=False)
    with pytest.raises(DataError, match=rf"line {i + 2}: pv_kw is -0.5 .*agent 'c'"):
        load_table(tmp_path / "neg.csv", grid())


def test_duplicate_rows(tmp_path: Path) -> None:
    df = table()
    path = tmp_path / "dup.csv"
    pd.concat([df, df.iloc[[5]]]).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"duplicate rows for agent 'b' at 2024-01-01 02:30:00"):
        load_table(path, grid())


def test_unsupported_suffix(tmp_path: Path) -> None:
    path = tmp_path / "p.xlsx"
    path.write_text("x")
    with pytest.raises(DataError, match="unsupported table format"):
        load_table(path, grid())


def test_iso_text_timestamps_and_offsets(tmp_path: Path) -> None:
    df = table(periods=4)
    df["timestamp"] = df["timestamp"].dt.strftime("%Y-%m-%dT%H:%M")
    df.to_csv(tmp_path / "iso.csv", index=False)
    p = load_table(tmp_path / "iso.csv", grid(n_steps=4))
    np.testing.assert_allclose(p.pv_kw[:, 0], [0.0, 0.1, 0.2, 0.3])
    df["timestamp"] = df["timestamp"] + "+10:00"
    df.to_csv(tmp_path / "tz.csv", index=False)
    with pytest.raises(DataError, match=r"tz\.csv line 2: timestamp .* has a UTC offset; timestamps must be naive"):
        load_table(tmp_path / "tz.csv", grid(n_steps=4))


def test_inf_in_a_csv_names_the_file_line_and_column(tmp_path: Path) -> None:
    df = table()
    path = tmp_path / "inf.csv"
    df.to_csv(path, index=False)
    lines = path.read_text().splitlines()
    cells = lines[5].split(",")
    cells[2] = "inf"  # load_kw of data row 3 (line 5)
    lines[5] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"inf\.csv line 6: load_kw .*inf.* is not a finite number"):
        load_table(path, grid())


def test_timestamps_with_utc_offsets_are_one_clear_error_without_warnings(tmp_path: Path) -> None:
    df = table(periods=4).astype({"timestamp": str})
    df.loc[0, "timestamp"] = "2024-01-01T00:00:00+01:00"
    df.loc[1, "timestamp"] = "2024-01-01T00:30:00+02:00"
    df.to_csv(tmp_path / "tz.csv", index=False)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DataError, match=r"tz\.csv line 2: timestamp .* has a UTC offset"):
            load_table(tmp_path / "tz.csv", grid(n_steps=2))
