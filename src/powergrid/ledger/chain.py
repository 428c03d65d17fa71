"""Canonical byte encodings, hashes and the Merkle rule of the ledger (format v1).

All integers and IEEE-754 doubles are big-endian, strings are UTF-8 behind a 2-byte big-endian length, and every
encoding starts with a domain tag so a trade record can never be read as a block header or vice versa.

Trade record (the bytes behind a trade's hash; ``i`` = position of the trade in its block, from 0)::

    block u64 | step i64 | i u32 | kwh f64 | price f64 | fee_per_kwh f64 | len u16 + buyer | len u16 + seller

Both parties sign ``TRADE_TAG + chain_id + record`` with Ed25519, where ``chain_id`` is the genesis block hash,
so a signature binds the trade to this run, this block and this position. The trade's hash (Merkle leaf) is
``SHA-256(0x00 + record + buyer_signature + seller_signature)``: the chain commits to the signatures too.

Merkle root (RFC 6962 §2.1 shape): interior nodes are ``SHA-256(0x01 + left + right)``; leaves are paired left
to right, and an odd leaf (or node) out at the end of a level is promoted to the next level unchanged — never
duplicated, so no two different trade lists share a root. One leaf is its own root.

Block header (its SHA-256 is the block hash)::

    BLOCK_TAG | index u64 | step i64 | n_trades u32 | merkle_root 32 B | prev_hash 32 B | len u16 + sim_time

Genesis (index 0): step −1, n_trades 0, empty sim_time, prev_hash 32 zero bytes, and in place of the Merkle root
the run commitment ``SHA-256(GENESIS_TAG | run_seed u64 | n_agents u32 | per agent: len u16 + id + public key
32 B)``.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence

import numpy as np

TRADE_TAG = b"heron-grid ledger trade v1\x00"
BLOCK_TAG = b"heron-grid ledger block v1\x00"
GENESIS_TAG = b"heron-grid ledger genesis v1\x00"
HASH_SIZE = 32
SIGNATURE_SIZE = 64
PUBLIC_KEY_SIZE = 32
ZERO_HASH = bytes(HASH_SIZE)
GENESIS_STEP = -1
MAX_STEP = 2**31 - 1  # steps are int32 in trades.parquet

_TRADE_FIXED = struct.Struct(">QqIddd")
#: The fixed-width head of a trade record as a numpy dtype (same bytes as ``_TRADE_FIXED``), for whole blocks.
TRADE_FIXED_DTYPE = np.dtype(
    [
        ("block", ">u8"),
        ("step", ">i8"),
        ("seq", ">u4"),
        ("kwh", ">f8"),
        ("price", ">f8"),
        ("fee", ">f8"),
    ]
)
_HEADER = struct.Struct(">QqI")
_U16 = struct.Struct(">H")

sha256 = hashlib.sha256


def encode_text(text: str) -> bytes:
    """UTF-8 bytes behind a 2-byte big-endian length (ValueError beyond 65,535 bytes)."""
    raw = text.encode()
    if len(raw) > 0xFFFF:
        raise ValueError(f"string of {len(raw)} UTF-8 bytes is too long for the ledger (max 65535): {text[:40]!r}…")
    return _U16.pack(len(raw)) + raw


def encode_trade(
    block: int, step: int, seq: int, buyer: str, seller: str, kwh: float, price: float, fee_per_kwh: float
) -> bytes:
    """One trade record (see the module docstring)."""
    return _TRADE_FIXED.pack(block, step, seq, kwh, price, fee_per_kwh) + encode_text(buyer) + encode_text(seller)


def encode_block_trades(
    block: int,
    step: int,
    buyer: Sequence[bytes],
    seller: Sequence[bytes],
    kwh: np.ndarray,
    price: np.ndarray,
    fee_per_kwh: float,
) -> list[bytes]:
    """The records of a whole block at once; ``buyer``/``seller`` are already ``encode_text``-ed ids.

    Same bytes as ``encode_trade`` per trade, with the fixed-width part packed by numpy in one call.
    """
    n = len(kwh)
    fixed = np.empty(n, dtype=TRADE_FIXED_DTYPE)
    fixed["block"] = block
    fixed["step"] = step
    fixed["seq"] = np.arange(n)
    fixed["kwh"] = kwh
    fixed["price"] = price
    fixed["fee"] = fee_per_kwh
    raw = fixed.tobytes()
    w = TRADE_FIXED_DTYPE.itemsize
    return [raw[i * w : (i + 1) * w] + b + s for i, b, s in zip(range(n), buyer, seller, strict=True)]


def signed_message(chain_id: bytes, record: bytes) -> bytes:
    """What buyer and seller sign for a trade record."""
    return TRADE_TAG + chain_id + record


def leaf_hash(record: bytes, sig_buyer: bytes, sig_seller: bytes) -> bytes:
    """A trade's hash: the Merkle leaf."""
    return sha256(b"\x00" + record + sig_buyer + sig_seller).digest()


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """Root over leaf hashes (see the module docstring for the odd-leaf rule); ValueError if empty."""
    if not leaves:
        raise ValueError("a Merkle root needs at least one leaf")
    level = list(leaves)
    while len(level) > 1:
        parents = [sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            parents.append(level[-1])
        level = parents
    return level[0]


def encode_header(index: int, step: int, n_trades: int, merkle: bytes, prev_hash: bytes, sim_time: str) -> bytes:
    """A block header (see the module docstring)."""
    return BLOCK_TAG + _HEADER.pack(index, step, n_trades) + merkle + prev_hash + encode_text(sim_time)


def block_hash(index: int, step: int, n_trades: int, merkle: bytes, prev_hash: bytes, sim_time: str) -> bytes:
    """SHA-256 of the block header."""
    return sha256(encode_header(index, step, n_trades, merkle, prev_hash, sim_time)).digest()


def run_commitment(run_seed: int, agent_ids: Sequence[str], public_keys: Sequence[bytes]) -> bytes:
    """What the genesis block commits to: the run seed and every agent's id and public key, in order."""
    parts = [GENESIS_TAG, run_seed.to_bytes(8, "big"), len(agent_ids).to_bytes(4, "big")]
    for agent, key in zip(agent_ids, public_keys, strict=True):
        parts += [encode_text(agent), key]
    return sha256(b"".join(parts)).digest()


def genesis_hash(commitment: bytes) -> bytes:
    """Hash of the genesis block for a run commitment; it is the chain id every signature binds to."""
    return block_hash(0, GENESIS_STEP, 0, commitment, ZERO_HASH, "")
