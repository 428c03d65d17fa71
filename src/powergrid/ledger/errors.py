"""The ledger's error type (bad input or misuse — tampering is reported by ``verify_ledger``, not raised)."""

from powergrid.errors import HeronGridError


class LedgerError(HeronGridError):
    """A ledger cannot be created, appended to or opened: bad arguments, a missing or foreign file."""
