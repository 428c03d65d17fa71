"""Small run directories for the ledger tests: deterministic trades, the ledger and a matching trades.parquet."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from powergrid.ledger import LedgerWriter

AGENTS = tuple(f"h{i:02d}" for i in range(8))
RUN_SEED = 7
FEE = 0.01
#: Steps with trades and trades per step: blocks 1..6, odd and even sizes (Merkle odd-leaf rule), block 4 largest.
STEPS = (0, 2, 3, 7, 8, 11)
SIZES = (1, 2, 3, 7, 5, 4)
START = np.datetime64("2024-05-06T00:00:00", "us")


@dataclass(frozen=True)
class StepTrades:
    step: int
    sim_time: str
    buyer: np.ndarray
    seller: np.ndarray
    kwh: np.ndarray
    price: np.ndarray


def make_trades(steps=STEPS, sizes=SIZES, seed: int = 0, n_agents: int = len(AGENTS)) -> list[StepTrades]:
    """Deterministic trades: buyers from the first half of the agents, sellers from the second."""
    rng = np.random.default_rng(seed)
    half = n_agents // 2
    out = []
    for step, n in zip(steps, sizes, strict=True):
        out.append(
            StepTrades(
                step=step,
                sim_time=str(START + np.timedelta64(step, "h")),
                buyer=rng.integers(0, half, n),
                seller=rng.integers(half, n_agents, n),
                kwh=rng.uniform(0.05, 3.0, n),
                price=rng.uniform(0.08, 0.30, n),
            )
        )
    return out


def write_ledger(folder: Path, trades: list[StepTrades], agents=AGENTS, seed: int = RUN_SEED, fee: float = FEE) -> None:
    with LedgerWriter(folder, agents, seed) as writer:
        for t in trades:
            writer.append_step(t.step, t.sim_time, t.buyer, t.seller, t.kwh, t.price, fee)


def write_trades_parquet(folder: Path, trades: list[StepTrades], agents=AGENTS) -> None:
    """trades.parquet in the schema of powergrid.analytics.results (RunWriter._trades_table)."""
    dictionary = pa.array(agents, type=pa.string())
    steps = np.concatenate([np.full(t.kwh.size, t.step, dtype=np.int32) for t in trades])

    def ids(field: str) -> pa.DictionaryArray:
        codes = np.concatenate([getattr(t, field) for t in trades]).astype(np.int32)
        return pa.DictionaryArray.from_arrays(pa.array(codes), dictionary)

    table = pa.table(
        {
            "step": pa.array(steps),
            "timestamp": pa.array(START + steps.astype("timedelta64[h]")),
            "buyer": ids("buyer"),
            "seller": ids("seller"),
            "kwh": pa.array(np.concatenate([t.kwh for t in trades])),
            "price": pa.array(np.concatenate([t.price for t in trades])),
        }
    )
    pq.write_table(table, Path(folder) / "trades.parquet")


def write_run(folder: Path, trades: list[StepTrades] | None = None) -> Path:
    """A run directory with ledger.sqlite, keys/ and trades.parquet for the same trades."""
    trades = make_trades() if trades is None else trades
    write_ledger(folder, trades)
    write_trades_parquet(folder, trades)
    return folder


def flip_byte(value: object, position: int, mask: int) -> object:
    """``value`` with one byte of its stored form XOR-ed: ints as 8-byte big-endian, floats as IEEE-754 big-endian,
    text as UTF-8 (may become invalid UTF-8, returned as bytes then), blobs as they are."""
    if isinstance(value, bool):
        raise TypeError(value)
    if isinstance(value, int):
        raw = bytearray(value.to_bytes(8, "big", signed=True))
        raw[position] ^= mask
        return int.from_bytes(raw, "big", signed=True)
    if isinstance(value, float):
        raw = bytearray(struct.pack(">d", value))
        raw[position] ^= mask
        return struct.unpack(">d", bytes(raw))[0]
    raw = bytearray(value.encode() if isinstance(value, str) else value)
    raw[position] ^= mask
    if isinstance(value, str):
        try:
            return raw.decode()
        except UnicodeDecodeError:
            return bytes(raw)
    return bytes(raw)


def step_trades(step: int, size: int = 40) -> StepTrades:
    """The trades of one step of the crash test's endless run (seeded by the step)."""
    return make_trades(steps=(step,), sizes=(size,), seed=step)[0]
