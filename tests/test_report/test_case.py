"""The safety case's own judgements: data independence, dates, the top goal."""

import os

import pytest

from adcert.report.case import _formal_property, _run_date, _top_goal, independence
from adcert.report.requirements import parse_requirement
from adcert.report.runs import load_run
from adcert.report.verdicts import Verdict, assess, top_goal
from tests.test_report.fake_runs import detection_run

TRAIN = {"type": "CocoDataset", "data_root": "data/", "ann_file": "train.json",
         "data_prefix": {"img": "train/"}}
TEST = {**TRAIN, "ann_file": "val.json", "data_prefix": {"img": "val/"}}


def test_independence_compares_the_config_splits():
    assert independence({"certified_split": TEST, "training_split": TRAIN}).startswith(
        "the certified split differs")
    assert independence({"certified_split": TRAIN, "training_split": TRAIN}).startswith(
        "NOT independent")
    assert independence({"certified_split": TEST, "training_split": None}).startswith(
        "not evidenced")
    assert independence({"certified_split": None, "training_split": None}).startswith(
        "unknown")


def test_top_goal_is_met_only_if_every_goal_is():
    req = parse_requirement(dict(id="R", metric="certified_acc", min=0.5, eps=0.1,
                                 alpha=0.01), 1)
    verdicts = lambda *states: [Verdict(req, s, "") for s in states]  # noqa: E731
    assert top_goal(verdicts("met", "met"), 0.95)[0] == "met"
    assert top_goal(verdicts("met", "not evidenced"), 0.95)[0] == "not evidenced"
    assert top_goal(verdicts("not evidenced", "not met"), 0.95)[0] == "not met"


def test_top_goal_adds_each_distinct_certificate_once(tmp_path):
    # One run read at ε = 0.1 by two goals (the same certificates: 0.03 once) and at
    # ε = 0.2 by a third (other certificates from the same samples: 0.02 more).
    sweep = [{"eps": 0.1, "certified_ap50": 0.5, "certified_failure_bound": 0.03},
             {"eps": 0.2, "certified_ap50": 0.5, "certified_failure_bound": 0.02}]
    run = load_run(detection_run(str(tmp_path / "a"), sweep=sweep, failure_bound=0.03), "R1")
    reqs = [parse_requirement(dict(id=i, metric="certified_ap50", min=0.3, eps=e,
                                   alpha=1e-3), 1) for i, e in (("A", 0.1), ("B", 0.05),
                                                                ("C", 0.2))]
    verdicts = [assess(r, [run]) for r in reqs]
    assert [v.joint_failure_bound for v in verdicts] == [0.03, 0.03, 0.02]
    verdict, joint, count = top_goal(verdicts, 0.95)
    assert (verdict, count) == ("met", 2) and joint == pytest.approx(0.05)
    # Counted per goal (0.08) the top goal would miss 0.95; counted per run (0.03) it would
    # pass 0.97, which the two families together do not reach.
    assert top_goal(verdicts, 0.96)[0] == "not evidenced"


def test_a_work_dir_means_its_newest_run_and_its_date(tmp_path):
    detection_run(str(tmp_path / "work" / "20261101_090000"), certified_ap50=0.1)
    detection_run(str(tmp_path / "work" / "20261102_090000_2"), certified_ap50=0.2)
    run = load_run(str(tmp_path / "work"), "R1")
    assert os.path.basename(run.path) == "20261102_090000_2"
    assert run.summary["certified_ap50"] == 0.2
    assert _run_date(run) == "2026-11-02T09:00:00"


def test_building_a_report_loads_no_torch():
    import subprocess
    import sys

    code = ("import sys, adcert.report.case, adcert.report.html, adcert.report.gallery; "
            "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"


def test_formal_properties_say_what_each_figure_bounds():
    vanish = parse_requirement(dict(id="V", metric="may_vanish_rate", max=0.4, eps=0.1,
                                    alpha=1e-3), 1)
    text = _formal_property(vanish)
    # Not "bounds its value … from above": the rate describes the certificate at the clean
    # frames and bounds the share of boxes some perturbation in the set can remove.
    assert "bounds from above the share of the smoothed detector's boxes" in text
    assert "some perturbation in the set (each frame its own) can remove" in text
    assert "bounds its value" not in text
    ap = parse_requirement(dict(id="A", metric="certified_ap50", min=0.3, eps=0.1,
                                alpha=1e-3), 1)
    assert "of the attacked smoothed model, under every such perturbation, from below" in (
        _formal_property(ap))


def test_failure_bounds_are_worded_as_proven(tmp_path):
    """B depends on the samples: what is proven is P(some certificate wrong and B ≤ b) ≤ b
    for every b, never "the certificates fail jointly with probability ≤ B"."""
    req = parse_requirement(dict(id="A", metric="certified_ap50", min=0.3, eps=0.1,
                                 alpha=1e-3), 1)
    run = load_run(detection_run(str(tmp_path / "a"), failure_bound=0.03), "R1")
    verdict = assess(req, [run])
    goal = _top_goal([verdict], "the system", 0.95)
    texts = [_formal_property(req), verdict.reason, goal["text"]]
    assert "P(some certificate wrong and B ≤ b) ≤ b" in texts[0]
    assert "failure bound of its certificates ≤ 0.03" in texts[1]
    assert "failure bound B ≤ 0.03" in texts[2] and "≤ 1 − 0.95" in texts[2]
    for text in texts:
        assert "jointly" not in text and "all together with probability" not in text
