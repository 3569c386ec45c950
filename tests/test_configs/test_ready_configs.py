"""The ready-made configs build their model and certify one frame of a tiny fake data set
laid out as the real one (COCO, Cityscapes), since the real sets cannot be downloaded here.
Weights are random: these tests check the plumbing, not the numbers."""

import json
import os
import shutil

import pytest

pytest.importorskip("mmdet")
pytest.importorskip("mmseg")

from adcert.datasets import write_split  # noqa: E402

from ..helpers import random_checkpoint  # noqa: E402

CONFIGS = os.path.join(os.path.dirname(__file__), "..", "..", "configs")
SMALL = "test_dataloader.dataset.pipeline.1.scale=(128,64)"


def fake_cityscapes(root, coco_classes, rename):
    """One generated frame in the Cityscapes layout; its boxes relabelled by ``rename`` into
    ``coco_classes`` so the COCO-style json matches the dataset's class list."""
    write_split(str(root), "val", [31], height=64, width=128)
    ann = json.load(open(root / "annotations" / "instances_val.json"))
    names = sorted({rename[c["name"]] for c in ann["categories"]})
    ids = {name: coco_classes.index(name) + 1 for name in names}
    old = {c["id"]: rename[c["name"]] for c in ann["categories"]}
    ann["categories"] = [{"id": i + 1, "name": n} for i, n in enumerate(coco_classes)]
    for a in ann["annotations"]:
        a["category_id"] = ids[old[a["category_id"]]]
    return ann


def test_faster_rcnn_coco_config(tmp_path):
    from mmdet.datasets import CocoDataset

    from adcert.cli.certify_det import cli

    classes = list(CocoDataset.METAINFO["classes"])
    ann = fake_cityscapes(tmp_path / "src", classes, {
        "car": "car", "person": "person", "rider": "person", "traffic sign": "stop sign"})
    coco = tmp_path / "coco"
    (coco / "val2017").mkdir(parents=True)
    (coco / "annotations").mkdir()
    for image in ann["images"]:
        source = tmp_path / "src" / "leftImg8bit" / "val" / image["file_name"]
        image["file_name"] = os.path.basename(image["file_name"])
        shutil.copy(source, coco / "val2017" / image["file_name"])
    json.dump(ann, open(coco / "annotations" / "instances_val2017.json", "w"))
    config = os.path.join(CONFIGS, "det", "faster-rcnn_r50_fpn_1x_coco.py")
    checkpoint = random_checkpoint(config, "mmdet", tmp_path / "frcnn.pth")
    code = cli([config, checkpoint, "--n", "2", "--seed", "0", "--work-dir",
                str(tmp_path / "out"), "--cfg-options",
                f"test_dataloader.dataset.data_root={coco}/", SMALL,
                "model.test_cfg.rcnn.score_thr=0.0"])
    assert code == 0
    (results,) = list((tmp_path / "out").rglob("results.jsonl"))
    assert json.loads(results.read_text())["n"] == 2


def test_faster_rcnn_cityscapes_config(tmp_path):
    from mmdet.datasets import CityscapesDataset

    from adcert.cli.certify_det import cli

    classes = list(CityscapesDataset.METAINFO["classes"])
    root = tmp_path / "src"
    ann = fake_cityscapes(root, classes, {
        "car": "car", "person": "person", "rider": "rider", "traffic sign": "car"})
    json.dump(ann, open(root / "annotations" / "instancesonly_filtered_gtFine_val.json", "w"))
    config = os.path.join(CONFIGS, "det", "faster-rcnn_r50_fpn_1x_cityscapes.py")
    checkpoint = random_checkpoint(config, "mmdet", tmp_path / "frcnn.pth")
    code = cli([config, checkpoint, "--n", "2", "--seed", "0", "--work-dir",
                str(tmp_path / "out"), "--cfg-options",
                f"test_dataloader.dataset.data_root={root}/", SMALL])
    assert code == 0


def test_fcn_cityscapes_config(tmp_path):
    from adcert.cli.certify_seg import cli

    write_split(str(tmp_path / "cityscapes"), "val", [32], height=64, width=128)
    config = os.path.join(CONFIGS, "seg", "fcn_r50-d8_cityscapes-512x1024.py")
    checkpoint = random_checkpoint(config, "mmseg", tmp_path / "fcn.pth")
    code = cli([config, checkpoint, "--n0", "1", "--n", "2", "--seed", "0", "--work-dir",
                str(tmp_path / "out"), "--cfg-options",
                f"test_dataloader.dataset.data_root={tmp_path / 'cityscapes'}", SMALL])
    assert code == 0
    (summary,) = list((tmp_path / "out").rglob("summary.json"))
    assert json.loads(summary.read_text())["frames"] == 1
