"""Market-clearing kernels over arrays of orders (quantities and prices only), with an optional batch axis."""

from heron.clearing.auction import clear_double_auction
from heron.clearing.book import ClearingResult, Trades, pro_rata
from heron.clearing.fees import fee_adjusted_limits, fee_band, settle_trades
from heron.clearing.posted import clear_posted_price, mid_band_price, supply_demand_ratio_price
from heron.clearing.reduction import clear_trade_reduction

__all__ = [
    "ClearingResult",
    "Trades",
    "clear_double_auction",
    "clear_posted_price",
    "clear_trade_reduction",
    "fee_adjusted_limits",
    "fee_band",
    "mid_band_price",
    "pro_rata",
    "settle_trades",
    "supply_demand_ratio_price",
]
