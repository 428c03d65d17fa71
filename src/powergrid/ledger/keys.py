"""Deterministic per-agent Ed25519 SIMULATION keys and their files in a run directory.

Each agent's 32-byte private seed is ``SHA-256(b"heron-grid ledger key v1" + run_seed (8 bytes, big-endian,
unsigned) + agent_id (UTF-8))``, so a rerun with the same seed and agents signs with the same keys and writes a
bit-identical ledger. Anyone who knows the run seed can recompute every key: these keys prove that the ledger was
not altered by accident or by someone without the seed, never who agreed to a trade. Not for real value.

Files (``keys/`` beside the ledger): ``private_keys.json`` and ``public_keys.json``, raw keys in hex, in agent
order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from powergrid.ledger.errors import LedgerError
from powergrid.ledger.run_directory import KEYS_DIR, PRIVATE_KEYS, PUBLIC_KEYS

KEY_DOMAIN = b"heron-grid ledger key v1"
#: Run seeds are 8-byte unsigned in the key derivation and a signed 64-bit SQLite INTEGER in the ledger.
MAX_SEED = 2**63 - 1
NOTE = (
    "SIMULATION keys of a heron-grid run, derived deterministically from the run seed and agent ids "
    "(seed = SHA-256(b'heron-grid ledger key v1' + run_seed as 8 bytes big-endian + agent_id UTF-8)). "
    "Anyone who knows the seed can recompute them. They make the ledger tamper-evident; they are not for real "
    "value and prove nothing about consent."
)


def check_seed(run_seed: int) -> int:
    """The run seed as an int in [0, 2**63); LedgerError otherwise."""
    if isinstance(run_seed, bool) or not isinstance(run_seed, int) or not 0 <= run_seed <= MAX_SEED:
        raise LedgerError(f"run_seed must be an integer in [0, 2**63), got {run_seed!r}")
    return run_seed


def private_seed(run_seed: int, agent_id: str) -> bytes:
    """The agent's 32-byte Ed25519 private key (RFC 8032 seed)."""
    return hashlib.sha256(KEY_DOMAIN + check_seed(run_seed).to_bytes(8, "big") + agent_id.encode()).digest()


def derive_keys(run_seed: int, agent_ids: Sequence[str]) -> list[Ed25519PrivateKey]:
    """One private key per agent, in ``agent_ids`` order."""
    return [Ed25519PrivateKey.from_private_bytes(private_seed(run_seed, a)) for a in agent_ids]


def public_bytes(key: Ed25519PrivateKey) -> bytes:
    """The raw 32-byte public key."""
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def write_key_files(folder: Path, agent_ids: Sequence[str], keys: Sequence[Ed25519PrivateKey], run_seed: int) -> None:
    """Write ``keys/private_keys.json`` and ``keys/public_keys.json`` (LedgerError if either exists)."""
    key_dir = Path(folder) / KEYS_DIR
    key_dir.mkdir(exist_ok=True)
    private = {
        "note": NOTE,
        "algorithm": "Ed25519",
        "run_seed": run_seed,
        "private_keys": {a: private_seed(run_seed, a).hex() for a in agent_ids},
    }
    public = {
        "note": "Raw 32-byte Ed25519 public keys (hex) of the run's simulation keys; the ledger stores them too.",
        "algorithm": "Ed25519",
        "public_keys": {a: public_bytes(k).hex() for a, k in zip(agent_ids, keys, strict=True)},
    }
    existing = [key_dir / name for name in (PRIVATE_KEYS, PUBLIC_KEYS) if (key_dir / name).exists()]
    if existing:
        raise LedgerError(f"{existing[0]} already exists; a ledger is written once, into a fresh run directory")
    for name, content in ((PRIVATE_KEYS, private), (PUBLIC_KEYS, public)):
        (key_dir / name).write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")


def read_public_key_file(folder: Path) -> dict[str, str] | None:
    """``{agent: hex public key}`` from ``keys/public_keys.json``, or None if there is no such file.

    A file that is not valid JSON of that shape is a LedgerError naming the file.
    """
    path = Path(folder) / KEYS_DIR / PUBLIC_KEYS
    if not path.exists():
        return None
    try:
        keys = json.loads(path.read_text(encoding="utf-8"))["public_keys"]
    except (ValueError, KeyError, TypeError) as err:
        raise LedgerError(f"{path} is not a public key file: {type(err).__name__}: {err}") from err
    if not isinstance(keys, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in keys.items()):
        raise LedgerError(f"{path}: 'public_keys' must map agent ids to hex strings")
    return keys
