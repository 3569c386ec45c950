"""Cohen et al. (2019) CERTIFY and PREDICT over class counts (docs/certificates.md §1).

Counts in, certificates out: ``counts[c]`` is how many of the perturbed copies of one
input the base classifier assigned to class c. Drawing the copies and running the model
happen in :mod:`adcert.pipeline.classification`; this module needs neither torch nor a
model, the template the dense certifiers follow.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import binomtest

from adcert import ABSTAIN
from adcert.stats import cohen_radius, lower_confidence_bound
from adcert.stats._checks import check_alpha, check_sigma
from adcert.stats.parameter_ranges import Region, certified_range, check_transform

# Camera effects whose certified set is not an interval |θ'| < R: radius None.
_NO_RADIUS = ("gamma", "brightness_contrast")


@dataclass(frozen=True)
class ClassCertificate:
    """Outcome of :func:`certify`: ``label`` is ``ABSTAIN`` when nothing is certified."""

    label: int
    radius: float | None  # ℓ2 in model-input space, or in parameter units; 0.0 abstaining
    p_a_lower: float
    count: int  # votes for the selected class among the n estimation samples
    n0: int
    n: int
    sigma: float
    alpha: float
    transform: str = "gaussian"

    @property
    def abstained(self) -> bool:
        return self.label == ABSTAIN

    @property
    def certified_range(self) -> Region:
        return certified_range(self.transform, self.sigma, self.p_a_lower)

    def to_record(self) -> dict:
        method = "cohen_l2" if self.transform == "gaussian" else "parameter_smoothing"
        return {"method": method, **asdict(self),
                "certified_range": self.certified_range.to_record()}


def _check_counts(counts, name: str = "counts") -> np.ndarray:
    """``counts`` as a 1-D int64 array of non-negative integers with a positive total."""
    array = np.asarray(counts)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of class counts, "
                         f"got shape {array.shape}")
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer)
                                   or np.all(np.mod(array, 1) == 0)):
        raise ValueError(f"{name} must hold integer counts, got {array.dtype}")
    array = array.astype(np.int64)
    if array.min() < 0:
        raise ValueError(f"{name} must be non-negative")
    if array.sum() < 1:
        raise ValueError(f"{name} must count at least one sample")
    return array


def certify(
    selection_counts,
    estimation_counts,
    sigma: float,
    alpha: float,
    transform: str = "gaussian",
) -> ClassCertificate:
    """CERTIFY of Cohen et al.: a class and a certified radius, or abstain.

    ĉ is the most frequent class of the n0 = Σ ``selection_counts`` selection samples
    (lowest index on ties); k is its count among the n = Σ ``estimation_counts``
    estimation samples, and p̲A the one-sided Clopper–Pearson lower bound of
    P(f = ĉ) at level ``alpha``. If p̲A > 1/2 the result is (ĉ, σ Φ⁻¹(p̲A)), else abstain
    (radius 0.0).

    Guarantee: if the two count vectors come from independent samples of the base
    model under the smoothing law, then with probability ≥ 1 − alpha a non-abstaining
    answer equals the smoothed classifier g(x + δ) for every ‖δ‖₂ < radius
    (model-input space, RGB in [0, 1]). With a camera-effect ``transform`` the same
    holds for g(φ(x, θ')) with θ' anywhere in ``certified_range`` (|b'| < radius,
    contrast factors e^{±radius}, the gamma interval of :func:`adcert.stats.gamma_interval`
    or the brightness∘contrast ellipse; radius None for the last two).
    """
    selection = _check_counts(selection_counts, "selection_counts")
    estimation = _check_counts(estimation_counts, "estimation_counts")
    sigma, alpha = check_sigma(sigma), check_alpha(alpha)
    transform = check_transform(transform)
    n0, n = int(selection.sum()), int(estimation.sum())
    guess = int(np.argmax(selection))
    count = int(estimation[guess]) if guess < estimation.size else 0
    p_a_lower = float(lower_confidence_bound(count, n, alpha))
    certified = p_a_lower > 0.5
    radius: float | None = float(cohen_radius(p_a_lower, sigma)) if certified else 0.0
    if certified and transform in _NO_RADIUS:
        radius = None
    return ClassCertificate(
        label=guess if certified else ABSTAIN,
        radius=radius,
        p_a_lower=p_a_lower,
        count=count,
        n0=n0,
        n=n,
        sigma=sigma,
        alpha=alpha,
        transform=transform,
    )


def predict(counts, alpha: float) -> int:
    """PREDICT of Cohen et al.: the smoothed classifier's class, or ``ABSTAIN``.

    With top-two counts nA ≥ nB of ``counts`` (lowest index first on ties), returns ĉA
    when the two-sided binomial test of nA against Bin(nA + nB, 1/2) has p-value
    ≤ ``alpha``. Guarantee: if ``counts`` come from samples of the base model under the
    smoothing law, the probability of returning a class other than g(x) is ≤ alpha.
    """
    counts = _check_counts(counts)
    alpha = check_alpha(alpha)
    top_two = np.argsort(-counts, kind="stable")[:2]
    count_a = int(counts[top_two[0]])
    count_b = int(counts[top_two[1]]) if top_two.size > 1 else 0
    if binomtest(count_a, count_a + count_b, 0.5).pvalue > alpha:
        return ABSTAIN
    return int(top_two[0])
