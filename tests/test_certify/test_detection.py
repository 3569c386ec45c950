import json

import numpy as np
import pytest
from scipy.stats import binom, norm

from adcert.certify.detection import (
    IOU_ROUNDING,
    BoxSampleCollector,
    certify_boxes,
    worst_case_iou,
)
from adcert.stats import order_statistic_indices

ALL = (None, None)  # the bin key of bin="none"


def box(x1, y1, x2, y2, score=0.9, label=0):
    return np.array([[x1, y1, x2, y2, score, label]], dtype=float)


def linear_regressor_samples(rng, n, sigma, shape=()):
    """Box coordinates c_j + w_j·x, x = x0 + N(0, σ²I) in dimension d, for n samples.

    Coordinate j is N(c_j + w_j·x0, σ²‖w_j‖²), so h_p = mean_j + σ‖w_j‖Φ⁻¹(p) exactly.
    Returns samples (n, *shape, 6) with score 0.9 and label 3, the means and the scales
    σ‖w_j‖. Centres and weights keep every sample well inside a 1000 × 1000 image.
    """
    d = 6
    c = np.array([200.0, 150.0, 600.0, 500.0])
    w = np.random.default_rng(123).normal(size=(4, d)) * 20.0
    x0 = np.full(d, 0.5)
    x = x0 + sigma * rng.standard_normal((n, *shape, d))
    coords = c + x @ w.T
    samples = np.concatenate([coords, np.broadcast_to([0.9, 3.0], (*coords.shape[:-1], 2))], -1)
    return samples, c + w @ x0, sigma * np.linalg.norm(w, axis=1)


# --- the linear box regressor: exact percentiles -----------------------------------------


def test_bounds_bracket_the_exact_percentiles_tightly():
    rng = np.random.default_rng(0)
    n, sigma, eps, alpha = 4000, 0.5, 0.5, 1e-3
    samples, mean, scale = linear_regressor_samples(rng, n, sigma)
    collector = BoxSampleCollector((1000, 1000))
    collector.add_batch([s[None] for s in samples])
    cert = certify_boxes(collector, n, eps, sigma, alpha)
    assert cert.correction == "box" and cert.alpha_per_bound == pytest.approx(alpha / 12)
    (result,) = cert.boxes
    p_l, p_u = norm.cdf(-eps / sigma), norm.cdf(eps / sigma)
    h_l, h_u = mean + scale * norm.ppf(p_l), mean + scale * norm.ppf(p_u)
    assert np.all(np.array(result.lower) <= h_l) and np.all(np.array(result.upper) >= h_u)
    # An order statistic of rank ≈ np estimates h_p with standard deviation
    # s_p = σ‖w‖ √(p(1−p)) / (φ(Φ⁻¹(p)) √n); k_l, k_u sit z_{1−α'} standard deviations of
    # the binomial count beyond np, i.e. ≈ z_{1−α'} s_p further out. Allow that plus 4 s_p.
    s_p = scale * np.sqrt(p_l * (1 - p_l)) / (norm.pdf(norm.ppf(p_l)) * np.sqrt(n))
    slack = (norm.ppf(1 - alpha / 10) + 4) * s_p
    assert np.all(h_l - np.array(result.lower) <= slack)
    assert np.all(np.array(result.upper) - h_u <= slack)
    # The lower median has standard deviation σ‖w‖ √(π/2) / √n.
    assert np.all(np.abs(np.array(result.bbox) - mean) <= 4 * scale * np.sqrt(np.pi / 2 / n))
    assert result.label == 3 and result.label_certified and not result.may_vanish
    assert result.score == pytest.approx(0.9)


@pytest.mark.parametrize("correction, per_bound", [("none", 0.1), ("box", 0.1 / 12)])
def test_failure_rates_stay_below_alpha(correction, per_bound):
    # Each slot of one bin is certified on its own, so 2000 slots of one (n, 2000, 6) array
    # are 2000 independent trials of the same linear regressor.
    rng = np.random.default_rng(1)
    n, trials, sigma, eps, alpha = 200, 2000, 0.25, 0.1, 0.1
    samples, mean, scale = linear_regressor_samples(rng, n, sigma, shape=(trials,))
    cert = certify_boxes({ALL: samples}, n, eps, sigma, alpha, correction=correction)
    assert cert.alpha_per_bound == pytest.approx(per_bound) and len(cert.boxes) == trials
    p_l, p_u = norm.cdf(-eps / sigma), norm.cdf(eps / sigma)
    lower = np.array([b.lower for b in cert.boxes])
    upper = np.array([b.upper for b in cert.boxes])
    fail_low = lower > mean + scale * norm.ppf(p_l)
    fail_up = upper < mean + scale * norm.ppf(p_u)
    se = np.sqrt(per_bound * (1 - per_bound) / trials)
    assert np.all(fail_low.mean(0) <= per_bound + 3 * se)
    assert np.all(fail_up.mean(0) <= per_bound + 3 * se)
    # The rates also match the exact miss probabilities of the chosen order statistics.
    k_l, k_u = order_statistic_indices(n, p_l, p_u, per_bound)
    for rates, exact in [
        (fail_low, binom.cdf(k_l - 1, n, p_l)),
        (fail_up, binom.sf(k_u - 1, n, p_u)),
    ]:
        assert np.all(np.abs(rates.mean(0) - exact) <= 4 * np.sqrt(exact * (1 - exact) / trials))
    if correction == "box":  # all 12 bounds of a box hold jointly w.p. ≥ 1 − α
        joint = (fail_low | fail_up).any(axis=1).mean()
        assert joint <= alpha + 3 * np.sqrt(alpha * (1 - alpha) / trials)
    assert all(b.label_certified for b in cert.boxes)


def test_image_correction_divides_by_a_family_fixed_before_sampling():
    samples = np.tile(box(10, 10, 20, 20), (50, 3, 1))
    cert = certify_boxes({ALL: samples, (None, 1): samples[:, :2]}, 50, 0.1, 0.5, 0.1, "image",
                         slot_family=40)
    assert cert.alpha_per_bound == pytest.approx(0.1 / (12 * 40))
    assert cert.to_record()["guarantee"] == "per_image"
    with pytest.raises(ValueError, match="slot family"):
        certify_boxes({ALL: samples}, 50, 0.1, 0.5, 0.1, "image")


def test_the_collector_fixes_the_family_from_its_settings_not_its_samples():
    collector = BoxSampleCollector((90, 90), bin="location+label", max_per_bin=3,
                                   num_classes=4)
    assert collector.possible_bins == 36 and collector.slot_family == 108
    for count in (1, 5):
        c = BoxSampleCollector((90, 90), bin="label", max_per_bin=3, num_classes=4)
        c.add_batch([np.repeat(box(1, 1, 9, 9), count, axis=0)] * 20)
        cert = certify_boxes(c, 20, 0.1, 0.5, 0.1, "image")
        assert cert.alpha_per_bound == pytest.approx(0.1 / (12 * 4 * 3))
    assert BoxSampleCollector((9, 9), bin="label").slot_family is None


def test_labels_beyond_num_classes_are_an_error():
    with pytest.raises(ValueError, match="num_classes"):
        BoxSampleCollector((10, 10), num_classes=2).add(box(0, 0, 5, 5, label=2))


def test_scores_are_bounded_like_coordinates():
    rng = np.random.default_rng(5)
    n = 400
    samples = np.tile(box(10, 10, 50, 50), (n, 1, 1))
    samples[:, 0, 4] = rng.uniform(0.2, 0.8, n)
    (result,) = certify_boxes({ALL: samples}, n, 0.25, 0.5, 0.01).boxes
    assert 0.2 <= result.score_lower < result.score < result.score_upper <= 0.8
    record = result.to_record()
    assert record["score_lower"] == result.score_lower and record["label_range"] == [0, 0]


def test_slots_that_may_appear_are_reported():
    # A second box in 25 % of the samples: its median is +∞ (no box), but at ε = 0.5
    # (p_l = Φ(−1) ≈ 0.16) its lower bound is finite, so an attack may make it appear.
    n = 200
    samples = np.full((n, 2, 6), np.inf)
    samples[:, 0] = box(10, 10, 50, 50)[0]
    samples[: n // 4, 1] = box(60, 60, 90, 90, score=0.7)[0]
    cert = certify_boxes({(None, 0): samples}, n, 0.5, 0.5, 0.01)
    assert len(cert.boxes) == 1 and len(cert.may_appear) == 1
    (slot,) = cert.may_appear
    # x2, y2 and the score count a missing box as −∞: their upper bounds stay finite, so
    # the slot's outer box and rank are bounded.
    assert slot.lower == (60, 60, -np.inf, -np.inf) and slot.upper == (np.inf, np.inf, 90, 90)
    assert slot.label_range == (0.0, 0.0) and slot.score_upper == 0.7
    record = json.loads(json.dumps(cert.to_record(), allow_nan=False))
    assert record["may_appear"] == [{"lower": [60, 60, None, None],
                                     "upper": [None, None, 90, 90],
                                     "score_upper": 0.7, "label_range": [0, 0]}]
    # At a small ε the slot stays certainly absent.
    assert certify_boxes({(None, 0): samples}, n, 0.05, 0.5, 0.01).may_appear == ()


def test_localisation_iou_is_the_worst_case_iou_with_the_own_box():
    samples = np.concatenate([np.tile(box(10, 20, 30, 40), (50, 1, 1)),
                              np.tile(box(12, 22, 32, 42), (50, 1, 1))])
    (result,) = certify_boxes({ALL: samples}, 100, 0.1, 0.5, 0.1).boxes
    assert result.localisation_iou == pytest.approx(
        worst_case_iou(result.lower, result.upper, result.bbox))
    assert 0.5 < result.localisation_iou < 1 and result.localised


# --- sort-and-bin ----------------------------------------------------------------------


def test_location_bins_use_a_3x3_grid_of_height_and_width():
    collector = BoxSampleCollector((300, 600), bin="location")  # height 300, width 600
    collector.add(
        np.concatenate([box(0, 0, 100, 100), box(500, 0, 600, 40), box(200, 200, 300, 300)])
    )
    # Centres (50, 50) → cell 0; (550, 20) → row 0, col 2 → 2; (250, 250) → row 2, col 1 → 7.
    assert list(collector.binned()) == [(0, None), (2, None), (7, None)]


def test_label_and_location_label_bins():
    sample = np.concatenate([box(0, 0, 10, 10, label=2), box(0, 0, 10, 10, label=5)])
    by_label = BoxSampleCollector((300, 300), bin="label")
    by_label.add(sample)
    assert list(by_label.binned()) == [(None, 2), (None, 5)]
    both = BoxSampleCollector((300, 300), bin="location+label")
    both.add(np.concatenate([sample, box(200, 200, 210, 210, label=2)]))
    assert list(both.binned()) == [(0, 2), (0, 5), (8, 2)]


def test_padding_with_infinity_and_center_sort():
    collector = BoxSampleCollector((100, 100))
    collector.add(np.concatenate([box(0, 50, 10, 60), box(20, 0, 30, 10)]))
    collector.add(np.zeros((0, 6)))
    collector.add(box(0, 50, 10, 60))
    (values,) = collector.binned().values()
    assert values.shape == (3, 2, 6) and collector.n == 3
    np.testing.assert_array_equal(values[0, 0], box(20, 0, 30, 10)[0])  # smaller centre y
    assert np.all(np.isinf(values[1])) and np.all(np.isinf(values[2, 1]))


def test_clipping_threshold_top_k_and_score_sort():
    collector = BoxSampleCollector((300, 600), max_per_bin=2, score_thr=0.2)
    scores = [0.1, 0.5, 0.9, 0.7, 0.3]
    collector.add(
        np.concatenate([box(-10, 40 * i, 700, 40 * i + 400, s) for i, s in enumerate(scores)])
    )
    (values,) = collector.binned().values()
    np.testing.assert_array_equal(values[0, :, 4], [0.9, 0.7])  # ordered by centre y
    np.testing.assert_array_equal(values[0, 0, :4], [0, 80, 600, 300])  # clipped
    by_score = BoxSampleCollector((300, 600), sort="score")
    by_score.add(np.concatenate([box(0, 40 * i, 10, 40 * i + 10, s) for i, s in enumerate(scores)]))
    np.testing.assert_array_equal(by_score.binned()[ALL][0, :, 4], sorted(scores, reverse=True))


def test_partial_boxes_vanish_or_may_vanish():
    n = 100
    collector = BoxSampleCollector((300, 300), bin="location")
    for i in range(n):
        parts = [box(10, 10, 50, 50)]  # always present, cell 0
        parts += [box(110, 10, 150, 50)] if i < 80 else []  # 80 %, cell 1
        parts += [box(210, 10, 250, 50)] if i < 30 else []  # 30 %, cell 2
        collector.add(np.concatenate(parts))
    assert collector.binned()[(2, None)].shape == (n, 1, 6)
    small = {b.bin_key: b for b in certify_boxes(collector, n, 0.05, 0.5, 0.1).boxes}
    large = {b.bin_key: b for b in certify_boxes(collector, n, 0.5, 0.5, 0.1).boxes}
    assert set(small) == set(large) == {(0, None), (1, None)}  # the 30 % box has median +∞
    # ε/σ = 0.1: k_u = 66 ≤ 80, the upper bound is a real box; ε/σ = 1: k_u = 93 > 80.
    assert not small[(1, None)].may_vanish and large[(1, None)].may_vanish
    assert not small[(0, None)].may_vanish and not large[(0, None)].may_vanish
    assert large[(1, None)].bbox == (110, 10, 150, 50)
    # ε/σ = 2 at n = 100: P(Bin(100, Φ(2)) = 100) ≈ 0.1 > α', no order statistic bounds
    # h_{p_u}, so even the box present in every sample may vanish.
    tiny = certify_boxes(collector, n, 1.0, 0.5, 0.1)
    assert all(b.may_vanish and not b.label_certified for b in tiny.boxes)


def test_label_certified_only_when_stable():
    stable = np.tile(box(10, 10, 50, 50, label=4), (100, 1, 1))
    flipping = stable.copy()
    flipping[::2, :, 5] = 7
    (kept,) = certify_boxes({ALL: stable}, 100, 0.1, 0.5, 0.1).boxes
    (flipped,) = certify_boxes({ALL: flipping}, 100, 0.1, 0.5, 0.1).boxes
    assert kept.label == 4 and kept.label_certified
    assert flipped.label == 4 and not flipped.label_certified  # lower median of 50/50


def test_empty_frame_gives_an_empty_certificate():
    collector = BoxSampleCollector((100, 100), score_thr=0.5)
    collector.add_batch([np.zeros((0, 6)), box(0, 0, 10, 10, score=0.1), np.empty(0)])
    assert collector.binned() == {}
    cert = certify_boxes(collector, 3, 0.25, 0.25, 0.001)
    assert cert.boxes == () and cert.n == 3 and cert.bin == "none"
    assert json.loads(json.dumps(cert.to_record(), allow_nan=False))["boxes"] == []


def test_records_are_json_with_none_for_infinity():
    samples = np.tile(box(10, 20, 30, 40), (10, 1, 1))
    cert = certify_boxes({ALL: samples}, 10, 0.5, 0.25, 0.001, bin="none")
    frame = json.loads(json.dumps(cert.to_record(), allow_nan=False))
    assert frame["guarantee"] == "per_box" and frame["alpha_per_bound"] == pytest.approx(1e-3 / 12)
    assert frame["may_appear"] == []
    assert frame["bin"] == "none" and frame["sort"] is None and frame["eps"] == 0.5
    (record,) = frame["boxes"]
    assert record["lower"] == [None] * 4 and record["upper"] == [None] * 4
    assert record["bbox"] == [10, 20, 30, 40] and record["may_vanish"]
    assert set(record) == {
        "bbox",
        "lower",
        "upper",
        "label",
        "label_certified",
        "may_vanish",
        "score",
        "score_lower",
        "score_upper",
        "label_range",
        "localisation_iou",
    }


def test_outer_and_inner_boxes():
    samples = np.concatenate(
        [np.tile(box(10, 20, 30, 40), (50, 1, 1)), np.tile(box(12, 22, 32, 42), (50, 1, 1))]
    )
    (result,) = certify_boxes({ALL: samples}, 100, 0.1, 0.5, 0.1).boxes
    assert result.lower == (10, 20, 30, 40) and result.upper == (12, 22, 32, 42)
    assert result.outer_box() == (10, 20, 32, 42) and result.inner_box() == (12, 22, 30, 40)


# --- worst-case IoU ----------------------------------------------------------------------


def iou(a, b):
    inter = np.clip(np.minimum(a[..., 2], b[2]) - np.maximum(a[..., 0], b[0]), 0, None) * np.clip(
        np.minimum(a[..., 3], b[3]) - np.maximum(a[..., 1], b[1]), 0, None
    )
    area = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    return inter / (area + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_worst_case_iou():
    gt = [0, 0, 10, 10]
    # A lower bound on the exact IoU: the float result is lowered by IOU_ROUNDING.
    assert 1.0 - 2 * IOU_ROUNDING <= worst_case_iou(gt, gt, gt) < 1.0
    # Worst corner: (1, 1, 11, 11), a shifted copy: 81 / (100 + 100 − 81).
    assert worst_case_iou([0, 0, 10, 10], [1, 1, 11, 11], gt) == pytest.approx(81 / 119)
    assert worst_case_iou([0, 0, 10, 10], [1, 1, 11, np.inf], gt) == 0.0
    assert worst_case_iou([0, -np.inf, 10, 10], [1, 1, 11, 11], gt) == 0.0
    assert worst_case_iou([0, 0, 4, 10], [6, 1, 11, 11], gt) == 0.0  # x1 = 6 > x2 = 4: empty


def test_worst_case_iou_corners_bound_the_interior():
    rng = np.random.default_rng(2)
    gt = np.array([20.0, 30.0, 60.0, 90.0])
    lower = gt + rng.uniform(-8, 2, 4)
    upper = lower + rng.uniform(1, 10, 4)
    points = rng.uniform(lower, upper, (20_000, 4))
    assert iou(points, gt).min() >= worst_case_iou(lower, upper, gt) - 1e-12


# --- arguments -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(image_size=(0, 10)), "image_size"),
        (dict(image_size=(10,)), "image_size"),
        (dict(image_size=(10, 10), bin="grid"), "bin"),
        (dict(image_size=(10, 10), sort="area"), "sort"),
        (dict(image_size=(10, 10), max_per_bin=0), "max_per_bin"),
    ],
)
def test_bad_collector_arguments_are_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        BoxSampleCollector(**kwargs)


@pytest.mark.parametrize(
    "detections",
    [np.zeros((3, 5)), np.zeros(6), np.full((1, 6), np.nan), box(0, 0, 1, 1, label=1.5)],
)
def test_bad_detections_are_named(detections):
    with pytest.raises(ValueError, match="detections"):
        BoxSampleCollector((10, 10)).add(detections)


SAMPLES = np.tile(box(1, 1, 5, 5), (20, 1, 1))


@pytest.mark.parametrize(
    "args, kwargs, name",
    [
        (({ALL: SAMPLES}, 20, 0.0, 0.5, 0.1), {}, "eps"),
        (({ALL: SAMPLES}, 20, 0.1, -1.0, 0.1), {}, "sigma"),
        (({ALL: SAMPLES}, 20, 0.1, 0.5, 1.0), {}, "alpha"),
        (({ALL: SAMPLES}, 20, 0.1, 0.5, 0.1), dict(correction="holm"), "correction"),
        (({ALL: SAMPLES}, 20, 0.1, 0.5, 0.1), dict(bin="grid"), "bin"),
        (({ALL: SAMPLES}, 21, 0.1, 0.5, 0.1), {}, "n"),
        (({ALL: SAMPLES}, 0, 0.1, 0.5, 0.1), {}, "n"),
        (({ALL: SAMPLES[..., :5]}, 20, 0.1, 0.5, 0.1), {}, "binned"),
    ],
)
def test_bad_certify_arguments_are_named(args, kwargs, name):
    with pytest.raises(ValueError, match=name):
        certify_boxes(*args, **kwargs)


def test_n_must_match_the_collector():
    collector = BoxSampleCollector((10, 10))
    collector.add(np.zeros((0, 6)))
    with pytest.raises(ValueError, match="n "):
        certify_boxes(collector, 2, 0.1, 0.5, 0.1)


def test_bad_iou_arguments_are_named():
    with pytest.raises(ValueError, match="gt_box"):
        worst_case_iou([0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 1])
    with pytest.raises(ValueError, match="lower"):
        worst_case_iou([0, 0, 2, 1], [0, 0, 1, 1], [0, 0, 1, 1])


def test_infinite_coordinates_are_clipped_and_nan_refused():
    collector = BoxSampleCollector((100, 200))
    collector.add(np.array([[-np.inf, 10.0, np.inf, 20.0, 0.9, 1.0]]))
    (values,) = collector.binned().values()
    np.testing.assert_array_equal(values[0, 0, :4], [0.0, 10.0, 200.0, 20.0])
    with pytest.raises(ValueError, match="NaN"):
        collector.add(np.array([[np.nan, 10.0, 30.0, 20.0, 0.9, 1.0]]))


def test_the_per_bound_level_never_rounds_up():
    from fractions import Fraction

    rng = np.random.default_rng(7)
    for alpha in rng.uniform(1e-6, 0.5, 300):
        for correction, family in (("box", None), ("image", 37)):
            cert = certify_boxes({ALL: SAMPLES}, 20, 0.1, 0.5, alpha, correction,
                                 slot_family=family)
            divisor = 12 * (family or 1)
            assert Fraction(cert.alpha_per_bound) * divisor <= Fraction(alpha)


def test_location_grid_of_rows_and_columns():
    collector = BoxSampleCollector((100, 800), bin="location", grid=(1, 8), num_classes=3)
    collector.add(np.concatenate([box(0, 0, 50, 90), box(700, 10, 790, 90)]))
    assert sorted(collector.binned()) == [(0, None), (7, None)]
    assert collector.possible_bins == 8 and collector.slot_family == 800
    both = BoxSampleCollector((100, 800), bin="location+label", grid=(2, 4), num_classes=3)
    both.add(box(700, 60, 790, 90, label=2))  # centre (745, 75): row 1, column 3
    assert list(both.binned()) == [(7, 2)] and both.possible_bins == 24
    with pytest.raises(ValueError, match="grid"):
        BoxSampleCollector((10, 10), grid=(0, 3))


def test_a_box_that_may_vanish_keeps_finite_outer_and_score_bounds():
    n = 200
    samples = np.full((n, 1, 6), np.inf)
    samples[: int(0.6 * n), 0] = box(10, 10, 50, 50, score=0.4)[0]
    (result,) = certify_boxes({(None, 0): samples}, n, 0.5, 0.5, 0.01).boxes
    assert result.may_vanish and result.upper == (np.inf, np.inf, 50, 50)
    assert result.lower == (10, 10, -np.inf, -np.inf)
    assert result.score == 0.4 and result.score_upper == 0.4 and result.score_lower == -np.inf


def test_the_collector_doc_names_the_tools_defaults_beside_its_own():
    """The bare class defaults to a 3 × 3 grid; the tools pass DetSettings' (1 × 8), and
    the docstring must not present the one as the other."""
    from adcert.pipeline.settings import DetSettings

    tools = DetSettings()
    doc = " ".join(BoxSampleCollector.__doc__.split())
    rows, cols = tools.grid_shape
    assert f'"{tools.bin}" on a {rows} × {cols} grid' in doc
    assert f"{tools.sort} order, ``score_thr`` {tools.score_thr:g}" in doc
    assert "a 3 × 3 grid when binned by location" in doc
    assert BoxSampleCollector((10, 10), bin="location").grid == (3, 3)
