from __future__ import annotations

import shutil
import socket

import numpy as np
from typer.testing import CliRunner

from powergrid.app.report import write_report
from powergrid.cli import app

PNG = b"\x89PNG\r\n\x1a\n"


def test_report_of_a_comparison_folder_is_self_contained(runs_folder, tmp_path):
    shutil.copytree(runs_folder / "tiny" / "seed3", tmp_path / "cmp")
    html_path, pngs = write_report([tmp_path / "cmp"])
    assert html_path == tmp_path / "cmp" / "report.html"
    text = html_path.read_text(encoding="utf-8")
    # plotly.js is inlined: opens offline
    assert "<script src=" not in text
    assert "plotly.js v" in text
    # KPI bars, then time series per run and the savings ranking of the non-baseline run; no empty panel
    assert text.count("Plotly.newPlot") == 1 + 2 + 1
    assert "Savings ranking · " in text
    assert "left out — the run is its own baseline" in text
    assert "<td>grid_import_kwh</td>" in text.replace("<td title=", "<td>").replace("'Σ grid import'>", "")
    assert {p.name for p in pngs} == {"kpis.png", "timeseries-1-grid-only.png", "timeseries-2-truthful-bidder.png"}
    assert all(p.read_bytes().startswith(PNG) for p in pngs)


def test_report_of_one_run_uses_the_baseline_beside_it(runs_folder, tmp_path):
    shutil.copytree(runs_folder / "tiny" / "seed3", tmp_path / "cmp")
    html_path, _ = write_report([tmp_path / "cmp" / "truthful-bidder"], tmp_path / "out")
    assert html_path == tmp_path / "out" / "report.html"
    assert "grid-only (baseline)" in html_path.read_text(encoding="utf-8")


def test_report_cli(runs_folder, tmp_path):
    shutil.copytree(runs_folder / "feeder", tmp_path / "f")
    result = CliRunner().invoke(app, ["report", str(tmp_path / "f")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "f" / "report.html").exists()
    assert (tmp_path / "f" / "figures" / "kpis.png").exists()
    result = CliRunner().invoke(app, ["report", str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert "is not a directory" in result.output
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(app, ["report", str(tmp_path / "empty")])
    assert result.exit_code == 2
    assert "no run directory" in result.output


def test_dashboard_cli_rejects_bad_arguments(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["dashboard", "--runs", str(tmp_path), "--host", "not-an-ip"])
    assert result.exit_code == 2
    assert "--host" in result.output
    result = runner.invoke(app, ["dashboard", "--runs", str(tmp_path), "--port", "0"])
    assert result.exit_code == 2
    (tmp_path / "file").write_text("x")
    result = runner.invoke(app, ["dashboard", "--runs", str(tmp_path / "file")])
    assert result.exit_code == 2
    assert "is a file" in result.output
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(app, ["dashboard", "--runs", str(tmp_path), "--port", str(port)])
    assert result.exit_code == 2
    assert f"--port {port}" in result.output


def test_report_pools_seeds_of_one_scenario_and_never_across_scenarios(runs_folder, tmp_path):
    shutil.copytree(runs_folder, tmp_path / "all")
    html_path, _ = write_report([tmp_path / "all"])
    text = html_path.read_text(encoding="utf-8")
    assert "KPIs: mean ± 95 % CI over seeds" in text
    for label in ("truthful-bidder · tiny", "grid-only · tiny", "truthful-bidder · tiny-feeder"):
        assert label in text


def test_runs_on_a_feeder_plot_the_voltage_band_and_the_most_loaded_element(runs_folder, tmp_path):
    from powergrid.app.plots_playback import PANELS, timeseries_figure
    from powergrid.app.rundata import discover_runs, load_run

    infos = {i.controller + ("-feeder" if i.has_network else ""): i for i in discover_runs(runs_folder)}
    run = load_run(infos["truthful-bidder-feeder"])
    fig = timeseries_figure(run)
    titles = [a.text for a in fig.layout.annotations]
    assert "Voltage (pu): lowest and highest LV bus" in titles
    assert "Most loaded line or transformer (% of rating)" in titles
    v_min = next(t for t in fig.data if t.name == "v min")
    np.testing.assert_allclose(np.asarray(v_min.y, dtype=float), run.network["v_min"])
    levels = sorted(s.y0 for s in fig.layout.shapes if s.y0 == s.y1)
    assert levels == [0.95, 1.05, 100.0]  # the scenario's band and 100 % loading
    plain = load_run(infos["grid-only"])
    assert len(timeseries_figure(plain).layout.annotations) == len(PANELS)
    html_path, _ = write_report([infos["truthful-bidder-feeder"].path], tmp_path / "rep")
    assert "Voltage (pu)" in html_path.read_text()
