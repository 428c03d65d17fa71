"""Checks of a ledger against the rest of its run directory: per-agent totals, ``trades.parquet``, key file.

The ledger's totals are what its trades say: kWh bought and sold, money paid and received (kWh × price,
currency), fees (fee_per_kwh × kWh, paid by each party) and trade counts per agent. ``trades.parquet`` has no
fees, so the comparison covers counts, kWh and money (relative tolerance 1e-9, for summation order).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from powergrid.analytics.results import TRADES
from powergrid.ledger.errors import LedgerError
from powergrid.ledger.keys import KEYS_DIR, PUBLIC_KEYS, read_public_key_file

TOTAL_COLUMNS = ("bought_kwh", "sold_kwh", "paid", "received", "fees", "trades")
COMPARED = ("bought_kwh", "sold_kwh", "paid", "received", "trades")
RTOL = 1e-9
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


def _per_step(trades: pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"step": trades["step"].astype("int64"), "kwh": trades["kwh"], "value": trades["kwh"] * trades["price"]}
    )
    return frame.groupby("step").agg(n=("kwh", "size"), kwh=("kwh", "sum"), value=("value", "sum"))


def _step_problem(ledger: pd.DataFrame, parquet: pd.DataFrame) -> str | None:
    """The first step whose trade count, kWh or money differs, with its block, or None."""
    a, b = _per_step(ledger), _per_step(parquet)
    both = a.join(b, how="outer", lsuffix="_l", rsuffix="_p").fillna(0.0)
    differ = (
        (both["n_l"] != both["n_p"])
        | ~np.isclose(both["kwh_l"], both["kwh_p"], rtol=RTOL, atol=0.0)
        | ~np.isclose(both["value_l"], both["value_p"], rtol=RTOL, atol=0.0)
    )
    if not differ.any():
        return None
    step = int(both.index[differ.to_numpy()][0])
    row = both.loc[step]
    blocks = ledger.loc[ledger["step"] == step, "block"]
    if len(blocks):
        where = f"block {int(blocks.iloc[0])} (step {step})"
    else:  # where the block would be in a chain with one block per step that has trades
        index = int(ledger.loc[ledger["step"] < step, "step"].nunique()) + 1
        where = f"block {index} (step {step}) is missing from the ledger:"
    return (
        f"trades.parquet disagrees with the ledger first at {where} ledger {int(row['n_l'])} trades, "
        f"{row['kwh_l']:.6g} kWh, {row['value_l']:.6g} money; trades.parquet {int(row['n_p'])} trades, "
        f"{row['kwh_p']:.6g} kWh, {row['value_p']:.6g} money"
    )


def compare_with_trades_parquet(
    folder: Path, agent_ids: Sequence[str], ledger: pd.DataFrame, totals: pd.DataFrame
) -> list[str]:
    """Problems where the ledger's trades (``TRADE_COLUMNS``) and per-agent totals disagree with the run's
    ``trades.parquet``; a missing or unreadable file is itself a problem."""
    path = Path(folder) / TRADES
    if not path.exists():
        return [f"no {TRADES} in {folder}: the ledger cannot be checked against the run's trades"]
    columns = ["step", "buyer", "seller", "kwh", "price"]
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as err:
        return [f"{TRADES} cannot be read: {err}"]
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        return [f"{TRADES} lacks column(s) {', '.join(missing)}"]
    parquet = table.select(columns).to_pandas()
    for role in ("buyer", "seller"):
        parquet[role] = parquet[role].astype(str)
    problems = []
    step = _step_problem(ledger, parquet)
    if step:
        problems.append(step)
    if len(parquet) != len(ledger):
        problems.append(f"trade count: ledger {len(ledger)}, {TRADES} {len(parquet)}")
    known = set(agent_ids)
    strangers = sorted({*parquet["buyer"], *parquet["seller"]} - known)
    if strangers:
        problems.append(f"{TRADES} names agent(s) not in the ledger: {', '.join(strangers[:5])}")
    theirs = agent_totals(agent_ids, parquet)
    close = np.isclose(totals[list(COMPARED)], theirs[list(COMPARED)], rtol=RTOL, atol=1e-12)
    bad = np.flatnonzero(~close.all(axis=1))
    if bad.size:
        details = []
        for i in bad[:3]:
            col = COMPARED[int(np.flatnonzero(~close[i])[0])]
            details.append(f"{agent_ids[i]} {col} {totals.iloc[i][col]:.9g} vs {theirs.iloc[i][col]:.9g}")
        problems.append(
            f"per-agent totals differ from {TRADES} for {bad.size} agent(s) (ledger vs parquet): " + "; ".join(details)
        )
    return problems
