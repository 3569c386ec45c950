"""End to end: run folders → report.json (schema-valid) and a safe, self-contained HTML."""

import json
import os
import re

import cv2
import numpy as np
import pytest

from adcert.cli.report import cli
from adcert.report import report_schema, schema_errors, write_report
from tests.test_report.fake_runs import (
    SEG_HIERARCHY,
    det_box,
    detection_run,
    requirements_file,
    segmentation_run,
)

REQS = [dict(id="D1", metric="certified_ap50", min=0.3, eps=0.1, alpha=1e-3,
             text="cars <b>stay</b>"),
        dict(id="S1", metric="certified_acc", min=0.8, eps=0.1, alpha=1e-3)]


def _report(tmp_path, runs, reqs=REQS):
    req = requirements_file(str(tmp_path / "req.py"), reqs)
    return write_report(runs, req, str(tmp_path / "out"))


def test_report_validates_and_schema_can_fail(tmp_path):
    det = detection_run(str(tmp_path / "det"), failure_bound=0.04)
    seg = segmentation_run(str(tmp_path / "seg"))
    json_path, html_path, report = _report(tmp_path, [det, seg])
    on_disk = json.loads(open(json_path, encoding="utf-8").read())
    assert schema_errors(on_disk) == []
    assert [g["verdict"] for g in on_disk["goals"]] == ["met", "met"]
    assert [g["joint_failure_bound"] for g in on_disk["goals"]] == [0.04, 0.001]
    top = on_disk["top_goal"]
    assert top["verdict"] == "met" and top["confidence"] == 0.95 and top["certificates"] == 2
    assert top["joint_failure_bound"] == pytest.approx(0.041)
    assert "≤ 0.041" in top["text"]
    # The same runs, the detection one's certificates failing with probability ≤ 0.05:
    # each goal alone passes 0.95, both together (0.051) do not.
    det = detection_run(str(tmp_path / "det2"), failure_bound=0.05)
    _, _, loose = _report(tmp_path, [det, seg])
    assert [g["verdict"] for g in loose["goals"]] == ["met", "met"]
    assert loose["top_goal"]["verdict"] == "not evidenced"
    assert on_disk["solutions"][0]["checkpoint_sha256"] == "b" * 64
    broken = dict(on_disk, top_goal={**on_disk["top_goal"], "verdict": "probably"})
    assert any("top_goal" in e for e in schema_errors(broken))
    assert report_schema()["properties"]["kind"]["const"] == "adcert.safety_case"


def test_every_user_string_is_escaped(tmp_path):
    evil = "<script>alert(1)</script>"
    det = detection_run(str(tmp_path / "det"), classes=[evil, "person"])
    reqs = [dict(id="<i>D</i>", metric="certified_ap50", cls=evil, min=0.3, eps=0.1,
                 alpha=1e-3, text=f"text {evil}")]
    _, html_path, _ = _report(tmp_path, [det], reqs)
    page = open(html_path, encoding="utf-8").read()
    assert "<script" not in page and "<i>D</i>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # offline: no external asset, every image inline
    assert not re.search(r'(src|href)="(?!data:|#)', page)


def test_zero_certified_boxes(tmp_path):
    det = detection_run(str(tmp_path / "det"), certified_ap50=0.0, car_ap50=0.0,
                        boxes=[det_box(10, 10, 40, 40, certain=False)])
    _, html_path, report = _report(tmp_path, [det], REQS[:1])
    assert report["goals"][0]["verdict"] == "not met"
    assert report["solutions"][0]["figures"]["certain_boxes"] == 0
    page = open(html_path, encoding="utf-8").read()
    assert "0 fails 0.3" in page and "No box of this run is certified" in page


def test_all_abstain_segmentation(tmp_path):
    seg = segmentation_run(str(tmp_path / "seg"), certified_acc=0.0, abstain_rate=1.0,
                           labels=np.full((64, 96), 255, np.uint8))
    _, html_path, report = _report(tmp_path, [seg], REQS[1:])
    assert report["goals"][0]["verdict"] == "not met"
    assert "this run certifies no pixel" in open(html_path, encoding="utf-8").read()
    gallery = report["figures"]["gallery"]
    assert gallery and "100.0%" in gallery[0]["why"]


def test_missing_and_unfinished_runs_are_reported(tmp_path):
    unfinished = detection_run(str(tmp_path / "det"), summary=False, journal=True)
    _, html_path, report = _report(tmp_path, [unfinished, str(tmp_path / "nothing")])
    statuses = [s["status"] for s in report["solutions"]]
    assert statuses == ["incomplete", "missing"]
    assert {g["verdict"] for g in report["goals"]} == {"not evidenced"}
    page = open(html_path, encoding="utf-8").read()
    assert "unfinished: 1 of 1 frames certified" in page and "does not exist" in page
    assert schema_errors(report) == []


def test_gallery_marks_certified_but_wrong(tmp_path):
    # the certain box at (60, 5) matches no ground truth: certified, but wrong
    boxes = [det_box(10, 10, 40, 40), det_box(60, 5, 90, 30)]
    det = detection_run(str(tmp_path / "det"), boxes=boxes)
    _, _, report = _report(tmp_path, [det], REQS[:1])
    assert report["solutions"][0]["figures"]["certified_wrong_boxes"] == 1
    assert any("certified-but-wrong boxes" in g["why"] for g in report["figures"]["gallery"])


def test_cli_bad_requirements_is_one_line_and_status_2(tmp_path, capsys):
    det = detection_run(str(tmp_path / "det"))
    bad = requirements_file(str(tmp_path / "bad.py"), [dict(id="X", metric="nope", min=1,
                                                            eps=0.1, alpha=0.1)])
    assert cli([det, "--requirements", bad, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "unknown metric 'nope'" in err and "\n" not in err
    assert not os.path.exists(tmp_path / "o")


def test_cli_fail_unless_met(tmp_path, capsys):
    det = detection_run(str(tmp_path / "det"), certified_ap50=0.1)
    req = requirements_file(str(tmp_path / "req.py"), REQS[:1])
    out = str(tmp_path / "o")
    assert cli([det, "--requirements", req, "--out", out]) == 0
    assert cli([det, "--requirements", req, "--out", out, "--fail-unless-met"]) == 1
    assert "overall: not met" in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["<", "&", '"'])
def test_paths_with_markup_characters(tmp_path, bad):
    det = detection_run(str(tmp_path / f"d{bad}x"))
    _, html_path, _ = _report(tmp_path, [det], REQS[:1])
    page = open(html_path, encoding="utf-8").read()
    assert f"d{bad}x" not in page


def test_small_frames_are_drawn_enlarged_with_their_boxes(tmp_path):
    from adcert.report.gallery import MAX_WIDTH, draw_detection, scaled_record
    from adcert.report.runs import load_run

    run = load_run(detection_run(str(tmp_path / "det")), "R1")
    record = run.records[0]
    big = scaled_record(record, 10.0)
    assert big["boxes"][0]["bbox"] == [100, 100, 400, 400]
    assert big["ground_truth"]["boxes"][1] == [500, 200, 700, 500]
    assert record["boxes"][0]["bbox"] == [10, 10, 40, 40]  # the original is untouched
    drawn = draw_detection(run, record, np.zeros((64, 96, 3), np.uint8))
    assert drawn.shape[1] == MAX_WIDTH
    # A Cityscapes-sized frame is scaled down before drawing, so labels are sized for the
    # page rather than shrunk with the frame afterwards.
    assert draw_detection(run, record, np.zeros((1024, 2048, 3), np.uint8)).shape == (
        480, MAX_WIDTH, 3)


def test_solutions_name_the_denoiser_and_its_hash(tmp_path):
    det = detection_run(str(tmp_path / "det"), failure_bound=0.04)
    manifest_path = os.path.join(det, "run.json")
    manifest = json.load(open(manifest_path))
    manifest["denoiser"] = {"type": "ConvDenoiser", "spec": {"type": "ConvDenoiser"},
                            "config": "/d/cfg.py", "checkpoint": "/d/den.pth",
                            "checkpoint_sha256": "c" * 64}
    with open(manifest_path, "w") as f:
        json.dump(manifest, f)
    seg = segmentation_run(str(tmp_path / "seg"))
    json_path, html_path, _ = _report(tmp_path, [det, seg])
    on_disk = json.loads(open(json_path, encoding="utf-8").read())
    assert schema_errors(on_disk) == []
    assert on_disk["solutions"][0]["denoiser"]["checkpoint_sha256"] == "c" * 64
    assert on_disk["solutions"][1]["denoiser"] is None
    page = open(html_path, encoding="utf-8").read()
    assert "ConvDenoiser in front of the task model" in page and "c" * 64 in page


def _hierarchical_seg(folder: str) -> str:
    """A hierarchical run: road certified, a car region certified only as vehicle
    (category), a corner abstaining; the ground truth is road and car."""
    labels = np.zeros((64, 96), np.uint8)
    labels[20:40, 30:60] = 255
    labels[0:8, 0:8] = 255
    nodes = labels.copy()
    nodes[20:40, 30:60] = 3  # vehicle
    truth = np.zeros((64, 96), np.uint8)
    truth[20:40, 30:60] = 1  # car: inside vehicle, so not certified-but-wrong
    return segmentation_run(folder, hierarchy=SEG_HIERARCHY, labels=labels, nodes=nodes,
                            truth=truth)


def test_hierarchical_runs_show_their_levels_and_gain(tmp_path):
    seg = _hierarchical_seg(str(tmp_path / "seg"))
    reqs = [dict(id="H1", metric="certified_acc", level="category", min=0.9, eps=0.1,
                 alpha=1e-3),
            dict(id="H2", metric="certified_acc", level="category", min=0.9, eps=0.1,
                 alpha=1e-3)]
    flat = segmentation_run(str(tmp_path / "flat"))
    json_path, html_path, report = _report(tmp_path, [seg, flat], reqs[:1])
    assert schema_errors(json.loads(open(json_path, encoding="utf-8").read())) == []
    goal = report["goals"][0]
    assert goal["requirement"]["level"] == "category" and goal["verdict"] == "met"
    assert "level category" in goal["reason"] and "without a class hierarchy" in goal["reason"]
    log = report["verification_log"][0]["formal_property"]
    assert "at hierarchy level category" in log and "smoothed segmenter at level category" in log
    figures = report["solutions"][0]["figures"]
    assert figures["hierarchy"] == "toy" and figures["certified_information_gain"] == 0.8
    assert figures["by_level"]["category"] == {"certified_acc": 0.92, "certified_miou": 0.8}
    assert "by_level" not in report["solutions"][1]["figures"]  # flat: as before
    page = open(html_path, encoding="utf-8").read()
    assert "per hierarchy level" in page and "certified information gain" in page
    assert "hatched in colour" in page


def test_gallery_draws_the_node_map_of_a_hierarchical_run(tmp_path):
    from adcert.certify.hierarchy import build_hierarchy
    from adcert.report.gallery import MAX_WIDTH, _segmentation_drawer, draw_segmentation
    from adcert.report.runs import load_run
    from adcert.vis.nodes import overlay_nodes

    run = load_run(_hierarchical_seg(str(tmp_path / "seg")), "R1")
    record, image = run.records[0], np.full((64, 96, 3), 90, np.uint8)
    draw, wrong_of, title = _segmentation_drawer(run, record, ())
    nodes = cv2.imread(os.path.join(run.path, record["nodes_mask_path"]), cv2.IMREAD_UNCHANGED)
    tree = build_hierarchy(run.summary["hierarchy"], run.classes)
    np.testing.assert_array_equal(draw(image), overlay_nodes(image, nodes, tree))
    truth = np.ones((64, 96), np.uint8)  # all car: the certified road is wrong, vehicle not
    wrong = wrong_of(truth)
    assert wrong[50, 80] and not wrong[30, 40] and not wrong[2, 2]
    assert "hatched" in title
    assert draw_segmentation(run, record, image).shape[1] == MAX_WIDTH
