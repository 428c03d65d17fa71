"""Clearing-kernel throughput: orders per second for every mechanism, one core, batched books.

    python benchmarks/clearing_throughput.py [--markets 2000] [--orders 50] [--repeats 5]

Random books (half buyers, half sellers, limit prices on a coarse grid so ties are frequent) are cleared in one
batched call per mechanism; the figure is (markets × orders) / median wall time. Target: ≥ 1 M orders/s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from heron.clearing import clear_double_auction, clear_posted_price, clear_trade_reduction, fee_adjusted_limits


def books(markets: int, orders: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    q = rng.uniform(0.1, 5.0, (markets, orders)) * rng.choice([-1.0, 1.0], (markets, orders))
    p = rng.integers(5, 31, (markets, orders)) / 100
    return q, p


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", type=int, default=2000)
    parser.add_argument("--orders", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    q, p = books(args.markets, args.orders)
    limits = fee_adjusted_limits(q, p, 0.01)
    kernels = {
        "uniform (k-DA)": lambda: clear_double_auction(q, limits, k=0.5, pricing="uniform"),
        "pay-as-bid": lambda: clear_double_auction(q, limits, k=0.5, pricing="pay-as-bid"),
        "mcafee (trade reduction)": lambda: clear_trade_reduction(q, limits),
        "posted (mid-market)": lambda: clear_posted_price(q, np.full(args.markets, 0.175)),
    }
    n = args.markets * args.orders
    print(f"{args.markets} markets × {args.orders} orders per call, median of {args.repeats}")
    for name, run in kernels.items():
        run()  # warm-up
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        print(f"  {name:>26}: {n / statistics.median(times) / 1e6:6.2f} M orders/s")


if __name__ == "__main__":
    main()
