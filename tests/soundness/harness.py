"""What every soundness check shares: count wrong certificates over independent trials of
an analytic model whose exact answer is known, and bound their rate.

A certifier at level α is sound when P(wrong certificate) ≤ α. From ``wrong`` failures in
``trials`` independent trials the one-sided Clopper–Pearson upper bound at confidence
1 − ``confidence`` must be ≤ α. A broken certifier (e.g. without its multiple-testing
correction) must make :func:`assert_sound` fail; the suite runs those as expected
failures to show it has the power to catch them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.stats import beta

# Level of the test *about* the certifier, separate from the certifier's own α.
CONFIDENCE = 1e-3
MIN_TRIALS = 1000


@dataclass(frozen=True)
class SoundnessResult:
    name: str
    alpha: float
    trials: int
    wrong: int

    def __post_init__(self) -> None:
        # Plain Python numbers (counts often arrive as numpy integers), so the log is JSON.
        for field, kind in (("alpha", float), ("trials", int), ("wrong", int)):
            object.__setattr__(self, field, kind(getattr(self, field)))

    @property
    def rate(self) -> float:
        return self.wrong / self.trials

    @property
    def upper(self) -> float:
        """Clopper–Pearson upper bound (confidence 1 − CONFIDENCE) of the wrong rate."""
        if self.wrong >= self.trials:
            return 1.0
        return float(beta.ppf(1.0 - CONFIDENCE, self.wrong + 1, self.trials - self.wrong))

    @property
    def lower(self) -> float:
        """Clopper–Pearson lower bound (confidence 1 − CONFIDENCE) of the wrong rate."""
        if self.wrong == 0:
            return 0.0
        return float(beta.ppf(CONFIDENCE, self.wrong, self.trials - self.wrong + 1))

    def line(self) -> str:
        return (f"{self.name}: alpha={self.alpha} trials={self.trials} wrong={self.wrong} "
                f"rate={self.rate:.4f} upper={self.upper:.4f}")


def assert_sound(name: str, wrong: int, trials: int, alpha: float) -> SoundnessResult:
    """Fail unless the upper confidence bound of the wrong-certificate rate is ≤ ``alpha``."""
    assert trials >= MIN_TRIALS, f"{name}: {trials} trials, the suite needs ≥ {MIN_TRIALS}"
    result = SoundnessResult(name, alpha, trials, wrong)
    print(result.line())
    _log(result)
    assert result.upper <= alpha, f"unsound: {result.line()}"
    return result


def assert_caught(name: str, wrong: int, trials: int, alpha: float) -> SoundnessResult:
    """For a deliberately broken certifier: fail unless the *lower* confidence bound of its
    wrong-certificate rate exceeds ``alpha``, i.e. the suite really sees the violation.
    Not logged (its xfail twin logs the same counts through :func:`assert_sound`)."""
    assert trials >= MIN_TRIALS, f"{name}: {trials} trials, the suite needs ≥ {MIN_TRIALS}"
    result = SoundnessResult(name, alpha, trials, wrong)
    print(f"{result.line()} lower={result.lower:.4f}")
    assert result.lower > alpha, f"violation not seen: {result.line()} lower={result.lower:.4f}"
    return result


def per_distinct(func: Callable[..., Any], *columns) -> list[Any]:
    """``[func(*row) for row in zip(*columns)]``, calling ``func`` once per distinct row.

    Each column is an array with one entry (a scalar or a 1-D vector) per trial. For
    certifiers that are deterministic functions of a few counts, 10⁵ trials then cost
    as many certifier calls as there are distinct rows.
    """
    arrays = [np.asarray(c) for c in columns]
    trials = len(arrays[0])
    flat = np.concatenate([a.reshape(trials, -1).astype(np.float64) for a in arrays], axis=1)
    distinct, inverse = np.unique(flat, axis=0, return_inverse=True)
    edges = np.cumsum([0] + [a[0].size for a in arrays])
    outcomes = []
    for row in distinct:
        args = [row[lo:hi].astype(a.dtype).reshape(a.shape[1:]) if a.ndim > 1
                else row[lo].astype(a.dtype).item()
                for lo, hi, a in zip(edges[:-1], edges[1:], arrays, strict=True)]
        outcomes.append(func(*args))
    return [outcomes[i] for i in inverse.reshape(-1)]


def _log(result: SoundnessResult) -> None:
    """Append to $ADCERT_SOUNDNESS_LOG (JSON lines) when set: the README's table comes
    from such a log of a full ``make soundness`` run."""
    path = os.environ.get("ADCERT_SOUNDNESS_LOG")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({**asdict(result), "rate": result.rate,
                                "upper": result.upper, "lower": result.lower}) + "\n")
