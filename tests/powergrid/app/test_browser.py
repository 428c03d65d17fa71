"""End to end in a real browser: Debian's headless Chromium driven by Selenium, the dashboard on 127.0.0.1.

Runs a small scenario from the Parameters page, waits for it, moves the playback slider and checks the charts'
data and the network view's trade arrows against the run directory. The screenshot is saved under
``test-artifacts/`` (or $HERON_TEST_ARTIFACTS). ``make test`` installs chromium and chromium-driver when missing.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from powergrid.analytics.results import read_run
from powergrid.app.server import create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = Path(os.environ.get("HERON_TEST_ARTIFACTS", Path(__file__).parents[3] / "test-artifacts"))


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        if os.environ.get("HERON_SKIP_BROWSER"):
            pytest.skip("HERON_SKIP_BROWSER is set and chromium is not installed")
        pytest.fail("chromium / chromedriver not found: `make browser` installs them (apt-get)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--window-size=1500,1300",
    ):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(DRIVER), options=options)


@pytest.fixture
def served(tmp_path):
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request in the test output
    app = create_app(tmp_path / "runs")
    server = make_server("127.0.0.1", 0, app.server, threaded=True)  # loopback only, a free port
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", tmp_path / "runs"
    server.shutdown()


def _pid(path: str, kind: str = "param") -> str:
    """The DOM id Dash gives a pattern-matching component id (JSON with sorted keys)."""
    return json.dumps({"path": path, "type": kind}, separators=(",", ":"), sort_keys=True)


def _values(y) -> np.ndarray:
    """A trace's y as sent by Plotly: a list, or a typed array ``{"dtype", "bdata"}`` (base64)."""
    if isinstance(y, dict):
        return np.frombuffer(base64.b64decode(y["bdata"]), dtype=np.dtype(y["dtype"]))
    return np.asarray(y, dtype=float)


def _plot(driver, graph_id: str) -> dict:
    return driver.execute_script(
        "const p = document.getElementById(arguments[0]).querySelector('.js-plotly-plot');"
        "return p ? {data: p.data.map(t => ({name: t.name, y: t.y})),"
        " annotations: (p.layout.annotations || []).map(a => ({text: a.text, showarrow: a.showarrow})),"
        " shapes: (p.layout.shapes || []).map(s => ({x0: String(s.x0)})), title: (p.layout.title || {}).text}"
        " : null;",
        graph_id,
    )


def test_run_from_parameters_then_play_back(served):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    url, runs = served
    driver = _browser()
    wait = WebDriverWait(driver, 120, poll_frequency=0.2)
    try:
        driver.get(url)
        steps = wait.until(lambda d: d.find_element(By.XPATH, f"//*[@id='{_pid('time.n_steps')}']"))
        wait.until(lambda d: steps.get_attribute("value") == "48")  # filled from community-5
        label = driver.find_element(By.XPATH, "//label[normalize-space()='n_steps']")
        assert "Number of steps" in label.get_attribute("title")  # the schema's description as tooltip
        steps.clear()
        steps.send_keys("-4", Keys.TAB)
        error = driver.find_element(By.XPATH, f"//*[@id='{_pid('time.n_steps', 'param-error')}']")
        wait.until(lambda d: "greater than 0" in error.text)  # inline validation
        steps.clear()
        steps.send_keys("24", Keys.TAB)
        wait.until(lambda d: error.text == "")
        driver.find_element(By.ID, "run-name").send_keys("e2e")
        driver.find_element(By.ID, "run-button").click()
        status = driver.find_element(By.ID, "run-status")
        wait.until(lambda d: status.text.startswith("done"))
        assert float(driver.find_element(By.ID, "run-progress").get_attribute("value")) == 1.0

        run_dir = runs / "e2e" / "seed0" / "truthful-bidder"
        series, trades, _ = read_run(run_dir)
        assert series["step"].max() == 23

        driver.find_element(By.XPATH, "//*[contains(@class,'tab') and normalize-space()='Playback']").click()
        wait.until(lambda d: (p := _plot(d, "timeseries-graph")) and "e2e/seed0/truthful-bidder" in (p["title"] or ""))
        plot = _plot(driver, "timeseries-graph")
        grid_buy = next(t for t in plot["data"] if t["name"] == "grid buy")
        np.testing.assert_allclose(_values(grid_buy["y"]), series.groupby("step")["imported"].sum().to_numpy())
        assert any(t["name"] == "grid-only (baseline)" for t in plot["data"])

        target = int(trades["step"].value_counts().idxmax())  # the step with the most trades
        handle = driver.find_element(By.CSS_SELECTOR, "#step-slider [role='slider']")
        handle.click()
        handle.send_keys(Keys.HOME)
        for _ in range(target):
            handle.send_keys(Keys.ARROW_RIGHT)
        info = driver.find_element(By.ID, "step-info")
        wait.until(lambda d: info.text.startswith(f"step {target} of 23"))
        expected = trades[trades["step"] == target].sort_values("kwh", ascending=False, kind="stable")
        labels = [f"{q:.2f} kWh @ {p:.3f}" for q, p in zip(expected["kwh"], expected["price"], strict=True)]
        wait.until(
            lambda d: [a["text"] for a in _plot(d, "network-graph")["annotations"] if not a["showarrow"]] == labels
        )
        network = _plot(driver, "network-graph")
        assert sum(a["showarrow"] for a in network["annotations"]) == len(expected) > 0
        stamp = str(np.datetime64(series.loc[series["step"] == target, "timestamp"].iloc[0], "s")).replace("T", " ")
        wait.until(lambda d: _plot(d, "timeseries-graph")["shapes"][0]["x0"].replace("T", " ").startswith(stamp))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "dashboard-playback.png"))

        driver.find_element(By.XPATH, "//*[contains(@class,'tab') and normalize-space()='Ledger']").click()
        wait.until(lambda d: "ledger verified" in d.find_element(By.ID, "ledger-verify").text)
        assert not [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    finally:
        driver.quit()


@pytest.fixture
def mixed_runs(tmp_path):
    """One folder holding two scenarios' runs (the way results/ fills up): 'tiny' with two seeds, 'zz-other' with
    one, the dashboard served on it."""
    import logging

    from werkzeug.serving import make_server

    from powergrid.runner.compare import write_comparison
    from powergrid.scenarios import load_scenario
    from scenario_factory import tiny_dict

    root = tmp_path / "runs"
    for seed in (3, 4):
        raw = tiny_dict(ledger=True)
        raw["time"]["n_steps"] = 24
        write_comparison(load_scenario(raw, seed=seed), ["truthful-bidder"], root / "mixed" / f"seed{seed}")
    other = tiny_dict(name="zz-other", tariff={"retail": 0.5, "feed_in": 0.01})
    other["time"]["n_steps"] = 24
    write_comparison(load_scenario(other), ["truthful-bidder"], root / "mixed" / "zz-other")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, create_app(root).server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_analysis_pools_one_scenario_and_tabs_name_their_run(mixed_runs):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = _browser()
    wait = WebDriverWait(driver, 60, poll_frequency=0.2)
    run = "mixed/seed3/truthful-bidder"
    try:
        driver.get(mixed_runs)
        tab = "//*[contains(@class,'tab') and normalize-space()='{}']"
        wait.until(lambda d: d.find_elements(By.XPATH, tab.format("Analysis")))[0].click()
        wait.until(lambda d: "(n=2)" in d.find_element(By.ID, "analysis-table").text)
        table = driver.find_element(By.ID, "analysis-table").text
        assert "truthful-bidder (n=2)" in table
        assert "grid-only (n=2)" in table
        assert "zz-other" not in table  # never pooled with another scenario
        cost = next(t for t in _plot(driver, "analysis-graph")["data"] if t["name"] == "cost")
        assert len(_values(cost["y"])) == 2
        driver.find_element(By.XPATH, tab.format("Households")).click()
        wait.until(lambda d: run in ((_plot(d, "wallet-graph") or {}).get("title") or ""))
        driver.find_element(By.XPATH, tab.format("Ledger")).click()
        wait.until(lambda d: d.find_element(By.ID, "ledger-verify").text.startswith(run))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "dashboard-ledger.png"))
        assert not [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    finally:
        driver.quit()
