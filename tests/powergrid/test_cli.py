"""The `heron` command line: listing, run, compare, and clear errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from typer.testing import CliRunner

from powergrid.cli import app
from scenario_factory import tiny_dict

runner = CliRunner()


@pytest.fixture
def tiny_yaml(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_dict()))
    return path


def test_scenarios_lists_builtins():
    result = runner.invoke(app, ["scenarios"])
    assert result.exit_code == 0, result.output
    for name in ("community-5", "prosumer-20", "city-1000"):
        assert name in result.output


def test_run_writes_a_run_directory_and_prints_kpis(tiny_yaml, tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", str(tiny_yaml), "--controller", "truthful-bidder", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "p2p_volume_kwh" in result.output
    assert "savings" in result.output
    kpis = json.loads((out / "kpis.json").read_text())
    assert kpis["community"]["p2p_volume_kwh"] > 0
    assert {p.name for p in out.iterdir()} == {
        "kpis.json",
        "scenario.yaml",
        "timeseries.parquet",
        "trades.parquet",
        "run.json",
        "agents.parquet",
        ".heron-output",
    }
    again = runner.invoke(app, ["run", str(tiny_yaml), "--out", str(out)])
    assert again.exit_code == 2
    assert "already exists" in again.output


def test_compare_prints_side_by_side_and_saves_figure(tiny_yaml, tmp_path):
    out = tmp_path / "cmp"
    result = runner.invoke(
        app, ["compare", str(tiny_yaml), "--controllers", "grid-only,truthful-bidder", "--out", str(out), "--seed", "5"]
    )
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if "grid-only" in line and "truthful-bidder" in line)
    assert header
    assert (out / "comparison.png").stat().st_size > 10_000
    assert (out / "grid-only" / "timeseries.parquet").exists()
    csv = (out / "comparison.csv").read_text().splitlines()
    assert csv[0] == "kpi,unit,grid-only,truthful-bidder"
    assert yaml.safe_load((out / "truthful-bidder" / "scenario.yaml").read_text())["seed"] == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "nonsense"], "unknown scenario 'nonsense'"),
        (["run", "community-5", "--controller", "magic"], "--controller: unknown 'magic'; available: grid-only"),
        (["compare", "community-5", "--controllers", ","], "unknown (empty list)"),
        (["run", "community-5", "--seed", "-3"], "seed must be >= 0"),
    ],
)
def test_bad_arguments_give_one_clear_error(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_bad_scenario_file_through_the_console_script(tmp_path):
    bad = tmp_path / "bad.yaml"
    raw = tiny_dict(market={"mechanism": "dutch"})
    raw["time"]["step_minutes"] = 7
    bad.write_text(yaml.safe_dump(raw))
    proc = subprocess.run(
        [sys.executable, "-c", "from powergrid.cli import main; main()", "run", str(bad)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "time.step_minutes: Input should be 15, 30 or 60" in proc.stderr
    assert "market.mechanism" in proc.stderr
    assert not (tmp_path / "results").exists()


def test_help_explains_every_option():
    result = runner.invoke(app, ["compare", "--help"])
    assert result.exit_code == 0
    for option in ("--controllers", "--out", "--seed", "--overwrite"):
        assert option in result.output


def test_compare_always_writes_the_baseline_run(tiny_yaml, tmp_path):
    out = tmp_path / "cmp"
    result = runner.invoke(app, ["compare", str(tiny_yaml), "--controllers", "truthful-bidder", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {
        "grid-only",
        "truthful-bidder",
        "comparison.csv",
        "comparison.png",
        ".heron-output",
    }
    baseline = json.loads((out / "grid-only" / "kpis.json").read_text())
    assert baseline["controller"] == "grid-only"
    assert baseline["community"]["savings"] == 0.0
    assert (out / "comparison.csv").read_text().splitlines()[0] == "kpi,unit,truthful-bidder"


def test_a_missing_data_file_is_bad_input_naming_the_field_and_the_file(tmp_path):
    raw = tiny_dict(data={"source": "table", "path": "data/no-such-file.csv"})
    path = tmp_path / "missing.yaml"
    path.write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["run", str(path), "--controller", "grid-only", "--out", str(tmp_path / "m")])
    assert result.exit_code == 2, result.output
    assert "data.path" in result.output
    assert "no-such-file.csv" in result.output
    assert "does not exist" in result.output
    assert "internal error" not in result.output


def test_overwrite_never_deletes_a_folder_heron_did_not_write(tmp_path, tiny_yaml):
    folder = tmp_path / "notarun"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep")
    args = ["run", str(tiny_yaml), "--controller", "grid-only", "--out", str(folder), "--overwrite"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert (folder / "notes.txt").read_text() == "keep"
    ours = tmp_path / "ours"
    for _ in range(2):  # a run directory heron wrote is replaced
        result = runner.invoke(app, [*args[:5], str(ours), "--overwrite"])
        assert result.exit_code == 0, result.output


def test_the_cli_loads_no_heavy_library_before_a_command_needs_it():
    code = (
        "import sys; import powergrid.cli; "
        "print(sorted(m for m in ('numpy', 'pandas', 'cvxpy', 'pandapower', 'torch', 'pvlib', 'scipy', 'pyarrow') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_help_lists_the_registered_controllers():
    from powergrid.cli.common import CONTROLLER_NAMES
    from powergrid.controllers import available_controllers

    assert list(CONTROLLER_NAMES) == available_controllers()


def test_relative_paths_work_from_any_working_directory(tmp_path, tiny_yaml, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["run", str(tiny_yaml), "--controller", "grid-only", "--out", "runs/a"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "runs" / "a" / "kpis.json").is_file()
    assert "runs/a" in result.output  # the path as the user typed it


def test_training_progress_shows_agent_steps_per_second():
    from powergrid.cli.common import progress

    bar = progress("agent-steps")
    task_id = bar.add_task("training", total=100)
    bar.advance(task_id, 10)
    rendered = [str(column.render(bar.tasks[0])) for column in bar.columns if hasattr(column, "render")]
    assert any(text.endswith("agent-steps/s") for text in rendered)


def test_both_packages_declare_their_type_hints():
    """PEP 561: the ``py.typed`` markers ship with the packages, so type checkers read our annotations."""
    from importlib.resources import files

    assert files("powergrid").joinpath("py.typed").is_file()
    assert files("heron").joinpath("py.typed").is_file()
