"""Soundness of SegCertify's τ-test with a family-wise correction (:mod:`.segmentation`).

The analytic model thresholds each pixel: f_i(x + δ) = [x_i + δ_i > t], so under
δ ~ N(0, σ²I) the pixels are independent and P(f_i = 1) = Φ((x_i − t)/σ) exactly. The
frame mixes clear pixels (P(class) = 0.999), ambiguous ones (1/2), and many sitting
exactly on the null boundary P(class 1) = τ or P(class 0) = τ. Selection counts
(n0 samples) and estimation counts (n fresh samples) are drawn from their exact binomial
laws. A frame's certificate is wrong when any certified pixel has true P(ĉ_i) ≤ τ —
which covers any certified class that is not the smoothed segmenter's. Without the
multiple-testing correction, the many boundary pixels make some false certificate almost
certain.
"""

from functools import cache
from unittest.mock import patch

import numpy as np
import pytest

from adcert.certify import segmentation
from adcert.certify.segmentation import ABSTAIN_PIXEL, certify_segmentation
from tests.soundness.harness import assert_caught, assert_sound

ALPHA = 0.1
TAU = 0.75
SIGMA = 0.25  # only recorded: the counts' law is given by P(f_i = 1) directly


def boundary_frame(tau: float = TAU) -> np.ndarray:
    """P(f_i = 1) over a 16×16 frame: 128 clear pixels, 32 ambiguous, 96 at τ."""
    groups = [(64, 0.999), (64, 0.001), (32, 0.5), (48, tau), (48, 1.0 - tau)]
    p_one = np.concatenate([np.full(size, p) for size, p in groups])
    return np.random.default_rng(0).permutation(p_one).reshape(16, 16)


@cache
def frames_wrong(trials: int, n0: int, n: int, alpha: float, correction: str, seed: int,
                 broken: bool = False) -> int:
    p_one = boundary_frame()
    rng = np.random.default_rng(seed)
    wrong = 0
    for _ in range(trials):
        selection = rng.binomial(n0, p_one)
        target = (selection > n0 - selection).astype(np.int64)  # ties: class 0, as argmax
        p_target = np.where(target == 1, p_one, 1.0 - p_one)  # true P(f_i = ĉ_i)
        hits = rng.binomial(n, p_target)
        if broken:  # broken on purpose: every pixel tested at α on its own
            with patch.dict(segmentation.CORRECTIONS, {correction: lambda p, a: p <= a}):
                cert = certify_segmentation(target, hits, n, SIGMA, TAU, alpha, correction)
        else:
            cert = certify_segmentation(target, hits, n, SIGMA, TAU, alpha, correction)
        wrong += bool(np.any((cert.labels != ABSTAIN_PIXEL) & (p_target <= TAU + 1e-12)))
    return wrong


def test_tau_test_with_holm():
    assert_sound("segmentation: τ-test with Holm (256 px, n=100)",
                 frames_wrong(2000, 10, 100, ALPHA, "holm", 41), 2000, ALPHA)


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="broken on purpose: no multiple-testing correction")
def test_broken_no_correction_is_unsound():
    assert_sound("broken: segmentation without multiple-testing correction",
                 frames_wrong(1000, 10, 100, ALPHA, "holm", 42, broken=True), 1000, ALPHA)


def test_suite_sees_the_missing_correction():
    assert_caught("broken: segmentation without multiple-testing correction",
                  frames_wrong(1000, 10, 100, ALPHA, "holm", 42, broken=True), 1000, ALPHA)


@pytest.mark.soundness
@pytest.mark.parametrize("correction", ["holm", "bonferroni"])
@pytest.mark.parametrize("n, alpha", [(50, 0.1), (200, 0.1), (100, 0.2)])
def test_tau_test_full(correction, n, alpha):
    trials = 10_000
    assert_sound(f"segmentation: τ-test with {correction.capitalize()} (256 px, n={n})",
                 frames_wrong(trials, 10, n, alpha, correction, 43 + n), trials, alpha)


# The τ' sweep (certified fraction and accuracy against radius, read by the report): each
# τ' is its own certificate at α. A frame whose boundary pixels sit at P = τ' = 0.9 makes
# any mask that certifies at τ' what was only tested at a smaller τ visibly wrong.
SWEEP_TAUS = (0.6, 0.75, 0.9)


@cache
def sweep_frames_wrong(trials: int, n: int, alpha: float, seed: int,
                       broken: bool = False) -> int:
    p_one = boundary_frame(0.9)
    rng = np.random.default_rng(seed)
    wrong = 0
    for _ in range(trials):
        target = (rng.binomial(10, p_one) > 5).astype(np.int64)
        p_target = np.where(target == 1, p_one, 1.0 - p_one)
        hits = rng.binomial(n, p_target)
        taus = [0.6] * len(SWEEP_TAUS) if broken else SWEEP_TAUS  # broken: one test for all
        masks = segmentation.certified_masks_by_tau(hits, n, taus, alpha, "holm")
        wrong += any(bool(np.any(mask & (p_target <= tau + 1e-12)))
                     for tau, (_, mask) in zip(SWEEP_TAUS, masks, strict=True))
    return wrong


def test_tau_sweep_each_point_is_sound():
    # a frame is wrong when any τ' mislabels: the union over 3 points, each at α / 3
    assert_sound("segmentation: τ' sweep, every point (256 px, n=100)",
                 sweep_frames_wrong(2000, 100, ALPHA / 3, 51), 2000, ALPHA)


def test_suite_sees_a_sweep_that_reuses_one_tau():
    assert_caught("broken: τ' sweep reporting the τ = 0.6 test at every τ'",
                  sweep_frames_wrong(1000, 100, ALPHA / 3, 52, broken=True), 1000, ALPHA)


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="broken on purpose: the τ = 0.6 test reported at every τ'")
def test_broken_sweep_reusing_one_tau_is_unsound():
    assert_sound("broken: τ' sweep reporting the τ = 0.6 test at every τ'",
                 sweep_frames_wrong(1000, 100, ALPHA / 3, 52, broken=True), 1000, ALPHA)
