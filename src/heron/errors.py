"""heron's own error types: one base class, one subclass per part. Each is also a ValueError (bad input)."""

from __future__ import annotations


class HeronError(ValueError):
    """Base of every error heron raises for bad input."""


class OrderBookError(HeronError):
    """An order book or clearing argument is malformed (shapes, non-finite values, price rule parameters)."""


class ProtocolError(HeronError):
    """A coordination protocol got bad parameters or inputs (bounds, prices, graphs, fees)."""


class AgentTreeError(HeronError):
    """The agent tree is malformed (duplicate ids, bad bounds)."""


class MessagingError(HeronError):
    """The message broker got bad settings (latency, drop probability)."""
