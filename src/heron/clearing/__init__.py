"""Market-clearing kernels over arrays of orders (quantities and prices only), with an optional batch axis."""

from heron.clearing.auction import clear_double_auction
from heron.clearing.book import ClearingResult, Trades
from heron.clearing.fees import fee_adjusted_limits, fee_band, settle_trades
from heron.clearing.posted import clear_posted_price, mid_band_price, supply_demand_ratio_price

__all__ = [
    "ClearingResult",
    "Trades",
    "clear_double_auction",
    "clear_posted_price",
    "fee_adjusted_limits",
    "fee_band",
    "mid_band_price",
    "settle_trades",
    "supply_demand_ratio_price",
]
