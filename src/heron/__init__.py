"""HERON: domain-agnostic coordination — agent trees, protocols, messaging and market-clearing kernels.

Nothing in this package knows about electricity: quantities are plain numbers and prices are plain numbers.
"""

__version__ = "0.1.0"
