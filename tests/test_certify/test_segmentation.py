"""SegCertify τ-abstain against a segmenter whose class probabilities are known exactly.

The threshold segmenter f_i(x) = [x_i > 0] on x0 + N(0, σ²) per pixel has
P(f_i = 1) = Φ(x0_i / σ), so every pixel's null hypothesis P(f_i = ĉ_i) ≤ τ can be
decided exactly and the family-wise error of the certified map measured.
"""

import dataclasses
import json

import numpy as np
import pytest
from scipy.stats import norm

from adcert.certify.segmentation import (
    ABSTAIN_PIXEL,
    ClassCounter,
    HitCounter,
    SegmentationCertificate,
    certify_segmentation,
    pvalue_table,
)
from adcert.stats import binom_pvalue_greater, holm

SIGMA, TAU = 0.5, 0.75


def threshold_maps(x0, num, rng, batch_size=64):
    """Label maps of f(x) = [x > 0] on ``num`` noisy copies of x0, in batches."""
    for start in range(0, num, batch_size):
        noise = SIGMA * rng.standard_normal((min(batch_size, num - start), *x0.shape))
        yield (x0 + noise > 0).astype(np.int64)


def run_segcertify(x0, n0, n, alpha, rng, correction="holm"):
    """Selection and estimation on fresh noise, as the certifier is meant to be used."""
    selection = ClassCounter(2, x0.shape)
    for maps in threshold_maps(x0, n0, rng):
        selection.update(maps)
    target = selection.top_class()
    estimation = HitCounter(target)
    for maps in threshold_maps(x0, n, rng):
        estimation.update(maps)
    cert = certify_segmentation(
        target, estimation.hits, n, SIGMA, TAU, alpha, correction, return_pvalues=True, n0=n0
    )
    return target, estimation.hits, cert


def true_probability_of(target, x0):
    """Exact P(f_i = ĉ_i) of the threshold segmenter."""
    p_one = norm.cdf(x0 / SIGMA)
    return np.where(target == 1, p_one, 1.0 - p_one)


def test_clear_pixels_are_certified_with_the_right_class():
    rng = np.random.default_rng(0)
    x0 = np.tile(np.array([3, -3, 3, -3, 0, 1, -1, 3]) * SIGMA, (6, 1))
    x0[:, 5:7] = np.array([1, -1]) * SIGMA * norm.ppf(TAU)  # exactly at p = τ
    _, _, cert = run_segcertify(x0, n0=50, n=500, alpha=0.01, rng=rng)
    clear = np.abs(x0) >= 3 * SIGMA  # P(correct class) = Φ(3) ≈ 0.9987 ≫ τ
    np.testing.assert_array_equal(cert.labels[clear], (x0[clear] > 0).astype(np.uint8))
    assert cert.labels.dtype == np.uint8
    assert np.all(cert.labels[~clear] == ABSTAIN_PIXEL)  # none of them has p > τ
    assert cert.abstain_rate == pytest.approx(np.mean(~clear))


def family_wise_errors(x0, n0, n, alpha, trials, seed):
    """Per trial: did the sound rule and two unsound variants certify a null pixel?"""
    rng = np.random.default_rng(seed)
    errors = np.zeros((trials, 3), dtype=bool)
    shifted_table = np.append(pvalue_table(n, TAU)[1:], 0.0)  # P(Bin ≥ k + 1): off by one
    for trial in range(trials):
        target, hits, cert = run_segcertify(x0, n0, n, alpha, rng)
        # Float round-off puts Φ(Φ⁻¹(τ)) a hair either side of τ; such pixels are nulls.
        null = true_probability_of(target, x0) <= TAU + 1e-9
        errors[trial, 0] = np.any(~cert.abstain_mask & null)
        errors[trial, 1] = np.any((cert.pvalues <= alpha) & null)  # no correction
        errors[trial, 2] = np.any(holm(shifted_table[hits], alpha) & null)
    return errors.mean(axis=0)


def test_family_wise_error_with_many_null_pixels():
    alpha, trials = 0.1, 400
    at_tau = SIGMA * norm.ppf(TAU)
    null_x0 = np.array([at_tau, -at_tau, 0.0, SIGMA * norm.ppf(0.6)] * 16)  # all p ≤ τ
    x0 = np.concatenate([null_x0, np.full(16, 3 * SIGMA)]).reshape(8, 10)
    sound, uncorrected, _ = family_wise_errors(x0, 10, 50, alpha, trials, seed=1)
    bound = alpha + 3 * np.sqrt(alpha * (1 - alpha) / trials)
    assert sound <= bound
    # The check has teeth: testing each pixel at level alpha fails almost surely.
    assert uncorrected > 0.5


def test_family_wise_error_is_tight_enough_to_catch_an_off_by_one_pvalue():
    # One null pixel at p = τ among clear ones: Holm then tests it at nearly alpha itself,
    # so the sound rule's error sits near alpha and P(Bin ≥ k + 1) visibly exceeds it.
    alpha, trials = 0.1, 3000
    x0 = np.concatenate([[SIGMA * norm.ppf(TAU)], np.full(15, 3 * SIGMA)]).reshape(4, 4)
    sound, _, off_by_one = family_wise_errors(x0, 10, 50, alpha, trials, seed=2)
    bound = alpha + 3 * np.sqrt(alpha * (1 - alpha) / trials)
    assert 0.5 * alpha < sound <= bound
    assert off_by_one > bound


def test_holm_certifies_at_least_what_bonferroni_certifies():
    rng = np.random.default_rng(3)
    x0 = SIGMA * norm.ppf(rng.uniform(0.8, 0.95, (20, 20)))
    target, hits, holm_cert = run_segcertify(x0, n0=20, n=200, alpha=0.05, rng=rng)
    bonf_cert = certify_segmentation(target, hits, 200, SIGMA, TAU, 0.05, "bonferroni")
    holm_certified, bonf_certified = ~holm_cert.abstain_mask, ~bonf_cert.abstain_mask
    assert np.all(holm_certified[bonf_certified])
    assert holm_certified.sum() > bonf_certified.sum()
    assert np.all(holm_cert.labels[bonf_certified] == bonf_cert.labels[bonf_certified])


def test_pvalue_table_matches_binom_pvalue_greater():
    for n, tau in [(1, 0.6), (50, 0.75), (1000, 0.95)]:
        table = pvalue_table(n, tau)
        assert table.shape == (n + 1,) and table[0] == 1.0
        assert np.all(np.diff(table) <= 0)
        for k in (0, 1, n // 2, n - 1, n):
            assert table[k] == pytest.approx(binom_pvalue_greater(k, n, tau), rel=1e-12)


def test_certificate_pvalues_are_the_per_pixel_tail_probabilities():
    rng = np.random.default_rng(4)
    n = 300
    hits = rng.integers(0, n + 1, (9, 11))
    target = rng.integers(0, 19, (9, 11))
    cert = certify_segmentation(target, hits, n, SIGMA, TAU, 0.01, return_pvalues=True)
    np.testing.assert_allclose(cert.pvalues, binom_pvalue_greater(hits, n, TAU), rtol=1e-12)
    certified = holm(cert.pvalues, 0.01)
    np.testing.assert_array_equal(cert.labels, np.where(certified, target, ABSTAIN_PIXEL))
    assert certify_segmentation(target, hits, n, SIGMA, TAU, 0.01).pvalues is None


def test_certificate_fields_and_record():
    target = np.array([[0, 1], [2, 3]])
    hits = np.array([[100, 100], [0, 75]])
    cert = certify_segmentation(target, hits, 100, 0.25, 0.75, 0.01, n0=10)
    np.testing.assert_array_equal(cert.labels, [[0, 1], [255, 255]])
    np.testing.assert_array_equal(cert.abstain_mask, [[False, False], [True, True]])
    assert cert.abstain_rate == 0.5
    assert cert.radius == pytest.approx(0.25 * norm.ppf(0.75))
    record = cert.to_record()
    assert record["method"] == "segcertify_tau_abstain"
    assert record["correction"] == "holm" and record["n0"] == 10 and record["n"] == 100
    assert json.loads(json.dumps(record)) == record  # plain scalars only, no arrays
    with pytest.raises(dataclasses.FrozenInstanceError):
        cert.tau = 0.9
    with pytest.raises(ValueError):
        cert.labels[0, 0] = 7


@pytest.mark.parametrize(
    ("sigma", "tau", "radius"),
    # docs/certificates.md §4, Fischer et al.'s table (their .52 at σ = .33, τ = .95 is not
    # σΦ⁻¹(τ) = .543 and is left out).
    [
        (0.25, 0.75, 0.17),
        (0.33, 0.75, 0.22),
        (0.5, 0.75, 0.34),
        (0.25, 0.95, 0.41),
        (0.5, 0.95, 0.82),
    ],
)
def test_radius_matches_the_reference_table(sigma, tau, radius):
    cert = certify_segmentation(np.zeros((1, 1), int), np.ones((1, 1), int), 1, sigma, tau, 0.1)
    assert round(cert.radius, 2) == radius


def test_class_counter_matches_a_naive_count():
    rng = np.random.default_rng(5)
    counter = ClassCounter(4, (5, 7))
    naive = np.zeros((5, 7, 4), dtype=int)
    for batch in (3, 0, 8, 1):
        maps = rng.integers(0, 4, (batch, 5, 7), dtype=np.uint8)
        counter.update(maps)
        for b, i, j in np.ndindex(maps.shape):
            naive[i, j, maps[b, i, j]] += 1
    np.testing.assert_array_equal(counter.counts, naive)
    assert counter.total == 12
    np.testing.assert_array_equal(counter.top_class(), np.argmax(naive, axis=-1))


def test_class_counter_switches_from_uint16_to_int32_before_overflow():
    counter = ClassCounter(3, (1, 2))
    counter.update(np.zeros((65535, 1, 2), dtype=np.int64))
    assert counter.counts.dtype == np.uint16 and counter.counts[0, 0, 0] == 65535
    counter.update(np.full((2, 1, 2), 2))
    counter.update(np.zeros((1, 1, 2), dtype=np.int64))
    assert counter.counts.dtype == np.int32 and counter.total == 65538
    np.testing.assert_array_equal(counter.counts[0, 0], [65536, 0, 2])


@pytest.mark.parametrize(
    "maps",
    [
        np.full((2, 3, 4), -1),
        np.full((2, 3, 4), 5),
        np.zeros((2, 3, 4), dtype=float),
        np.zeros((2, 4, 3), dtype=int),
        np.zeros((3, 4), dtype=int),
    ],
)
def test_class_counter_refuses_bad_label_maps(maps):
    with pytest.raises(ValueError, match="label_maps"):
        ClassCounter(5, (3, 4)).update(maps)


def test_class_counter_refuses_bad_construction_and_empty_selection():
    with pytest.raises(ValueError, match="num_classes"):
        ClassCounter(0, (3, 4))
    with pytest.raises(ValueError, match="shape"):
        ClassCounter(2, (0, 4))
    with pytest.raises(ValueError, match="selection"):
        ClassCounter(2, (3, 4)).top_class()


def test_hit_counter_matches_a_naive_count():
    rng = np.random.default_rng(6)
    target = rng.integers(0, 3, (4, 6))
    counter = HitCounter(target)
    naive = np.zeros((4, 6), dtype=int)
    for batch in (5, 2):
        maps = rng.integers(0, 3, (batch, 4, 6))
        counter.update(maps)
        for b, i, j in np.ndindex(maps.shape):
            naive[i, j] += maps[b, i, j] == target[i, j]
    assert counter.hits.dtype == np.int32 and counter.total == 7
    np.testing.assert_array_equal(counter.hits, naive)
    with pytest.raises(ValueError, match="label_maps"):
        counter.update(np.zeros((1, 6, 4), dtype=int))
    with pytest.raises(ValueError, match="target"):
        HitCounter(np.zeros((4, 6)))


GOOD = dict(
    target=np.zeros((2, 3), dtype=int),
    hits=np.full((2, 3), 100),
    n=100,
    sigma=0.25,
    tau=0.75,
    alpha=0.01,
    correction="holm",
)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("tau", 0.5),
        ("tau", 1.0),
        ("tau", 0.3),
        ("alpha", 0.0),
        ("alpha", 1.0),
        ("sigma", 0.0),
        ("sigma", -0.25),
        ("sigma", np.inf),
        ("n", 0),
        ("n", 2.5),
        ("hits", np.full((2, 3), 101)),
        ("hits", np.full((2, 3), -1)),
        ("hits", np.full((3, 2), 1)),
        ("hits", np.full((2, 3), 1.0)),
        ("target", np.full((2, 3), ABSTAIN_PIXEL)),
        ("target", np.full((2, 3), -1)),
        ("target", np.zeros((2, 3))),
        ("target", np.zeros(6, dtype=int)),
        ("correction", "benjamini-hochberg"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(name, value):
    with pytest.raises(ValueError, match=name):
        certify_segmentation(**{**GOOD, name: value})


def test_good_arguments_certify_everything():
    cert = certify_segmentation(**GOOD)
    assert isinstance(cert, SegmentationCertificate) and cert.abstain_rate == 0.0


def test_certified_fraction_by_tau_falls_with_tau_and_matches_the_certificate():
    from adcert.certify.segmentation import certified_fraction_by_tau

    rng = np.random.default_rng(4)
    x0 = rng.normal(0, 2 * SIGMA, size=(16, 16))
    target, hits, cert = run_segcertify(x0, n0=30, n=300, alpha=0.01, rng=rng)
    sweep = certified_fraction_by_tau(hits, 300, (0.55, TAU, 0.95), 0.01)
    fractions = [f for _, f in sweep]
    assert fractions == sorted(fractions, reverse=True) and fractions[0] > fractions[2]
    assert fractions[1] == pytest.approx(1 - cert.abstain_rate)


def test_certified_masks_by_tau_agree_with_the_fractions_and_the_certificate():
    from adcert.certify.segmentation import certified_fraction_by_tau, certified_masks_by_tau

    rng = np.random.default_rng(5)
    x0 = rng.normal(0, 2 * SIGMA, size=(16, 16))
    target, hits, cert = run_segcertify(x0, n0=30, n=300, alpha=0.01, rng=rng)
    taus = (0.55, TAU, 0.95)
    masks = certified_masks_by_tau(hits, 300, taus, 0.01)
    fractions = certified_fraction_by_tau(hits, 300, taus, 0.01)
    assert [t for t, _ in masks] == list(taus)
    assert [(t, float(np.mean(m))) for t, m in masks] == list(fractions)
    assert np.array_equal(masks[1][1], ~cert.abstain_mask)  # the run's own τ
    assert np.all(masks[2][1] <= masks[1][1]) and np.all(masks[1][1] <= masks[0][1])
