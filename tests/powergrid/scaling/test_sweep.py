"""Scenario sweeps: Ray tasks give the serial path's KPIs bit for bit; the command writes table, CSVs, figure."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from powergrid.analytics.kpis import KPI_INFO
from powergrid.cli import app
from powergrid.errors import HeronGridError
from powergrid.scaling.sweep import parse_seeds, run_sweep
from scenario_factory import tiny_dict

runner = CliRunner()
CONTROLLERS = ["self-consumption", "truthful-bidder"]


def test_parse_seeds():
    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("5") == [5]
    assert parse_seeds("0-2, 7,1") == [0, 1, 2, 7]
    for bad, message in (("9-0", "is empty"), ("a-b", "not a seed"), ("", "not a seed"), ("1--2", "not a seed")):
        with pytest.raises(HeronGridError, match=message):
            parse_seeds(bad)


def test_sweep_on_ray_matches_the_serial_sweep_bit_for_bit(ray_local):
    on_ray = run_sweep(tiny_dict(), CONTROLLERS, [0, 1], use_ray=True)
    serial = run_sweep(tiny_dict(), CONTROLLERS, [0, 1], use_ray=False)
    assert list(on_ray.reports) == CONTROLLERS
    assert on_ray.seeds == [0, 1]
    for name in CONTROLLERS:
        for a, b in zip(on_ray.reports[name], serial.reports[name], strict=True):
            assert a.community == b.community  # exact equality, NA included
            for kpi, values in a.agents.items():
                np.testing.assert_array_equal(values, b.agents[kpi])
    assert on_ray.stats == serial.stats
    seed0, seed1 = (r.community["cost"] for r in serial.reports["truthful-bidder"])
    assert seed0 != seed1  # the seeds really change the data
    assert serial.stats["truthful-bidder"]["cost"].mean == pytest.approx((seed0 + seed1) / 2)


def test_sweep_command_prints_one_table_and_writes_csvs_and_figure(ray_local, tmp_path):
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(tiny_dict()))
    out = tmp_path / "sweep"
    result = runner.invoke(
        app, ["sweep", str(scenario), "--controllers", ",".join(CONTROLLERS), "--seeds", "0-1", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "±" in result.output
    assert "mean ± 95 % CI over 2 seeds" in result.output
    rows = (out / "sweep.csv").read_text().splitlines()
    assert rows[0] == "kpi,unit,controller,n,mean,ci_low,ci_high"
    assert len(rows) == 1 + 2 * len(KPI_INFO)
    assert len((out / "runs.csv").read_text().splitlines()) == 1 + 4
    assert (out / "sweep.png").stat().st_size > 5_000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seeds", "9-0"], "is empty"),
        (["--seeds", "a-b"], "not a seed"),
        (["--controllers", "nope"], "unknown 'nope'"),
        (["--address", "127.0.0.1:1"], "no Ray cluster reachable at 127.0.0.1:1"),
        (["--address", "headnode"], "expected HOST:PORT"),
        (["--serial", "--address", "127.0.0.1:1"], "cannot be combined"),
    ],
)
def test_bad_sweep_arguments_are_clear_errors(args, message, tmp_path):
    result = runner.invoke(
        app, ["sweep", "community-5", "--controllers", "grid-only", "--seeds", "0", "--out", str(tmp_path / "s"), *args]
    )
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
