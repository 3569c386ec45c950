"""Median-smoothing certification of one frame with an mmdet model (§2, §3)."""

from __future__ import annotations

import numpy as np
import torch

from adcert.certify.detection import BoxSampleCollector, DetectionCertificate, certify_boxes
from adcert.models.forward import clean_predictions, detections_array, perturbed_predictions
from adcert.noise import make_perturbation


def certify_frame(
    model: torch.nn.Module,
    packed: dict,
    sigma: float,
    eps: float,
    n: int,
    alpha: float,
    bin: str,
    sort: str,
    max_per_bin: int,
    score_thr: float,
    correction: str,
    batch_size: int,
    generator: torch.Generator,
    amp: bool = False,
    transform: str = "gaussian",
) -> tuple[DetectionCertificate, np.ndarray]:
    """Certified boxes of the smoothed detector and the base model's clean detections.

    Boxes are in the original image's pixels; ε is an ℓ2 radius over the resized frame in
    [0, 1] units (for a camera-effect ``transform``, the parameter range of
    :func:`adcert.stats.attack_range`). Guarantee as :func:`certify_boxes`, with the
    named ``correction``.
    """
    clean = detections_array(clean_predictions(model, packed, amp)[0])
    height, width = packed["data_samples"].ori_shape[:2]
    collector = BoxSampleCollector((height, width), bin, sort, max_per_bin, score_thr)
    noise = make_perturbation(transform, sigma)
    for batch in perturbed_predictions(model, packed, noise, n, batch_size, generator, amp):
        collector.add_batch([detections_array(result) for result in batch])
    return certify_boxes(collector, n, eps, sigma, alpha, correction, transform=transform), clean
