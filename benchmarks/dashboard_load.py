"""Dashboard load time: a run of 100 households × 1 year at 1 h (876,000 agent-steps) opened in the Playback page.

    python benchmarks/dashboard_load.py [--repeats 5] [--folder results/bench-dashboard]

Writes (once, then reuses) a comparison of truthful-bidder against grid-only under ``--folder``, then measures, in
a fresh dashboard each repeat (no cached runs):

- ``load_run``: reading timeseries.parquet / trades.parquet into per-step arrays;
- what choosing a run on the Playback page costs the server: ``select_run`` + the time-series figure with the
  baseline overlay + the network view, each serialised to JSON as Dash sends it (payload size reported);
- moving the slider (network view + step-line patch) on the loaded run;
- the Households and Analysis pages for the same run;
- with ``--browser``: in headless Chromium (Debian's ``chromium``), from requesting the page to the Playback page
  showing the run's time series and network view (server and browser rendering together).

The issue's bar: a 100 × 1 year run loads in under 3 s. Medians of the repeats are printed.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import plotly.io as pio

from communities import synthetic_community
from powergrid.app import callbacks as cb
from powergrid.app.callbacks import Dashboard
from powergrid.app.rundata import load_run
from powergrid.runner.compare import write_comparison

N_AGENTS, N_STEPS = 100, 8760


def ensure_run(folder: Path) -> tuple[str, str]:
    """The year-long comparison, and a 24-step run that sorts first (what the page shows before the big one)."""
    run, base = "year/truthful-bidder", "year/grid-only"
    if not (folder / run / "kpis.json").exists():
        spec = synthetic_community(N_AGENTS, N_STEPS, name="dashboard-100x8760").scenario
        print(f"writing the benchmark run ({N_AGENTS} households × {N_STEPS} steps) under {folder} …", flush=True)
        write_comparison(spec, ["grid-only", "truthful-bidder"], folder / "year", overwrite=True)
    if not (folder / "a-small" / "kpis.json").exists():
        small = synthetic_community(5, 24, name="dashboard-small").scenario
        write_comparison(small, ["truthful-bidder"], folder / "a-small", overwrite=True, single=True)
    return run, base


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def browser_seconds(folder: Path, key: str) -> tuple[float, float]:
    """In headless Chromium: (page request → Playback drawn for the first run, choosing ``key`` → drawn)."""
    import logging
    import threading

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    from werkzeug.serving import make_server

    from powergrid.app.server import create_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, create_app(folder).server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--window-size=1500,1300",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    drawn = (  # both figures of the run on the page, and no callback pending (the tab title says so)
        "const t = document.querySelector('#timeseries-graph .js-plotly-plot');"
        "const n = document.querySelector('#network-graph .js-plotly-plot');"
        "return document.title === 'heron-grid' && !!(t && n && t._fullData && t._fullData.length > 6"
        " && n._fullData && n._fullData.length > 1 && (t.layout.title.text || '').includes(arguments[0]));"
    )
    try:
        start = time.perf_counter()
        driver.get(f"http://127.0.0.1:{server.server_port}")
        WebDriverWait(driver, 60).until(lambda d: d.find_element(By.XPATH, "//*[normalize-space()='Playback']"))
        driver.find_element(By.XPATH, "//*[contains(@class,'tab') and normalize-space()='Playback']").click()
        wait = WebDriverWait(driver, 120, poll_frequency=0.02)
        wait.until(lambda d: d.execute_script(drawn, "a-small"))
        page = time.perf_counter() - start
        start = time.perf_counter()
        driver.execute_script("window.dash_clientside.set_props('run-select', {value: arguments[0]});", key)
        wait.until(lambda d: d.execute_script(drawn, key))
        return page, time.perf_counter() - start
    finally:
        driver.quit()
        server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--folder", type=Path, default=Path("results/bench-dashboard"))
    parser.add_argument("--browser", action="store_true", help="also time the page in headless Chromium")
    args = parser.parse_args()
    key, base = ensure_run(args.folder)
    rows: dict[str, list[float]] = {}
    payload = 0
    for _ in range(args.repeats):
        d = Dashboard(args.folder)
        rows.setdefault("load_run (parquet → arrays)", []).append(timed(load_run, d.cache.info(key))[0])
        d = Dashboard(args.folder)  # fresh cache: the page-open figure includes loading both runs
        start = time.perf_counter()
        selected = cb.select_run(d, key)
        series = pio.to_json(cb.timeseries(d, key, selected[4], ["band"], 0))
        network = pio.to_json(cb.network(d, key, 0)[0])
        rows.setdefault("open run in Playback (load + figures + JSON)", []).append(time.perf_counter() - start)
        payload = len(series) + len(network)
        start = time.perf_counter()
        pio.to_json(cb.network(d, key, 4000)[0])
        cb.marker_patch(d, key, 4000)
        rows.setdefault("move slider (network view + step line)", []).append(time.perf_counter() - start)
        start = time.perf_counter()
        for fig in cb.households(d, key, base, selected[6]):
            pio.to_json(fig)
        rows.setdefault("Households page", []).append(time.perf_counter() - start)
        start = time.perf_counter()
        pio.to_json(cb.analysis(d, [key, base], "controller")[0])
        rows.setdefault("Analysis page (2 runs)", []).append(time.perf_counter() - start)
    print(f"\n{N_AGENTS} households × {N_STEPS} steps, {args.repeats} repeats (median, s):")
    for name, values in rows.items():
        print(f"  {name:<48} {statistics.median(values):7.3f}")
    print(f"  Playback payload (time series + network JSON): {payload / 1e6:.2f} MB")
    if args.browser:
        pairs = [browser_seconds(args.folder, key) for _ in range(args.repeats)]
        print("  headless Chromium (server and browser together):")
        print(f"    page request → Playback of a 24-step run drawn {statistics.median(p for p, _ in pairs):9.3f}")
        print(f"    choose the 100 × 1 year run → drawn            {statistics.median(s for _, s in pairs):9.3f}")


if __name__ == "__main__":
    main()
