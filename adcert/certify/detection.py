"""Median smoothing of object detectors with sort-and-bin (docs/certificates.md §2, §3).

Chiang et al. (2020) turn a detector into a regressor: each noisy sample's boxes are
binned, sorted and padded with +∞ into fixed slots, and every slot's columns are smoothed
by their median over the Gaussian noise. For one such scalar output, with
p_l = Φ(−ε/σ), p_u = Φ(ε/σ) and every ‖δ'‖₂ ≤ ε in model-input space (RGB in [0, 1]),

    h_{p_l}(x) ≤ h_{1/2}(x + δ') ≤ h_{p_u}(x),

and order statistics of n samples bound h_{p_l} from below and h_{p_u} from above (§2).
:class:`BoxSampleCollector` gathers one frame's samples, :func:`certify_boxes` turns them
into a :class:`DetectionCertificate`. Drawing noise and running models happen elsewhere.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np

from adcert.stats import attack_range, order_statistic_indices, percentile_levels
from adcert.stats._checks import check_alpha, check_sample_count, check_sigma
from adcert.stats._rounding import step_down, step_up
from adcert.stats.multiple_testing import divide_down

BIN_MODES = ("none", "label", "location", "location+label")
SORT_KEYS = ("center", "score")
CORRECTIONS = ("box", "image", "none")
GUARANTEES = {"box": "per_box", "image": "per_image", "none": "per_bound"}
# (lower, upper) of the 4 coordinates, the score and the label: the score is bounded too,
# because certified AP ranks boxes by it (docs/certified_ap.md).
BOUNDS_PER_BOX = 12
# Location bins of the bare class: rows × columns of the image, cell = columns · row + col.
# The tools' default is DetSettings.grid (1 × 8), passed explicitly.
GRID = (3, 3)
NO_BIN = -1  # internal key part for a bin mode that ignores location or label

BinKey = tuple[int | None, int | None]  # (cell, label); None where the mode ignores it


def _check_choice(value: str | None, choices: Sequence[str], name: str) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def _check_detections(detections: np.ndarray) -> np.ndarray:
    boxes = np.array(detections, dtype=np.float64)  # a copy: clipping must not touch input
    if boxes.size == 0:
        return boxes.reshape(0, 6)
    if boxes.ndim != 2 or boxes.shape[1] != 6:
        raise ValueError(f"detections must have shape (k, 6), got {boxes.shape}")
    # Coordinates are clipped to the image later, so ±∞ there is harmless; NaN is not.
    if np.isnan(boxes[:, :4]).any() or not np.all(np.isfinite(boxes[:, 4:])):
        raise ValueError("detections must not hold NaN, nor infinite scores or labels")
    labels = boxes[:, 5]
    if np.any(labels < 0) or np.any(labels != np.round(labels)):
        raise ValueError("detections labels (column 5) must be non-negative integers")
    return boxes


def possible_bins(bin: str, num_classes: int | None,
                  grid: tuple[int, int] = GRID) -> int | None:
    """How many bins the mode can form on any frame (None: the label count is unknown)."""
    cells = grid[0] * grid[1] if "location" in bin else 1
    if "label" not in bin:
        return cells
    return None if num_classes is None else cells * int(num_classes)


def _ranks_within_bins(cell: np.ndarray, label: np.ndarray) -> np.ndarray:
    """0-based position of each box inside its bin, for boxes already grouped by bin."""
    m = cell.size
    new_bin = np.r_[True, (cell[1:] != cell[:-1]) | (label[1:] != label[:-1])]
    starts = np.flatnonzero(new_bin)
    return np.arange(m) - np.repeat(starts, np.diff(np.r_[starts, m]))


class BoxSampleCollector:
    """Sort-and-bin of §3 for one frame, fed one noisy sample at a time.

    A sample is a (k, 6) array [x1, y1, x2, y2, score, label] in pixels (k may be 0).
    Boxes are clipped to the image, those with score < ``score_thr`` dropped, the rest
    binned by ``bin``: "label", "location" (cell cols·row + col of the box centre in a
    ``grid`` of rows × cols cells, 0 top-left), both, or "none". Per bin the
    ``max_per_bin`` highest scores survive, ordered by ``sort``: "center" (centre y, then
    x) or "score" (descending). The defaults here are the bare class's (one bin, centre
    order, no score threshold, a 3 × 3 grid when binned by location); the certify tools
    pass those of :class:`adcert.pipeline.settings.DetSettings` instead: "location+label"
    on a 1 × 8 grid, score order, ``score_thr`` 0.3. Per sample only compact numpy arrays
    are kept; :meth:`binned` scatters them into one (n, slots, 6) array per bin, +∞ rows
    where a sample has fewer than ``slots`` boxes.
    ``num_classes`` (labels are 0 … num_classes − 1) fixes, before any sample is drawn,
    the family of slots the per-image correction divides α by (:attr:`slot_family`).
    """

    def __init__(
        self,
        image_size: tuple[float, float],
        bin: str = "none",
        sort: str = "center",
        max_per_bin: int = 100,
        score_thr: float = 0.0,
        num_classes: int | None = None,
        grid: tuple[int, int] = GRID,
        label_groups: np.ndarray | None = None,
    ) -> None:
        size = np.asarray(image_size, dtype=np.float64)
        if size.shape != (2,) or not np.all(np.isfinite(size) & (size > 0)):
            raise ValueError(f"image_size must be (height, width) > 0, got {image_size}")
        _check_choice(bin, BIN_MODES, "bin")
        _check_choice(sort, SORT_KEYS, "sort")
        if int(max_per_bin) != max_per_bin or max_per_bin < 1:
            raise ValueError(f"max_per_bin must be a positive integer, got {max_per_bin}")
        if np.isnan(score_thr):
            raise ValueError("score_thr must be a number, got nan")
        self.image_size = (float(size[0]), float(size[1]))
        self.bin, self.sort = bin, sort
        self.max_per_bin, self.score_thr = int(max_per_bin), float(score_thr)
        if num_classes is not None and (int(num_classes) != num_classes or num_classes < 1):
            raise ValueError(f"num_classes must be a positive integer, got {num_classes}")
        self.num_classes = None if num_classes is None else int(num_classes)
        if (len(grid) != 2 or any(int(g) != g or g < 1 for g in grid)):
            raise ValueError(f"grid must be (rows, columns) of positive integers, got {grid}")
        self.grid = (int(grid[0]), int(grid[1]))
        # With a class hierarchy (§9) label bins hold a node's classes: class c goes to bin
        # label_groups[c], so a box whose class flickers inside the node stays in one bin.
        self.label_groups = None
        self.group_spans: dict[int, tuple[int, int]] | None = None  # per group: class ids
        if label_groups is not None:
            groups = np.asarray(label_groups, dtype=np.int64)
            if groups.ndim != 1 or (self.num_classes is not None
                                    and len(groups) != self.num_classes) or groups.min() < 0:
                raise ValueError("label_groups must map each class id to a group id ≥ 0")
            self.label_groups = groups
            self.group_spans = {int(g): (int(ids.min()), int(ids.max())) for g, ids in
                                ((g, np.flatnonzero(groups == g)) for g in np.unique(groups))}
        self._boxes: list[np.ndarray] = []  # per sample: (m, 6), grouped by bin, slot order
        self._keys: list[np.ndarray] = []  # per sample: (m, 3) int [cell, label, slot]

    @property
    def n(self) -> int:
        """Number of samples added so far."""
        return len(self._boxes)

    @property
    def possible_bins(self) -> int | None:
        """Bins this mode can form on any frame; None when labels bin and are uncounted."""
        labels = (self.num_classes if self.label_groups is None
                  else int(self.label_groups.max()) + 1)
        return possible_bins(self.bin, labels, self.grid)

    @property
    def slot_family(self) -> int | None:
        """Slots any frame can have (bins × max_per_bin), fixed before sampling."""
        bins = self.possible_bins
        return None if bins is None else bins * self.max_per_bin

    def add(self, detections: np.ndarray) -> None:
        """Record the detections of one noisy sample."""
        boxes = _check_detections(detections)
        if self.num_classes is not None and np.any(boxes[:, 5] >= self.num_classes):
            raise ValueError(f"a detection's label is ≥ num_classes ({self.num_classes}): "
                             "the model predicts more classes than the data set names")
        height, width = self.image_size
        boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0.0, width)
        boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0.0, height)
        boxes = boxes[boxes[:, 4] >= self.score_thr]
        score = boxes[:, 4]
        centre_x, centre_y = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
        cell = np.full(len(boxes), NO_BIN, dtype=np.int64)
        label = np.full(len(boxes), NO_BIN, dtype=np.int64)
        if "location" in self.bin:
            rows, cols = self.grid
            row = np.clip(np.floor(rows * centre_y / height), 0, rows - 1)
            col = np.clip(np.floor(cols * centre_x / width), 0, cols - 1)
            cell = (cols * row + col).astype(np.int64)
        if "label" in self.bin:
            label = boxes[:, 5].astype(np.int64)
            if self.label_groups is not None:
                if len(label) and label.max() >= len(self.label_groups):
                    raise ValueError("a detection's label has no group in label_groups")
                label = self.label_groups[label]
        # np.lexsort: the last key is the primary one. Bin first, then score, keep top K.
        by_score = np.lexsort((-score, label, cell))
        kept = by_score[_ranks_within_bins(cell[by_score], label[by_score]) < self.max_per_bin]
        if self.sort == "center":
            keys = (-score, centre_x, centre_y)
        else:
            keys = (centre_x, centre_y, -score)
        order = kept[np.lexsort(tuple(k[kept] for k in keys) + (label[kept], cell[kept]))]
        slot = _ranks_within_bins(cell[order], label[order])
        self._boxes.append(boxes[order])
        self._keys.append(np.stack([cell[order], label[order], slot], axis=1))

    def add_batch(self, batch: Sequence[np.ndarray]) -> None:
        """Record several samples, one (k_i, 6) array each."""
        for detections in batch:
            self.add(detections)

    def binned(self) -> dict[BinKey, np.ndarray]:
        """One (n, slots, 6) float array per non-empty bin, keyed (cell, label), in order.

        ``slots`` is the largest count of the bin in any sample; a missing box is a row of
        +∞. A frame without any kept box gives an empty dict.
        """
        n = self.n
        if n == 0 or sum(len(b) for b in self._boxes) == 0:
            return {}
        boxes, keys = np.concatenate(self._boxes), np.concatenate(self._keys)
        sample = np.repeat(np.arange(n), [len(b) for b in self._boxes])
        bins, inverse = np.unique(keys[:, :2], axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        out: dict[BinKey, np.ndarray] = {}
        for b, (cell, label) in enumerate(bins):
            members = inverse == b
            slot = keys[members, 2]
            values = np.full((n, int(slot.max()) + 1, 6), np.inf)
            values[sample[members], slot] = boxes[members]
            key = (None if cell == NO_BIN else int(cell), None if label == NO_BIN else int(label))
            out[key] = values
        return out


def _finite_or_none(values: Sequence[float]) -> list[float | None]:
    return [float(v) if np.isfinite(v) else None for v in values]


Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class BoxCertificate:
    """One smoothed box: its median and the bounds its attacked median cannot leave.

    Coordinates are (x1, y1, x2, y2) in pixels; ``lower`` may hold −∞ and ``upper`` +∞.
    ``may_vanish``: an upper bound is +∞, so an attack may remove the box (a missing box
    is +∞). ``label_certified``: the attacked median label equals ``label``. The attacked
    median score lies in [``score_lower``, ``score_upper``]. ``localisation_iou`` is the
    worst IoU of any box inside the bounds with this smoothed box (0 when a bound is
    infinite): how well a certified box pins down where the object is. All of it holds
    with the probability the parent :class:`DetectionCertificate` names.
    """

    bbox: Box
    lower: Box
    upper: Box
    label: int
    label_certified: bool
    may_vanish: bool
    score: float  # median score over the samples, a missing box counting −∞
    bin_key: BinKey
    score_lower: float = -np.inf
    score_upper: float = np.inf
    label_range: tuple[float, float] = (-np.inf, np.inf)

    @property
    def localisation_iou(self) -> float:
        return worst_case_iou(self.lower, self.upper, self.bbox)

    @property
    def localised(self) -> bool:
        """Every box the bounds allow overlaps the smoothed box with IoU ≥ 0.5."""
        return self.localisation_iou >= 0.5

    def outer_box(self) -> Box:
        """(x1_lower, y1_lower, x2_upper, y2_upper): contains every box the bounds allow."""
        return (self.lower[0], self.lower[1], self.upper[2], self.upper[3])

    def inner_box(self) -> Box:
        """(x1_upper, y1_upper, x2_lower, y2_lower): in every box the bounds allow.

        Empty (x1 > x2 or y1 > y2) when the bounds are wider than the box.
        """
        return (self.upper[0], self.upper[1], self.lower[2], self.lower[3])

    def to_record(self) -> dict:
        """JSON-ready dict; infinite bounds become None because JSON has no infinity."""
        return {
            "bbox": [float(v) for v in self.bbox],
            "lower": _finite_or_none(self.lower),
            "upper": _finite_or_none(self.upper),
            "label": self.label,
            "label_certified": self.label_certified,
            "label_range": _finite_or_none(self.label_range),
            "may_vanish": self.may_vanish,
            "score": self.score,
            "score_lower": _finite_or_none([self.score_lower])[0],
            "score_upper": _finite_or_none([self.score_upper])[0],
            "localisation_iou": self.localisation_iou,
        }


@dataclass(frozen=True)
class AppearingSlot:
    """A slot the smoothed detector leaves empty but an attack may fill (median +∞, lower
    bound finite). Present, its box lies in [``lower``, ``upper``] (clipped to the image
    when collected), its label in ``label_range`` and its score ≤ ``score_upper``."""

    lower: Box
    upper: Box
    score_upper: float
    label_range: tuple[float, float]
    bin_key: BinKey

    def to_record(self) -> dict:
        return {
            "lower": _finite_or_none(self.lower),
            "upper": _finite_or_none(self.upper),
            "score_upper": _finite_or_none([self.score_upper])[0],
            "label_range": _finite_or_none(self.label_range),
        }


@dataclass(frozen=True)
class DetectionCertificate:
    """Outcome of :func:`certify_boxes` for one frame; ``boxes`` may be empty."""

    boxes: tuple[BoxCertificate, ...]
    eps: float  # ℓ2 radius in model-input space, or the parameter range's size (§5)
    sigma: float
    n: int
    alpha: float
    alpha_per_bound: float  # level of each one-sided bound after the correction
    correction: str  # "box", "image" or "none"
    bin: str | None  # None when certify_boxes was handed bare arrays without the names
    sort: str | None
    transform: str = "gaussian"
    may_appear: tuple[AppearingSlot, ...] = ()
    slot_family: int | None = None  # slots any frame can have; fixes the "image" family
    possible_bins: int | None = None
    # Slots whose bounds the statements rest on (boxes and may-appear slots as certified,
    # before any suppression removed some): what the failure bound must count.
    observed_slots: int | None = None
    suppression_iou: float | None = None  # NMS after smoothing (adcert.certify.suppression)

    def to_record(self) -> dict:
        skip = {"boxes", "may_appear"}
        return {
            "method": "median_smoothing_sort_and_bin",
            "guarantee": GUARANTEES[self.correction],
            **{f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip},
            "certified_range": attack_range(self.transform, self.eps, self.sigma).to_record(),
            "boxes": [box.to_record() for box in self.boxes],
            "may_appear": [slot.to_record() for slot in self.may_appear],
        }


def _order_statistics(values: np.ndarray, ranks: Sequence[int]) -> list[np.ndarray]:
    """values[k − 1] of the sorted samples (axis 0) per 1-based rank; 0 → −∞, n + 1 → +∞."""
    n = values.shape[0]
    inner = sorted({k - 1 for k in ranks if 1 <= k <= n})
    part = np.partition(values, inner, axis=0) if inner else values
    fill = {0: -np.inf, n + 1: np.inf}
    return [part[k - 1] if 1 <= k <= n else np.full(values.shape[1:], fill[k]) for k in ranks]


def _alpha_per_bound(alpha: float, correction: str, slot_family: int | None) -> float:
    if correction == "box":
        return divide_down(alpha, BOUNDS_PER_BOX)
    if correction == "none":
        return alpha
    if slot_family is None:
        raise ValueError("correction 'image' needs the slot family fixed before sampling "
                         "(give the collector num_classes when binning by label)")
    return divide_down(alpha, BOUNDS_PER_BOX * slot_family)


def _label_range(key: BinKey, low: float, high: float,
                 group_spans: Mapping[int, tuple[int, int]] | None = None
                 ) -> tuple[float, float]:
    # In a label bin every finite sample carries the bin's label, so a present slot's
    # attacked median label is that label whatever its bounds say. In a bin of a hierarchy
    # node's classes it is one of them: the order statistics' range, clipped to their span.
    if key[1] is None:
        return float(low), float(high)
    if group_spans is None:
        return float(key[1]), float(key[1])
    first, last = group_spans[key[1]]
    return float(max(low, first)), float(min(high, last))


def certify_boxes(
    binned: Mapping[BinKey, np.ndarray] | BoxSampleCollector,
    n: int,
    eps: float,
    sigma: float,
    alpha: float,
    correction: str = "box",
    bin: str | None = None,
    sort: str | None = None,
    transform: str = "gaussian",
    slot_family: int | None = None,
    group_spans: Mapping[int, tuple[int, int]] | None = None,
) -> DetectionCertificate:
    """Median-smoothed boxes with percentile bounds (§2, §3, Chiang et al. 2020).

    ``binned`` maps each bin to (n, slots, 6) samples (from :meth:`BoxSampleCollector.
    binned`), or is the collector itself (then ``bin``, ``sort`` and ``slot_family`` are
    read from it). Per slot and column the smoothed value is the lower median y(⌈n/2⌉)
    of the n samples (an order statistic, since np.median averages and breaks on +∞); a
    slot whose median is +∞ outputs no box. With (k_l, k_u) =
    ``order_statistic_indices(n, p_l, p_u, α')``, lower = y(k_l) and upper = y(k_u),
    0 → −∞ and n + 1 → +∞. Slots with median +∞ but a finite lower bound are returned
    as ``may_appear``: an attack may make them show up.

    Guarantee: for every ‖δ'‖₂ ≤ ``eps`` (model-input space), h_{p_l}(x) ≤ h_{1/2}(x + δ')
    ≤ h_{p_u}(x) per column (4 coordinates, score, label); each bound misses its
    percentile with probability ≤ α' over the sampling:
    - "box" (default): α' = α/12, so the 12 bounds of each box (or may-appear slot) hold
      jointly with probability ≥ 1 − ``alpha``;
    - "image": α' = α/(12·``slot_family``), the family being every slot the frame could
      have (bins × max_per_bin), fixed before sampling: all bounds of the frame hold
      jointly with probability ≥ 1 − ``alpha``;
    - "none": α' = α, each bound on its own, as in Chiang et al.'s code.

    With a camera-effect ``transform`` (samples drawn with one brightness, contrast or
    gamma parameter per copy, σ its smoothing σ), the same holds for every parameter in
    ``attack_range(transform, eps)`` in place of the ℓ2 ball, with the levels of
    :func:`adcert.stats.percentile_levels`.

    ``group_spans`` (the collector's, when its label bins hold a hierarchy node's classes):
    per bin label, the smallest and largest class id of the node; a box's label is then
    certified only when its label bounds meet.
    """
    bins_possible = None
    if isinstance(binned, BoxSampleCollector):
        if int(n) != binned.n:
            raise ValueError(f"n ({n}) must equal the number of samples collected ({binned.n})")
        bin, sort, slot_family = binned.bin, binned.sort, binned.slot_family
        group_spans = binned.group_spans
        bins_possible, binned = binned.possible_bins, binned.binned()
    n = check_sample_count(n)
    eps, sigma, alpha = check_sigma(eps, "eps"), check_sigma(sigma), check_alpha(alpha)
    _check_choice(correction, CORRECTIONS, "correction")
    if bin is not None:
        _check_choice(bin, BIN_MODES, "bin")
    if sort is not None:
        _check_choice(sort, SORT_KEYS, "sort")
    arrays = {key: np.asarray(values, dtype=np.float64) for key, values in binned.items()}
    for key, values in arrays.items():
        if values.ndim != 3 or values.shape[2] != 6:
            raise ValueError(f"binned[{key}] must have shape (n, slots, 6), got {values.shape}")
        if values.shape[0] != n:
            raise ValueError(f"n ({n}) must equal the number of samples in binned[{key}]")
    alpha_per_bound = _alpha_per_bound(alpha, correction, slot_family)
    p_l, p_u = percentile_levels(transform, sigma, eps)
    k_l, k_u = order_statistic_indices(n, p_l, p_u, alpha_per_bound)
    boxes, appearing = [], []
    for key, values in arrays.items():
        # A missing box counts +∞ in x1, y1 and the label (so a slot is present exactly
        # when its x1 median is finite) but −∞ in x2, y2 and the score: then a slot that
        # may vanish or appear keeps finite bounds on how far right and down it reaches
        # and how high it ranks (docs/certified_ap.md).
        missing = np.isinf(values[..., :1])
        values = np.where(missing & _LOW_WHEN_MISSING, -np.inf, values)
        low_median = (n + 1) // 2  # of the +∞ columns; the −∞ ones take the upper median
        median, high_median, lower, upper = _order_statistics(
            values, [low_median, n // 2 + 1, k_l, k_u])  # one partition for all four ranks
        median = np.where(_LOW_WHEN_MISSING, high_median, median)
        for j in range(values.shape[1]):
            # A missing box is a row of +∞, so every column is finite in the same samples.
            if not np.isfinite(median[j, 0]):
                if lower[j, 0] < np.inf:
                    appearing.append(AppearingSlot(
                        lower=tuple(float(v) for v in lower[j, :4]),
                        upper=tuple(float(v) for v in upper[j, :4]),
                        score_upper=float(upper[j, 4]),
                        label_range=_label_range(key, lower[j, 5], upper[j, 5],
                                                 group_spans),
                        bin_key=key))
                continue
            label_range = _label_range(key, lower[j, 5], upper[j, 5], group_spans)
            boxes.append(
                BoxCertificate(
                    bbox=tuple(float(v) for v in median[j, :4]),
                    lower=tuple(float(v) for v in lower[j, :4]),
                    upper=tuple(float(v) for v in upper[j, :4]),
                    label=int(median[j, 5]),
                    label_certified=bool(np.isfinite(upper[j, 5])
                                         and label_range[0] == label_range[1]),
                    may_vanish=bool(np.isinf(upper[j, 0])),
                    score=float(median[j, 4]),
                    bin_key=key,
                    score_lower=float(lower[j, 4]),
                    score_upper=float(upper[j, 4]),
                    label_range=label_range,
                )
            )
    return DetectionCertificate(
        tuple(boxes), eps, sigma, n, alpha, alpha_per_bound, correction, bin, sort, transform,
        tuple(appearing), slot_family, bins_possible, len(boxes) + len(appearing),
    )


_CORNERS = np.array(list(itertools.product((False, True), repeat=4)))  # True: upper bound
# Columns x1, y1, x2, y2, score, label: True where a missing box counts −∞, not +∞.
_LOW_WHEN_MISSING = np.array([False, False, True, True, True, False])


# How far any of box_iou, iou_upper_bound's formula or worst_case_iou's corners can lie
# from the exact IoU of the same float boxes: at most 26 units of 2⁻⁵³ (docs/certified_ap.md,
# "Arithmetic"). iou_upper_bound and worst_case_iou move their result out by this much, so
# they bound the exact IoU; a decision against another computed IoU adds it once more.
IOU_ROUNDING = 2.0**-48


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of (P, 4) and (Q, 4) x1, y1, x2, y2 boxes; empty boxes have IoU 0.
    Within :data:`IOU_ROUNDING` of the exact IoU (docs/certified_ap.md, "Arithmetic")."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ix = np.clip(np.minimum(a[:, None, 2], b[None, :, 2])
                 - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, None, 3], b[None, :, 3])
                 - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = ix * iy
    area = lambda x: np.clip(x[:, 2] - x[:, 0], 0, None) * np.clip(x[:, 3] - x[:, 1], 0, None)  # noqa: E731
    union = area(a)[:, None] + area(b)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def iou_upper_bound(a_lower: Sequence[float], a_upper: Sequence[float],
                    b_lower: Sequence[float], b_upper: Sequence[float]) -> float:
    """An upper bound on the exact IoU of any two boxes A, B with a_lower ≤ A ≤ a_upper
    and b_lower ≤ B ≤ b_upper coordinate-wise (a fixed box, e.g. a ground truth, has
    lower = upper). Bounds may be ±∞.

    With I the area of the two outer boxes' intersection (≥ |A ∩ B|) and A₀, B₀ the
    smallest areas the bounds admit: IoU = i / (|A| + |B| − i) grows with the overlap i
    and falls with either area, and i ≤ min(I, |A|, |B|); the largest value over all
    admitted i, |A|, |B| is I / (I + max(A₀ − I, 0) + max(B₀ − I, 0)). Raised by
    :data:`IOU_ROUNDING` to cover the float arithmetic (docs/certified_ap.md,
    "Arithmetic"). Used where an overclaim would be unsound: a slot "can reach" a ground
    truth (certified AP), a box "may suppress" another (NMS).
    """
    al, au, bl, bu = (np.asarray(v, dtype=np.float64) for v in (a_lower, a_upper,
                                                                 b_lower, b_upper))
    ix = min(au[2], bu[2]) - max(al[0], bl[0])
    iy = min(au[3], bu[3]) - max(al[1], bl[1])
    if not (ix > 0 and iy > 0):
        return 0.0  # the sign of a float difference is exact: no overlap at all
    inter = ix * iy
    if not np.isfinite(inter):
        return 1.0
    a_min = max(al[2] - au[0], 0.0) * max(al[3] - au[1], 0.0)
    b_min = max(bl[2] - bu[0], 0.0) * max(bl[3] - bu[1], 0.0)
    bound = inter / (inter + max(a_min - inter, 0.0) + max(b_min - inter, 0.0))
    return float(min(1.0, step_up(bound + IOU_ROUNDING)))


def worst_case_iou(
    lower: Sequence[float], upper: Sequence[float], gt_box: Sequence[float]
) -> float:
    """Smallest IoU with ``gt_box`` of any box with lower ≤ (x1, y1, x2, y2) ≤ upper (§3).

    Certified AP@50 counts a box when this, less pycocotools' rounding margin, is ≥ 0.5
    (docs/certified_ap.md). The 16 corner boxes suffice. Fix
    three coordinates and move the right edge x2 (IoU := 0 for an empty box): IoU is 0
    until the boxes overlap, then linear-fractional starting from 0, hence non-decreasing,
    until x2 passes the ground truth's x2, then non-increasing as only the union grows;
    the other edges are mirror images. IoU is thus quasi-concave in each coordinate, and
    its minimum over the bounds sits at a corner. Lowered by :data:`IOU_ROUNDING`, so it
    bounds the exact IoU from below (docs/certified_ap.md, "Arithmetic"). Returns 0 if a
    bound is infinite or a corner box is empty.
    """
    lower, upper, gt = (np.asarray(a, dtype=np.float64) for a in (lower, upper, gt_box))
    for name, a in (("lower", lower), ("upper", upper), ("gt_box", gt)):
        if a.shape != (4,):
            raise ValueError(f"{name} must have shape (4,), got {a.shape}")
    if not np.all(np.isfinite(gt)):
        raise ValueError("gt_box must be finite")
    if np.any(lower > upper):
        raise ValueError("lower must not exceed upper")
    if not (np.all(np.isfinite(lower)) and np.all(np.isfinite(upper))):
        return 0.0
    worst = float(box_iou(np.where(_CORNERS, upper, lower), gt[None]).min())  # 16 corners
    # An exact 0 (an empty corner, no overlap) stays 0; otherwise cover the rounding.
    return max(0.0, float(step_down(worst - IOU_ROUNDING))) if worst > 0 else 0.0
