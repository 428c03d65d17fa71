"""``verify_ledger``: check a run's ledger end to end and name the first bad block and trade.

Checks, in chain order: the agents table and run seed (committed to by the genesis block), every block's index
(no gap), header hash, link to the previous block and step order, every trade's position, step, parties, both
Ed25519 signatures and the block's Merkle root; then ``keys/public_keys.json`` (if present) against the agents
table, then the caller's cross-checks against other files of the run (``powergrid.analytics.ledger_check`` compares
the trades and per-agent totals with ``trades.parquet``). Tampering is reported in ``VerifyReport.problems``, never
raised; only a missing or foreign ledger is a LedgerError.

What this proves: the ledger is internally consistent (and, with that cross-check, agrees with
``trades.parquet``). The keys are derived from
the run seed, so someone holding the seed can rewrite and re-sign a whole chain; compare ``head_hash`` with a
copy kept elsewhere to rule that out.
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from powergrid.ledger import chain
from powergrid.ledger.crosscheck import TRADE_COLUMNS, agent_totals, check_public_key_file
from powergrid.ledger.keys import MAX_SEED
from powergrid.ledger.store import open_ledger, readable

#: At most this many problems are listed (sorted: first bad block and trade first), then a count of the rest.
MAX_PROBLEMS = 200
_RUN_LEVEL = 1 << 62  # sort key of problems not located in a block: after every block
_AFTER_TRADES = 1 << 40  # sort key of a block's Merkle root problem: after its trades' problems (the likely cause)
#: A check of a ledger against other files of its run directory: (run directory, agent ids, the trades that passed
#: verification — ``TRADE_COLUMNS`` — and their per-agent totals) → problems (run-level, listed after the blocks').
CrossCheck = Callable[[Path, list[str], pd.DataFrame, pd.DataFrame], list[str]]


@dataclass
class VerifyReport:
    """Outcome of ``verify_ledger``. ``blocks`` counts the genesis block; ``totals`` has one row per agent
    (bought_kwh, sold_kwh, paid, received, fees — currency — and trades); ``head_hash`` is the last block's hash."""

    ok: bool
    blocks: int
    trades: int
    problems: list[str]
    totals: pd.DataFrame
    head_hash: str = ""
    agents: list[str] = field(default_factory=list)


class _Problems:
    def __init__(self) -> None:
        self._items: list[tuple[tuple[int, int, int], str]] = []

    def add(self, block: int, seq: int, message: str) -> None:
        self._items.append(((block, seq, len(self._items)), message))

    def add_run(self, message: str) -> None:
        self.add(_RUN_LEVEL, 0, message)

    def sorted(self) -> list[str]:
        items = [m for _, m in sorted(self._items, key=lambda kv: kv[0])]
        if len(items) > MAX_PROBLEMS:
            items = [*items[:MAX_PROBLEMS], f"… and {len(items) - MAX_PROBLEMS} more problems"]
        return items


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        with contextlib.suppress(UnicodeDecodeError):  # invalid UTF-8: reported by the caller as a wrong value
            return value.decode()
    return None


def _blob(value: object, size: int) -> bytes | None:
    return value if isinstance(value, bytes) and len(value) == size else None


def _key(number: object) -> int:
    """Sort key of a stored block or trade number: itself if a valid one, else after every block."""
    return number if type(number) is int and number >= 0 else _RUN_LEVEL - 1


def _load_agents(db: sqlite3.Connection, problems: _Problems) -> tuple[list[str], list[bytes], dict, bool]:
    """(ids, raw public keys, {id: key object}, all valid) from the agents table."""
    ids, raw, objects, valid = [], [], {}, True
    for pos, (idx, agent, key) in enumerate(db.execute("SELECT idx, id, public_key FROM agents ORDER BY idx")):
        name, key = _text(agent), _blob(key, chain.PUBLIC_KEY_SIZE)
        where = f"block 0 (genesis): agents table, agent {pos}"
        if idx != pos or name is None or key is None or name in objects:
            problems.add(0, -1, f"{where}: bad index, id (not UTF-8 or repeated) or public key ({idx!r}, {agent!r})")
            valid = False
        if name is not None and key is not None:
            ids.append(name)
            raw.append(key)
            objects[name] = Ed25519PublicKey.from_public_bytes(key)
    return ids, raw, objects, valid


def _check_trades(
    problems: _Problems, block: int, header: tuple, rows: list, keys: dict, chain_id: bytes, good: list
) -> None:
    """Positions, steps, parties, signatures and Merkle root of one block's trades; valid rows go to ``good``."""
    step, n_trades, root = header  # all None if the header is malformed (reported): check the trades alone
    seqs, seq, missing = {r[1] for r in rows}, 0, 0
    while missing < 10 and seq < (n_trades or 0):  # the first few gaps (n_trades may be huge if tampered)
        if seq not in seqs:
            problems.add(block, seq, f"block {block}, trade {seq}: missing (the header says {n_trades} trades)")
            missing += 1
        seq += 1
    leaves, complete = [], True
    for _, seq, t_step, buyer, seller, kwh, price, fee, sig_b, sig_s in rows:
        where = f"block {block}, trade {seq}"
        key = _key(seq)
        if not (type(seq) is int and 0 <= seq < (2**32 if n_trades is None else n_trades)):
            problems.add(block, key, f"{where}: position outside the block's {n_trades} trades")
            complete = False
            continue
        b, s = _text(buyer), _text(seller)
        sb, ss = _blob(sig_b, chain.SIGNATURE_SIZE), _blob(sig_s, chain.SIGNATURE_SIZE)
        numbers = (type(t_step) is int, type(kwh) is float, type(price) is float, type(fee) is float)
        if b is None or s is None or b not in keys or s not in keys or sb is None or ss is None or not all(numbers):
            values = f"buyer {buyer!r}, seller {seller!r}, step {t_step!r}, kwh {kwh!r}, price {price!r}, fee {fee!r}"
            problems.add(block, key, f"{where}: malformed or unknown value or signature ({values})")
            complete = False
            continue
        if step is not None and t_step != step:
            problems.add(block, key, f"{where}: step {t_step} but the block is step {step}")
        record = chain.encode_trade(block, t_step, seq, b, s, kwh, price, fee)
        message = chain.signed_message(chain_id, record)
        for role, agent, sig in (("buyer", b, sb), ("seller", s, ss)):
            try:
                keys[agent].verify(sig, message)
            except InvalidSignature:
                problems.add(block, key, f"{where}: {role} signature ({agent}) does not match the trade")
        leaves.append(chain.leaf_hash(record, sb, ss))
        good.append((block, t_step, b, s, kwh, price, fee))
    if complete and leaves and root is not None and chain.merkle_root(leaves) != root:
        problems.add(block, _AFTER_TRADES, f"block {block}: Merkle root does not match its {len(rows)} stored trades")


def _check_blocks(
    db: sqlite3.Connection, problems: _Problems, commitment: bytes | None
) -> tuple[dict, int, bytes, bytes]:
    """Header checks in index order; returns ({index: (step, n_trades, root)}, blocks stored, chain id, head)."""
    headers: dict[int, tuple] = {}
    stored = 0
    prev: tuple | None = None  # (index, step, stored hash)
    chain_id = chain.genesis_hash(commitment) if commitment is not None else None
    rows = db.execute("SELECT idx, step, sim_time, n_trades, merkle_root, prev_hash, hash FROM blocks ORDER BY idx")
    for idx, step, sim_time, n_trades, root, prev_hash, digest in rows:
        stored += 1
        if idx < 0:
            problems.add(_RUN_LEVEL - 1, 0, f"block {idx}: negative index (a block was renumbered)")
            continue
        name = "block 0 (genesis)" if idx == 0 else f"block {idx}"
        expected = 0 if prev is None else prev[0] + 1
        if idx != expected:
            after = "its start" if prev is None else f"block {prev[0]}"
            problems.add(expected, -1, f"block {expected}: missing (the stored chain goes from {after} to block {idx})")
        time, root, prev_hash = _text(sim_time), _blob(root, 32), _blob(prev_hash, 32)
        if (
            type(step) is not int
            or type(n_trades) is not int
            or not 0 <= n_trades < 2**32
            or time is None
            or root is None
            or prev_hash is None
        ):
            problems.add(idx, -1, f"{name}: malformed header field(s)")
            headers[idx] = (None, None, None)
            prev = (idx, step, digest)
            continue
        if chain.block_hash(idx, step, n_trades, root, prev_hash, time) != digest:
            problems.add(idx, -1, f"{name}: stored hash does not match its header (a header field was changed)")
        if prev is not None and prev_hash != prev[2]:
            problems.add(idx, -1, f"{name}: prev_hash does not match the hash of block {prev[0]}")
        if idx == 0:
            if (step, n_trades, time, prev_hash) != (chain.GENESIS_STEP, 0, "", chain.ZERO_HASH) or root != commitment:
                problems.add(0, -1, f"{name}: does not commit to this run's seed, agents and public keys")
            chain_id = chain_id or digest
        elif n_trades < 1 or not 0 <= step <= chain.MAX_STEP or (prev and type(prev[1]) is int and step <= prev[1]):
            problems.add(idx, -1, f"{name}: step {step} / {n_trades} trades out of order or out of range")
        headers[idx] = (step, n_trades, root)
        prev = (idx, step, digest)
    head = prev[2] if prev is not None and isinstance(prev[2], bytes) else b""
    return headers, stored, chain_id or chain.ZERO_HASH, head


def verify_ledger(folder: Path, cross_checks: Sequence[CrossCheck] = ()) -> VerifyReport:
    """Verify ``folder/ledger.sqlite`` (see the module docstring), then run each of ``cross_checks``; LedgerError if
    there is no ledger to verify."""
    folder = Path(folder)
    problems = _Problems()
    with contextlib.closing(open_ledger(folder)) as db, readable(folder):
        ids, raw_keys, keys, agents_valid = _load_agents(db, problems)
        seed = db.execute("SELECT value FROM meta WHERE key = 'run_seed'").fetchone()
        seed_ok = seed is not None and type(seed[0]) is int and 0 <= seed[0] <= MAX_SEED
        if not seed_ok:
            problems.add(0, -1, f"block 0 (genesis): run seed in the meta table is {seed!r}")
        commitment = chain.run_commitment(seed[0], ids, raw_keys) if seed_ok and agents_valid else None
        headers, n_blocks, chain_id, head = _check_blocks(db, problems, commitment)
        good: list[tuple] = []
        n_trades = 0
        cursor = db.execute("SELECT * FROM trades ORDER BY block, seq")
        seen = set()
        for block, group in itertools.groupby(cursor, key=lambda r: r[0]):
            rows = list(group)
            n_trades += len(rows)
            if block not in headers or block == 0:
                what = "the genesis block, which has none" if block == 0 else "a block that is not in the chain"
                problems.add(_key(block), -1, f"block {block!r}: {len(rows)} trade(s) stored for {what}")
                continue
            seen.add(block)
            _check_trades(problems, block, headers[block], rows, keys, chain_id, good)
        for block, (_, n, _) in headers.items():
            if block not in seen and block != 0:
                problems.add(block, -1, f"block {block}: no trades stored (the header says {n})")
    trades = pd.DataFrame(good, columns=list(TRADE_COLUMNS))
    totals = agent_totals(ids, trades)
    for message in check_public_key_file(folder, ids, raw_keys):
        problems.add_run(message)
    for check in cross_checks:
        for message in check(folder, ids, trades, totals):
            problems.add_run(message)
    listed = problems.sorted()
    return VerifyReport(
        ok=not listed,
        blocks=n_blocks,
        trades=n_trades,
        problems=listed,
        totals=totals,
        head_hash=head.hex(),
        agents=ids,
    )
