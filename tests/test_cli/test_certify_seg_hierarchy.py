"""``tools/certify_seg.py --hierarchy``: node maps, per-level figures, flat = plain."""

import json
import os

import cv2
import numpy as np
import pytest

pytest.importorskip("mmseg")

from adcert.cli.certify_seg import cli  # noqa: E402
from adcert.datasets import write_split  # noqa: E402
from adcert.pipeline.schema import (  # noqa: E402
    SEGMENTATION_RECORD_SCHEMA,
    SUMMARY_SCHEMA,
    validate,
)

from ..helpers import REPO  # noqa: E402

CONFIG = os.path.join(REPO, "configs", "demo", "fpn_mnv2_demo.py")
CHECKPOINT = os.path.join(REPO, "data", "demo", "checkpoints", "fpn_mnv2_demo.pth")


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    root = tmp_path_factory.mktemp("hier")
    write_split(str(root / "data"), "test", [9101, 9102], height=64, width=128)
    return root


def run(root, work, *extra) -> tuple[int, str]:
    code = cli([CONFIG, CHECKPOINT, "--work-dir", str(root / work), "--n0", "6", "--n", "40",
                "--alpha", "0.1", "--tau", "0.6", "--seed", "5", "--device", "cpu", *extra,
                "--cfg-options", f"test_dataloader.dataset.data_root={root / 'data'}",
                "test_dataloader.dataset.pipeline.1.scale=(128,64)"])
    runs = sorted((root / work).glob("*/summary.json"))
    return code, str(runs[-1].parent) if runs else ""


def _records(run_dir: str) -> list[dict]:
    return [json.loads(line) for line in open(os.path.join(run_dir, "results.jsonl"))]


def test_hierarchy_records_node_maps_and_levels(frames):
    code, run_dir = run(frames, "cityscapes", "--hierarchy", "cityscapes")
    assert code == 0
    for record in _records(run_dir):
        assert validate(record, SEGMENTATION_RECORD_SCHEMA) == []
        assert record["hierarchy"] == "cityscapes"
        assert set(record["level_rates"]) == {"class", "category", "group"}
        labels = cv2.imread(os.path.join(run_dir, record["mask_path"]), cv2.IMREAD_UNCHANGED)
        nodes = cv2.imread(os.path.join(run_dir, record["nodes_mask_path"]),
                           cv2.IMREAD_UNCHANGED)
        fine = labels != 255
        assert np.array_equal(nodes[fine], labels[fine])  # level 0 certificates agree
        assert np.all((nodes[~fine] >= 19) | (nodes[~fine] == 255))
        assert record["node_abstain_rate"] == pytest.approx(float(np.mean(nodes == 255)))
        assert record["abstain_rate"] == pytest.approx(float(np.mean(labels == 255)))
        acc = record["certified_acc_by_level"]
        assert acc["class"] <= acc["category"] <= acc["group"]
        assert acc["class"] == pytest.approx(record["certified_acc"])
    summary = json.load(open(os.path.join(run_dir, "summary.json")))
    assert validate(summary, SUMMARY_SCHEMA) == []
    assert summary["hierarchy"]["name"] == "cityscapes"
    assert summary["certified_acc_by_level"]["class"] <= summary["certified_acc_by_level"][
        "group"]
    assert summary["certified_information_gain"] >= summary["certified_acc"] - 1e-12
    assert summary["node_abstain_rate"] <= summary["abstain_rate"]
    assert set(summary["certified_miou_by_level"]) == {"class", "category", "group"}


def test_flat_hierarchy_gives_todays_records(frames, tmp_path):
    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps({"name": "flat", "levels": []}))
    code_plain, plain = run(frames, "plain")
    code_flat, flat_run = run(frames, "flat", "--hierarchy", str(flat))
    assert code_plain == code_flat == 0
    strip = lambda r: {k: v for k, v in r.items() if k != "time_s"}  # noqa: E731
    assert [strip(r) for r in _records(plain)] == [strip(r) for r in _records(flat_run)]
    for record in _records(plain):
        a = open(os.path.join(plain, record["mask_path"]), "rb").read()
        b = open(os.path.join(flat_run, record["mask_path"]), "rb").read()
        assert a == b


@pytest.mark.parametrize("spec, message", [
    ({"name": "x", "levels": [{"name": "c", "nodes": {"all": ["road"]}}]}, "misses 'sidewalk'"),
    ({"name": "x", "levels": [{"name": "c", "nodes": {"v": ["car", "lorry"]}}]},
     "no class 'lorry'"),
])
def test_bad_hierarchy_is_one_line_and_status_2(frames, tmp_path, capsys, spec, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(spec))
    code, run_dir = run(frames, "bad", "--hierarchy", str(path))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and run_dir == ""
    assert len(err) == 1 and message in err[0]
