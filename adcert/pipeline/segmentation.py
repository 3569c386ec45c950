"""τ-abstain certification of one frame with an mmseg model (CERTIFICATION_MATH.md §4)."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from adcert.certify.segmentation import (
    ClassCounter,
    HitCounter,
    SegmentationCertificate,
    certified_fraction_by_tau,
    certify_segmentation,
)
from adcert.models.forward import clean_predictions, label_map, perturbed_predictions
from adcert.noise import make_perturbation

# τ' values whose certified fraction every record reports (the curve behind the plots).
SWEEP_TAUS = (0.55, 0.65, 0.75, 0.85, 0.95, 0.99)


def certify_frame(
    model: torch.nn.Module,
    packed: dict,
    num_classes: int,
    sigma: float,
    tau: float,
    n0: int,
    n: int,
    alpha: float,
    correction: str,
    batch_size: int,
    generator: torch.Generator,
    amp: bool = False,
    transform: str = "gaussian",
) -> tuple[SegmentationCertificate, np.ndarray]:
    """Certified label map of the smoothed segmenter and the base model's clean map.

    n0 selection copies pick ĉ per pixel, n fresh copies count it; label maps are
    streamed into counters, never all held. Guarantee as :func:`certify_segmentation`:
    with probability ≥ 1 − alpha every certified pixel keeps its class for all
    ‖δ‖₂ ≤ σΦ⁻¹(τ) over the resized frame in [0, 1] units — or, for a camera-effect
    ``transform``, for every parameter in the certificate's ``certified_range``.
    """
    noise = make_perturbation(transform, sigma)
    clean = label_map(clean_predictions(model, packed, amp)[0])
    selection = ClassCounter(num_classes, clean.shape)
    for batch in perturbed_predictions(model, packed, noise, n0, batch_size, generator, amp):
        selection.update(np.stack([label_map(r) for r in batch]))
    hits = HitCounter(selection.top_class())
    for batch in perturbed_predictions(model, packed, noise, n, batch_size, generator, amp):
        hits.update(np.stack([label_map(r) for r in batch]))
    cert = certify_segmentation(hits.target, hits.hits, n, sigma, tau, alpha, correction,
                                n0=n0, transform=transform)
    sweep = certified_fraction_by_tau(hits.hits, n, SWEEP_TAUS, alpha, correction)
    return dataclasses.replace(cert, tau_sweep=sweep), clean
