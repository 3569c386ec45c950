"""Hierarchical certificates drawn over a frame (``docs/certificates.md`` §9).

A segmentation run with a class hierarchy writes, per frame, a *node map*: each pixel's
certified node as a global id (the classes 0 … C − 1, then each coarser level's nodes;
255 = the root, i.e. abstain). It is drawn in the same colour/hatch language as a flat map:

- certified at its class: the class colour, blended, exactly as
  :func:`adcert.vis.masks.overlay_labels` draws it;
- certified only at a coarser node (category, group, …): stripes of the node's colour over
  a dark shade or a light tint of it (whichever stands out more there), along the other
  diagonal than the abstain hatch and narrower for each level up, so that "certified, but
  only as *vehicle*" never reads as a class;
- certified at no node: the grey abstain hatch.

A node's colour is that of its first class (by id) whose colour is not a grey (else of its
first class), e.g. *vehicle* in the colour of *car*. Node names and levels come from the
run's ``summary.json`` (``hierarchy`` and ``classes``). Needs numpy and OpenCV only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from adcert import ABSTAIN_PIXEL
from adcert.certify.hierarchy import Hierarchy, build_hierarchy
from adcert.vis.caption import GUARANTEE_LINE, Swatch, add_caption, as_bgr_image
from adcert.vis.masks import (
    check_label_map,
    fit_label_map,
    hatch_period,
    overlay_labels,
    settings_caption,
)
from adcert.vis.palette import (
    BGR,
    NodeHatch,
    class_colour,
    is_grey,
    node_base,
    node_hatch_mask,
)

NODE_LEGEND = ("solid: class certified  hatched in colour: only a coarser node certified  "
               "grey hatch: no node certified (abstain)")


def resolve_hierarchy(hierarchy: Hierarchy | Mapping, classes: Sequence[str] | None
                      ) -> Hierarchy:
    """``hierarchy`` as a checked tree: a :class:`Hierarchy` as is, a summary's
    ``hierarchy`` dict built over the run's ``classes``."""
    if isinstance(hierarchy, Hierarchy):
        return hierarchy
    if classes is None:
        raise ValueError(f"hierarchy {hierarchy.get('name')!r} needs the run's class names")
    return build_hierarchy(hierarchy, classes)


def representative_class(hierarchy: Hierarchy, node: int,
                         palette: Sequence[BGR] | None = None) -> int:
    """The class whose colour global node ``node`` is drawn in: its first class (by id)
    whose colour is not a grey, else its first class."""
    leaves = np.flatnonzero(hierarchy.membership()[node])
    colourful = [int(c) for c in leaves if not is_grey(class_colour(int(c), palette))]
    return colourful[0] if colourful else int(leaves[0])


def node_colours(hierarchy: Hierarchy, palette: Sequence[BGR] | None = None) -> list[BGR]:
    """Per global node id its colour: a class's own, a coarser node's that of its
    :func:`representative_class`."""
    return [class_colour(representative_class(hierarchy, node, palette), palette)
            for node in range(hierarchy.num_nodes)]


def check_node_map(nodes: np.ndarray, hierarchy: Hierarchy) -> np.ndarray:
    """``nodes`` as an (H, W) map of the hierarchy's global node ids (255 = abstain)."""
    nodes = check_label_map(nodes)
    known = nodes[nodes != ABSTAIN_PIXEL]
    if known.size and known.max() >= hierarchy.num_nodes:
        raise ValueError(f"node map holds id {int(known.max())}, but hierarchy "
                         f"{hierarchy.name!r} has {hierarchy.num_nodes} nodes")
    return nodes


def overlay_nodes(image: np.ndarray, nodes: np.ndarray, hierarchy: Hierarchy,
                  palette: Sequence[BGR] | None = None, alpha: float = 0.5) -> np.ndarray:
    """A copy of ``image`` with the node map drawn (see the module doc): classes blended
    as :func:`~adcert.vis.masks.overlay_labels` does, coarser nodes hatched in their
    colour (``alpha`` weighs :func:`~adcert.vis.palette.node_base` against the
    greyscale frame), abstentions
    as the grey hatch. The map is resized (nearest) to the frame if their sizes differ."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    frame = as_bgr_image(image)
    height, width = frame.shape[:2]
    nodes = fit_label_map(check_node_map(nodes, hierarchy), height, width)
    coarse = (nodes >= len(hierarchy.classes)) & (nodes != ABSTAIN_PIXEL)
    out = overlay_labels(frame, np.where(coarse, ABSTAIN_PIXEL, nodes).astype(nodes.dtype),
                         palette, alpha)
    if not coarse.any():
        return out
    colours, levels = node_colours(hierarchy, palette), hierarchy.global_levels()
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)[..., None]
    period, stripes = hatch_period(height, width), {}
    for node in np.unique(nodes[coarse]):
        where, colour, level = nodes == node, colours[node], int(levels[node])
        base = np.float32(node_base(colour, float(grey[where].mean()), alpha))
        out[where] = np.rint(grey[where] * (1.0 - alpha) + base * alpha).astype(np.uint8)
        if level not in stripes:
            stripes[level] = node_hatch_mask(height, width, period, level)
        out[where & stripes[level]] = colour
    return out


def colourize_nodes(nodes: np.ndarray, hierarchy: Hierarchy,
                    palette: Sequence[BGR] | None = None) -> np.ndarray:
    """The node map alone as a BGR image (see :func:`overlay_nodes`)."""
    nodes = check_label_map(nodes)
    return overlay_nodes(np.zeros((*nodes.shape, 3), np.uint8), nodes, hierarchy, palette, 1.0)


def node_misses_truth(nodes: np.ndarray, truth: np.ndarray, hierarchy: Hierarchy,
                      ignore_index: int = 255) -> np.ndarray:
    """Pixels certified at some node that does not hold their ground-truth class:
    certified, but wrong."""
    valid = ((nodes != ABSTAIN_PIXEL) & (truth != ignore_index)
             & (truth < len(hierarchy.classes)))
    inside = hierarchy.membership()[np.where(valid, nodes, 0), np.where(valid, truth, 0)]
    return valid & ~inside


def level_shares(record: Mapping, nodes: np.ndarray, hierarchy: Hierarchy) -> dict[str, float]:
    """Per level the share of pixels certified at that level or finer: the record's
    ``level_rates`` when it has them all, else the map's own."""
    rates = record.get("level_rates")
    if isinstance(rates, Mapping) and all(name in rates for name in hierarchy.level_names):
        return {name: float(rates[name]) for name in hierarchy.level_names}
    certified = nodes != ABSTAIN_PIXEL
    levels = np.where(certified, hierarchy.global_levels()[np.where(certified, nodes, 0)],
                      hierarchy.depth)
    return {name: float(np.mean(levels <= level)) if nodes.size else 0.0
            for level, name in enumerate(hierarchy.level_names)}


def _node_abstain_rate(record: Mapping, nodes: np.ndarray) -> float:
    """The record's share of pixels with no certified node, else the map's own."""
    rate = record.get("node_abstain_rate")
    return float(rate) if isinstance(rate, int | float) else float(np.mean(nodes == ABSTAIN_PIXEL))


def node_caption(record: Mapping, nodes: np.ndarray, hierarchy: Hierarchy) -> list[str]:
    """Caption lines: settings, the share certified at each level, the share with no
    certified node, how each level is drawn, and what holds for whom."""
    shares = level_shares(record, nodes, hierarchy)
    levels = "  ".join(f"{name}{' or finer' if i else ''}: {share:.1%}"
                       for i, (name, share) in enumerate(shares.items()))
    return [
        *settings_caption(record),
        f"hierarchy {hierarchy.name}, pixels certified at  {levels}",
        f"no certified node: {_node_abstain_rate(record, nodes):.1%}",
        NODE_LEGEND,
        GUARANTEE_LINE,
    ]


def node_swatches(nodes: np.ndarray, hierarchy: Hierarchy,
                  palette: Sequence[BGR] | None = None) -> list[Swatch]:
    """Legend entries of the nodes present: classes solid, coarser nodes hatched and named
    with their level ("vehicle (category)"), then the abstain hatch."""
    colours, levels = node_colours(hierarchy, palette), hierarchy.global_levels()
    names = hierarchy.global_names()
    swatches: list[Swatch] = []
    for node in (int(i) for i in np.unique(nodes) if i != ABSTAIN_PIXEL):
        level = int(levels[node])
        if level == 0:
            swatches.append((colours[node], names[node]))
        else:
            swatches.append((NodeHatch(colours[node], level),
                             f"{names[node]} ({hierarchy.level_names[level]})"))
    swatches.append((None, "abstain"))
    return swatches


def draw_node_record(image: np.ndarray, nodes: np.ndarray, record: Mapping,
                     hierarchy: Hierarchy, palette: Sequence[BGR] | None = None,
                     alpha: float = 0.5, caption: bool = True) -> np.ndarray:
    """The frame with a hierarchical run's certified node map (:func:`overlay_nodes`) and,
    below it, a caption bar: settings, the share certified per level, the abstain rate,
    a legend of the classes and nodes present (coarser ones named with their level), and
    that the certificates hold for the smoothed model."""
    nodes = check_node_map(nodes, hierarchy)
    drawn = overlay_nodes(image, nodes, hierarchy, palette, alpha)
    if not caption:
        return drawn
    return add_caption(drawn, node_caption(record, nodes, hierarchy),
                       node_swatches(nodes, hierarchy, palette))
