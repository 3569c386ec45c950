"""Inward rounding for certified ranges put in words: the text never claims more."""

from __future__ import annotations

import math


def floor_to(value: float, places: int = 3) -> float:
    """``value`` rounded down to ``places`` decimals (upper ends of certified ranges)."""
    return math.floor(value * 10**places) / 10**places


def ceil_to(value: float, places: int = 3) -> float:
    """``value`` rounded up to ``places`` decimals (lower ends of certified ranges)."""
    return math.ceil(value * 10**places) / 10**places
