"""The documentation's tutorials run as shown (small sizes), each well within a minute on two cores."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TUTORIALS = ROOT / "docs" / "tutorials"
LIMIT_S = 60.0

CASES = {
    "compare_controllers.py": ["--steps", "24", "--out", "{tmp}/compare"],
    "pettingzoo_env.py": ["--episodes", "1"],
    "custom_feeder.py": ["--steps", "24"],
    "first_steps.py": ["--steps", "24"],
}
EXPECTED_OUTPUT = {
    "compare_controllers.py": ["share_of_oracle_savings", "oracle", "comparison.csv"],
    "pettingzoo_env.py": ["savings", "p2p_volume_kwh", "return"],
    "custom_feeder.py": ["max_voltage_pu", "voltage_violations", "highest voltage at step"],
    "first_steps.py": ["truthful-bidder saves", "my rule: cost"],
}


@pytest.mark.parametrize("script", sorted(CASES))
def test_tutorial_runs_quickly(script, tmp_path):
    args = [a.format(tmp=tmp_path) for a in CASES[script]]
    began = time.perf_counter()
    proc = subprocess.run([sys.executable, str(TUTORIALS / script), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=2 * LIMIT_S)  # fmt: skip
    elapsed = time.perf_counter() - began
    assert proc.returncode == 0, proc.stderr
    for text in EXPECTED_OUTPUT[script]:
        assert text in proc.stdout, f"{script}: {text!r} not in its output:\n{proc.stdout}"
    assert elapsed < LIMIT_S, f"{script} took {elapsed:.1f} s"


def test_compare_tutorial_writes_run_directories(tmp_path):
    proc = subprocess.run([sys.executable, str(TUTORIALS / "compare_controllers.py"), "--steps", "12",
                           "--controllers", "self-consumption,truthful-bidder", "--out", str(tmp_path / "out")],
                          cwd=ROOT, capture_output=True, text=True, timeout=2 * LIMIT_S)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    written = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"grid-only", "self-consumption", "truthful-bidder", "comparison.csv"} <= written
    assert (tmp_path / "out" / "truthful-bidder" / "kpis.json").is_file()


def test_every_tutorial_script_is_tested_and_shown_on_a_page():
    scripts = {p.name for p in TUTORIALS.glob("*.py")}
    assert scripts == set(CASES)
    pages = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").rglob("*.md"))
    for script in scripts:
        assert f"tutorials/{script}" in pages, f"{script} is not included in a tutorial page"
