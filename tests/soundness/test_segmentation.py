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

The certified mIoU is checked against the exact worst attack on a three-class version of
the model (enumerated below); scoring abstained pixels as "no class", the old reading, is
the broken variant: an attack gives them a class absent from the ground truth.
"""

from fractions import Fraction
from functools import cache
from itertools import combinations
from unittest.mock import patch

import numpy as np
import pytest
from scipy.stats import norm

from adcert.certify import segmentation
from adcert.certify.segmentation import ABSTAIN_PIXEL, certify_segmentation
from adcert.evaluation import segmentation as seg_metric
from adcert.evaluation.segmentation import CertifiedSegMetric
from adcert.stats import segmentation_radius
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


# Certified mIoU under attack (docs/certificates.md §4, "Figures over a data set"). A
# three-class threshold model: pixel i answers a_i when x_i + η_i > t_i, else b_i, so
# P(a_i) = Φ(m_i/σ) with margin m_i = x_i − t_i. The smoothed segmenter's class at pixel i
# changes exactly when an attack moves x_i across t_i: δ (‖δ‖₂ ≤ ε) can change any set of
# pixels with Σ m_i² ≤ ε² together (a tie counted as changed), nothing else. The exact
# worst attacked mIoU is the least over those sets, enumerated.
MIOU_EPS = 0.1  # below R = σ Φ⁻¹(τ) ≈ 0.169
ABSENT = 2  # a class no ground-truth pixel has


def miou_frame() -> dict[str, np.ndarray]:
    """Per pixel: ground truth, majority class a, runner-up b and P(a). The weak pixels'
    runner-up is the absent class: an abstention there is what the attack exploits."""
    groups = [  # (pixels, ground truth, a, b, P(a))
        (96, 0, 0, 1, 0.999),  # clear
        (24, 0, 0, 1, TAU),  # on the null boundary: certified now and then, margin R > ε
        (64, 1, 1, 0, 0.999),  # clear
        (8, 1, 1, ABSENT, 0.55),  # weak majority, margin 0.031 < ε: abstains, then flips
    ]
    columns = zip(*[[np.full(size, value) for value in values]
                    for size, *values in groups], strict=True)
    gt, a, b, p = (np.concatenate(c) for c in columns)
    return {"gt": gt.astype(np.int64), "a": a.astype(np.int64), "b": b.astype(np.int64),
            "p": p.astype(float)}


def _miou(gt: np.ndarray, pred: np.ndarray) -> Fraction:
    """mmseg's mIoU, exactly: the mean IoU over classes with a non-empty union."""
    both = np.bincount(gt[pred == gt], minlength=3)
    union = np.bincount(pred, minlength=3) + np.bincount(gt, minlength=3) - both
    ious = [Fraction(int(i), int(u)) for i, u in zip(both, union, strict=True) if u]
    return sum(ious, Fraction(0)) / len(ious)


@cache
def worst_attacked_miou(eps: float = MIOU_EPS) -> Fraction:
    frame = miou_frame()
    margin = SIGMA * norm.ppf(frame["p"])
    movable = np.flatnonzero(np.abs(margin) <= eps)
    assert len(movable) <= 12, "enumeration would be too large"
    worst = None
    for size in range(len(movable) + 1):
        for moved in combinations(movable, size):
            if float(np.sum(margin[list(moved)] ** 2)) > eps ** 2:
                continue
            pred = frame["a"].copy()
            pred[list(moved)] = frame["b"][list(moved)]
            value = _miou(frame["gt"], pred)
            worst = value if worst is None else min(worst, value)
    return worst


def certified_miou_of(cert_labels: np.ndarray, gt: np.ndarray) -> float:
    metric = CertifiedSegMetric(num_classes=3)
    metric.process(None, [{"gt": gt.reshape(1, -1), "certified": cert_labels.reshape(1, -1)}])
    return metric.compute_metrics(metric.results)["certified_miou"]


@cache
def miou_frames_wrong(trials: int, n: int, alpha: float, seed: int,
                      broken: bool = False) -> int:
    frame = miou_frame()
    worst = worst_attacked_miou()
    rng = np.random.default_rng(seed)
    wrong = 0
    for _ in range(trials):
        pick_a = rng.binomial(10, frame["p"]) * 2 > 10  # ties: the lower class, as argmax
        target = np.where(pick_a, frame["a"], frame["b"])
        hits = rng.binomial(n, np.where(pick_a, frame["p"], 1.0 - frame["p"]))
        cert = certify_segmentation(target.reshape(12, 16), hits.reshape(12, 16), n, SIGMA,
                                    TAU, alpha, "holm")
        if broken:  # broken on purpose: the certified map scored with abstentions as no class
            with patch.object(CertifiedSegMetric, "_worst_case",
                              staticmethod(lambda total, results: seg_metric._miou(total))):
                bound = certified_miou_of(cert.labels, frame["gt"])
        else:
            bound = certified_miou_of(cert.labels, frame["gt"])
        wrong += Fraction(bound) > worst
    return wrong


def test_the_issue_miou_case():
    # σ 0.25, τ 0.75, ε 0.1 < R: ground truth 0 0 1 1, the last pixel's majority (class 1,
    # P = 0.55) too weak to certify and its runner-up the absent class 2.
    gt = np.array([0, 0, 1, 1])
    certified = np.array([0, 0, 1, ABSTAIN_PIXEL], dtype=np.uint8)
    margin = SIGMA * norm.ppf(0.55)
    assert margin <= MIOU_EPS < segmentation_radius(SIGMA, TAU)
    attacked = np.array([0, 0, 1, ABSENT])  # the attack moves the weak pixel across
    assert _miou(gt, attacked) == Fraction(1, 2)
    assert certified_miou_of(certified, gt) == 0.5
    with patch.object(CertifiedSegMetric, "_worst_case",
                      staticmethod(lambda total, results: seg_metric._miou(total))):
        assert certified_miou_of(certified, gt) == 0.75  # the old reading overclaims


def test_certified_miou_is_a_lower_bound_under_attack():
    assert_sound("segmentation: certified mIoU vs the exact worst attack (192 px, n=100)",
                 miou_frames_wrong(1000, 100, ALPHA, 61), 1000, ALPHA)


def test_suite_sees_miou_with_abstentions_as_no_class():
    assert_caught("broken: certified mIoU with abstentions as no class",
                  miou_frames_wrong(1000, 100, ALPHA, 62, broken=True), 1000, ALPHA)


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="broken on purpose: abstained pixels scored as no class")
def test_broken_miou_with_abstentions_as_no_class_is_unsound():
    assert_sound("broken: certified mIoU with abstentions as no class",
                 miou_frames_wrong(1000, 100, ALPHA, 62, broken=True), 1000, ALPHA)


@pytest.mark.soundness
def test_certified_miou_full():
    trials = 10_000
    assert_sound("segmentation: certified mIoU vs the exact worst attack (192 px, n=100)",
                 miou_frames_wrong(trials, 100, ALPHA, 63), trials, ALPHA)
