"""Node maps of hierarchical runs (docs/certificates.md §9): classes solid as before, coarser
nodes hatched in colour, abstentions the grey hatch."""

import json

import cv2
import numpy as np
import pytest

from adcert.certify.hierarchy import build_hierarchy
from adcert.vis import (
    ABSTAIN_BASE,
    ABSTAIN_PIXEL,
    ABSTAIN_STRIPE,
    GUARANTEE_LINE,
    NodeHatch,
    caption_bar,
    class_colour,
    colourize_nodes,
    draw_node_record,
    node_colours,
    overlay_labels,
    overlay_nodes,
    render_records,
)
from adcert.vis.masks import hatch_period
from adcert.vis.nodes import node_caption, node_misses_truth, node_swatches

from .synthetic import digest, frame, segmentation_record

CLASSES = ["road", "sidewalk", "car", "truck", "person"]
SPEC = {"name": "toy", "levels": [
    {"name": "category", "nodes": {"flat": ["road", "sidewalk"], "vehicle": ["car", "truck"],
                                   "human": ["person"]}},
    {"name": "group", "nodes": {"surface": ["flat"], "agents": ["vehicle", "human"]}},
]}
TREE = build_hierarchy(SPEC, CLASSES)
ROAD, CAR, FLAT, VEHICLE, AGENTS = 0, 2, 5, 6, 9  # global node ids


def node_map(height: int = 96, width: int = 160) -> np.ndarray:
    """Road (class), car (class), vehicle (category), agents (group) and abstentions."""
    nodes = np.full((height, width), ROAD, np.uint8)
    nodes[10:40, 10:60] = CAR
    nodes[10:40, 70:120] = VEHICLE
    nodes[50:90, 10:60] = AGENTS
    nodes[50:90, 70:120] = ABSTAIN_PIXEL
    return nodes


def colours_of(image: np.ndarray, mask: np.ndarray) -> set[tuple[int, ...]]:
    return {tuple(int(c) for c in px) for px in image[mask]}


def test_global_ids_are_the_certifiers():
    assert TREE.global_names()[VEHICLE] == "vehicle" and TREE.global_names()[AGENTS] == "agents"


def test_classes_and_abstentions_draw_exactly_as_a_flat_map():
    image, nodes = frame(), node_map()
    drawn = overlay_nodes(image, nodes, TREE)
    coarse = (nodes >= len(CLASSES)) & (nodes != ABSTAIN_PIXEL)
    flat = overlay_labels(image, np.where(coarse, ABSTAIN_PIXEL, nodes).astype(np.uint8))
    np.testing.assert_array_equal(drawn[~coarse], flat[~coarse])
    only_classes = np.where(coarse, ROAD, nodes).astype(np.uint8)  # no coarser node at all
    assert digest(overlay_nodes(image, only_classes, TREE)) == digest(
        overlay_labels(image, only_classes))


def test_coarser_nodes_are_hatched_in_their_colour_along_the_other_diagonal():
    nodes = node_map()
    painted = colourize_nodes(nodes, TREE)
    period = hatch_period(*nodes.shape)
    rows, cols = np.indices(nodes.shape)
    for node, level in ((VEHICLE, 1), (AGENTS, 2)):
        where = nodes == node
        colour = node_colours(TREE)[node]
        stripes = np.all(painted == colour, axis=-1) & where
        want = where & ((cols - rows) % period < max(1, round(period / (2 * level))))
        np.testing.assert_array_equal(stripes, want)
        assert 0.1 < stripes.sum() / where.sum() < 0.6
        assert colours_of(painted, where).isdisjoint({ABSTAIN_STRIPE, ABSTAIN_BASE})
    # Coarser levels show less colour: the stripes narrow with each level up.
    share = {n: np.mean(np.all(painted == node_colours(TREE)[n], axis=-1)[nodes == n])
             for n in (VEHICLE, AGENTS)}
    assert share[AGENTS] < share[VEHICLE]
    # Abstentions keep the grey hatch; classes their solid colour.
    assert colours_of(painted, nodes == ABSTAIN_PIXEL) == {ABSTAIN_STRIPE, ABSTAIN_BASE}
    assert colours_of(painted, nodes == CAR) == {class_colour(CAR)}


def test_a_node_takes_the_colour_of_its_first_class_that_is_not_grey():
    palette = [(128, 64, 128), (232, 35, 244), (90, 90, 90), (70, 0, 0), (60, 20, 220)]
    colours = node_colours(TREE, palette)
    assert colours[:5] == [tuple(c) for c in palette]
    assert colours[FLAT] == palette[0]  # road
    assert colours[VEHICLE] == palette[3]  # car is grey here: truck
    assert colours[AGENTS] == palette[3]  # car grey, truck next


def test_caption_and_legend_name_the_levels_present():
    nodes = node_map()
    record = {**segmentation_record(), "hierarchy": "toy", "node_abstain_rate": 0.1,
              "level_rates": {"class": 0.6, "category": 0.75, "group": 0.9}}
    lines = node_caption(record, nodes, TREE)
    joined = "\n".join(lines)
    assert "hierarchy toy" in joined and "class: 60.0%" in joined
    assert "category or finer: 75.0%" in joined and "group or finer: 90.0%" in joined
    assert "no certified node: 10.0%" in joined and GUARANTEE_LINE in lines
    assert "hatched in colour" in joined
    swatches = node_swatches(nodes, TREE)
    names = [name for _, name in swatches]
    assert names == ["road", "car", "vehicle (category)", "agents (group)", "abstain"]
    assert swatches[2][0] == NodeHatch(node_colours(TREE)[VEHICLE], 1)
    assert swatches[3][0] == NodeHatch(node_colours(TREE)[AGENTS], 2)
    bar = caption_bar(320, [], swatches[2:3])  # the legend tile is the node's hatch
    assert np.all(bar == node_colours(TREE)[VEHICLE], axis=-1).any()
    # Without the record's rates, the map's own.
    del record["level_rates"]
    share = float(np.mean(nodes < len(CLASSES)))
    assert f"class: {share:.1%}" in "\n".join(node_caption(record, nodes, TREE))


def test_drawing_is_deterministic_and_captioned():
    image, nodes = frame(), node_map()
    record = {**segmentation_record(), "hierarchy": "toy"}
    first = draw_node_record(image, nodes, record, TREE)
    assert digest(draw_node_record(image, nodes, record, TREE)) == digest(first)
    bare = draw_node_record(image, nodes, record, TREE, caption=False)
    assert first.shape[0] > image.shape[0]
    np.testing.assert_array_equal(first[: image.shape[0]], bare)


def test_node_ids_beyond_the_hierarchy_are_rejected():
    nodes = node_map()
    nodes[0, 0] = TREE.num_nodes
    with pytest.raises(ValueError, match="has 10 nodes"):
        overlay_nodes(frame(), nodes, TREE)


def test_certified_but_wrong_means_the_node_lacks_the_true_class():
    nodes = np.array([[CAR, VEHICLE, VEHICLE, FLAT, ABSTAIN_PIXEL, AGENTS]], np.uint8)
    truth = np.array([[3, 3, 255, 2, 2, 4]], np.uint8)
    np.testing.assert_array_equal(node_misses_truth(nodes, truth, TREE),
                                  [[True, False, False, True, False, False]])


def _hierarchical_run(tmp_path, summary: dict | None):
    run = tmp_path / "run"
    (run / "masks").mkdir(parents=True)
    cv2.imwrite(str(run / "f0.png"), frame())
    nodes = node_map()
    cv2.imwrite(str(run / "masks/f0.nodes.png"), nodes)
    cv2.imwrite(str(run / "masks/f0.certified.png"),
                np.where(nodes < len(CLASSES), nodes, ABSTAIN_PIXEL).astype(np.uint8))
    record = {**segmentation_record("f0.png", "masks/f0.certified.png"), "img_path": "f0.png",
              "hierarchy": "toy", "nodes_mask_path": "masks/f0.nodes.png"}
    if summary is not None:
        (run / "summary.json").write_text(json.dumps(summary))
    return run, record, nodes


def test_render_draws_the_node_map_with_the_summarys_hierarchy(tmp_path):
    run, record, nodes = _hierarchical_run(tmp_path, {"classes": CLASSES, "hierarchy": SPEC})
    # The certify tools' --show-dir: the hierarchy is found in the run folder's summary.
    written = render_records([record], str(tmp_path / "out"), CLASSES, base_dir=str(run))
    drawn = cv2.imread(written[0])[: nodes.shape[0]]
    np.testing.assert_array_equal(
        drawn, draw_node_record(frame(), nodes, record, TREE, caption=False))
    # tools/visualize.py passes the summary's tree itself.
    again = render_records([record], str(tmp_path / "out2"), CLASSES, base_dir=str(run),
                           hierarchy=SPEC)
    assert digest(cv2.imread(again[0])) == digest(cv2.imread(written[0]))


def test_render_needs_the_hierarchy_of_a_node_map(tmp_path):
    run, record, _ = _hierarchical_run(tmp_path, None)
    with pytest.raises(ValueError, match="no hierarchy was given"):
        render_records([record], str(tmp_path / "out"), CLASSES, base_dir=str(run))
    with pytest.raises(ValueError, match="hierarchy 'toy', the hierarchy given is 'other'"):
        render_records([record], str(tmp_path / "out"), CLASSES, base_dir=str(run),
                       hierarchy={**SPEC, "name": "other"})
    assert not (tmp_path / "out").exists()  # checked before anything is written
