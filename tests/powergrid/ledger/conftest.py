"""Fixtures of the ledger tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ledger_fixtures import write_run


@pytest.fixture(scope="session")
def clean_run(tmp_path_factory) -> Path:
    """A clean run directory built once per session; tests tamper with copies."""
    return write_run(tmp_path_factory.mktemp("ledger") / "run")


@pytest.fixture
def run_copy(clean_run, tmp_path) -> Path:
    """A fresh copy of the clean run directory, free to tamper with."""
    return shutil.copytree(clean_run, tmp_path / "run")
