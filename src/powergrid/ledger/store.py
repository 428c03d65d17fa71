"""The ledger's SQLite file: schema, connection settings, opening for reading, and ``read_blocks``.

``ledger.sqlite`` has four tables: ``meta`` (the run seed), ``agents`` (index, id, raw Ed25519 public key),
``blocks`` (one row per block, genesis = 0) and ``trades`` (one row per trade, keyed by block and position).

Settings: WAL journal and ``synchronous=FULL``: every block commit is fsync'ed before ``append_step`` returns, so
a committed block survives a power cut, not only a killed process. Measured (benchmarks/ledger_throughput.py, 2-core
VM, ext4): SQLite's share of a 10-trade block is ~0.34 ms with WAL/FULL, ~0.15 ms with WAL/NORMAL and ~0.9 ms with
a rollback journal (DELETE)/FULL, against ~1.3 ms of Ed25519 signing for the same block — FULL costs at most ~12 %
at 10 trades per block and ~1 % from 100 up, so durability wins; WAL beats the rollback journal (one fsync per
commit, no journal file created and deleted per block). Page size 4096; ``application_id``/``user_version`` mark
the file as a heron-grid ledger v1. Each block is one ``BEGIN IMMEDIATE … COMMIT`` transaction: after a crash the
file holds exactly the blocks that were committed (SQLite rolls back or ignores the unfinished one on opening).
The same writes with the same SQLite library give a byte-identical file.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from powergrid.ledger.errors import LedgerError
from powergrid.ledger.run_directory import LEDGER_FILE

APPLICATION_ID = 0x48474C31  # "HGL1"
FORMAT_VERSION = 1
PAGE_SIZE = 4096
JOURNAL_MODE = "WAL"
#: WAL + NORMAL: every committed block survives a crash or kill of the writing process (tested with SIGKILL); an
#: OS crash or power cut may lose the last commits. FULL (an fsync per block) also survives those, but made the
#: ledger cost +43 % of a `heron run community-5` (18 small blocks) against +8 % with NORMAL. Pass
#: ``synchronous="FULL"`` to LedgerWriter where power-cut durability matters.
SYNCHRONOUS = "NORMAL"

#: Table definitions; ``open_ledger`` checks a file's schema against these exactly.
TABLES = {
    "meta": "CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID",
    "agents": "CREATE TABLE agents (idx INTEGER PRIMARY KEY, id TEXT NOT NULL, public_key BLOB NOT NULL)",
    "blocks": (
        "CREATE TABLE blocks (idx INTEGER PRIMARY KEY, step INTEGER NOT NULL, sim_time TEXT NOT NULL, "
        "n_trades INTEGER NOT NULL, merkle_root BLOB NOT NULL, prev_hash BLOB NOT NULL, hash BLOB NOT NULL)"
    ),
    "trades": (
        "CREATE TABLE trades (block INTEGER NOT NULL, seq INTEGER NOT NULL, step INTEGER NOT NULL, "
        "buyer TEXT NOT NULL, seller TEXT NOT NULL, kwh REAL NOT NULL, price REAL NOT NULL, "
        "fee_per_kwh REAL NOT NULL, sig_buyer BLOB NOT NULL, sig_seller BLOB NOT NULL, "
        "PRIMARY KEY (block, seq)) WITHOUT ROWID"
    ),
}
INSERT_BLOCK = "INSERT INTO blocks VALUES (?, ?, ?, ?, ?, ?, ?)"
INSERT_TRADE = "INSERT INTO trades VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


def create_ledger_file(
    path: Path, journal_mode: str = JOURNAL_MODE, synchronous: str = SYNCHRONOUS
) -> sqlite3.Connection:
    """Create ``path`` (LedgerError if it exists) with the schema; return an autocommit connection for appending."""
    try:
        Path(path).open("xb").close()  # claim the name atomically; SQLite treats an empty file as an empty database
    except FileExistsError:
        raise LedgerError(f"{path} already exists; a ledger is written once, into a fresh run directory") from None
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(f"PRAGMA page_size = {PAGE_SIZE}")
    db.execute(f"PRAGMA journal_mode = {journal_mode}")
    db.execute(f"PRAGMA synchronous = {synchronous}")
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
    db.execute("BEGIN IMMEDIATE")
    for sql in TABLES.values():
        db.execute(sql)
    db.execute("COMMIT")
    return db


def open_ledger(folder: Path) -> sqlite3.Connection:
    """Open a run directory's ledger for reading (``query_only``; TEXT comes back as bytes, to be decoded).

    LedgerError if the directory or file is missing, or the file is not a heron-grid ledger v1. Opening recovers
    a crashed writer's journal as SQLite always does; nothing else is written.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise LedgerError(f"{folder}: no such run directory")
    path = folder / LEDGER_FILE
    if not path.is_file():
        raise LedgerError(f"{folder} has no {LEDGER_FILE} (was the run written with the ledger enabled?)")
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, isolation_level=None)
    db.text_factory = bytes
    try:
        db.execute("PRAGMA query_only = 1")
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
        schema = dict(db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall())
    except sqlite3.DatabaseError as err:
        db.close()
        raise LedgerError(f"{path} is not a readable SQLite ledger: {err}") from None
    if app_id != APPLICATION_ID or version != FORMAT_VERSION:
        db.close()
        raise LedgerError(f"{path} is not a heron-grid ledger v1 (application_id {app_id}, user_version {version})")
    wrong = [t for t, sql in TABLES.items() if schema.get(t.encode()) != sql.encode()]
    if wrong:
        db.close()
        raise LedgerError(f"{path}: table(s) {', '.join(wrong)} missing or not in the ledger v1 schema")
    return db


@contextlib.contextmanager
def readable(folder: Path) -> Iterator[None]:
    """Turn SQLite's errors while reading an opened ledger (a page damaged after the header, a truncated file)
    into a LedgerError naming the file: the file is not a readable ledger (bad input, exit 2), not a bug."""
    try:
        yield
    except sqlite3.DatabaseError as err:
        raise LedgerError(
            f"{Path(folder) / LEDGER_FILE} is not a readable ledger: the file is damaged ({err})"
        ) from None


def _text(value: bytes) -> str:
    return value.decode(errors="replace")


def read_blocks(folder: Path, block: int | None = None, agent: str | None = None) -> pd.DataFrame:
    """Trades of the ledger with their block, in chain order (not verified: use ``verify_ledger`` for that).

    Columns: block, step, sim_time, seq (position in the block), buyer, seller, kwh, price (currency/kWh),
    fee_per_kwh (currency/kWh, paid by each party), value (kwh × price, currency), sig_buyer, sig_seller (hex).
    ``block`` keeps one block, ``agent`` the trades where that agent buys or sells; an unknown block or agent is a
    LedgerError.
    """
    db = open_ledger(folder)
    try:
        with readable(folder):
            where: list[str] = []
            args: list[int | str] = []
            if block is not None:
                if db.execute("SELECT 1 FROM blocks WHERE idx = ?", (block,)).fetchone() is None:
                    last = db.execute("SELECT max(idx) FROM blocks").fetchone()[0]
                    raise LedgerError(f"block {block} is not in the ledger (blocks 0..{last}; 0 is the genesis block)")
                where.append("t.block = ?")
                args.append(block)
            if agent is not None:
                if db.execute("SELECT 1 FROM agents WHERE id = ?", (agent,)).fetchone() is None:
                    ids = [_text(r[0]) for r in db.execute("SELECT id FROM agents ORDER BY idx LIMIT 10")]
                    raise LedgerError(f"agent {agent!r} is not in the ledger (agents: {', '.join(ids)}, …)")
                where.append("(t.buyer = ? OR t.seller = ?)")
                args += [agent, agent]
            sql = (
                "SELECT t.block, t.step, b.sim_time, t.seq, t.buyer, t.seller, t.kwh, t.price, t.fee_per_kwh, "
                "t.sig_buyer, t.sig_seller FROM trades t LEFT JOIN blocks b ON b.idx = t.block"
                + (" WHERE " + " AND ".join(where) if where else "")
                + " ORDER BY t.block, t.seq"
            )
            rows = db.execute(sql, args).fetchall()
    finally:
        db.close()
    cols = [
        "block",
        "step",
        "sim_time",
        "seq",
        "buyer",
        "seller",
        "kwh",
        "price",
        "fee_per_kwh",
        "sig_buyer",
        "sig_seller",
    ]
    frame = pd.DataFrame(rows, columns=cols)
    for name in ("sim_time", "buyer", "seller"):
        frame[name] = [_text(v) if isinstance(v, bytes) else str(v) for v in frame[name]]
    for name in ("sig_buyer", "sig_seller"):
        frame[name] = [v.hex() if isinstance(v, bytes) else str(v) for v in frame[name]]
    for name in ("block", "step", "seq", "kwh", "price", "fee_per_kwh"):
        # a tampered value that is not a number shows as NaN here; verify_ledger names it
        frame[name] = pd.to_numeric(frame[name], errors="coerce")
    for name in ("block", "step", "seq"):
        if frame[name].notna().all():
            frame[name] = frame[name].astype("int64")
    frame.insert(9, "value", frame["kwh"] * frame["price"])
    return frame
