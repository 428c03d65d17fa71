"""A writer killed with SIGKILL leaves the ledger at its last committed block, and loses nothing committed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ledger_fixtures import step_trades, write_trades_parquet

import powergrid
from powergrid.analytics.ledger_check import verify_run_ledger

SCRIPT = Path(__file__).with_name("crash_writer.py")


def _kill_writer(folder: Path, mode: str, committed_before_kill: int, delay_s: float) -> tuple[int, int]:
    """Run the writer, SIGKILL it; return (committed blocks it reported before the kill, all it reported)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(Path(powergrid.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(folder), mode], stdout=subprocess.PIPE, text=True, env=env
    )
    seen = 0
    try:
        for line in proc.stdout:
            if line.strip() == "in-transaction":
                break
            seen = int(line)
            if mode == "loop" and seen >= committed_before_kill:
                break
        time.sleep(delay_s)
        os.kill(proc.pid, signal.SIGKILL)
        rest = proc.stdout.read().split()
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    reported = [int(x) for x in rest if x.isdigit()]
    return seen, max([seen, *reported])


def _check(folder: Path, at_least: int, at_most: int) -> None:
    first = verify_run_ledger(folder)  # opening recovers from the WAL; there is no trades.parquet yet
    blocks = first.blocks - 1
    assert at_least <= blocks <= at_most, (at_least, blocks, at_most)
    assert first.problems == [f"no trades.parquet in {folder}: the ledger cannot be checked against the run's trades"]
    write_trades_parquet(folder, [step_trades(s) for s in range(blocks)])
    report = verify_run_ledger(folder)
    assert report.ok, report.problems
    assert report.blocks >= 2
    assert report.trades == 40 * blocks


@pytest.mark.parametrize("delay_s", [0.0, 0.0137, 0.031])
def test_sigkill_during_append_loop(tmp_path, delay_s):
    folder = tmp_path / "run"
    _, last_reported = _kill_writer(folder, "loop", committed_before_kill=3, delay_s=delay_s)
    # every block reported committed is there; at most one more (committed, killed before it printed)
    _check(folder, at_least=last_reported, at_most=last_reported + 1)


def test_sigkill_inside_a_block_transaction(tmp_path):
    folder = tmp_path / "run"
    seen, _ = _kill_writer(folder, "pause", committed_before_kill=0, delay_s=0.0)
    assert seen == 3
    assert (folder / "ledger.sqlite-wal").exists()  # killed without closing: the WAL is left for recovery
    _check(folder, at_least=3, at_most=3)
