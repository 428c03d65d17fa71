"""The P2P market (mechanisms over heron's clearing kernels, price band, fees) and grid settlement."""

from powergrid.market.mechanisms import MarketOutcome, clear_market
from powergrid.market.rules import GridLimits, MarketRules
from powergrid.market.settlement import GridSettlement, grid_bill, settle_with_grid

__all__ = [
    "GridLimits",
    "GridSettlement",
    "MarketOutcome",
    "MarketRules",
    "clear_market",
    "grid_bill",
    "settle_with_grid",
]
