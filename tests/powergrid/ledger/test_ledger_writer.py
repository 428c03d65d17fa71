"""Writing, reading and verifying clean ledgers; bad input; determinism; agreement with trades.parquet."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ledger_fixtures import AGENTS, FEE, RUN_SEED, make_trades, write_ledger, write_run, write_trades_parquet

import powergrid
from powergrid.analytics.ledger_check import verify_run_ledger
from powergrid.ledger import LedgerError, LedgerWriter, read_blocks, verify_ledger


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_fresh_ledger_verifies_clean(clean_run):
    trades = make_trades()
    report = verify_run_ledger(clean_run)
    assert report.ok, report.problems
    assert report.problems == []
    assert report.blocks == 1 + len(trades)
    assert report.trades == sum(t.kwh.size for t in trades)
    buyer = np.concatenate([t.buyer for t in trades])
    seller = np.concatenate([t.seller for t in trades])
    kwh = np.concatenate([t.kwh for t in trades])
    value = kwh * np.concatenate([t.price for t in trades])
    n = len(AGENTS)
    expected = pd.DataFrame(
        {
            "bought_kwh": np.bincount(buyer, kwh, n),
            "sold_kwh": np.bincount(seller, kwh, n),
            "paid": np.bincount(buyer, value, n),
            "received": np.bincount(seller, value, n),
            "fees": FEE * (np.bincount(buyer, kwh, n) + np.bincount(seller, kwh, n)),
        },
        index=pd.Index(AGENTS, name="agent"),
    )
    pd.testing.assert_frame_equal(report.totals[expected.columns], expected, rtol=1e-12)
    assert report.totals["trades"].sum() == 2 * report.trades


def test_rerun_is_byte_identical(tmp_path, clean_run):
    """Same inputs and SQLite library → the same ledger.sqlite bytes (no canonical dump needed) and key files,
    in this process and in another one."""
    write_run(tmp_path / "again")
    code = "import sys; from pathlib import Path; from ledger_fixtures import write_run; write_run(Path(sys.argv[1]))"
    path = os.pathsep.join([str(Path(__file__).parent), str(Path(powergrid.__file__).parents[1])])
    subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "elsewhere")], check=True, env={**os.environ, "PYTHONPATH": path}
    )
    for name in ("ledger.sqlite", "keys/private_keys.json", "keys/public_keys.json"):
        assert _sha(tmp_path / "again" / name) == _sha(clean_run / name), name
        assert _sha(tmp_path / "elsewhere" / name) == _sha(clean_run / name), name
    assert not (tmp_path / "again" / "ledger.sqlite-wal").exists()
    write_ledger(tmp_path / "other-seed", make_trades(), seed=RUN_SEED + 1)
    assert _sha(tmp_path / "other-seed" / "ledger.sqlite") != _sha(clean_run / "ledger.sqlite")


def test_verify_and_read_do_not_modify_the_ledger(run_copy):
    before = _sha(run_copy / "ledger.sqlite")
    assert verify_run_ledger(run_copy).ok
    read_blocks(run_copy, agent="h01")
    assert _sha(run_copy / "ledger.sqlite") == before
    assert sorted(p.name for p in run_copy.iterdir()) == ["keys", "ledger.sqlite", "trades.parquet"]


def test_empty_step_adds_no_block(tmp_path):
    with LedgerWriter(tmp_path / "run", AGENTS, RUN_SEED) as writer:
        empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0)
        writer.append_step(0, "2024-05-06T00:00:00", empty_i, empty_i, empty_f, empty_f, FEE)
        assert writer.blocks == 1
        writer.append_step(
            1, "2024-05-06T01:00:00", np.array([0]), np.array([5]), np.array([1.0]), np.array([0.2]), FEE
        )
        assert writer.blocks == 2
    trades = read_blocks(tmp_path / "run")
    assert trades[["block", "step", "buyer", "seller", "kwh"]].values.tolist() == [[1, 1, "h00", "h05", 1.0]]


def test_negative_zero_and_integral_values_round_trip(tmp_path):
    """SQLite stores integral REALs as integers (-0.0 would lose its sign); the ledger still verifies."""
    with LedgerWriter(tmp_path / "run", AGENTS, RUN_SEED) as writer:
        writer.append_step(
            0, "t0", np.array([0, 1]), np.array([4, 5]), np.array([-0.0, 2.0**60]), np.array([0.25, -0.0]), -0.0
        )
    report = verify_run_ledger(tmp_path / "run")
    assert report.trades == 2
    assert report.problems[0].startswith("no trades.parquet")
    assert len(report.problems) == 1


GOOD = {
    "step": 5,
    "sim_time": "2024-05-06T05:00:00",
    "buyer": np.array([0, 1]),
    "seller": np.array([4, 5]),
    "kwh": np.array([1.0, 2.0]),
    "price": np.array([0.2, 0.2]),
    "fee_per_kwh": FEE,
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"step": 3}, "steps must increase"),
        ({"buyer": np.array([0, 8])}, "agent indices in"),
        ({"seller": np.array([4.0, 5.0])}, "agent indices in"),
        ({"kwh": np.array([1.0, np.nan])}, "kwh of trade 1"),
        ({"price": np.array([0.2])}, "one length"),
        ({"sim_time": ""}, "sim_time"),
        ({"fee_per_kwh": float("inf")}, "fee_per_kwh"),
    ],
)
def test_append_rejects_bad_input(tmp_path, change, message):
    with LedgerWriter(tmp_path / "run", AGENTS, RUN_SEED) as writer:
        writer.append_step(**GOOD)
        with pytest.raises(LedgerError, match=message):
            writer.append_step(**{**GOOD, "step": 6, **change})
        assert writer.blocks == 2
    assert verify_run_ledger(tmp_path / "run").trades == 2


def test_writer_rejects_bad_setup(tmp_path):
    with pytest.raises(LedgerError, match="unique"):
        LedgerWriter(tmp_path / "a", ["x", "y", "x"], 1)
    with pytest.raises(LedgerError, match="run_seed"):
        LedgerWriter(tmp_path / "b", AGENTS, -1)
    LedgerWriter(tmp_path / "c", AGENTS, 1).close()
    with pytest.raises(LedgerError, match="already exists"):
        LedgerWriter(tmp_path / "c", AGENTS, 1)
    writer = LedgerWriter(tmp_path / "d", AGENTS, 1)
    writer.close()
    with pytest.raises(LedgerError, match="closed"):
        writer.append_step(**GOOD)


def test_missing_or_foreign_ledger_is_bad_input(tmp_path):
    with pytest.raises(LedgerError, match="no such run directory"):
        verify_run_ledger(tmp_path / "nope")
    with pytest.raises(LedgerError, match=r"has no ledger\.sqlite"):
        verify_run_ledger(tmp_path)
    with contextlib.closing(sqlite3.connect(tmp_path / "ledger.sqlite")) as db:
        db.execute("CREATE TABLE other (x)")
    with pytest.raises(LedgerError, match="not a heron-grid ledger"):
        verify_run_ledger(tmp_path)
    (tmp_path / "ledger.sqlite").write_bytes(b"not a database at all, just some text" * 200)
    with pytest.raises(LedgerError, match="not a readable SQLite ledger"):
        verify_run_ledger(tmp_path)


def test_the_ledger_alone_reads_no_results_and_lists_cross_checks_last(run_copy):
    """``verify_ledger`` checks the ledger's own files; the run's other files come in as cross-checks."""
    (run_copy / "trades.parquet").unlink()
    assert verify_ledger(run_copy).ok
    seen = []

    def check(folder, ids, trades, totals):
        seen.append((folder, list(ids), len(trades), list(totals.index)))
        return ["from the cross-check"]

    report = verify_ledger(run_copy, cross_checks=[check])
    assert seen == [(run_copy, list(AGENTS), report.trades, list(AGENTS))]
    assert report.problems == ["from the cross-check"]
    assert not report.ok


def test_missing_or_unreadable_trades_parquet_is_a_problem(run_copy):
    (run_copy / "trades.parquet").unlink()
    report = verify_run_ledger(run_copy)
    assert not report.ok
    assert len(report.problems) == 1
    assert "no trades.parquet" in report.problems[0]
    (run_copy / "trades.parquet").write_bytes(b"garbage")
    report = verify_run_ledger(run_copy)
    assert [p for p in report.problems if "trades.parquet cannot be read" in p]


def test_trades_parquet_disagreement_is_located(run_copy):
    trades = make_trades()
    trades[3].kwh[2] += 0.5  # block 4 is step 7
    write_trades_parquet(run_copy, trades)
    report = verify_run_ledger(run_copy)
    assert not report.ok
    assert "first at block 4 (step 7)" in report.problems[0]
    assert any("per-agent totals differ" in p and AGENTS[trades[3].buyer[2]] in p for p in report.problems)


def test_public_key_file_must_match(run_copy):
    path = run_copy / "keys" / "public_keys.json"
    content = json.loads(path.read_text())
    content["public_keys"]["h05"] = "00" * 32
    path.write_text(json.dumps(content))
    report = verify_run_ledger(run_copy)
    assert report.problems == ["keys/public_keys.json: public key of agent(s) h05 differs from the ledger's"]
    path.write_text("{not json")
    assert "is not a public key file" in verify_run_ledger(run_copy).problems[0]
    path.unlink()
    assert verify_run_ledger(run_copy).ok  # the file is optional: the ledger stores the public keys


def test_read_blocks_filters(clean_run):
    trades = make_trades()
    everything = read_blocks(clean_run)
    assert len(everything) == sum(t.kwh.size for t in trades)
    assert everything["block"].tolist() == [b + 1 for b, t in enumerate(trades) for _ in range(t.kwh.size)]
    mine = read_blocks(clean_run, agent="h02")
    expected = sum(int((t.buyer == 2).sum() + (t.seller == 2).sum()) for t in trades)
    assert len(mine) == expected > 0
    assert ((mine["buyer"] == "h02") | (mine["seller"] == "h02")).all()
    block = read_blocks(clean_run, block=4)
    np.testing.assert_array_equal(block["kwh"], trades[3].kwh)
    assert (block["sim_time"] == trades[3].sim_time).all()
    assert read_blocks(clean_run, block=0).empty
    with pytest.raises(LedgerError, match="agent 'nobody' is not in the ledger"):
        read_blocks(clean_run, agent="nobody")
    with pytest.raises(LedgerError, match="block 99 is not in the ledger"):
        read_blocks(clean_run, block=99)
