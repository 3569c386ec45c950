"""The JSON Schemas shipped with the package, and their validator. Real records and
summaries are validated in tests/test_cli (test_certify_det / test_certify_seg)."""

import json
import subprocess
import sys

from adcert.pipeline.schema import (
    DETECTION_RECORD_SCHEMA,
    RECORD_SCHEMA,
    SEGMENTATION_RECORD_SCHEMA,
    SUMMARY_SCHEMA,
    validate,
)

BOX = {"bbox": [1.0, 2.0, 3.0, 4.0], "lower": [None, 1.0, 2.0, 3.0],
       "upper": [2.0, 3.0, 4.0, None], "label": 0, "label_certified": True,
       "may_vanish": False, "score": 0.5}
RECORD = {"schema_version": 1, "image_id": "a/b.png", "img_path": "/data/a/b.png", "index": 0,
          "input_shape": [64, 128], "seed": 3,
          "model": {"config": "c.py", "checkpoint": "m.pth", "checkpoint_sha256": "0" * 64},
          "method": "median_smoothing_sort_and_bin", "transform": "gaussian", "sigma": 0.25,
          "n": 8, "alpha": 0.001, "guarantee": "per_box", "guarantee_text": "…",
          "certified_range": {"text": "ℓ2 ≤ 0.1"}, "eps": 0.1, "correction": "box",
          "bin": "label", "sort": "center", "boxes": [BOX],
          "provenance": {"device": "cpu", "torch": "2", "noise": {}, "unsafe_load": False,
                         "norm_space": "…"}, "time_s": 0.5}


def test_a_detection_record_is_valid_and_errors_are_named():
    assert validate(RECORD, DETECTION_RECORD_SCHEMA) == []
    assert validate(RECORD, RECORD_SCHEMA) == []
    broken = {**RECORD, "n": 0, "boxes": [{**BOX, "bbox": [1.0, "x", 3.0, 4.0]}]}
    del broken["seed"]
    errors = validate(broken, DETECTION_RECORD_SCHEMA)
    assert "$: 'seed' is a required property" in errors
    assert "$.n: 0 is less than the minimum of 1" in errors
    assert "$.boxes[0].bbox[1]: 'x' is not of type 'number'" in errors
    assert validate(broken, RECORD_SCHEMA)  # no branch of anyOf accepts it


def test_nan_is_not_a_number_and_wrong_method_is_caught():
    assert validate({**RECORD, "sigma": float("nan")}, DETECTION_RECORD_SCHEMA)
    assert validate(RECORD, SEGMENTATION_RECORD_SCHEMA)
    assert validate({}, SUMMARY_SCHEMA)


def test_schemas_print_as_json():
    done = subprocess.run([sys.executable, "-m", "adcert.pipeline.schema"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert set(json.loads(done.stdout)) == {"record", "summary"}


def test_the_eps_sweep_and_ground_truth_are_checked():
    entry = {"eps": 0.05, "alpha_per_bound": 1e-4, "certified_range": {"text": "ℓ2 < 0.05"},
             "observed_slots": 1, "boxes": [BOX], "may_appear": []}
    truth = {"boxes": [[1.0, 2.0, 3.0, 4.0]], "labels": [0], "ignored_boxes": []}
    record = {**RECORD, "eps_sweep": [entry], "ground_truth": truth}
    assert validate(record, DETECTION_RECORD_SCHEMA) == []
    broken = {**record, "eps_sweep": [{**entry, "eps": None}],
              "ground_truth": {**truth, "boxes": [[1.0, 2.0, 3.0]]}}
    errors = validate(broken, DETECTION_RECORD_SCHEMA)
    assert any(e.startswith("$.eps_sweep[0].eps") for e in errors)
    assert any(e.startswith("$.ground_truth.boxes[0]: ") and "is too short" in e
               for e in errors)
