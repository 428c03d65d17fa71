"""Brute-force references for every P2P mechanism, written out with Python lists and scalar arithmetic (no code
shared with ``heron.clearing``): per-order fills (+ bought / − sold, units) and payments (+ paid / − received).

A book is ``(q, p)``: signed quantities and limit prices, arrays (N,). Priority: buyers by limit descending, sellers
ascending, ties by index; the kernel's rule that slivers below ``QUANTITY_EPS`` are rounding is mirrored.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-12


def _sides(q, p):
    buyers = sorted([(p[i], q[i], i) for i in range(len(q)) if q[i] > 0], key=lambda x: (-x[0], x[2]))
    sellers = sorted([(p[i], -q[i], i) for i in range(len(q)) if q[i] < 0], key=lambda x: (x[0], x[2]))
    return buyers, sellers


def _walk(q, p, eps: float = EPS):
    """Match units while the marginal bid is at least the marginal ask. Returns (volume, last matched (bid, ask)
    or None, index of the first buyer/seller with quantity left, buyers, sellers)."""
    buyers, sellers = _sides(q, p)
    volume, bi, si, last = 0.0, 0, 0, None
    b_left = buyers[0][1] if buyers else 0.0
    s_left = sellers[0][1] if sellers else 0.0
    while bi < len(buyers) and si < len(sellers) and buyers[bi][0] >= sellers[si][0]:
        x = min(b_left, s_left)
        volume += x
        if x > eps:
            last = (buyers[bi][0], sellers[si][0])
        b_left, s_left = b_left - x, s_left - x
        if b_left <= eps:
            bi += 1
            b_left = buyers[bi][1] if bi < len(buyers) else 0.0
        if s_left <= eps:
            si += 1
            s_left = sellers[si][1] if si < len(sellers) else 0.0
    return volume, last, bi, si, buyers, sellers


def uniform_volume_and_price(q, p, k: float, eps: float = EPS) -> tuple[float, float]:
    """(volume, the k-double-auction price ``k·U + (1−k)·L`` on the clearing interval; NaN if nothing trades)."""
    volume, last, bi, si, buyers, sellers = _walk(q, p, eps)
    if last is None:
        return volume, float("nan")
    next_bid = buyers[bi][0] if bi < len(buyers) else -np.inf
    next_ask = sellers[si][0] if si < len(sellers) else np.inf
    lower, upper = max(last[1], next_bid), min(last[0], next_ask)
    return volume, k * upper + (1 - k) * lower


def _allocate(side, marginal: float, better, volume: float) -> dict[int, float]:
    """Strictly better orders in full, the marginal price level pro rata to quantity."""
    fills = {i: qty for price, qty, i in side if better(price, marginal)}
    rest = volume - sum(fills.values())
    tied = [(qty, i) for price, qty, i in side if price == marginal]
    total = sum(x for x, _ in tied)
    for qty, i in tied:
        fills[i] = rest * qty / total
    return fills


def double_auction(q, p, k: float, pricing: str) -> tuple[np.ndarray, np.ndarray]:
    """Uniform or pay-as-bid: fills and payments per order. Pay-as-bid pairs the fills in priority order and prices
    each piece at ``k·bid + (1−k)·ask`` of its own two orders."""
    n = len(q)
    fills, pay = np.zeros(n), np.zeros(n)
    volume, last, _, _, buyers, sellers = _walk(q, p)
    if last is None:
        return fills, pay
    marginal_bid = min(b for b, qty, i in buyers if b >= last[0])
    marginal_ask = max(a for a, qty, i in sellers if a <= last[1])
    fb = _allocate(buyers, marginal_bid, lambda x, m: x > m, volume)
    fs = _allocate(sellers, marginal_ask, lambda x, m: x < m, volume)
    price = uniform_volume_and_price(q, p, k)[1]
    b_queue = [[fb[i], p[i], i] for _, _, i in buyers if fb.get(i, 0.0) > 0]
    s_queue = [[fs[i], p[i], i] for _, _, i in sellers if fs.get(i, 0.0) > 0]
    while b_queue and s_queue:
        b, s = b_queue[0], s_queue[0]
        x = min(b[0], s[0])
        piece = price if pricing == "uniform" else k * b[1] + (1 - k) * s[1]
        fills[b[2]] += x
        fills[s[2]] -= x
        pay[b[2]] += x * piece
        pay[s[2]] -= x * piece
        b[0] -= x
        s[0] -= x
        if b[0] <= 1e-12:
            b_queue.pop(0)
        if s[0] <= 1e-12:
            s_queue.pop(0)
    return fills, pay


def trade_reduction(q, p) -> tuple[np.ndarray, float, float]:
    """McAfee's trade reduction: (fills, buyers' price, sellers' price). The marginal pair of the crossing is left
    out; buyers above it pay the marginal bid, sellers below it receive the marginal ask, the short side of those
    is filled in full and the long side pro rata."""
    _, last, _, _, buyers, sellers = _walk(q, p)
    fills = np.zeros(len(q))
    if last is None:
        return fills, np.nan, np.nan
    win_b = [(qty, i) for bid, qty, i in buyers if bid > last[0]]
    win_s = [(qty, i) for ask, qty, i in sellers if ask < last[1]]
    demand, supply = sum(x for x, _ in win_b), sum(x for x, _ in win_s)
    volume = min(demand, supply)
    for qty, i in win_b:
        fills[i] = qty * volume / demand
    for qty, i in win_s:
        fills[i] = -qty * volume / supply
    return fills, last[0], last[1]


def posted(q, price: float) -> tuple[np.ndarray, np.ndarray]:
    """Posted price: the short side in full, the long side pro rata; every unit at ``price``."""
    demand = sum(x for x in q if x > 0)
    supply = -sum(x for x in q if x < 0)
    volume = min(demand, supply)
    fills = np.array([x * volume / demand if x > 0 else x * volume / supply if x < 0 else 0.0 for x in q])
    if volume <= 0:
        fills[:] = 0.0
    return fills, fills * price


def sdr_price(supply: float, demand: float, lo: float, hi: float) -> float:
    """Liu et al. (2017): ``lo·hi / ((hi − lo)·SDR + lo)`` below SDR = 1, ``lo`` from there."""
    ratio = supply / demand
    return lo if ratio >= 1 else lo * hi / ((hi - lo) * ratio + lo)


def community_market(mechanism: str, q, limit, lo: float, hi: float, fee: float, k: float):
    """(fills, payments, fees, operator surplus) of one community step, fees per side per unit (``bid − fee`` and
    ``ask + fee`` enter the book; posted prices in ``[lo + fee, hi − fee]``)."""
    n = len(q)
    none = (np.zeros(n), np.zeros(n), np.zeros(n), 0.0)
    has_both = any(x > 0 for x in q) and any(x < 0 for x in q)
    if mechanism == "none" or not has_both:
        return none
    shifted = [limit[i] - fee if q[i] > 0 else limit[i] + fee if q[i] < 0 else limit[i] for i in range(n)]
    surplus = 0.0
    if mechanism in ("uniform", "pay-as-bid"):
        fills, pay = double_auction(q, np.array(shifted), k, mechanism)
    elif mechanism == "mcafee":
        fills, buy_price, sell_price = trade_reduction(q, np.array(shifted))
        pay = np.where(fills > 0, fills * buy_price, np.where(fills < 0, fills * sell_price, 0.0))
        surplus = float(pay.sum())
    else:
        a, b = lo + fee, hi - fee
        if a > b:
            return none
        supply, demand = -sum(x for x in q if x < 0), sum(x for x in q if x > 0)
        price = 0.5 * (a + b) if mechanism == "mid-market" else sdr_price(supply, demand, a, b)
        fills, pay = posted(q, price)
    return fills, pay, fee * np.abs(fills), surplus
