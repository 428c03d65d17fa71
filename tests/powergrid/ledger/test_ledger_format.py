"""The ledger's byte formats, Merkle rule and key derivation, checked against independent re-implementations."""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import struct

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from ledger_fixtures import AGENTS, RUN_SEED

from powergrid.ledger import chain
from powergrid.ledger.keys import derive_keys, private_seed


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _rfc6962_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 Merkle tree hash over leaf hashes: split at the largest power of two below n."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return _h(b"\x01" + _rfc6962_root(leaves[:k]) + _rfc6962_root(leaves[k:]))


@pytest.mark.parametrize("n", range(1, 41))
def test_merkle_root_is_the_rfc6962_tree_hash(n):
    leaves = [_h(bytes([i])) for i in range(n)]
    assert chain.merkle_root(leaves) == _rfc6962_root(leaves)


def test_odd_leaf_is_promoted_not_duplicated():
    a, b, c = (_h(x) for x in (b"a", b"b", b"c"))
    assert chain.merkle_root([a, b, c]) == _h(b"\x01" + _h(b"\x01" + a + b) + c)
    assert chain.merkle_root([a, b, c]) != chain.merkle_root([a, b, c, c])
    assert chain.merkle_root([a]) == a
    with pytest.raises(ValueError):
        chain.merkle_root([])


def test_trade_record_layout():
    record = chain.encode_trade(5, 17, 3, "h01", "hé", 1.25, 0.2, 0.01)
    head = struct.unpack(">QqIddd", record[:44])
    assert head == (5, 17, 3, 1.25, 0.2, 0.01)
    assert record[44:] == b"\x00\x03h01" + b"\x00\x03h\xc3\xa9"
    assert chain.leaf_hash(record, b"B" * 64, b"S" * 64) == _h(b"\x00" + record + b"B" * 64 + b"S" * 64)


def test_block_encoding_equals_per_trade_encoding():
    rng = np.random.default_rng(1)
    n = 57
    buyer, seller = rng.integers(0, 4, n), rng.integers(4, 8, n)
    kwh, price = rng.uniform(0, 5, n), rng.uniform(0, 1, n)
    ids = [chain.encode_text(a) for a in AGENTS]
    fast = chain.encode_block_trades(9, 1234, [ids[b] for b in buyer], [ids[s] for s in seller], kwh, price, 0.02)
    slow = [
        chain.encode_trade(9, 1234, i, AGENTS[buyer[i]], AGENTS[seller[i]], kwh[i], price[i], 0.02) for i in range(n)
    ]
    assert fast == slow


def test_header_and_genesis_encoding():
    root, prev = _h(b"root"), _h(b"prev")
    header = chain.BLOCK_TAG + struct.pack(">QqI", 3, 40, 12) + root + prev + b"\x00\x132024-05-07T16:00:00"
    assert chain.block_hash(3, 40, 12, root, prev, "2024-05-07T16:00:00") == _h(header)
    keys = [bytes([i]) * 32 for i in range(2)]
    commitment = _h(
        chain.GENESIS_TAG
        + (7).to_bytes(8, "big")
        + (2).to_bytes(4, "big")
        + b"\x00\x01a"
        + keys[0]
        + b"\x00\x01b"
        + keys[1]
    )
    assert chain.run_commitment(7, ["a", "b"], keys) == commitment
    genesis = chain.BLOCK_TAG + struct.pack(">QqI", 0, -1, 0) + commitment + bytes(32) + b"\x00\x00"
    assert chain.genesis_hash(commitment) == _h(genesis)


def test_keys_follow_the_documented_derivation(clean_run):
    seed = hashlib.sha256(b"heron-grid ledger key v1" + RUN_SEED.to_bytes(8, "big") + b"h03").digest()
    assert private_seed(RUN_SEED, "h03") == seed
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    private_file = json.loads((clean_run / "keys" / "private_keys.json").read_text())
    public_file = json.loads((clean_run / "keys" / "public_keys.json").read_text())
    assert "not for real value" in private_file["note"]
    assert private_file["private_keys"]["h03"] == seed.hex()
    assert public_file["public_keys"]["h03"] == public.hex()
    assert list(public_file["public_keys"]) == list(AGENTS)
    with contextlib.closing(sqlite3.connect(clean_run / "ledger.sqlite")) as db:
        stored = dict(db.execute("SELECT id, public_key FROM agents").fetchall())
    assert stored["h03"] == public


def test_stored_signature_verifies_against_an_independently_built_message(clean_run):
    with contextlib.closing(sqlite3.connect(clean_run / "ledger.sqlite")) as db:
        keys = [r[0] for r in db.execute("SELECT public_key FROM agents ORDER BY idx")]
        commitment = db.execute("SELECT merkle_root FROM blocks WHERE idx = 0").fetchone()[0]
        row = db.execute("SELECT * FROM trades WHERE block = 4 AND seq = 2").fetchone()
    block, seq, step, buyer, seller, kwh, price, fee, sig_b, sig_s = row
    assert commitment == chain.run_commitment(RUN_SEED, AGENTS, keys)
    record = struct.pack(">QqIddd", block, step, seq, kwh, price, fee)
    record += len(buyer).to_bytes(2, "big") + buyer.encode() + len(seller).to_bytes(2, "big") + seller.encode()
    message = b"heron-grid ledger trade v1\x00" + chain.genesis_hash(commitment) + record
    Ed25519PublicKey.from_public_bytes(keys[AGENTS.index(buyer)]).verify(sig_b, message)
    Ed25519PublicKey.from_public_bytes(keys[AGENTS.index(seller)]).verify(sig_s, message)


def test_keys_depend_on_seed_and_agent():
    def raw(keys):
        return [k.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw) for k in keys]

    assert raw(derive_keys(1, ["a", "b"])) == raw(derive_keys(1, ["a", "b"]))
    assert len(set(raw(derive_keys(1, ["a", "b"])) + raw(derive_keys(2, ["a", "b"])))) == 4
