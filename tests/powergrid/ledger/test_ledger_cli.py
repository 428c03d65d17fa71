"""`heron ledger verify` and `show` through Typer's test runner: exit codes, located problems, filters, CSV."""

from __future__ import annotations

import contextlib
import sqlite3

import pandas as pd
from ledger_fixtures import make_trades
from typer.testing import CliRunner

from powergrid.cli.ledger import ledger_app

runner = CliRunner()


def test_verify_clean_ledger_exits_0(clean_run):
    result = runner.invoke(ledger_app, ["verify", str(clean_run)])
    assert result.exit_code == 0, result.output
    assert "ledger OK" in result.output
    assert "7 (genesis + 6)" in result.output
    assert "22 (each signed" in result.output


def test_verify_tampered_ledger_exits_1_and_names_the_block(run_copy):
    with contextlib.closing(sqlite3.connect(run_copy / "ledger.sqlite", isolation_level=None)) as db:
        db.execute("UPDATE trades SET price = price + 0.01 WHERE block = 5 AND seq = 3")
    result = runner.invoke(ledger_app, ["verify", str(run_copy)])
    assert result.exit_code == 1, result.output
    assert "ledger FAILED verification" in result.output
    problems = [line.strip() for line in result.output.splitlines() if line.strip().startswith("- ")]
    assert problems[0] == "- block 5, trade 3: buyer signature (h01) does not match the trade" or problems[
        0
    ].startswith("- block 5, trade 3: buyer signature")
    assert "Traceback" not in result.output
    assert "internal error" not in result.output  # the command's own exit 1 is not a bug


def test_bad_input_exits_2_without_traceback(tmp_path):
    for args, message in (
        (["verify", str(tmp_path / "missing")], "no such run directory"),
        (["verify", str(tmp_path)], "has no ledger.sqlite"),
        (["show", str(tmp_path)], "has no ledger.sqlite"),
    ):
        result = runner.invoke(ledger_app, args)
        assert result.exit_code == 2, result.output
        assert message in result.output
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_show_agent_filter_and_csv(clean_run, tmp_path):
    result = runner.invoke(ledger_app, ["show", str(clean_run), "--agent", "h02"])
    assert result.exit_code == 0, result.output
    table_rows = [line for line in result.output.splitlines() if "h0" in line]
    assert table_rows
    assert all("h02" in line for line in table_rows)
    out = tmp_path / "h02.csv"
    result = runner.invoke(ledger_app, ["show", str(clean_run), "--agent", "h02", "--csv", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out, float_precision="round_trip")
    trades = make_trades()
    expected = sum(int((t.buyer == 2).sum() + (t.seller == 2).sum()) for t in trades)
    assert len(frame) == expected == len(table_rows)
    assert ((frame["buyer"] == "h02") | (frame["seller"] == "h02")).all()
    assert list(frame.columns[:6]) == ["block", "step", "sim_time", "seq", "buyer", "seller"]
    bought = [x for t in trades for x in t.kwh[t.buyer == 2].tolist()]
    assert frame.loc[frame["buyer"] == "h02", "kwh"].tolist() == bought  # exact: the CSV keeps full float precision


def test_show_block_and_unknown_agent(clean_run):
    result = runner.invoke(ledger_app, ["show", str(clean_run), "--block", "4"])
    assert result.exit_code == 0, result.output
    assert "7 trade(s)" in result.output
    result = runner.invoke(ledger_app, ["show", str(clean_run), "--agent", "nobody"])
    assert result.exit_code == 2
    assert "agent 'nobody' is not in the ledger" in result.output


def test_a_ledger_damaged_after_its_header_is_bad_input_for_verify_and_show(run_copy):
    path = run_copy / "ledger.sqlite"
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 3 * page
    data[page:] = b"\xff" * (len(data) - page)  # every page past the first (header and schema) overwritten
    path.write_bytes(bytes(data))
    for args in (["verify", str(run_copy)], ["show", str(run_copy)]):
        result = runner.invoke(ledger_app, args)
        assert result.exit_code == 2, result.output
        assert "not a readable ledger" in result.output
        assert "internal error" not in result.output
