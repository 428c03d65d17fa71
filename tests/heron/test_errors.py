"""heron raises its own error types (each a HeronError, so also a ValueError) and knows nothing of powergrid."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import heron
from heron.agents import CoordinatorAgent, FieldAgent
from heron.clearing import clear_double_auction
from heron.errors import AgentTreeError, HeronError, MessagingError, OrderBookError, ProtocolError
from heron.messaging import InMemoryBroker
from heron.protocols import P2PTradingProtocol, SetpointProtocol


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: clear_double_auction(np.ones(3), np.ones(2)), OrderBookError, "same shape"),
        (lambda: clear_double_auction(np.array([1.0, -1.0]), np.ones(2), k=2.0), OrderBookError, "k must be"),
        (lambda: P2PTradingProtocol(fee_per_unit=-1.0), ProtocolError, "fee_per_unit"),
        (lambda: SetpointProtocol().split(np.zeros(2), np.ones(2), np.zeros(2)), ProtocolError, "low must be"),
        (lambda: FieldAgent("g", low=2.0, high=1.0), AgentTreeError, "bounds"),
        (lambda: CoordinatorAgent("mg", (FieldAgent("a"), FieldAgent("a"))), AgentTreeError, "duplicate"),
        (lambda: InMemoryBroker(drop_probability=2.0), MessagingError, "drop_probability"),
    ],
)
def test_each_part_raises_its_own_error_type(make, error, message):
    with pytest.raises(error, match=message) as caught:
        make()
    assert isinstance(caught.value, HeronError)
    assert isinstance(caught.value, ValueError)


def test_heron_imports_nothing_of_powergrid():
    root = Path(heron.__file__).parent
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n.split(".")[0] == "powergrid" for n in names), f"{path.name} imports {names}"
