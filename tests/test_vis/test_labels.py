import itertools

import numpy as np
import pytest

import adcert.vis.labels as labels_module
from adcert.vis import class_colour, draw_clean_detections, draw_detection_record
from adcert.vis.caption import caption_bar, font_for_width, text_size
from adcert.vis.labels import (
    MAX_LEADER_HEIGHTS,
    Label,
    frame_style,
    label_size,
    layout_labels,
)
from adcert.vis.palette import DETECTION_PALETTE

from .synthetic import DET_CLASSES, crowded_horizon_record, frame


def drawn_rects(monkeypatch, image, record) -> tuple[list, list]:
    """Draw ``record`` over ``image`` and return the label rectangles actually filled
    (with their texts) and the layout."""
    drawn, layouts = [], []
    real_box, real_draw = labels_module.draw_text_box, labels_module.draw_labels

    def box(*args, **kwargs):
        drawn.append((args[1], real_box(*args, **kwargs)))
        return drawn[-1][1]

    monkeypatch.setattr(labels_module, "draw_text_box", box)
    monkeypatch.setattr("adcert.vis.boxes.draw_labels",
                        lambda *args, **kwargs: layouts.append(real_draw(*args, **kwargs)))
    draw_detection_record(image, record, DET_CLASSES, caption=False)
    return drawn, layouts


def intersect(a, b) -> bool:
    return (min(a[0] + a[2], b[0] + b[2]) > max(a[0], b[0])
            and min(a[1] + a[3], b[1] + b[3]) > max(a[1], b[1]))


@pytest.mark.parametrize("height, width", [(256, 512), (1024, 2048), (96, 160)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_crowded_horizon_labels_never_overlap_and_stay_in_the_frame(monkeypatch, height,
                                                                    width, seed):
    record = crowded_horizon_record(height, width, count=24, seed=seed)
    drawn, (layout,) = drawn_rects(monkeypatch, frame(height, width), record)
    rects = [rect for _, rect in drawn]
    assert len(drawn) == len(layout.placed) + (layout.note is not None)
    assert len(layout.placed) + layout.hidden == 24  # every box is in the frame
    for rect in rects:
        x, y, w, h = rect
        assert 0 <= x and 0 <= y and x + w <= width and y + h <= height, rect
    for a, b in itertools.combinations(rects, 2):
        assert not intersect(a, b), (a, b)
    if layout.hidden:  # what did not fit is counted, not drawn over the rest
        assert drawn[-1][0] == f"{layout.hidden} label{'s' * (layout.hidden > 1)} hidden"
    if (height, width) == (256, 512):
        assert len(layout.placed) >= 16  # the demo frame's size keeps most labels


def test_labels_sit_at_their_box_or_are_led_to_it():
    record = crowded_horizon_record(256, 512, count=24)
    boxes = [b["bbox"] for b in record["boxes"]]
    labels = [Label(f"car {i}", tuple(b), (0, 165, 255)) for i, b in enumerate(boxes)]
    layout = layout_labels(labels, 256, 512)
    assert layout.placed
    for placed in layout.placed:
        x, y, w, h = placed.rect
        x1, y1, x2, y2 = placed.label.box
        gap_x = max(x1 - (x + w), x - x2, 0)
        gap_y = max(y1 - (y + h), y - y2, 0)
        assert np.hypot(gap_x, gap_y) <= MAX_LEADER_HEIGHTS * h
        if placed.leader is None:
            assert np.hypot(gap_x, gap_y) <= 3  # touching its box
        else:
            (lx, ly), (bx, by) = placed.leader
            assert x - 1 <= lx <= x + w and y - 1 <= ly <= y + h  # starts at the label
            assert x1 - 1 <= bx <= x2 + 1 and y1 - 1 <= by <= y2 + 1  # ends at the box


def test_first_choice_is_above_the_box_then_below_then_inside():
    style = frame_style(256, 512)
    _, label_h = label_size("car ≥0.90", style)
    car = Label("car ≥0.90", (100, 100, 200, 200), (0, 165, 255))
    (above,) = layout_labels([car], 256, 512).placed
    assert above.rect[:2] == (100, 100 - label_h) and above.leader is None
    at_top = Label("car ≥0.90", (100, 0, 200, 100), (0, 165, 255))
    (below,) = layout_labels([at_top], 256, 512).placed
    assert below.rect[:2] == (100, 100)
    whole = Label("car ≥0.90", (0, 0, 512, 256), (0, 165, 255))
    (inside,) = layout_labels([whole], 256, 512).placed
    assert inside.rect[:2] == (0, 0)


def test_a_label_wider_than_the_frame_is_hidden_and_counted():
    wide = Label("a class name far too long for this frame", (5, 5, 20, 20), (0, 0, 255))
    layout = layout_labels([wide], 40, 120)
    assert layout.placed == () and layout.hidden == 1
    assert layout.note is not None and layout.note[0] in ("1 label hidden", "+1 hidden")
    outside = Label("car", (500, 500, 600, 600), (0, 0, 255))
    assert layout_labels([outside], 40, 120) == labels_module.LabelLayout((), 0, None)


def _label_heights(monkeypatch, height, width, scale_boxes):
    record = crowded_horizon_record(256, 512, count=6)
    for b in record["boxes"]:
        for key in ("bbox", "lower", "upper"):
            b[key] = [v * scale_boxes for v in b[key]]
    drawn, _ = drawn_rects(monkeypatch, frame(height, width), record)
    return [rect[3] for _, rect in drawn]


def _stroke_width(height, width) -> int:
    """Rows the bottom edge of a solid box covers in its class colour (the label sits on
    the top edge)."""
    image = np.zeros((height, width, 3), np.uint8)
    x1, y1, x2, y2 = width * 0.25, height * 0.25, width * 0.75, height * 0.75
    drawn = draw_clean_detections(image, np.array([[x1, y1, x2, y2, 0.9, 0]]))
    column = drawn[height // 2:, width // 2]
    return int(np.all(column == class_colour(0, DETECTION_PALETTE), axis=-1).sum())


def test_text_and_lines_scale_with_the_frame_at_2048_by_1024(monkeypatch):
    big, small = frame_style(1024, 2048), frame_style(256, 512)
    assert big.font_scale == 1.0 and big.text_thickness == 2 and big.line_width == 3
    assert small.font_scale == 0.4 and small.text_thickness == 1 and small.line_width == 1
    # Labels as drawn: on 2048 x 1024 about 3 % of the height (34 px, 22 px capitals),
    # on the 512 x 256 demo frame 16 px (the 9 px capitals Hershey needs to read).
    big_heights = _label_heights(monkeypatch, 1024, 2048, 4.0)
    small_heights = _label_heights(monkeypatch, 256, 512, 1.0)
    assert big_heights and small_heights
    assert all(30 <= h <= 0.04 * 1024 for h in big_heights)
    assert all(h >= 16 for h in small_heights)
    assert text_size("Ag", big.font_scale, big.text_thickness)[1] >= 20
    assert text_size("Ag", small.font_scale, small.text_thickness)[1] >= 9
    # Box lines: about the same share of the height on both (OpenCV draws a line of
    # thickness 3 five pixels wide), never thinner than 1 px.
    assert 3 <= _stroke_width(1024, 2048) <= 0.01 * 1024
    assert _stroke_width(256, 512) == 1
    # The caption bar under a 2048 px frame uses the same font as its labels.
    assert font_for_width(2048) == (big.font_scale, big.text_thickness)
    assert caption_bar(2048, ["x"]).shape[0] > caption_bar(512, ["x"]).shape[0]
