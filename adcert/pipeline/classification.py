"""Cohen et al.'s CERTIFY and PREDICT for any classifier: sample, count, certify.

The base model is any callable mapping a batch tensor (B, ...) of inputs in model-input
space to B class indices. Perturbed copies come from :mod:`adcert.noise` (one stream per
image, :func:`adcert.noise.image_generator`); the counts go to the pure certifiers of
:mod:`adcert.certify.classification`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from adcert.certify.classification import ClassCertificate, certify, predict
from adcert.noise.gaussian import perturbed_batches
from adcert.noise.photometric import make_perturbation
from adcert.stats._checks import check_alpha, check_sample_sizes

Classifier = Callable[[torch.Tensor], torch.Tensor]


def sample_counts(
    model: Classifier,
    x: torch.Tensor,
    sigma: float,
    num: int,
    batch_size: int,
    generator: Any,
    transform: str = "gaussian",
) -> np.ndarray:
    """Class counts of ``model`` over ``num`` copies of ``x`` under N(0, σ²I) noise, or
    one camera-effect parameter per copy (:func:`adcert.noise.make_perturbation`).

    ``generator`` is the image's noise stream (from :func:`adcert.noise.image_generator`);
    the copies, hence the counts, do not depend on ``batch_size``. Returns an int64 array
    whose length is one more than the largest class seen (empty when ``num`` is 0).
    """
    counts = np.zeros(0, dtype=np.int64)
    perturbation = make_perturbation(transform, sigma)
    with torch.no_grad():
        for batch in perturbed_batches(x, int(num), batch_size, perturbation, generator):
            labels = torch.as_tensor(model(batch)).reshape(-1).to("cpu", torch.int64).numpy()
            if labels.size != batch.shape[0]:
                raise ValueError(f"the classifier returned {labels.size} labels for a batch "
                                 f"of {batch.shape[0]}")
            if labels.size and labels.min() < 0:
                raise ValueError("the classifier returned a negative class index")
            batch_counts = np.bincount(labels)
            if batch_counts.size > counts.size:
                counts = np.pad(counts, (0, batch_counts.size - counts.size))
            counts[: batch_counts.size] += batch_counts
    return counts


def certify_classifier(
    model: Classifier,
    x: torch.Tensor,
    sigma: float,
    n0: int,
    n: int,
    alpha: float,
    batch_size: int,
    generator: Any,
    transform: str = "gaussian",
) -> ClassCertificate:
    """CERTIFY for ``model`` at ``x``: n0 selection copies, then n fresh estimation
    copies from the same stream (never the same noise twice), then
    :func:`adcert.certify.classification.certify`.

    Guarantee (as there): with probability ≥ 1 − alpha over the noise, a non-abstaining
    answer equals the smoothed classifier g(x + δ) for every ‖δ‖₂ < radius in
    model-input space (RGB in [0, 1]), or g(φ(x, θ')) for every θ' in
    ``certified_range`` for a camera-effect ``transform``.
    """
    alpha = check_alpha(alpha)
    check_sample_sizes(n0, n)
    selection = sample_counts(model, x, sigma, int(n0), batch_size, generator, transform)
    estimation = sample_counts(model, x, sigma, int(n), batch_size, generator, transform)
    return certify(selection, estimation, sigma, alpha, transform)


def predict_classifier(
    model: Classifier,
    x: torch.Tensor,
    sigma: float,
    n: int,
    alpha: float,
    batch_size: int,
    generator: Any,
    transform: str = "gaussian",
) -> int:
    """PREDICT for ``model`` at ``x`` from ``n`` copies
    (:func:`adcert.certify.classification.predict`).

    Guarantee: the probability of returning a class other than the smoothed classifier's
    g(x) is ≤ alpha; otherwise it returns that class or ``ABSTAIN``.
    """
    alpha = check_alpha(alpha)
    if int(n) < 1:
        raise ValueError(f"n must be a positive sample count, got {n}")
    return predict(sample_counts(model, x, sigma, int(n), batch_size, generator, transform),
                   alpha)
