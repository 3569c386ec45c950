import copy

import cv2
import numpy as np
import pytest

from adcert.vis import (
    ABSTAIN_BASE,
    ABSTAIN_PIXEL,
    ABSTAIN_STRIPE,
    GUARANTEE_LINE,
    class_colour,
    colourize_labels,
    draw_segmentation_record,
    generated_colour,
    load_label_map,
    overlay_labels,
    palette_from_meta,
    segmentation_caption,
)

from .synthetic import digest, frame, label_map, segmentation_record


def colours_of(image: np.ndarray, mask: np.ndarray) -> set[tuple[int, ...]]:
    return {tuple(int(c) for c in px) for px in image[mask]}


def test_abstain_value_is_the_one_the_certifier_writes():
    import adcert
    from adcert.certify import segmentation

    assert ABSTAIN_PIXEL == adcert.ABSTAIN_PIXEL == segmentation.ABSTAIN_PIXEL == 255


@pytest.mark.parametrize("palette", [None, [(255, 0, 0), (0, 200, 0), (0, 0, 255)]])
def test_abstained_pixels_never_take_a_class_colour(palette):
    labels = label_map()
    labels[0:5, 0:50] = 254  # the largest id that is a class, not an abstention
    painted = colourize_labels(labels, palette)
    abstain = labels == ABSTAIN_PIXEL
    assert colours_of(painted, abstain) == {ABSTAIN_STRIPE, ABSTAIN_BASE}  # a visible hatch
    class_colours = colours_of(painted, ~abstain)
    assert class_colours.isdisjoint({ABSTAIN_STRIPE, ABSTAIN_BASE})
    for class_id in np.unique(labels[~abstain]):
        want = class_colour(int(class_id), palette)
        assert colours_of(painted, labels == class_id) == {want}


def test_blended_abstentions_stay_grey_over_a_colourful_frame():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (96, 160, 3), dtype=np.uint8)
    labels = label_map()
    out = overlay_labels(image, labels, alpha=0.4)
    abstain = out[labels == ABSTAIN_PIXEL].astype(int)
    assert np.all(abstain[:, 0] == abstain[:, 1]) and np.all(abstain[:, 1] == abstain[:, 2])
    assert ABSTAIN_STRIPE in colours_of(out, labels == ABSTAIN_PIXEL)
    # Class pixels are blended, not replaced: the frame still shows through.
    road = labels == 10
    assert len(colours_of(out, road)) > 1


def test_generated_colours_are_stable_saturated_and_distinct():
    colours = [generated_colour(i) for i in range(256)]
    assert colours == [generated_colour(i) for i in range(256)]
    assert all(max(c) - min(c) > 60 for c in colours)  # never a grey like the hatch
    assert len(set(colours)) > 250
    palette = [(1, 2, 3)] * 14
    assert class_colour(40, palette) == class_colour(40) == generated_colour(40)
    assert class_colour(13, palette) == (1, 2, 3)


def test_palette_from_meta_converts_rgb_and_needs_one_colour_per_class():
    rgb = [[128, 64, 128], [0, 0, 142]]  # Cityscapes' road and car, as dataset_meta has them
    assert palette_from_meta(rgb) == ((128, 64, 128), (142, 0, 0))
    assert palette_from_meta(rgb, ["road", "car"]) == ((128, 64, 128), (142, 0, 0))
    assert palette_from_meta(rgb, ["road", "car", "bus"]) is None  # e.g. COCO's 80 for 4
    assert palette_from_meta(None) is None and palette_from_meta([]) is None
    with pytest.raises(ValueError, match="RGB triples"):
        palette_from_meta([[0, 0, 300]])


def test_meta_palette_colours_the_map():
    labels = label_map()
    palette = palette_from_meta([[i, 255 - i, 7] for i in range(41)])
    painted = colourize_labels(labels, palette)
    assert colours_of(painted, labels == 13) == {(7, 242, 13)}


def test_same_input_gives_identical_bytes_and_changes_show():
    image, labels, record = frame(), label_map(), segmentation_record()
    first = digest(draw_segmentation_record(image, labels, record))
    assert digest(draw_segmentation_record(image, labels, record)) == first
    moved = labels.copy()
    moved[60, 30] = ABSTAIN_PIXEL
    assert digest(draw_segmentation_record(image, moved, record)) != first
    other = copy.deepcopy(record)
    other["radius"] = 0.2
    assert digest(draw_segmentation_record(image, labels, other)) != first


def test_caption_gives_radius_abstain_rate_and_guarantee():
    labels = label_map()
    lines = segmentation_caption(segmentation_record(), labels)
    joined = "\n".join(lines)
    assert "radius: 0.1685" in joined  # the float 0.1686 is just below 0.1686, rounded down
    assert "sigma: 0.25" in joined and "n: 200" in joined
    assert "alpha: 0.001" in joined and "transform: gaussian" in joined
    assert "abstain rate: 12.5%" in joined and GUARANTEE_LINE in lines
    # Without the record's figure, the map's own abstain rate (1800 of 15360 pixels).
    record = segmentation_record()
    del record["abstain_rate"]
    assert "abstain rate: 11.7%" in "\n".join(segmentation_caption(record, labels))
    record["certified_range"] = {"text": "contrast in (0.8, 1.25)"}
    assert "certified range: contrast in (0.8, 1.25)" in segmentation_caption(record, labels)


def test_map_of_another_size_is_fitted_to_the_frame():
    image = frame(96, 160)
    small = label_map(48, 80)
    drawn = draw_segmentation_record(image, small, segmentation_record(), caption=False)
    assert drawn.shape == image.shape
    np.testing.assert_array_equal(drawn, overlay_labels(
        image, np.repeat(np.repeat(small, 2, axis=0), 2, axis=1)))


@pytest.mark.parametrize("labels, message", [
    (np.zeros((4, 4), np.float32), "integer"),
    (np.zeros((4, 4, 3), np.uint8), "integer"),
    (np.full((4, 4), -1, np.int64), "non-negative"),
])
def test_bad_label_maps_are_rejected(labels, message):
    with pytest.raises(ValueError, match=message):
        overlay_labels(np.zeros((4, 4, 3), np.uint8), labels)


def test_alpha_outside_unit_interval_is_rejected():
    with pytest.raises(ValueError, match="alpha"):
        overlay_labels(frame(), label_map(), alpha=1.5)


def test_label_map_png_round_trip(tmp_path):
    path = str(tmp_path / "mask.png")
    cv2.imwrite(path, label_map())
    np.testing.assert_array_equal(load_label_map(path), label_map())
    with pytest.raises(FileNotFoundError):
        load_label_map(str(tmp_path / "missing.png"))
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(OSError, match="cannot read"):
        load_label_map(str(tmp_path / "broken.png"))
