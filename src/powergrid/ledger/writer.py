"""``LedgerWriter``: signs each market step's trades and appends them to ``ledger.sqlite`` as one block.

The ledger records what the engine settled — it never computes energy or money. Each call to ``append_step``
encodes the step's trades (``powergrid.ledger.chain``), has buyer and seller sign every record with their
simulation keys (``powergrid.ledger.keys``), builds the Merkle root and the block header, and commits the block
and its trades in one SQLite transaction. Nothing depends on the wall clock: the same run writes the same bytes.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from powergrid.ledger import chain
from powergrid.ledger.errors import LedgerError
from powergrid.ledger.keys import check_seed, derive_keys, public_bytes, write_key_files
from powergrid.ledger.run_directory import LEDGER_FILE
from powergrid.ledger.store import INSERT_BLOCK, INSERT_TRADE, SYNCHRONOUS, create_ledger_file


def _check_agent_ids(agent_ids: Sequence[str]) -> tuple[str, ...]:
    ids = tuple(agent_ids)
    if not ids:
        raise LedgerError("a ledger needs at least one agent")
    bad = [a for a in ids if not isinstance(a, str) or not a or len(a.encode()) > 0xFFFF]
    if bad:
        raise LedgerError(f"agent ids must be non-empty strings of at most 65535 UTF-8 bytes; got {bad[0]!r}")
    if len(set(ids)) != len(ids):
        dup = next(a for a in ids if ids.count(a) > 1)
        raise LedgerError(f"agent ids must be unique; {dup!r} appears {ids.count(dup)} times")
    return ids


class LedgerWriter:
    """Append-only writer of a run's signed trade ledger.

    Creates ``folder/keys/`` (private and public key files) and ``folder/ledger.sqlite`` with the genesis block;
    both must not exist yet (LedgerError). ``synchronous`` is SQLite's setting for block commits: ``NORMAL``
    (default: durable across crashes of the process) or ``FULL`` (also across power loss; slower per block).
    """

    def __init__(
        self, folder: Path, agent_ids: Sequence[str], run_seed: int, *, synchronous: str = SYNCHRONOUS
    ) -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise LedgerError(f"synchronous must be 'FULL' or 'NORMAL', got {synchronous!r}")
        self.folder = Path(folder)
        self.agent_ids = _check_agent_ids(agent_ids)
        self.run_seed = check_seed(run_seed)
        if (self.folder / LEDGER_FILE).exists():
            raise LedgerError(
                f"{self.folder / LEDGER_FILE} already exists; write the ledger into a fresh run directory"
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        keys = derive_keys(self.run_seed, self.agent_ids)
        public = [public_bytes(k) for k in keys]
        write_key_files(self.folder, self.agent_ids, keys, self.run_seed)
        self._sign = [k.sign for k in keys]
        self._encoded_ids = [chain.encode_text(a) for a in self.agent_ids]
        self._id_array = np.array(self.agent_ids, dtype=object)
        commitment = chain.run_commitment(self.run_seed, self.agent_ids, public)
        self.chain_id = chain.genesis_hash(commitment)
        self._prefix = chain.TRADE_TAG + self.chain_id
        self._db = create_ledger_file(self.folder / LEDGER_FILE, synchronous=synchronous)
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute("INSERT INTO meta VALUES ('run_seed', ?)", (self.run_seed,))
        self._db.executemany(
            "INSERT INTO agents VALUES (?, ?, ?)", zip(range(len(public)), self.agent_ids, public, strict=True)
        )
        self._db.execute(INSERT_BLOCK, (0, chain.GENESIS_STEP, "", 0, commitment, chain.ZERO_HASH, self.chain_id))
        self._db.execute("COMMIT")
        self.blocks = 1  #: blocks committed, genesis included
        self.head = self.chain_id  #: hash of the last committed block
        self._last_step = chain.GENESIS_STEP
        self._closed = False

    def _check_step(self, step: int, sim_time: str, fee_per_kwh: float) -> tuple[int, float]:
        step = operator.index(step)
        if not self._last_step < step <= chain.MAX_STEP:
            raise LedgerError(
                f"step {step}: steps must increase from call to call (last block: step "
                f"{self._last_step}) and fit in int32"
            )
        if not isinstance(sim_time, str) or not sim_time:
            raise LedgerError(f"step {step}: sim_time must be a non-empty ISO time string, got {sim_time!r}")
        fee = float(fee_per_kwh) + 0.0
        if not np.isfinite(fee):
            raise LedgerError(f"step {step}: fee_per_kwh must be finite, got {fee_per_kwh!r}")
        return step, fee

    def _check_arrays(self, step: int, buyer, seller, kwh, price) -> tuple[np.ndarray, ...]:
        buyer, seller = np.asarray(buyer), np.asarray(seller)
        # + 0.0 turns -0.0 into 0.0: SQLite stores an integral REAL as an integer and would drop the sign bit
        kwh, price = np.asarray(kwh, dtype=float) + 0.0, np.asarray(price, dtype=float) + 0.0
        if buyer.ndim != 1 or not buyer.shape == seller.shape == kwh.shape == price.shape:
            raise LedgerError(
                f"step {step}: buyer, seller, kwh and price must be 1-D arrays of one length; got "
                f"shapes {buyer.shape}, {seller.shape}, {kwh.shape}, {price.shape}"
            )
        n = len(self.agent_ids)
        for name, idx in (("buyer", buyer), ("seller", seller)):
            if idx.size and (idx.dtype.kind not in "iu" or idx.min() < 0 or idx.max() >= n):
                raise LedgerError(
                    f"step {step}: {name} must hold agent indices in [0, {n}); got dtype {idx.dtype},"
                    f" range {idx.min()}..{idx.max()}"
                )
        for name, values in (("kwh", kwh), ("price", price)):
            if not np.isfinite(values).all():
                bad = int(np.flatnonzero(~np.isfinite(values))[0])
                raise LedgerError(f"step {step}: {name} of trade {bad} is {values[bad]} (must be finite)")
        return buyer, seller, kwh, price

    def append_step(
        self,
        step: int,
        sim_time: str,
        buyer: np.ndarray,
        seller: np.ndarray,
        kwh: np.ndarray,
        price: np.ndarray,
        fee_per_kwh: float,
    ) -> None:
        """Sign and commit one market step's trades as a block; a step without trades adds nothing.

        ``buyer``/``seller``: agent indices (ints, positions in ``agent_ids``); ``kwh``: energy per trade (kWh);
        ``price``: currency/kWh; ``fee_per_kwh``: the market fee each party pays per kWh traded (currency/kWh);
        ``sim_time``: the step's simulation time as an ISO string. Steps must increase from call to call.
        """
        if self._closed:
            raise LedgerError(f"the ledger in {self.folder} is closed")
        buyer, seller, kwh, price = self._check_arrays(step, buyer, seller, kwh, price)
        if kwh.size == 0:
            return
        step, fee = self._check_step(step, sim_time, fee_per_kwh)
        index = self.blocks
        ids = self._encoded_ids
        b_list, s_list = buyer.tolist(), seller.tolist()
        records = chain.encode_block_trades(
            index, step, [ids[b] for b in b_list], [ids[s] for s in s_list], kwh, price, fee
        )
        sign, prefix, leaf_hash = self._sign, self._prefix, chain.leaf_hash
        sig_b, sig_s, leaves = [], [], []
        for record, b, s in zip(records, b_list, s_list, strict=True):
            message = prefix + record
            sb, ss = sign[b](message), sign[s](message)
            sig_b.append(sb)
            sig_s.append(ss)
            leaves.append(leaf_hash(record, sb, ss))
        root = chain.merkle_root(leaves)
        n = len(records)
        digest = chain.block_hash(index, step, n, root, self.head, sim_time)
        rows = zip(
            [index] * n,
            range(n),
            [step] * n,
            self._id_array[buyer].tolist(),
            self._id_array[seller].tolist(),
            kwh.tolist(),
            price.tolist(),
            [fee] * n,
            sig_b,
            sig_s,
            strict=True,
        )
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(INSERT_BLOCK, (index, step, sim_time, n, root, self.head, digest))
            db.executemany(INSERT_TRADE, rows)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        self.blocks += 1
        self.head = digest
        self._last_step = step

    def close(self) -> None:
        """Close the file (idempotent). Every appended block is already committed."""
        if not self._closed:
            self._db.close()
            self._closed = True

    def __enter__(self) -> LedgerWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
