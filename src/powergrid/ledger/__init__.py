"""A signed, hash-chained ledger of a run's P2P trades: what the engine settled, provably unaltered.

One block per market step with trades, each trade signed by buyer and seller with deterministic Ed25519
simulation keys, stored in the run directory's ``ledger.sqlite`` beside ``keys/``. The ledger records; it never
computes physics or money. Modules: ``keys`` (key derivation and files), ``chain`` (canonical encodings, hashes,
Merkle rule), ``store`` (SQLite file, ``read_blocks``), ``writer`` (``LedgerWriter``), ``verify``
(``verify_ledger``), ``crosscheck`` (per-agent totals, key file), ``run_directory`` (the run directory's file names).
The check against the run's ``trades.parquet`` is ``powergrid.analytics.ledger_check.verify_run_ledger``.
"""

from powergrid.ledger.errors import LedgerError
from powergrid.ledger.store import read_blocks
from powergrid.ledger.verify import VerifyReport, verify_ledger
from powergrid.ledger.writer import LedgerWriter

__all__ = ["LedgerError", "LedgerWriter", "VerifyReport", "read_blocks", "verify_ledger"]
