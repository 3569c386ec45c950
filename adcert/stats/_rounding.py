"""Directed rounding: every number adcert reports lies on the safe side of the exact one.

Three kinds of helpers (docs/certificates.md §6):

- decimal rounding for text and records — :func:`floor_to` / :func:`ceil_to` (decimal
  places, as floats), :func:`floor_text` / :func:`ceil_text` (decimal places, as text) and
  :func:`format_down` / :func:`format_up` (significant digits, as text). They work on
  the exact binary value of the float through :mod:`decimal`, so the result never
  crosses the input, not even by one ulp;
- ulp steps for computed floats — :func:`step_down` / :func:`step_up` move a result a few
  units in the last place towards the safe side, to cover the rounding error of the
  floating-point operations and library functions that produced it;
- directed conversion of 50-digit :mod:`mpmath` values (:data:`MP`) to floats —
  :func:`float_down` / :func:`float_up` — and :func:`first_safe`, which finds the float
  nearest a root on the side where the certified condition holds, checked at 50 digits.
"""

from __future__ import annotations

import decimal
import math
import struct
from collections.abc import Callable
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import mpmath
import numpy as np

# Exact decimal arithmetic: a float's binary value has at most 767 significant digits and
# quantizing it to any number of places must never raise or round a second time.
_EXACT = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


# A private 50-digit mpmath context: no other library's precision setting leaks in or out.
MP = mpmath.MPContext()
MP.dps = 50
# A 50-digit evaluation is trusted to this relative accuracy (10 digits of headroom).
_MP_RTOL = MP.mpf(10) ** -40


def _quantize(value: float, exponent: int, rounding: str) -> Decimal:
    """The exact value of ``value`` rounded to a multiple of 10**exponent."""
    return Decimal(value).quantize(Decimal((0, (1,), exponent)), rounding=rounding,
                                   context=_EXACT)


def _to_places(value: float, places: int, rounding: str) -> float:
    value = float(value)
    if not math.isfinite(value):
        return value
    # float() rounds the decimal d to the nearest float. That never crosses ``value``: if
    # d ≤ value < float(d) (or the mirror case), the float ``value`` itself would lie
    # nearer to d than float(d) does.
    return float(_quantize(value, -int(places), rounding))


def floor_to(value: float, places: int = 3) -> float:
    """``value`` rounded down to ``places`` decimals (upper ends of certified ranges).

    Guarantee: the result is ≤ ``value`` exactly, and it is the float nearest the decimal
    ⌊value⌋ at ``places`` decimals, so ``f"{result:g}"`` prints that decimal (for up to six
    significant digits), which is ≤ ``value`` too. ±inf and nan are returned as they are.
    """
    return _to_places(value, places, ROUND_FLOOR)


def ceil_to(value: float, places: int = 3) -> float:
    """``value`` rounded up to ``places`` decimals (lower ends of certified ranges).

    Guarantee: the result is ≥ ``value`` exactly (the mirror image of :func:`floor_to`).
    """
    return _to_places(value, places, ROUND_CEILING)


def _places_text(value: float, places: int, rounding: str) -> str:
    value = float(value)
    if not math.isfinite(value):
        return f"{value:g}"
    rounded = _quantize(value, -int(places), rounding)
    return "0" if rounded == 0 else format(rounded.normalize(_EXACT), "f")


def floor_text(value: float, places: int = 3) -> str:
    """``value`` rounded down to ``places`` decimals, as text without trailing zeros (the
    decimal that :func:`floor_to` approximates, exactly): never above ``value``."""
    return _places_text(value, places, ROUND_FLOOR)


def ceil_text(value: float, places: int = 3) -> str:
    """``value`` rounded up to ``places`` decimals, as text: never below ``value``."""
    return _places_text(value, places, ROUND_CEILING)


def _g_text(number: Decimal, digits: int) -> str:
    """``number`` (finite, at most ``digits`` significant digits) laid out as Python's
    ``f"{x:.{digits}g}"`` lays out a float: no trailing zeros, exponent form below 1e-4
    and from 10**digits on. Pure layout: no digit changes."""
    sign, coefficient, exponent = number.as_tuple()
    text = "".join(map(str, coefficient)).lstrip("0")
    if not text:
        return "-0" if sign else "0"
    stripped = text.rstrip("0")
    exponent += len(text) - len(stripped)
    adjusted = exponent + len(stripped) - 1  # the power of ten of the leading digit
    if -4 <= adjusted < digits:
        body = format(Decimal((0, tuple(map(int, stripped)), exponent)), "f")
    else:
        mantissa = stripped[0] + ("." + stripped[1:] if len(stripped) > 1 else "")
        body = f"{mantissa}e{'-' if adjusted < 0 else '+'}{abs(adjusted):02d}"
    return ("-" if sign else "") + body


def _format(value: float, digits: int, rounding: str) -> str:
    value = float(value)
    digits = int(digits)
    if digits < 1:
        raise ValueError(f"digits must be a positive count of significant digits, got {digits}")
    if not math.isfinite(value) or value == 0.0:
        return f"{value:g}"
    exact = Decimal(value)
    rounded = _quantize(value, exact.adjusted() - digits + 1, rounding)
    # A carry (9.9996 up to 10.00) adds a digit, but only to a power of ten.
    return _g_text(rounded, digits)


def format_down(value: float, digits: int = 4) -> str:
    """``value`` as text with ``digits`` significant digits, rounded towards −∞.

    Laid out like ``f"{value:.4g}"``. Guarantee: the number the text denotes is ≤ the
    exact binary value of ``value`` (for radii, upper ends of ranges, lower bounds).
    """
    return _format(value, digits, ROUND_FLOOR)


def format_up(value: float, digits: int = 4) -> str:
    """``value`` as text with ``digits`` significant digits, rounded towards +∞.

    Guarantee: the number the text denotes is ≥ the exact binary value of ``value`` (for
    lower ends of ranges, upper bounds, error levels such as alpha).
    """
    return _format(value, digits, ROUND_CEILING)


def _step(x, ulps: int, direction: float) -> np.ndarray | float:
    x = np.asarray(x, dtype=float)
    out = x.copy()
    finite = np.isfinite(x)
    for _ in range(int(ulps)):
        out = np.where(finite, np.nextafter(out, direction), out)
    return float(out) if out.ndim == 0 else out


def step_down(x, ulps: int = 1) -> np.ndarray | float:
    """``x`` moved ``ulps`` floats towards −∞ (elementwise; ±inf and nan unchanged).

    A computed value within ``ulps`` units in the last place of the exact one becomes a
    lower bound of it. Zeros are stepped too: callers keep exact zeros themselves.
    """
    return _step(x, ulps, -np.inf)


def step_up(x, ulps: int = 1) -> np.ndarray | float:
    """``x`` moved ``ulps`` floats towards +∞: an upper bound of an exact value that the
    computed ``x`` approximates to within ``ulps`` units in the last place."""
    return _step(x, ulps, np.inf)


def float_down(x) -> float:
    """A float ≤ the number ``x`` (an :data:`MP` value, or anything it converts): the
    nearest float, or the one below it where that lies above ``x``. Non-finite ``x``
    converts as it is. ``x`` is trusted to 40 significant digits only — a float within
    that distance below it is stepped past too — unless it equals a float exactly (as
    0, 1 or 2 come out of exact operations)."""
    x = MP.mpf(x)
    result = float(x)
    if MP.isfinite(x):
        fuzzy_below = x - abs(x) * _MP_RTOL
        while MP.mpf(result) != x and MP.mpf(result) > fuzzy_below:
            result = math.nextafter(result, -math.inf)
    return result


def float_up(x) -> float:
    """A float ≥ the number ``x``: the mirror image of :func:`float_down`."""
    return -float_down(-MP.mpf(x))


def _ordinal(x: float) -> int:
    """An integer that orders floats as their values do (consecutive floats: ±1)."""
    bits = struct.unpack("<q", struct.pack("<d", x))[0]
    return bits if bits >= 0 else -(bits & 0x7FFF_FFFF_FFFF_FFFF)


def _from_ordinal(i: int) -> float:
    bits = i if i >= 0 else -i | -0x8000_0000_0000_0000
    return struct.unpack("<d", struct.pack("<q", bits))[0]


def first_safe(is_safe: Callable[[float], bool], unsafe: float, safe: float) -> float:
    """The float nearest ``unsafe`` among those from ``unsafe`` to ``safe`` for which
    ``is_safe`` holds — ``safe`` itself if no other does. ``is_safe`` must be monotone
    along the way (false, then true: the safe side of an exact root, checked at 50
    digits with :data:`MP`); a bisection over the floats themselves, at most 64 calls.

    This is how a root is rounded to its safe side: the result is the tightest float for
    which the certified condition provably holds, however the root was bracketed.
    """
    low, high = _ordinal(float(unsafe)), _ordinal(float(safe))
    while abs(high - low) > 1:
        middle = (low + high) // 2
        if is_safe(_from_ordinal(middle)):
            high = middle
        else:
            low = middle
    return _from_ordinal(high)


def figure_text(key: str, value: float, digits: int = 4) -> str:
    """A named summary figure as text, on its safe side: failure bounds
    (``*failure_bound``) and error counts or rates (``*wrong*``) rounded up, certified
    figures (``certified_*``, ``on_certified_*``) down, anything else (clean or smoothed
    readings, rates, times) to the nearest, with ``digits`` significant digits. The one
    rounding policy of the CLI headline and the report."""
    if key.endswith("failure_bound") or "wrong" in key:
        return format_up(value, digits)
    if key.startswith(("certified", "on_certified")):
        return format_down(value, digits)
    return f"{value:.{digits}g}"
