import copy
import subprocess
import sys

import numpy as np
import pytest

import adcert.vis.labels as labels_module
from adcert.vis import (
    GUARANTEE_LINE,
    certified_object_count,
    class_colour,
    detection_caption,
    draw_clean_detections,
    draw_dashed_line,
    draw_detection_record,
    draw_dotted_line,
    side_by_side,
)
from adcert.vis.boxes import LABEL_LEGEND_LINE
from adcert.vis.caption import ascii_text
from adcert.vis.palette import CAPTION_BACKGROUND, CROSS_RED, DETECTION_PALETTE

from .synthetic import DET_CLASSES, box, detection_record, digest, frame

CAR = class_colour(0, DETECTION_PALETTE)


def one_box_record(**overrides) -> dict:
    """Median (40, 40, 120, 100); outer bound (20, 20, 140, 120); inner (50, 50, 110, 90)."""
    fields = dict(bbox=(40, 40, 120, 100), lower=[20, 20, 110, 90], upper=[50, 50, 140, 120])
    fields.update(overrides)
    return {"method": "median_smoothing_sort_and_bin", "boxes": [box(**fields)]}


def colour_fraction(row: np.ndarray, colour) -> float:
    return float(np.mean(np.all(row == colour, axis=-1)))


def test_same_input_gives_identical_bytes_and_changes_show():
    image, record = frame(), detection_record()
    before = digest(image)
    first = digest(draw_detection_record(image, record, DET_CLASSES))
    assert digest(draw_detection_record(image, record, DET_CLASSES)) == first
    assert digest(image) == before  # drawing works on a copy

    wider = copy.deepcopy(record)
    wider["boxes"][0]["lower"][0] = 18
    assert digest(draw_detection_record(image, wider, DET_CLASSES)) != first
    uncertified = copy.deepcopy(record)
    uncertified["boxes"][0]["label_certified"] = False
    assert digest(draw_detection_record(image, uncertified, DET_CLASSES)) != first


def test_median_solid_inner_dashed_outer_dotted():
    image = np.zeros((160, 200, 3), np.uint8)
    drawn = draw_detection_record(image, one_box_record(), caption=False)
    # Bottom edges (the label sits on the top edge); corners left out.
    solid = colour_fraction(drawn[100, 45:116], CAR)
    dashed = colour_fraction(drawn[90, 55:106], CAR)
    dotted = colour_fraction(drawn[120, 25:136], CAR)
    assert solid > 0.95
    assert 0.45 < dashed < 0.85
    assert 0.05 < dotted < 0.35


def test_empty_inner_box_is_not_drawn():
    image = np.zeros((160, 200, 3), np.uint8)
    # upper x1 = 100 > lower x2 = 60: no box lies in every allowed box horizontally.
    drawn = draw_detection_record(image, one_box_record(lower=[20, 20, 60, 90],
                                                        upper=[100, 50, 140, 120]),
                                  caption=False)
    assert colour_fraction(drawn[90, 62:99], CAR) == 0.0
    assert colour_fraction(drawn[50, 62:99], CAR) == 0.0
    assert colour_fraction(drawn[120, 25:136], CAR) > 0  # the outer bound still is


@pytest.mark.parametrize("flags, crossed", [
    (dict(label_certified=True, may_vanish=False), False),
    (dict(label_certified=True, may_vanish=True), True),
    (dict(label_certified=False, may_vanish=False), True),
])
def test_red_cross_on_vanishing_or_uncertified_boxes(flags, crossed):
    image = np.zeros((160, 200, 3), np.uint8)
    drawn = draw_detection_record(image, one_box_record(**flags), caption=False)
    inside = drawn[42:99, 42:119]
    assert np.any(np.all(drawn[69:72, 79:82] == CROSS_RED, axis=-1)) == crossed
    assert np.any(np.all(inside == CROSS_RED, axis=-1)) == crossed


def test_labels_name_the_class_and_the_one_figure(monkeypatch):
    texts = []
    monkeypatch.setattr(labels_module, "draw_text_box",
                        lambda image, text, *args, **kwargs: texts.append(text) or (0, 0, 1, 1))
    draw_detection_record(frame(), detection_record(), DET_CLASSES)
    # The car's bounds are wide (worst-case IoU with its own box 0.46): unlocalised. The
    # traffic sign's box is the largest, so its label is placed first.
    assert sorted(texts) == ["car <0.5", "person ✗", "traffic sign ✗"]
    texts.clear()
    draw_detection_record(frame(), detection_record())  # no names: generic ones
    assert "class 0 <0.5" in texts
    texts.clear()
    tight = {"boxes": [box((30, 30, 80, 80), [29, 29, 79, 79], [31, 31, 81, 81], label=0)]}
    draw_detection_record(frame(), tight, DET_CLASSES)
    assert texts == ["car ≥0.92"]  # worst corner (31, 31, 79, 79): 2304 / 2500
    assert ascii_text("car ≥0.92 car ✗") == "car >=0.92 car X"


def test_labels_of_nearby_boxes_do_not_cover_each_other(monkeypatch):
    rects = []
    real = labels_module.draw_text_box
    monkeypatch.setattr(labels_module, "draw_text_box",
                        lambda *args, **kwargs: rects.append(real(*args, **kwargs)) or rects[-1])
    same_place = [box((40, 40, 120, 100), None, None, label=i) for i in range(3)]
    draw_detection_record(np.zeros((160, 200, 3), np.uint8), {"boxes": same_place},
                          caption=False)
    assert len(rects) == 3
    for i, (x, y, w, h) in enumerate(rects):
        for x2, y2, w2, h2 in rects[i + 1:]:
            assert x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y


def test_caption_states_settings_count_and_guarantee():
    record = detection_record()
    assert certified_object_count(record) == (1, 3)
    lines = detection_caption(record)
    assert ("certified objects: 1 of 3  (label certified and cannot vanish), 0 localised "
            "(worst-case IoU with own box ≥ 0.5)") in lines
    assert GUARANTEE_LINE in lines and LABEL_LEGEND_LINE in lines
    joined = "\n".join(lines)
    assert "sigma: 0.25" in joined and "eps: 0.36" in joined and "n: 200" in joined
    assert "alpha: 0.001" in joined and "transform: gaussian" in joined
    assert "transform: brightness" in "\n".join(
        detection_caption({**record, "transform": "brightness"}))

    image = frame()
    captioned = draw_detection_record(image, record, DET_CLASSES)
    bare = draw_detection_record(image, record, DET_CLASSES, caption=False)
    assert captioned.shape[0] > image.shape[0] and captioned.shape[1] == image.shape[1]
    np.testing.assert_array_equal(captioned[: image.shape[0]], bare)


def test_camera_effect_range_is_spelled_in_ascii():
    record = {**detection_record(), "transform": "brightness", "certified_range": {
        "transform": "brightness", "low": -0.1, "high": 0.1,
        "text": "brightness ±0.1 on the [0,1] scale"}}
    assert "certified range: brightness ±0.1 on the [0,1] scale" in detection_caption(record)
    assert ascii_text("brightness ±0.1, σ=0.25, café") == "brightness +/-0.1, sigma=0.25, cafe"
    plain = draw_detection_record(frame(), detection_record())
    assert draw_detection_record(frame(), record).shape[0] > plain.shape[0]


def test_boxes_outside_the_frame_draw_without_error():
    image = frame()
    height, width = image.shape[:2]
    far_away = box((500, 500, 600, 600), None, None)
    assert np.array_equal(draw_detection_record(image, {"boxes": [far_away]}, caption=False),
                          image)
    record = {"boxes": [
        box((-50, -50, 20, 20), [-1e12, None, 10, 10], [None, -40, 1e12, None]),
        box((150, 90, 400, 300), [140, 80, 390, 290], [160, 100, 410, 310]),
        box((-1e9, 10, 1e9, 60), [None] * 4, [None] * 4, may_vanish=True),
    ]}
    drawn = draw_detection_record(image, record, caption=False)
    assert drawn.shape == image.shape


def test_unbounded_sides_are_not_drawn_on_the_frame_border():
    image = np.zeros((160, 200, 3), np.uint8)
    drawn = draw_detection_record(image, one_box_record(lower=None, upper=None), caption=False)
    for border in (drawn[0], drawn[-1], drawn[:, 0], drawn[:, -1]):
        assert not border.any()
    assert colour_fraction(drawn[100, 45:116], CAR) > 0.95


def test_box_on_the_frame_edge_is_visible():
    image = np.zeros((96, 160, 3), np.uint8)
    drawn = draw_detection_record(image, {"boxes": [box((0, 0, 160, 96), None, None)]},
                                  caption=False)
    assert np.array_equal(drawn[60, 159], CAR) and np.array_equal(drawn[95, 80], CAR)


@pytest.mark.parametrize("change, message", [
    (lambda b: b.update(bbox=[1, 2, 3]), "bbox"),
    (lambda b: b.update(bbox=[1, None, 3, 4]), "bbox"),
    (lambda b: b.update(lower=[1, 2, 3]), "lower"),
    (lambda b: b.update(label="car"), "label"),
])
def test_malformed_boxes_are_rejected(change, message):
    record = detection_record()
    change(record["boxes"][1])
    with pytest.raises(ValueError, match=message):
        draw_detection_record(frame(), record)


def test_numpy_numbers_are_accepted():
    record = detection_record()
    as_numpy = copy.deepcopy(record)
    for b in as_numpy["boxes"]:
        b["bbox"] = list(np.asarray(b["bbox"], dtype=np.float64))
        b["label"] = np.int64(b["label"])
    assert digest(draw_detection_record(frame(), as_numpy)) == digest(
        draw_detection_record(frame(), record))


def test_record_without_boxes_is_rejected():
    with pytest.raises(ValueError, match="boxes"):
        draw_detection_record(frame(), {"method": "median_smoothing_sort_and_bin"})


def test_dotted_lines_have_more_gaps_than_dashed_ones():
    image = np.zeros((20, 300, 3), np.uint8)
    draw_dotted_line(image, (-1e12, 5), (400, 5), (0, 255, 0))  # far-off ends are clipped
    draw_dashed_line(image, (-50, 14), (1e12, 14), (0, 255, 0))
    dotted = colour_fraction(image[5], (0, 255, 0))
    dashed = colour_fraction(image[14], (0, 255, 0))
    assert 0 < dotted < 0.35 < dashed < 0.9
    assert not np.any(image[0])  # the dark outline is 1 px, nothing further


def test_clean_detections_skip_low_scores():
    image = np.zeros((96, 160, 3), np.uint8)
    detections = np.array([[30, 30, 80, 80, 0.9, 1], [100, 10, 140, 40, 0.01, 0]])
    drawn = draw_clean_detections(image, detections, DET_CLASSES, score_thr=0.05)
    assert np.array_equal(drawn[80, 55], class_colour(1, DETECTION_PALETTE))
    assert not drawn[35:45, 95:145].any()
    assert np.array_equal(draw_clean_detections(image, np.zeros((0, 6))), image)
    with pytest.raises(ValueError, match="clean detections"):
        draw_clean_detections(image, np.zeros((2, 4)))


def test_side_by_side_pads_to_one_height():
    left, right = frame(96, 160), frame(200, 120)
    panel = side_by_side(left, right, ("input", "certified"))
    assert panel.shape[1] == 160 + 4 + 120
    title_h = panel.shape[0] - 200
    np.testing.assert_array_equal(panel[title_h:title_h + 96, :160], left)
    np.testing.assert_array_equal(panel[title_h:, 164:], right)
    assert np.all(panel[title_h + 96:, :160] == CAPTION_BACKGROUND)
    assert digest(side_by_side(left, right)) == digest(side_by_side(left, right))


def test_drawing_needs_no_model_libraries():
    code = ("import sys, adcert.vis; "
            "print(sorted(m for m in ('torch', 'mmdet', 'mmseg', 'mmengine') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_box_certified_only_at_a_node_is_labelled_with_it_and_not_crossed(monkeypatch):
    """Hierarchical records (docs/certificates.md §9): present, class uncertified, a node
    certified → drawn as certified present under the node's name, without the red X."""
    texts = []
    monkeypatch.setattr(labels_module, "draw_text_box",
                        lambda image, text, *args, **kwargs: texts.append(text) or (0, 0, 1, 1))
    image = np.zeros((160, 200, 3), np.uint8)
    tight = dict(bbox=(40, 40, 120, 100), lower=[39, 39, 119, 99], upper=[41, 41, 121, 101])
    node = dict(label_certified=False, label_node="vehicle", label_node_level="category")
    record = {**one_box_record(**tight), "hierarchy": "demo"}
    record["boxes"][0].update(node)
    drawn = draw_detection_record(image, record, DET_CLASSES, caption=False)
    assert texts == ["vehicle ≥0.94"] and ascii_text(texts[0]) == "vehicle >=0.94"
    assert not np.any(np.all(drawn[42:99, 42:119] == CROSS_RED, axis=-1))
    assert colour_fraction(drawn[100, 45:116], CAR) > 0.95  # its solid box, class colour

    texts.clear()  # a box that may vanish keeps its X and class name, node or not
    record["boxes"][0]["may_vanish"] = True
    drawn = draw_detection_record(image, record, DET_CLASSES, caption=False)
    assert texts == ["car ✗"] and np.any(np.all(drawn == CROSS_RED, axis=-1))


def test_node_boxes_are_counted_apart_and_the_caption_names_their_level():
    record = {**detection_record(), "hierarchy": "demo"}
    record["boxes"][2].update(label_node="object", label_node_level="category")
    assert certified_object_count(record) == (1, 3)  # the class-certified count is unchanged
    lines = detection_caption(record)
    assert ("hierarchy demo: boxes certified present with their class certified only up "
            "to a coarser node: 1 (level category)") in lines
    assert any(line.startswith("node ≥0.72 (e.g. vehicle ≥0.72)") for line in lines)
    assert not any("hierarchy" in line for line in detection_caption(detection_record()))


def test_a_flat_record_with_null_nodes_draws_as_without_them():
    record = detection_record()
    with_nulls = copy.deepcopy(record)
    for b in with_nulls["boxes"]:
        b.update(label_node=None, label_node_level=None)
    assert digest(draw_detection_record(frame(), with_nulls, DET_CLASSES)) == digest(
        draw_detection_record(frame(), record, DET_CLASSES))
