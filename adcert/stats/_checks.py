"""Argument checks shared by the statistics functions: each names the bad argument."""

from __future__ import annotations

import numpy as np


def check_alpha(alpha: float, name: str = "alpha") -> float:
    alpha = float(alpha)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"{name} must lie in (0, 1), got {alpha}")
    return alpha


def check_sigma(sigma: float, name: str = "sigma") -> float:
    sigma = float(sigma)
    if not (sigma > 0.0 and np.isfinite(sigma)):
        raise ValueError(f"{name} must be a positive finite number, got {sigma}")
    return sigma


def check_tau(tau: float) -> float:
    tau = float(tau)
    if not 0.5 < tau < 1.0:
        raise ValueError(f"tau must lie in (0.5, 1), got {tau}")
    return tau


def check_probability(p: np.ndarray | float, name: str) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    if np.any(~((p >= 0.0) & (p <= 1.0))):
        raise ValueError(f"{name} must lie in [0, 1]")
    return p


def check_counts(k: np.ndarray | int, n: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    k = np.asarray(k)
    n = np.asarray(n)
    if np.any(n < 1):
        raise ValueError("n must be a positive sample count")
    if np.any(k < 0):
        raise ValueError("k must be a non-negative count")
    if np.any(k > n):
        raise ValueError("k must not exceed n")
    return k, n


def check_sample_count(n, name: str = "n") -> int:
    """A positive integer sample count (an int, or a float without a fraction)."""
    if isinstance(n, bool) or not float(n).is_integer() or int(n) < 1:
        raise ValueError(f"{name} must be a positive integer sample count, got {n}")
    return int(n)


def check_sample_sizes(n0: int, n: int) -> None:
    if int(n0) < 1:
        raise ValueError(f"n0 must be a positive sample count, got {n0}")
    if int(n) < 1:
        raise ValueError(f"n must be a positive sample count, got {n}")
    if int(n0) > int(n):
        raise ValueError(f"n0 ({n0}) must not exceed n ({n})")
