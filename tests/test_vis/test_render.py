import json
import os

import cv2
import pytest

from adcert.vis import load_records, load_summary, record_kind, render_records

from .synthetic import detection_record, frame, segmentation_record


def test_output_names_follow_the_relative_image_id(tmp_path):
    """Frames of one name in two folders are two frames, drawn to two files."""
    for city in ("cityA", "cityB"):
        (tmp_path / city).mkdir()
        cv2.imwrite(str(tmp_path / city / "x.png"), frame())
    records = [detection_record(f"{city}/x.png", str(tmp_path / city / "x.png"))
               for city in ("cityA", "cityB")]
    written = render_records(records, str(tmp_path / "out"))
    assert [os.path.basename(p) for p in written] == ["cityA__x.png", "cityB__x.png"]


def test_summary_is_found_beside_the_results_or_by_name(tmp_path):
    (tmp_path / "results.jsonl").write_text(json.dumps(detection_record()) + "\n")
    (tmp_path / "summary.json").write_text(json.dumps({"classes": ["car"]}))
    assert load_summary(str(tmp_path / "results.jsonl")) == {"classes": ["car"]}
    assert load_summary(str(tmp_path / "summary.json")) == {"classes": ["car"]}
    assert len(load_records(str(tmp_path / "results.jsonl"))) == 1
    (tmp_path / "summary.json").write_text("{oops")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_summary(str(tmp_path / "results.jsonl"))
    with pytest.raises(FileNotFoundError, match="run summary not found"):
        load_summary(str(tmp_path / "nowhere" / "results.jsonl"))


def test_record_kind_comes_from_the_method():
    assert record_kind(detection_record()) == "detection"
    assert record_kind(segmentation_record()) == "segmentation"
    with pytest.raises(ValueError, match="unknown method"):
        record_kind({"image_id": "a", "method": "magic"})
