"""Coordination protocols: vertical (coordinator -> children) and horizontal (peer <-> peer)."""

from heron.protocols.consensus import (
    ConsensusProtocol,
    DispatchResult,
    central_dispatch,
    metropolis_weights,
    path_graph,
)
from heron.protocols.horizontal import P2PResult, P2PTradingProtocol
from heron.protocols.vertical import PriceSignalProtocol, SetpointProtocol

__all__ = [
    "ConsensusProtocol",
    "DispatchResult",
    "P2PResult",
    "P2PTradingProtocol",
    "PriceSignalProtocol",
    "SetpointProtocol",
    "central_dispatch",
    "metropolis_weights",
    "path_graph",
]
