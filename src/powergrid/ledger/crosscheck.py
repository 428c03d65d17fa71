"""Per-agent totals of a ledger's trades, and the check of its public key file against the agents table.

The ledger's totals are what its trades say: kWh bought and sold, money paid and received (kWh × price,
currency), fees (fee_per_kwh × kWh, paid by each party) and trade counts per agent. The ledger checks only its own
files; the comparison with the run's results (``trades.parquet``) is ``powergrid.analytics.ledger_check``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from powergrid.ledger.errors import LedgerError
from powergrid.ledger.keys import read_public_key_file
from powergrid.ledger.run_directory import KEYS_DIR, PUBLIC_KEYS

TOTAL_COLUMNS = ("bought_kwh", "sold_kwh", "paid", "received", "fees", "trades")
#: Columns of a ledger trades frame passed to these functions.
TRADE_COLUMNS = ("block", "step", "buyer", "seller", "kwh", "price", "fee_per_kwh")


def agent_totals(agent_ids: Sequence[str], trades: pd.DataFrame) -> pd.DataFrame:
    """Per-agent sums (index: agent id, columns ``TOTAL_COLUMNS``) of a frame with buyer, seller, kwh, price and,
    optionally, fee_per_kwh; agents outside ``agent_ids`` are left out."""
    value = trades["kwh"] * trades["price"]
    fee = trades["kwh"] * trades["fee_per_kwh"] if "fee_per_kwh" in trades else 0.0 * value
    ids = list(agent_ids)

    def by(role: str, values: pd.Series) -> pd.Series:
        return values.groupby(trades[role].to_numpy()).sum().reindex(ids, fill_value=0.0).astype(float)

    ones = pd.Series(1.0, index=trades.index)
    totals = pd.DataFrame(
        {
            "bought_kwh": by("buyer", trades["kwh"]),
            "sold_kwh": by("seller", trades["kwh"]),
            "paid": by("buyer", value),
            "received": by("seller", value),
            "fees": by("buyer", fee) + by("seller", fee),
            "trades": by("buyer", ones) + by("seller", ones),
        }
    )
    totals["trades"] = totals["trades"].astype("int64")
    totals.index.name = "agent"
    return totals


def check_public_key_file(folder: Path, agent_ids: Sequence[str], public_keys: Sequence[bytes]) -> list[str]:
    """Problems if ``keys/public_keys.json`` exists and disagrees with the ledger's agents table."""
    name = f"{KEYS_DIR}/{PUBLIC_KEYS}"
    try:
        listed = read_public_key_file(folder)
    except LedgerError as err:
        return [str(err)]
    if listed is None:
        return []
    ledger = {a: k.hex() for a, k in zip(agent_ids, public_keys, strict=True)}
    problems = []
    if list(listed) != list(ledger):
        problems.append(
            f"{name} lists {len(listed)} agents ({', '.join(list(listed)[:5])}, …) but the ledger has "
            f"{len(ledger)} ({', '.join(list(ledger)[:5])}, …), or in another order"
        )
    wrong = [a for a in ledger if a in listed and listed[a] != ledger[a]]
    if wrong:
        problems.append(f"{name}: public key of agent(s) {', '.join(wrong[:5])} differs from the ledger's")
    return problems
