import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from adcert.datasets import (  # noqa: E402
    CITYSCAPES_CLASSES,
    DETECTION_CLASSES,
    IGNORE_INDEX,
    MIN_VISIBLE_AREA,
    TRAIN_IDS,
    generate_scene,
    generate_sequence,
    split_seeds,
    write_sequence,
    write_split,
)

REPO = Path(__file__).resolve().parents[2]
H, W = 128, 256  # small frames for the writer tests; the label checks use full size


@pytest.fixture(scope="module")
def scenes():
    return [generate_scene(seed) for seed in range(12)]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    val = [generate_scene(seed, H, W) for seed in (11, 12, 13)]
    summary = write_split(root, "val", val)
    sequence = generate_sequence(21, 3, H, W)
    seq_summary = write_sequence(root, "clip", sequence)
    return root, val, summary, sequence, seq_summary


# -- generator ---------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes_and_other_seeds_differ():
    a, b, c = generate_scene(3, H, W), generate_scene(3, H, W), generate_scene(4, H, W)
    assert a.image.tobytes() == b.image.tobytes()
    assert a.semantic.tobytes() == b.semantic.tobytes()
    assert a.instance_map.tobytes() == b.instance_map.tobytes()
    assert a.instances == b.instances
    assert a.image.tobytes() != c.image.tobytes()
    assert a.semantic.tobytes() != c.semantic.tobytes()


def test_arrays_have_documented_types(scenes):
    for scene in scenes:
        assert scene.image.shape == (256, 512, 3) and scene.image.dtype == np.uint8
        assert scene.semantic.shape == (256, 512) and scene.semantic.dtype == np.uint8
        assert scene.instance_map.dtype == np.uint16


def test_label_map_holds_only_train_ids_or_ignore(scenes):
    allowed = set(range(len(CITYSCAPES_CLASSES))) | {IGNORE_INDEX}
    seen = set()
    for scene in scenes:
        values = set(np.unique(scene.semantic).tolist())
        assert values <= allowed
        seen |= values
    # The street's main classes show up in a dozen scenes.
    for name in ("road", "sidewalk", "building", "vegetation", "sky", "car", "person", "pole"):
        assert TRAIN_IDS[name] in seen


def test_boxes_are_tight_around_visible_pixels_of_their_class(scenes):
    found = set()
    for scene in scenes:
        h, w = scene.semantic.shape
        for k, inst in enumerate(scene.instances, start=1):
            x1, y1, x2, y2 = inst.bbox
            assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
            mask = scene.instance_map == k
            assert mask.sum() == inst.area >= MIN_VISIBLE_AREA
            ys, xs = np.nonzero(mask)
            assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == inst.bbox
            assert np.all(scene.semantic[mask] == TRAIN_IDS[inst.category])
            found.add(inst.category)
        assert scene.instance_map.max() == len(scene.instances)
    assert found == set(DETECTION_CLASSES)


def test_objects_are_sized_for_a_small_detector(scenes):
    cars = [i.bbox[2] - i.bbox[0] for s in scenes for i in s.instances if i.category == "car"]
    people = [i.bbox[3] - i.bbox[1] for s in scenes for i in s.instances if i.category == "person"]
    assert 20 <= np.median(cars) <= 150
    assert np.median(people) >= 12


def test_sequence_keeps_the_street_and_moves_the_traffic():
    frames = generate_sequence(5, 6, H, W)
    first = generate_scene(5, H, W)
    assert frames[0].image.tobytes() == first.image.tobytes()
    assert [f.frame for f in frames] == list(range(6))
    for name in ("sky", "building"):  # static, up to what passing traffic hides
        same = (frames[0].semantic == TRAIN_IDS[name]) == (frames[-1].semantic == TRAIN_IDS[name])
        assert same.mean() > 0.97
    boxes = [{i.track_id: i.bbox for i in f.instances if i.category == "car"} for f in frames]
    shared = boxes[0].keys() & boxes[-1].keys()
    assert shared and any(boxes[0][t] != boxes[-1][t] for t in shared)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError):
        generate_scene(-1)
    with pytest.raises(ValueError):
        generate_sequence(0, -2)


def test_split_seeds_are_deterministic_and_disjoint():
    train, val = split_seeds(0, "train", 400), split_seeds(0, "val", 60)
    test = split_seeds(0, "test", 60)
    assert train == split_seeds(0, "train", 400)
    assert len(set(train)) == 400 and not set(train) & set(val)
    assert len(set(test)) == 60 and not set(test) & (set(train) | set(val))
    assert split_seeds(1, "train", 3) != train[:3]


# -- writers -----------------------------------------------------------------------------


def test_split_layout_and_json_match_the_scenes(written):
    root, val, summary, _, _ = written
    assert summary.num_images == 3 and summary.ann_file == root / "annotations/instances_val.json"
    coco = json.loads(summary.ann_file.read_text())
    assert [c["name"] for c in coco["categories"]] == list(DETECTION_CLASSES)
    assert [c["id"] for c in coco["categories"]] == [1, 2, 3, 4]
    for i, (scene, image) in enumerate(zip(val, coco["images"], strict=True)):
        assert image["file_name"] == f"synthtown/synthtown_{i:06d}_000019_leftImg8bit.png"
        assert (image["width"], image["height"]) == (W, H)
        png = cv2.imread(str(root / "leftImg8bit/val" / image["file_name"]), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(png, scene.image)
        label = root / f"gtFine/val/synthtown/synthtown_{i:06d}_000019_gtFine_labelTrainIds.png"
        assert np.array_equal(cv2.imread(str(label), cv2.IMREAD_UNCHANGED), scene.semantic)
        anns = [a for a in coco["annotations"] if a["image_id"] == image["id"]]
        expected = [
            [x1, y1, x2 - x1, y2 - y1] for x1, y1, x2, y2 in (s.bbox for s in scene.instances)
        ]
        assert [a["bbox"] for a in anns] == expected
        assert all(a["iscrowd"] == 0 and a["area"] > 0 for a in anns)
    assert not [p for p in root.iterdir() if p.name.startswith(".")]  # no temporary left


def test_existing_split_needs_overwrite(tmp_path):
    write_split(tmp_path, "val", [1], height=H, width=W)
    with pytest.raises(FileExistsError):
        write_split(tmp_path, "val", [2], height=H, width=W)
    summary = write_split(tmp_path, "val", [2, 3], height=H, width=W, overwrite=True)
    assert summary.num_images == 2
    assert len(list((tmp_path / "leftImg8bit/val/synthtown").iterdir())) == 2


def test_interrupted_write_leaves_no_split(tmp_path):
    def frames():
        yield generate_scene(1, H, W)
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        write_split(tmp_path, "train", frames())
    assert list(tmp_path.iterdir()) == []


def test_pycocotools_reads_the_json(written):
    coco_api = pytest.importorskip("pycocotools.coco")
    root, val, summary, _, seq_summary = written
    coco = coco_api.COCO(str(summary.ann_file))
    assert coco.getCatIds(catNms=["rider"]) == [3]
    assert len(coco.getAnnIds()) == sum(len(s.instances) for s in val)
    assert len(coco_api.COCO(str(seq_summary.ann_file)).getImgIds()) == 3


def test_mmdet_coco_dataset_reads_the_split(written):
    pytest.importorskip("mmdet")
    from mmdet.datasets import CocoDataset

    root, val, _, _, _ = written
    dataset = CocoDataset(
        data_root=str(root),
        ann_file="annotations/instances_val.json",
        data_prefix=dict(img="leftImg8bit/val/"),
        metainfo=dict(classes=DETECTION_CLASSES),
        pipeline=[],
    )
    assert len(dataset) == len(val) and sum(len(s.instances) for s in val) > 0
    for info, scene in zip(dataset, val, strict=True):
        assert Path(info["img_path"]).is_file()
        assert [list(i["bbox"]) for i in info["instances"]] == [
            list(s.bbox) for s in scene.instances
        ]
        labels = [DETECTION_CLASSES[i["bbox_label"]] for i in info["instances"]]
        assert labels == [s.category for s in scene.instances]
        assert all(i["ignore_flag"] == 0 for i in info["instances"])


def test_mmseg_cityscapes_dataset_reads_the_labels(written):
    pytest.importorskip("mmseg")
    from mmseg.datasets import CityscapesDataset
    from mmseg.datasets.transforms import LoadAnnotations

    root, val, _, sequence, _ = written
    plain = CityscapesDataset(
        data_root=str(root),
        data_prefix=dict(img_path="leftImg8bit/val", seg_map_path="gtFine/val"),
        pipeline=[],
    )
    assert len(plain) == len(val)
    for info in plain:
        assert Path(info["img_path"]).is_file() and Path(info["seg_map_path"]).is_file()
    loaded = CityscapesDataset(
        data_root=str(root),
        data_prefix=dict(img_path="leftImg8bit/val", seg_map_path="gtFine/val"),
        pipeline=[LoadAnnotations()],
    )
    for info, scene in zip(loaded, val, strict=True):
        assert np.array_equal(info["gt_seg_map"], scene.semantic)
    clip = CityscapesDataset(
        data_root=str(root),
        img_suffix=".png",
        data_prefix=dict(img_path="sequences/clip", seg_map_path="sequences_gtFine/clip"),
        pipeline=[LoadAnnotations()],
    )
    assert [Path(i["img_path"]).name for i in clip] == [f"frame_{i:06d}.png" for i in range(3)]
    for info, scene in zip(clip, sequence, strict=True):
        assert np.array_equal(info["gt_seg_map"], scene.semantic)


# -- command line ------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    )
    return subprocess.run(
        [sys.executable, str(REPO / "tools/make_demo_data.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_cli_writes_splits_and_sequence(tmp_path):
    out = tmp_path / "demo"
    size = ["--height", "64", "--width", "128"]
    result = _cli("--out", str(out), "--train", "2", "--val", "1", "--sequence", "2", *size)
    assert result.returncode == 0, result.stderr
    assert len(list((out / "leftImg8bit/train/synthtown").glob("*_leftImg8bit.png"))) == 2
    assert len(list((out / "gtFine/val/synthtown").glob("*_gtFine_labelTrainIds.png"))) == 1
    assert sorted(p.name for p in (out / "sequences/demo").iterdir()) == [
        "frame_000000.png",
        "frame_000001.png",
    ]
    for name in ("instances_train.json", "instances_val.json", "sequence_demo.json"):
        assert json.loads((out / "annotations" / name).read_text())["images"]


def test_cli_rejects_bad_input_with_exit_2(tmp_path):
    result = _cli("--out", str(tmp_path / "x"), "--train", "-1")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "--train" in result.stderr
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = _cli("--out", str(blocker / "sub"), "--train", "1", "--val", "0", "--sequence", "0")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
