"""Verdicts on hand-made runs whose answer is known."""

import numpy as np

from adcert.report.requirements import parse_requirement
from adcert.report.runs import load_run
from adcert.report.verdicts import MET, NOT_EVIDENCED, NOT_MET, assess, covers
from tests.test_report.fake_runs import SEG_HIERARCHY, detection_run, segmentation_run


def req(**kw):
    base = dict(id="R", metric="certified_ap50", min=0.3, eps=0.1, alpha=1e-3)
    return parse_requirement({**base, **kw}, 1)


def run(tmp_path, name, maker=detection_run, **kw):
    return load_run(maker(str(tmp_path / name), **kw), name)


def test_met_and_not_met(tmp_path):
    good = run(tmp_path, "a", certified_ap50=0.4)
    assert assess(req(), [good]).verdict == MET
    assert assess(req(min=0.5), [good]).verdict == NOT_MET
    vanish = parse_requirement(dict(id="V", metric="may_vanish_rate", max=0.4, eps=0.1,
                                    alpha=1e-3), 1)
    assert assess(vanish, [good]).verdict == NOT_MET  # the fake run's rate is 0.5


def test_per_class(tmp_path):
    r = run(tmp_path, "a", car_ap50=0.35)
    assert assess(req(cls="car"), [r]).verdict == MET
    assert assess(req(cls="car", min=0.36), [r]).verdict == NOT_MET
    verdict = assess(req(cls="truck"), [r])
    assert verdict.verdict == NOT_EVIDENCED and "undefined" in verdict.reason


def test_every_run_must_meet_no_best_of(tmp_path):
    good, bad = run(tmp_path, "a", certified_ap50=0.4), run(tmp_path, "b", certified_ap50=0.2)
    verdict = assess(req(), [good, bad])
    assert verdict.verdict == NOT_MET and "b (ε = 0.1): 0.2 fails 0.3" in verdict.reason


def test_attack_larger_than_certified_is_not_evidenced(tmp_path):
    verdict = assess(req(eps=0.2), [run(tmp_path, "a", eps=0.1)])
    assert verdict.verdict == NOT_EVIDENCED and "only up to ε = 0.1" in verdict.reason


def test_sweep_takes_smallest_covering_eps(tmp_path):
    sweep = [{"eps": e, "certified_ap50": ap, "certified_failure_bound": 0.01}
             for e, ap in ((0.05, 0.9), (0.1, 0.4), (0.2, 0.31), (0.36, 0.1))]
    r = run(tmp_path, "a", eps=0.1, sweep=sweep)
    verdict = assess(req(eps=0.15), [r])
    assert verdict.verdict == MET and verdict.findings[0].at == "ε = 0.2"
    assert assess(req(eps=0.3), [r]).verdict == NOT_MET  # read at ε = 0.36: 0.1


def test_weaker_alpha_other_transform_and_unfinished_runs(tmp_path):
    weak = run(tmp_path, "a", alpha=1e-2)
    assert "weaker than the required" in assess(req(), [weak]).reason
    gamma = run(tmp_path, "b", transform="gamma")
    assert assess(req(), [gamma]).verdict == NOT_EVIDENCED
    assert assess(req(transform="gamma"), [gamma]).verdict == MET
    unfinished = run(tmp_path, "c", summary=False, journal=True)
    verdict = assess(req(), [unfinished])
    assert verdict.verdict == NOT_EVIDENCED and "unfinished: 1 of 1 frames" in verdict.reason
    missing = load_run(str(tmp_path / "nothing"), "d")
    assert assess(req(), [missing]).verdict == NOT_EVIDENCED


def test_confidence_needs_a_small_joint_failure_bound(tmp_path):
    r = run(tmp_path, "a", failure_bound=0.05)
    assert assess(req(confidence=0.9), [r]).verdict == MET
    verdict = assess(req(confidence=0.99), [r])
    assert verdict.verdict == NOT_EVIDENCED and "exceeds 1 − confidence" in verdict.reason
    # B depends on the samples: the reason states the threshold reading's bound, never
    # "the certificates fail jointly with probability ≤ B" (issue 31).
    assert "jointly" not in verdict.reason
    assert verdict.joint_failure_bound == 0.05


def test_two_runs_add_up_against_the_default_confidence(tmp_path):
    # The case: each run's certificates have failure bound 0.04, which each
    # alone would pass at 0.95; met over both needs both, 0.08 > 0.05.
    a = run(tmp_path, "a", failure_bound=0.04)
    b = run(tmp_path, "b", failure_bound=0.04)
    assert assess(req(), [a]).verdict == MET
    verdict = assess(req(), [a, b])
    assert verdict.verdict == NOT_EVIDENCED and verdict.joint_failure_bound == 0.08
    assert "2 certificate families" in verdict.reason and "≤ 0.08" in verdict.reason
    assert assess(req(confidence=0.9), [a, b]).verdict == MET


def test_a_vacuous_bound_is_never_met(tmp_path):
    verdict = assess(req(), [run(tmp_path, "a", failure_bound=1.0)])
    assert verdict.verdict == NOT_EVIDENCED and verdict.joint_failure_bound == 1.0
    unknown = run(tmp_path, "b", failure_bound=None)
    verdict = assess(req(), [unknown])
    assert verdict.verdict == NOT_EVIDENCED and "unknown" in verdict.reason


def test_not_met_states_its_bound_and_measured_figures_rest_on_none(tmp_path):
    r = run(tmp_path, "a", certified_ap50=0.2, failure_bound=0.5)
    verdict = assess(req(), [r])
    assert verdict.verdict == NOT_MET and verdict.joint_failure_bound == 0.5
    measured = assess(req(metric="smoothed_ap50"), [r])
    assert measured.verdict == MET and measured.joint_failure_bound is None
    assert measured.findings[0].certificate is None


def test_segmentation_range_must_contain_the_attack_set(tmp_path):
    r = run(tmp_path, "s", segmentation_run, radius=0.168, certified_acc=0.85)
    acc = dict(id="S", metric="certified_acc", min=0.8, alpha=1e-3)
    assert assess(parse_requirement({**acc, "eps": 0.1}, 1), [r]).verdict == MET
    assert assess(parse_requirement({**acc, "eps": 0.168}, 1), [r]).verdict == NOT_EVIDENCED
    abstain = dict(id="A", metric="abstain_rate", max=0.05, eps=0.1, alpha=1e-3)
    assert assess(parse_requirement(abstain, 1), [r]).verdict == NOT_MET  # 0.1 > 0.05


def test_covers_two_sided_ranges():
    bright = parse_requirement(dict(id="B", metric="certified_acc", min=0.5, eps=0.1,
                                    alpha=1e-3, transform="brightness"), 1)
    assert covers({"transform": "brightness", "low": -0.11, "high": 0.11}, bright)
    assert not covers({"transform": "brightness", "low": -0.09, "high": 0.11}, bright)
    assert not covers({"transform": "contrast", "low": 0.5, "high": 2.0}, bright)
    gamma = parse_requirement(dict(id="G", metric="certified_acc", min=0.5, eps=0.1,
                                   alpha=1e-3, transform="gamma"), 1)
    assert covers({"transform": "gamma", "low": 0.9, "high": 1.11}, gamma)
    assert not covers({"transform": "gamma", "low": float(np.exp(-0.1)), "high": 1.2}, gamma)


LEVEL = dict(id="H", metric="certified_acc", level="category", min=0.9, eps=0.1, alpha=1e-3)


def test_a_level_is_read_from_the_summarys_figures_at_that_level(tmp_path):
    r = run(tmp_path, "h", segmentation_run, hierarchy=SEG_HIERARCHY, certified_acc=0.5,
            by_level={"class": (0.5, 0.4), "category": (0.93, 0.8), "group": (0.99, 1.0)})
    verdict = assess(parse_requirement(LEVEL, 1), [r])
    assert verdict.verdict == MET and verdict.findings[0].value == 0.93
    assert verdict.findings[0].at == "τ = 0.75, level category"
    assert "h (τ = 0.75, level category): 0.93 ≥ 0.9" in verdict.reason
    assert verdict.joint_failure_bound == 1e-3  # one frame × α: the levels share it
    miou = parse_requirement({**LEVEL, "metric": "certified_miou", "level": "group",
                              "min": 0.95}, 1)
    assert assess(miou, [r]).findings[0].value == 1.0
    assert assess(parse_requirement({**LEVEL, "min": 0.95}, 1), [r]).verdict == NOT_MET
    # Without a level the same run is read as before: the fine figure.
    assert assess(parse_requirement({**LEVEL, "level": None}, 1), [r]).verdict == NOT_MET


def test_a_level_on_a_flat_run_or_a_missing_level_is_not_evidenced(tmp_path):
    flat = run(tmp_path, "f", segmentation_run, certified_acc=0.99)
    verdict = assess(parse_requirement(LEVEL, 1), [flat])
    assert verdict.verdict == NOT_EVIDENCED and verdict.findings[0].value is None
    assert ("f: certified without a class hierarchy (flat), so it has no figure at "
            "hierarchy level 'category'") in verdict.reason
    tree = run(tmp_path, "h", segmentation_run, hierarchy=SEG_HIERARCHY)
    other = assess(parse_requirement({**LEVEL, "level": "supercategory"}, 1), [tree])
    assert other.verdict == NOT_EVIDENCED
    assert ("its hierarchy 'toy' has no level 'supercategory' (levels: class, category, "
            "group)") in other.reason
    # A flat run beside a hierarchical one: no best-of, the flat run is no evidence.
    both = assess(parse_requirement(LEVEL, 1), [tree, flat])
    assert both.verdict == MET and "f: certified without a class hierarchy" in both.reason


def test_a_level_is_read_at_the_runs_own_tau_not_the_sweep(tmp_path):
    """The τ' sweep holds the fine level only: a wider τ' range is no level evidence."""
    sweep = [{"tau": 0.9, "certified_fraction": 0.7, "certified_acc": 0.95,
              "certified_range": {"transform": "gaussian", "low": 0.0, "high": 0.32}}]
    r = run(tmp_path, "h", segmentation_run, hierarchy=SEG_HIERARCHY, radius=0.168,
            tau_sweep=sweep)
    wide = {**LEVEL, "eps": 0.3, "min": 0.5}
    assert assess(parse_requirement({**wide, "level": None}, 1), [r]).verdict == MET
    verdict = assess(parse_requirement(wide, 1), [r])
    assert verdict.verdict == NOT_EVIDENCED and "does not contain" in verdict.reason
