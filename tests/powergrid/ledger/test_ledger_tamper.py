"""Every change to a stored ledger is detected and located: the first problem names the bad block (and trade)."""

from __future__ import annotations

import contextlib
import re
import sqlite3

import pytest
from ledger_fixtures import AGENTS, RUN_SEED, flip_byte

from powergrid.analytics.ledger_check import verify_run_ledger
from powergrid.ledger import chain
from powergrid.ledger.keys import derive_keys

TRADE = (4, 5)  # block 4 (step 7) has 7 trades; trade 5 is in the middle
BLOCK = 4
TRADE_FIELDS = ("block", "seq", "step", "buyer", "seller", "kwh", "price", "fee_per_kwh", "sig_buyer", "sig_seller")
BLOCK_FIELDS = ("idx", "step", "sim_time", "n_trades", "merkle_root", "prev_hash", "hash")
TEXT = {("trades", "buyer"), ("trades", "seller"), ("blocks", "sim_time"), ("agents", "id")}
#: (name, byte position, XOR mask): the sign/high byte, and a low bit of the last byte.
FLIPS = [("first-byte", 0, 0x80), ("last-byte", -1, 0x10)]
#: For text also the lowest bit of the last character: h01 → h00, another valid agent id.
TEXT_FLIPS = [("last-char", -1, 0x01)]


@contextlib.contextmanager
def _ledger(folder):
    with contextlib.closing(sqlite3.connect(folder / "ledger.sqlite", isolation_level=None)) as db:
        yield db


def _flip(folder, table: str, column: str, where: str, position: int, mask: int) -> None:
    with _ledger(folder) as db:
        (old,) = db.execute(f"SELECT {column} FROM {table} WHERE {where}").fetchone()
        new = flip_byte(old, position, mask)
        as_text = isinstance(old, str) and isinstance(new, bytes)  # invalid UTF-8 stored as TEXT all the same
        cursor = db.execute(
            f"UPDATE {table} SET {column} = {'CAST(? AS TEXT)' if as_text else '?'} WHERE {where}", (new,)
        )
        assert cursor.rowcount == 1
        assert new != old


def _cases(table: str, fields: tuple[str, ...]) -> list:
    out = []
    for field in fields:
        flips = FLIPS + (TEXT_FLIPS if (table, field) in TEXT else [])
        out += [pytest.param(field, pos, mask, id=f"{table}.{field}-{name}") for name, pos, mask in flips]
    return out


def _first(report) -> str:
    assert not report.ok
    return report.problems[0]


@pytest.mark.parametrize(("field", "position", "mask"), _cases("trades", TRADE_FIELDS))
def test_changed_trade_byte_is_located(run_copy, field, position, mask):
    _flip(run_copy, "trades", field, f"block = {TRADE[0]} AND seq = {TRADE[1]}", position, mask)
    assert _first(verify_run_ledger(run_copy)).startswith(f"block {TRADE[0]}, trade {TRADE[1]}: ")


@pytest.mark.parametrize(("field", "position", "mask"), _cases("blocks", BLOCK_FIELDS))
def test_changed_block_byte_is_located(run_copy, field, position, mask):
    _flip(run_copy, "blocks", field, f"idx = {BLOCK}", position, mask)
    assert _first(verify_run_ledger(run_copy)).startswith(f"block {BLOCK}: ")


@pytest.mark.parametrize(
    ("table", "field", "position", "mask"),
    [pytest.param("agents", f, p, m, id=f"agents.{f}-{name}") for f in ("id", "public_key") for name, p, m in FLIPS]
    + [pytest.param("meta", "value", p, m, id=f"meta.run_seed-{name}") for name, p, m in FLIPS],
)
def test_changed_genesis_commitment_is_located(run_copy, table, field, position, mask):
    where = "idx = 2" if table == "agents" else "key = 'run_seed'"
    _flip(run_copy, table, field, where, position, mask)
    assert _first(verify_run_ledger(run_copy)).startswith("block 0 (genesis): ")


def test_deleted_trade_is_located(run_copy):
    with _ledger(run_copy) as db:
        db.execute("DELETE FROM trades WHERE block = 4 AND seq = 2")
    assert _first(verify_run_ledger(run_copy)) == "block 4, trade 2: missing (the header says 7 trades)"


def test_deleted_block_is_located(run_copy):
    with _ledger(run_copy) as db:
        db.execute("DELETE FROM blocks WHERE idx = 3")
        db.execute("DELETE FROM trades WHERE block = 3")
    report = verify_run_ledger(run_copy)
    assert _first(report) == "block 3: missing (the stored chain goes from block 2 to block 4)"
    assert "block 4: prev_hash does not match the hash of block 2" in report.problems


def test_deleted_last_block_is_caught_by_trades_parquet(run_copy):
    """Cutting the chain's tail leaves a consistent chain; the run's trades.parquet still locates the gap."""
    with _ledger(run_copy) as db:
        db.execute("DELETE FROM blocks WHERE idx = 6")
        db.execute("DELETE FROM trades WHERE block = 6")
    first = _first(verify_run_ledger(run_copy))
    assert "first at block 6 (step 11) is missing from the ledger" in first


def test_reordered_trades_are_located(run_copy):
    with _ledger(run_copy) as db:
        db.execute("UPDATE trades SET seq = -1 WHERE block = 4 AND seq = 1")
        db.execute("UPDATE trades SET seq = 1 WHERE block = 4 AND seq = 2")
        db.execute("UPDATE trades SET seq = 2 WHERE block = 4 AND seq = -1")
    report = verify_run_ledger(run_copy)
    assert _first(report).startswith("block 4, trade 1: ")
    assert any(p.startswith("block 4, trade 2: ") for p in report.problems)
    assert not [p for p in report.problems if re.match(r"block [0-35-9]", p)]


def test_reordered_blocks_are_located(run_copy):
    with _ledger(run_copy) as db:
        for table, column in (("blocks", "idx"), ("trades", "block")):
            db.execute(f"UPDATE {table} SET {column} = -1 WHERE {column} = 3")
            db.execute(f"UPDATE {table} SET {column} = 3 WHERE {column} = 4")
            db.execute(f"UPDATE {table} SET {column} = 4 WHERE {column} = -1")
    assert _first(verify_run_ledger(run_copy)).startswith("block 3: ")


def _record(db, block: int, seq: int) -> tuple[bytes, str, str]:
    row = db.execute("SELECT * FROM trades WHERE block = ? AND seq = ?", (block, seq)).fetchone()
    record = chain.encode_trade(row[0], row[2], row[1], row[3], row[4], row[5], row[6], row[7])
    return record, row[3], row[4]


def _chain_id(db) -> bytes:
    return db.execute("SELECT hash FROM blocks WHERE idx = 0").fetchone()[0]


def test_signature_forged_with_another_agents_key_is_located(run_copy):
    keys = derive_keys(RUN_SEED, AGENTS)
    with _ledger(run_copy) as db:
        record, buyer, seller = _record(db, 4, 2)
        other = next(i for i, a in enumerate(AGENTS) if a not in (buyer, seller))
        forged = keys[other].sign(chain.signed_message(_chain_id(db), record))
        db.execute("UPDATE trades SET sig_buyer = ? WHERE block = 4 AND seq = 2", (forged,))
    assert (
        _first(verify_run_ledger(run_copy)) == f"block 4, trade 2: buyer signature ({buyer}) does not match the trade"
    )


def test_rewrite_by_a_seed_holder_is_caught_by_trades_parquet(run_copy, clean_run):
    """Someone with the run seed can re-sign a changed trade and rebuild the chain; the ledger alone is then
    consistent, but trades.parquet locates the change and the head hash differs from the original."""
    keys = derive_keys(RUN_SEED, AGENTS)
    with _ledger(run_copy) as db:
        db.execute("UPDATE trades SET kwh = kwh * 2 WHERE block = 4 AND seq = 2")
        chain_id = _chain_id(db)
        for seq in range(7):
            record, buyer, seller = _record(db, 4, seq)
            message = chain.signed_message(chain_id, record)
            sigs = keys[AGENTS.index(buyer)].sign(message), keys[AGENTS.index(seller)].sign(message)
            db.execute("UPDATE trades SET sig_buyer = ?, sig_seller = ? WHERE block = 4 AND seq = ?", (*sigs, seq))
        for idx in range(4, 7):
            rows = db.execute("SELECT * FROM trades WHERE block = ? ORDER BY seq", (idx,)).fetchall()
            leaves = [chain.leaf_hash(_record(db, idx, r[1])[0], r[8], r[9]) for r in rows]
            prev = db.execute("SELECT hash FROM blocks WHERE idx = ?", (idx - 1,)).fetchone()[0]
            step, time = db.execute("SELECT step, sim_time FROM blocks WHERE idx = ?", (idx,)).fetchone()
            root = chain.merkle_root(leaves)
            digest = chain.block_hash(idx, step, len(rows), root, prev, time)
            db.execute(
                "UPDATE blocks SET merkle_root = ?, prev_hash = ?, hash = ? WHERE idx = ?", (root, prev, digest, idx)
            )
    report = verify_run_ledger(run_copy)
    assert _first(report).startswith("trades.parquet disagrees with the ledger first at block 4 (step 7)")
    assert report.head_hash != verify_run_ledger(clean_run).head_hash
    assert not [p for p in report.problems if p.startswith("block")]
