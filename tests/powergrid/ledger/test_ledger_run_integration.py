"""The ledger inside real runs: `heron run` writes it, `heron ledger verify` checks it against the run."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from powergrid.analytics.ledger_check import verify_run_ledger
from powergrid.cli import app

runner = CliRunner()


def test_a_community_run_writes_a_ledger_that_verifies_and_catches_an_edited_trades_file(tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", "community-5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "ledger.sqlite").exists()
    assert (out / "keys" / "public_keys.json").exists()
    report = verify_run_ledger(out)
    trades = pq.read_table(out / "trades.parquet")
    assert report.ok
    assert report.trades == trades.num_rows > 0
    ok = runner.invoke(app, ["ledger", "verify", str(out)])
    assert ok.exit_code == 0, ok.output
    # Edit one trade's kWh in the run's trades file: the ledger no longer agrees with it.
    kwh = trades.column("kwh").to_pylist()
    kwh[0] += 0.5
    pq.write_table(
        trades.set_column(trades.schema.get_field_index("kwh"), "kwh", pa.array(kwh)), out / "trades.parquet"
    )
    bad = runner.invoke(app, ["ledger", "verify", str(out)])
    assert bad.exit_code == 1
    assert "Traceback" not in bad.output


def test_scenarios_without_the_ledger_write_none(tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", "prosumer-20", "--controller", "grid-only", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert not (out / "ledger.sqlite").exists()
