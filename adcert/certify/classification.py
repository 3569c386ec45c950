"""Cohen et al. (2019) CERTIFY and PREDICT for any classifier (CERTIFICATION_MATH.md §1).

The base model is any callable mapping a batch tensor (B, ...) of inputs in model-input
space to a tensor of B class indices. This is the template the dense certifiers follow:
draw perturbed copies through :mod:`adcert.noise`, count, then apply :mod:`adcert.stats`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
from scipy.stats import binomtest

from adcert import ABSTAIN
from adcert.noise.gaussian import perturbed_batches
from adcert.noise.photometric import make_perturbation
from adcert.stats import cohen_radius, lower_confidence_bound
from adcert.stats._checks import check_alpha, check_sample_sizes
from adcert.stats.parameter_ranges import Region, certified_range

Classifier = Callable[[torch.Tensor], torch.Tensor]


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


def sample_counts(
    model: Classifier,
    x: torch.Tensor,
    sigma: float,
    num: int,
    batch_size: int,
    generator: torch.Generator,
    transform: str = "gaussian",
) -> np.ndarray:
    """Class counts of ``model`` over ``num`` copies of ``x`` under N(0, σ²I) noise, or
    one camera-effect parameter per copy (:func:`adcert.noise.make_perturbation`)."""
    counts = np.zeros(0, dtype=np.int64)
    perturbation = make_perturbation(transform, sigma)
    with torch.no_grad():
        for batch in perturbed_batches(x, num, batch_size, perturbation, generator):
            labels = torch.as_tensor(model(batch)).reshape(-1).to("cpu", torch.int64).numpy()
            if labels.size and labels.min() < 0:
                raise ValueError("the classifier returned a negative class index")
            batch_counts = np.bincount(labels)
            if batch_counts.size > counts.size:
                counts = np.pad(counts, (0, batch_counts.size - counts.size))
            counts[: batch_counts.size] += batch_counts
    return counts


def certify(
    model: Classifier,
    x: torch.Tensor,
    sigma: float,
    n0: int,
    n: int,
    alpha: float,
    batch_size: int,
    generator: torch.Generator,
    transform: str = "gaussian",
) -> ClassCertificate:
    """CERTIFY of Cohen et al.: a class and an ℓ2 radius, or abstain.

    ``n0`` selection samples pick the top class ĉ; ``n`` fresh estimation samples give
    its count k and the one-sided Clopper–Pearson bound p̲A at level ``alpha``. If
    p̲A > 1/2 the result is (ĉ, σ Φ⁻¹(p̲A)). Guarantee: with probability ≥ 1 − alpha
    over the sampling, a non-abstaining answer equals the smoothed classifier
    g(x + δ) for every ‖δ‖₂ < radius (model-input space, RGB in [0, 1]).

    With a camera-effect ``transform`` the same holds for g(φ(x, θ')) with θ' anywhere
    in ``certified_range`` (|b'| < radius, contrast factors e^{±radius}, or the gamma
    interval of :func:`adcert.stats.gamma_interval`; radius None for gamma).
    """
    alpha = check_alpha(alpha)
    check_sample_sizes(n0, n)
    selection = sample_counts(model, x, sigma, int(n0), batch_size, generator, transform)
    guess = int(np.argmax(selection))
    estimation = sample_counts(model, x, sigma, int(n), batch_size, generator, transform)
    count = int(estimation[guess]) if guess < estimation.size else 0
    p_a_lower = float(lower_confidence_bound(count, int(n), alpha))
    certified = p_a_lower > 0.5
    radius = float(cohen_radius(p_a_lower, sigma)) if certified else 0.0
    return ClassCertificate(
        label=guess if certified else ABSTAIN,
        radius=None if transform in ("gamma", "brightness_contrast") and certified else radius,
        p_a_lower=p_a_lower,
        count=count,
        n0=int(n0),
        n=int(n),
        sigma=float(sigma),
        alpha=alpha,
        transform=transform,
    )


def predict(
    model: Classifier,
    x: torch.Tensor,
    sigma: float,
    n: int,
    alpha: float,
    batch_size: int,
    generator: torch.Generator,
    transform: str = "gaussian",
) -> int:
    """PREDICT of Cohen et al.: the smoothed classifier's class, or ``ABSTAIN``.

    With top-two counts nA, nB of ``n`` samples, returns ĉA when the two-sided binomial
    test of nA against Bin(nA + nB, 1/2) has p-value ≤ ``alpha``. Guarantee: the
    probability of returning a class other than g(x) is ≤ alpha.
    """
    alpha = check_alpha(alpha)
    if int(n) < 1:
        raise ValueError(f"n must be a positive sample count, got {n}")
    counts = sample_counts(model, x, sigma, int(n), batch_size, generator, transform)
    top_two = np.argsort(counts)[::-1][:2]
    count_a = int(counts[top_two[0]])
    count_b = int(counts[top_two[1]]) if top_two.size > 1 else 0
    if binomtest(count_a, count_a + count_b, 0.5).pvalue > alpha:
        return ABSTAIN
    return int(top_two[0])
