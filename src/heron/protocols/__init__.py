"""Coordination protocols: vertical (coordinator -> children) and horizontal (peer <-> peer)."""

from heron.protocols.horizontal import ConsensusProtocol, P2PResult, P2PTradingProtocol, metropolis_weights
from heron.protocols.vertical import PriceSignalProtocol, SetpointProtocol

__all__ = [
    "ConsensusProtocol",
    "P2PResult",
    "P2PTradingProtocol",
    "PriceSignalProtocol",
    "SetpointProtocol",
    "metropolis_weights",
]
