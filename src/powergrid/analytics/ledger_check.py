"""The ledger of a run checked against the run's results: its trades and per-agent totals against
``trades.parquet``.

Analytics reads the results and may import the ledger, not the reverse: ``verify_run_ledger`` is
``powergrid.ledger.verify_ledger`` (chain, signatures, key file) with this comparison as a cross-check.
``trades.parquet`` has no fees, so the comparison covers counts, kWh and money (relative tolerance 1e-9, for
summation order).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from powergrid.ledger.crosscheck import agent_totals
from powergrid.ledger.run_directory import TRADES
from powergrid.ledger.verify import VerifyReport, verify_ledger

#: Per-agent totals compared with ``trades.parquet`` (it has no fees).
COMPARED = ("bought_kwh", "sold_kwh", "paid", "received", "trades")
RTOL = 1e-9


def verify_run_ledger(folder: Path) -> VerifyReport:
    """Verify ``folder/ledger.sqlite`` (``verify_ledger``) and compare its trades and per-agent totals with the
    run's ``trades.parquet`` (a missing or unreadable file is a problem); LedgerError if there is no ledger."""
    return verify_ledger(folder, cross_checks=[compare_with_trades_parquet])


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
