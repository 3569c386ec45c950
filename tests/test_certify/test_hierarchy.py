"""Class hierarchies (adcert.certify.hierarchy) and the hierarchical τ-test."""

import json

import numpy as np
import pytest

from adcert import ABSTAIN_PIXEL
from adcert.certify.hierarchy import (
    BUILTIN,
    build_hierarchy,
    correct_at_level,
    flat_hierarchy,
    information_gain,
    level_node_map,
    load_hierarchy,
    node_information,
)
from adcert.certify.segmentation import (
    ClassCounter,
    HitCounter,
    certify_hierarchical,
    certify_segmentation,
)

CITYSCAPES = ["road", "sidewalk", "building", "wall", "fence", "pole", "traffic light",
              "traffic sign", "vegetation", "terrain", "sky", "person", "rider", "car",
              "truck", "bus", "train", "motorcycle", "bicycle"]
DEMO = ["car", "person", "rider", "traffic sign"]


def test_cityscapes_hierarchy_levels():
    h = load_hierarchy("cityscapes", CITYSCAPES)
    assert h.level_names == ("class", "category", "group")
    assert h.depth == 3 and h.num_nodes == 19 + 7 + 3
    category = dict(zip(CITYSCAPES, (h.node_names[1][i] for i in h.class_to_node[1]),
                        strict=True))
    assert category["rider"] == "human" and category["bicycle"] == "vehicle"
    group = {c: h.node_names[2][i] for c, i in zip(CITYSCAPES, h.class_to_node[2],
                                                   strict=True)}
    assert group["road"] == "drivable surface" and group["sky"] == "static world"
    assert group["car"] == group["person"] == "dynamic agents"
    assert build_hierarchy(h.to_record(), CITYSCAPES).to_record() == h.to_record()


def test_coco_and_demo_hierarchies():
    from mmdet.datasets import CocoDataset

    coco = load_hierarchy("coco", CocoDataset.METAINFO["classes"])
    assert len(coco.node_names[1]) == 12
    demo = load_hierarchy("demo", DEMO)
    assert demo.node_names[1] == ("vehicle", "human", "object")
    assert demo.class_to_node[1].tolist() == [0, 1, 1, 2]


@pytest.mark.parametrize("levels, message", [
    ([dict(name="c", nodes={"v": ["car"], "h": ["person", "rider"]})], "misses 'traffic sign'"),
    ([dict(name="c", nodes={"v": ["car", "car"], "h": ["person", "rider"],
                            "o": ["traffic sign"]})], "placed twice"),
    ([dict(name="c", nodes={"v": ["car", "bus"], "h": ["person", "rider"],
                            "o": ["traffic sign"]})], "the model has no class 'bus'"),
    ([dict(name="c", nodes={"v": ["car"], "h": ["person", "rider"], "o": ["traffic sign"]}),
      dict(name="g", nodes={"all": ["v", "h", "car"]})], "has no node 'car'"),
    ([dict(name="class", nodes={"all": DEMO})], "used twice"),
    ([dict(name="c", nodes={"v": "car"})], "must list its children"),
])
def test_bad_hierarchies_are_named(levels, message):
    with pytest.raises(ValueError, match=message):
        build_hierarchy({"name": "bad", "levels": levels}, DEMO)


def test_hierarchy_files(tmp_path):
    spec = BUILTIN["demo"]
    (tmp_path / "h.json").write_text(json.dumps(spec))
    (tmp_path / "h.py").write_text(f"hierarchy = {spec!r}\n")
    for name in ("h.json", "h.py"):
        assert load_hierarchy(str(tmp_path / name), DEMO).to_record() == \
            load_hierarchy("demo", DEMO).to_record()
    (tmp_path / "dup.json").write_text('{"name": "d", "levels": [{"name": "c", "nodes": '
                                       '{"v": ["car"], "v": ["person"]}}]}')
    with pytest.raises(ValueError, match="given twice"):
        load_hierarchy(str(tmp_path / "dup.json"), DEMO)
    with pytest.raises(ValueError, match="neither a file nor"):
        load_hierarchy("nope", DEMO)


def test_information_and_level_maps():
    h = load_hierarchy("demo", DEMO)
    info = node_information(h)
    assert info[:4].tolist() == [1.0, 1.0, 1.0, 1.0]
    assert info[5] == pytest.approx(1 - np.log(2) / np.log(4))  # human: 2 of 4 classes
    nodes = np.array([[0, 5, ABSTAIN_PIXEL, 2]], dtype=np.uint8)  # car, human, root, rider
    gt = np.array([[0, 2, 1, 1]])
    assert level_node_map(nodes, h, 0, ABSTAIN_PIXEL).tolist() == [[0, 255, 255, 2]]
    assert level_node_map(nodes, h, 1, ABSTAIN_PIXEL).tolist() == [[0, 1, 255, 1]]
    assert correct_at_level(nodes, gt, h, 0, ABSTAIN_PIXEL).tolist() == \
        [[True, False, False, False]]
    # rider certified, person true: both human, so right at the category level
    assert correct_at_level(nodes, gt, h, 1, ABSTAIN_PIXEL).tolist() == \
        [[True, True, False, True]]
    assert information_gain(nodes, gt, h, ABSTAIN_PIXEL) == pytest.approx(1 + info[5])


def test_top_nodes_pool_the_classes():
    h = load_hierarchy("demo", DEMO)
    counter = ClassCounter(4, (1, 1))
    counter.update(np.array([0, 0, 0, 1, 1, 2, 2]).reshape(7, 1, 1))  # car 3, human 4
    top = counter.top_nodes(h)
    assert top[:, 0, 0].tolist() == [0, 1]
    hits = HitCounter(top[1], h.class_to_node[1])
    hits.update(np.array([1, 2, 0]).reshape(3, 1, 1))
    assert hits.hits.tolist() == [[2]]


def test_flat_hierarchy_is_plain_certification():
    rng = np.random.default_rng(0)
    target = rng.integers(0, 4, (8, 8))
    hits = rng.integers(90, 101, (8, 8))
    flat = certify_hierarchical(target[None], hits[None], flat_hierarchy(DEMO), 100, 0.25,
                                0.75, 1e-3)
    plain = certify_segmentation(target, hits, 100, 0.25, 0.75, 1e-3)
    assert np.array_equal(flat.labels, plain.labels) and flat.nodes is None
    assert flat.to_record() == plain.to_record()


def test_hierarchical_certificate_keeps_the_finest_level():
    h = load_hierarchy("demo", DEMO)
    targets = np.array([[[0, 1, 2]], [[0, 1, 1]]])  # fine: car, person, rider; human twice
    hits = np.array([[[100, 60, 100]], [[100, 100, 100]]])  # person unstable, human stable
    cert = certify_hierarchical(targets, hits, h, 100, 0.25, 0.75, 1e-3)
    assert cert.labels.tolist() == [[0, ABSTAIN_PIXEL, 2]]
    assert cert.nodes.tolist() == [[0, 5, 2]]  # human is global node 4 + 1
    assert cert.node_abstain_rate == 0.0 and cert.abstain_rate == pytest.approx(1 / 3)
    record = cert.to_record()
    assert record["hierarchy"] == "demo"
    assert record["level_rates"] == {"class": pytest.approx(2 / 3), "category": 1.0}


def test_grouped_label_bins_clip_label_bounds_to_the_node():
    """A box that may vanish in a one-class node keeps that class as its label range, as
    a label bin gives it; in a two-class node the range stays inside the node."""
    from adcert.certify.detection import BoxSampleCollector, certify_boxes

    h = load_hierarchy("demo", DEMO)
    collector = BoxSampleCollector((100, 100), "label", "score", num_classes=4,
                                   label_groups=h.class_to_node[1])
    for i in range(40):  # a sign present in 60 % of the samples, a person/rider flicker
        boxes = [[60.0, 60.0, 90.0, 90.0, 0.9, 3.0]] if i % 5 < 3 else []
        boxes.append([10.0, 10.0, 40.0, 40.0, 0.9, 1.0 + i % 2])
        collector.add(np.array(boxes))
    cert = certify_boxes(collector, 40, 0.1, 0.25, 0.1)
    ranges = {box.bin_key[1]: box.label_range for box in cert.boxes}
    assert ranges[2] == (3.0, 3.0)  # object = {traffic sign}
    assert ranges[1] == (1.0, 2.0)  # human = {person, rider}
