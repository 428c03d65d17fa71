"""Ledger throughput: signed trades appended per second (both Ed25519 signatures, Merkle root, one SQLite commit
per block), by block size, on one core; plus what each part costs.

    python benchmarks/ledger_throughput.py [--sizes 10,100,1000] [--trades 6000] [--repeats 3] [--agents 200]

Figures (medians of repeats, process pinned to one core, files in the system temp directory):

- Ed25519 sign and verify time per signature (``cryptography``/OpenSSL), a 180-byte message like a trade's;
- ``LedgerWriter.append_step`` throughput per block size, as shipped (WAL, ``synchronous=NORMAL``);
- the same with a no-op signer (everything but Ed25519: encoding, Merkle, SQLite), to show the ceiling;
- SQLite alone (the block's inserts and its commit, pre-built rows) under WAL/FULL, WAL/NORMAL and
  rollback-journal (DELETE)/FULL: the durability settings' cost per block;
- ``verify_ledger`` throughput (two signature verifications per trade);
- the ledger's share of a full `heron run community-5` (simulation + results directory), with and without it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from powergrid.ledger import LedgerWriter, verify_ledger
from powergrid.ledger.keys import derive_keys
from powergrid.ledger.store import INSERT_BLOCK, INSERT_TRADE, create_ledger_file

FEE = 0.01


def median_time(fn: Callable[[], float], repeats: int) -> float:
    """Median of ``fn()``'s returned durations (s)."""
    return statistics.median(fn() for _ in range(repeats))


def run_overhead(repeats: int) -> tuple[float, float]:
    """(seconds without, with the ledger) for a community-5 run written to a results directory."""
    from powergrid.analytics.results import atomic_directory
    from powergrid.runner.compare import run_controllers
    from powergrid.scenarios import load_scenario
    from powergrid.scenarios.build import build_community

    def timed(ledger: bool) -> float:
        spec = load_scenario("community-5")
        spec.ledger = ledger
        community = build_community(spec)
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            with atomic_directory(Path(tmp) / "run") as folder:
                run_controllers(community, ["truthful-bidder"], {"truthful-bidder": folder})
            return time.perf_counter() - start

    return median_time(lambda: timed(False), repeats), median_time(lambda: timed(True), repeats)


def per_signature(repeats: int, n: int = 2000) -> tuple[float, float]:
    """(sign, verify) seconds per Ed25519 signature of a 180-byte message."""
    key = derive_keys(0, ["a"])[0]
    public = key.public_key()
    message = bytes(range(180))
    signature = key.sign(message)

    def sign() -> float:
        t = time.perf_counter()
        for _ in range(n):
            key.sign(message)
        return (time.perf_counter() - t) / n

    def verify() -> float:
        t = time.perf_counter()
        for _ in range(n):
            public.verify(signature, message)
        return (time.perf_counter() - t) / n

    return median_time(sign, repeats), median_time(verify, repeats)


def blocks_of(n_agents: int, size: int, n_trades: int, seed: int = 0) -> list[tuple]:
    """``n_trades // size`` blocks of ``size`` random trades: (buyer, seller, kwh, price) index/float arrays."""
    rng = np.random.default_rng(seed)
    half = n_agents // 2
    return [
        (
            rng.integers(0, half, size),
            rng.integers(half, n_agents, size),
            rng.uniform(0.01, 5, size),
            rng.uniform(0.08, 0.3, size),
        )
        for _ in range(max(1, n_trades // size))
    ]


def append_rate(agents: list[str], blocks: list[tuple], sign: bool, synchronous: str = "NORMAL") -> float:
    """Seconds to append ``blocks`` to a fresh ledger (writer creation and close not timed)."""
    with tempfile.TemporaryDirectory() as tmp:
        writer = LedgerWriter(Path(tmp) / "run", agents, 1, synchronous=synchronous)
        if not sign:
            writer._sign = [lambda m: bytes(64)] * len(agents)  # benchmark only: everything but Ed25519
        t = time.perf_counter()
        for step, (b, s, kwh, price) in enumerate(blocks):
            writer.append_step(step, f"2024-01-01T{step % 24:02d}:00:00", b, s, kwh, price, FEE)
        elapsed = time.perf_counter() - t
        writer.close()
    return elapsed


def sqlite_only(blocks: list[tuple], journal_mode: str, synchronous: str) -> float:
    """Seconds for the blocks' inserts and commits alone (rows built beforehand, dummy hashes/signatures)."""
    prepared = []
    for index, (b, s, kwh, price) in enumerate(blocks, start=1):
        n = len(kwh)
        rows = list(
            zip(
                [index] * n,
                range(n),
                [index] * n,
                [f"agent-{x}" for x in b.tolist()],
                [f"agent-{x}" for x in s.tolist()],
                kwh.tolist(),
                price.tolist(),
                [FEE] * n,
                [bytes(64)] * n,
                [bytes(64)] * n,
                strict=True,
            )
        )
        prepared.append(((index, index, "2024-01-01T00:00:00", n, bytes(32), bytes(32), bytes(32)), rows))
    with tempfile.TemporaryDirectory() as tmp:
        db = create_ledger_file(Path(tmp) / "ledger.sqlite", journal_mode=journal_mode, synchronous=synchronous)
        t = time.perf_counter()
        for block, rows in prepared:
            db.execute("BEGIN IMMEDIATE")
            db.execute(INSERT_BLOCK, block)
            db.executemany(INSERT_TRADE, rows)
            db.execute("COMMIT")
        elapsed = time.perf_counter() - t
        db.close()
    return elapsed


def verify_rate(agents: list[str], blocks: list[tuple]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        writer = LedgerWriter(Path(tmp) / "run", agents, 1)
        for step, (b, s, kwh, price) in enumerate(blocks):
            writer.append_step(step, "2024-01-01T00:00:00", b, s, kwh, price, FEE)
        writer.close()
        t = time.perf_counter()
        verify_ledger(Path(tmp) / "run")
        return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000", help="trades per block")
    parser.add_argument("--trades", type=int, default=6000, help="trades per timed run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--agents", type=int, default=200)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    agents = [f"agent-{i:05d}" for i in range(args.agents)]
    sizes = [int(s) for s in args.sizes.split(",")]
    sign_s, verify_s = per_signature(args.repeats)
    print(
        f"ledger throughput, one core, median of {args.repeats}; {args.agents} agents; temp dir {tempfile.gettempdir()}"
    )
    print(
        f"Ed25519 per signature: sign {sign_s * 1e6:.1f} us, verify {verify_s * 1e6:.1f} us "
        f"-> two signatures per trade cap appends at {1 / (2 * sign_s):,.0f} trades/s"
    )
    print(f"\n{'trades/block':>12} {'appended trades/s':>18} {'no-op signer':>13} {'signing share':>14}")
    for size in sizes:
        blocks = blocks_of(args.agents, size, args.trades)
        n = sum(len(b[2]) for b in blocks)
        full = median_time(lambda b=blocks: append_rate(agents, b, sign=True), args.repeats)
        bare = median_time(lambda b=blocks: append_rate(agents, b, sign=False), args.repeats)
        print(f"{size:>12,} {n / full:>18,.0f} {n / bare:>13,.0f} {1 - bare / full:>14.0%}")
    print("\nSQLite only (inserts + commit per block, no signing), ms per block")
    settings = [("WAL", "FULL"), ("WAL", "NORMAL"), ("DELETE", "FULL")]
    print(f"{'trades/block':>12} " + " ".join(f"{j + '/' + s:>12}" for j, s in settings))
    for size in sizes:
        blocks = blocks_of(args.agents, size, min(args.trades, 200 * size))
        cells = [
            median_time(lambda j=j, s=s, b=blocks: sqlite_only(b, j, s), args.repeats) / len(blocks) * 1e3
            for j, s in settings
        ]
        print(f"{size:>12,} " + " ".join(f"{c:>12.3f}" for c in cells))
    blocks = blocks_of(args.agents, 100, min(args.trades, 2000))
    n = sum(len(b[2]) for b in blocks)
    print(
        f"\nverify_ledger: {n / median_time(lambda: verify_rate(agents, blocks), args.repeats):,.0f} trades/s "
        f"(100 trades/block, two signature verifications per trade)"
    )
    without, with_ledger = run_overhead(args.repeats)
    print(
        f"\nheron run community-5 (results directory written): {without * 1e3:.0f} ms without the ledger, "
        f"{with_ledger * 1e3:.0f} ms with it (+{(with_ledger / without - 1):.0%}; target ≤ 25 %)"
    )


if __name__ == "__main__":
    main()
