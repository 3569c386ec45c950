"""SegCertify with τ-abstain (Fischer et al. 2021; docs/certificates.md §4).

Pixel i of the smoothed segmenter keeps class ĉ_i within ℓ2 radius σ Φ⁻¹(τ) wherever
P(f_i(x + ε) = ĉ_i) > τ, ε ~ N(0, σ²I). The certifier runs in two phases over label maps
of independent noisy copies of one frame: :class:`ClassCounter` picks ĉ from n0 selection
samples, :class:`HitCounter` counts k_i = #{f_i = ĉ_i} in n fresh estimation samples, and
:func:`certify_segmentation` tests every pixel's H0: P(f_i = ĉ_i) ≤ τ, with Holm (or
Bonferroni) over all pixels so that the guarantee holds for the whole map at once.
With a class hierarchy (:mod:`adcert.certify.hierarchy`, §9) each level below the root
gets its own hypothesis per pixel — the level's node most frequent in the selection
samples, its classes pooled — and one Holm (or Bonferroni) run covers every pixel and level;
a pixel's certified node is the finest rejected one (:func:`certify_hierarchical`).
Pure numpy/scipy: label maps come in as integer arrays of class ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adcert import ABSTAIN_PIXEL
from adcert.certify.hierarchy import Hierarchy
from adcert.stats import binom_pvalue_greater, bonferroni, holm, segmentation_radius
from adcert.stats._checks import check_alpha, check_sample_count, check_sigma, check_tau
from adcert.stats.parameter_ranges import Region, certified_range, check_transform

CORRECTIONS = {"holm": holm, "bonferroni": bonferroni}

_UINT16_MAX = int(np.iinfo(np.uint16).max)
_INT32_MAX = int(np.iinfo(np.int32).max)


def _check_label_maps(label_maps, shape: tuple[int, int]) -> np.ndarray:
    """``label_maps`` as a (B, H, W) integer array matching ``shape``, or a ValueError."""
    maps = np.asarray(label_maps)
    if maps.ndim != 3 or maps.shape[1:] != tuple(shape):
        raise ValueError(
            f"label_maps must have shape (B, {shape[0]}, {shape[1]}), got {maps.shape}"
        )
    if not np.issubdtype(maps.dtype, np.integer):
        raise ValueError(f"label_maps must hold integer class ids, got dtype {maps.dtype}")
    return maps


class ClassCounter:
    """Per-pixel class counts of the selection samples (n0 label maps, streamed in batches).

    Counts are stored as (H, W, C), in uint16 while the number of samples seen fits
    (≤ 65535, so no count can overflow) and in int32 from then on.
    """

    def __init__(self, num_classes: int, shape: tuple[int, int]) -> None:
        if int(num_classes) < 1:
            raise ValueError(f"num_classes must be a positive integer, got {num_classes}")
        if len(shape) != 2 or min(shape) < 1:
            raise ValueError(f"shape must be a positive (H, W) pair, got {shape}")
        self.num_classes = int(num_classes)
        self.shape = (int(shape[0]), int(shape[1]))
        self.total = 0
        self._counts = np.zeros((*self.shape, self.num_classes), dtype=np.uint16)
        # Flat index of (pixel, class) is pixel * C + label: one bincount per batch.
        self._offsets = np.arange(self.shape[0] * self.shape[1], dtype=np.intp) * self.num_classes

    @property
    def counts(self) -> np.ndarray:
        """(H, W, C) counts, read-only view."""
        view = self._counts.view()
        view.flags.writeable = False
        return view

    def update(self, label_maps) -> None:
        """Add a (B, H, W) batch of predicted class ids in [0, num_classes)."""
        maps = _check_label_maps(label_maps, self.shape)
        if maps.size and (maps.min() < 0 or maps.max() >= self.num_classes):
            raise ValueError(
                f"label_maps must hold class ids in [0, {self.num_classes}), "
                f"got values in [{maps.min()}, {maps.max()}]"
            )
        batch = maps.shape[0]
        if self.total + batch > _INT32_MAX:
            raise OverflowError("more than 2**31 - 1 samples would overflow the int32 counts")
        if self.total + batch > _UINT16_MAX and self._counts.dtype == np.uint16:
            self._counts = self._counts.astype(np.int32)
        flat = (maps.reshape(batch, self._offsets.size).astype(np.intp) + self._offsets).ravel()
        batch_counts = np.bincount(flat, minlength=self._counts.size)
        self._counts += batch_counts.reshape(self._counts.shape).astype(self._counts.dtype)
        self.total += batch

    def add_counts(self, counts, samples: int) -> None:
        """Add (H, W, C) class counts of ``samples`` label maps counted elsewhere (on the
        model's device); every pixel's counts must sum to ``samples``."""
        counts = np.asarray(counts)
        if counts.shape != self._counts.shape or not np.issubdtype(counts.dtype, np.integer):
            raise ValueError(f"counts must be integers of shape {self._counts.shape}, got "
                             f"{counts.dtype} {counts.shape}")
        if counts.size and (counts.min() < 0 or np.any(counts.sum(axis=-1) != samples)):
            raise ValueError(f"counts must be non-negative and sum to {samples} per pixel")
        if self.total + samples > _INT32_MAX:
            raise OverflowError("more than 2**31 - 1 samples would overflow the int32 counts")
        if self.total + samples > _UINT16_MAX:
            self._counts = self._counts.astype(np.int32)
        self._counts += counts.astype(self._counts.dtype)
        self.total += int(samples)

    def top_class(self) -> np.ndarray:
        """(H, W) most frequent class per pixel (the lowest id on ties): the guess ĉ."""
        if self.total == 0:
            raise ValueError("no selection samples counted yet")
        return np.argmax(self._counts, axis=-1)

    def top_nodes(self, hierarchy: Hierarchy) -> np.ndarray:
        """(D, H, W) per level of ``hierarchy`` the most frequent node per pixel (its
        classes' counts pooled; the lowest node id on ties), as a *local* node id of that
        level. Level 0 is :meth:`top_class`."""
        if self.total == 0:
            raise ValueError("no selection samples counted yet")
        if len(hierarchy.classes) != self.num_classes:
            raise ValueError(f"hierarchy over {len(hierarchy.classes)} classes for "
                             f"{self.num_classes} counted")
        out = [self.top_class()]
        # A node's pooled count is at most `total`: exact in float32 below 2²⁴, so the
        # pooling runs as a BLAS product instead of an int64 one (full-size frames).
        dtype = np.float32 if self.total < 2**24 else np.float64
        counts = self._counts.astype(dtype)
        for level in range(1, hierarchy.depth):
            mapping = hierarchy.class_to_node[level]
            pooled = counts @ np.eye(len(hierarchy.node_names[level]), dtype=dtype)[mapping]
            out.append(np.argmax(pooled, axis=-1))
        return np.stack(out)


class HitCounter:
    """Per-pixel count k_i of estimation samples whose class equals ``target`` (int32).

    With ``class_to_node`` (a level's class → node table) ``target`` holds that level's
    nodes and a sample hits when its class lies in the pixel's node."""

    def __init__(self, target, class_to_node: np.ndarray | None = None) -> None:
        self.class_to_node = None if class_to_node is None else np.asarray(class_to_node)
        target = np.asarray(target)
        if target.ndim != 2 or target.size == 0:
            raise ValueError(f"target must be a non-empty (H, W) map, got shape {target.shape}")
        if not np.issubdtype(target.dtype, np.integer):
            raise ValueError(f"target must hold integer class ids, got dtype {target.dtype}")
        self.target = target
        self.shape = target.shape
        self.total = 0
        self._hits = np.zeros(self.shape, dtype=np.int32)

    @property
    def hits(self) -> np.ndarray:
        """(H, W) hit counts, read-only view."""
        view = self._hits.view()
        view.flags.writeable = False
        return view

    def update(self, label_maps) -> None:
        """Add a (B, H, W) batch of predicted class ids."""
        maps = _check_label_maps(label_maps, self.shape)
        if self.total + maps.shape[0] > _INT32_MAX:
            raise OverflowError("more than 2**31 - 1 samples would overflow the int32 counts")
        if self.class_to_node is not None:
            maps = self.class_to_node[maps]
        self._hits += np.count_nonzero(maps == self.target, axis=0).astype(np.int32)
        self.total += maps.shape[0]

    def add_hits(self, hits, samples: int) -> None:
        """Add (H, W) hit counts of ``samples`` label maps counted elsewhere (on the
        model's device), each in [0, samples]."""
        hits = np.asarray(hits)
        if hits.shape != self.shape or not np.issubdtype(hits.dtype, np.integer):
            raise ValueError(f"hits must be integers of shape {self.shape}, got "
                             f"{hits.dtype} {hits.shape}")
        if hits.size and (hits.min() < 0 or hits.max() > samples):
            raise ValueError(f"hits must lie in [0, {samples}]")
        if self.total + samples > _INT32_MAX:
            raise OverflowError("more than 2**31 - 1 samples would overflow the int32 counts")
        self._hits += hits.astype(np.int32)
        self.total += int(samples)


@dataclass(frozen=True, eq=False)
class SegmentationCertificate:
    """Outcome of :func:`certify_segmentation`: a label map with ``ABSTAIN_PIXEL`` holes.

    With probability ≥ 1 − alpha over the sampling, every non-abstaining pixel of
    ``labels`` equals the smoothed segmenter's class at that pixel under every
    perturbation of the whole image tensor with ‖δ‖₂ ≤ ``radius`` = σ Φ⁻¹(τ), in
    model-input space (RGB in [0, 1]) — or, for a camera-effect ``transform``, under
    every parameter in ``certified_range`` (``radius`` then is σ Φ⁻¹(τ) in parameter
    units for brightness and contrast, None for gamma).
    """

    labels: np.ndarray  # (H, W) uint8, ABSTAIN_PIXEL where not certified
    radius: float | None  # the same for every certified pixel
    sigma: float
    tau: float
    n: int  # estimation samples
    alpha: float  # family-wise over all pixels of the frame
    correction: str  # "holm" or "bonferroni"
    pvalues: np.ndarray | None = None  # (H, W) float64, P(Bin(n, τ) ≥ k_i)
    n0: int | None = None  # selection samples, recorded when the caller passes it
    transform: str = "gaussian"
    tau_sweep: tuple[tuple[float, float], ...] | None = None  # (τ', certified fraction)
    # With a hierarchy (§9): each pixel's certified node as a global node id,
    # ABSTAIN_PIXEL at the root; ``labels`` then holds the pixels certified at level 0.
    nodes: np.ndarray | None = None
    hierarchy: Hierarchy | None = None

    @property
    def certified_range(self) -> Region:
        return certified_range(self.transform, self.sigma, self.tau)

    @property
    def abstain_mask(self) -> np.ndarray:
        """Pixels with no certified class (with a hierarchy: none at level 0)."""
        return self.labels == ABSTAIN_PIXEL

    @property
    def node_abstain_rate(self) -> float:
        """With a hierarchy, the share of pixels with no certified node below the root."""
        assert self.nodes is not None
        return float(np.mean(self.nodes == ABSTAIN_PIXEL))

    def level_rates(self) -> dict[str, float]:
        """Per level, the share of pixels whose certified node lies at that level or finer."""
        assert self.hierarchy is not None and self.nodes is not None
        levels = self.hierarchy.global_levels()
        certified = self.nodes != ABSTAIN_PIXEL
        level_map = np.where(certified, levels[np.where(certified, self.nodes, 0)],
                             self.hierarchy.depth)
        return {name: float(np.mean(level_map <= level))
                for level, name in enumerate(self.hierarchy.level_names)}

    @property
    def abstain_rate(self) -> float:
        return float(np.mean(self.abstain_mask))

    def to_record(self) -> dict:
        """The scalar fields as a JSON-able dict (§7); the maps stay out."""
        return {
            "method": "segcertify_tau_abstain",
            "radius": self.radius,
            "sigma": self.sigma,
            "tau": self.tau,
            "n0": self.n0,
            "n": self.n,
            "alpha": self.alpha,
            "correction": self.correction,
            "height": int(self.labels.shape[0]),
            "width": int(self.labels.shape[1]),
            "abstain_rate": self.abstain_rate,
            "transform": self.transform,
            "certified_range": self.certified_range.to_record(),
            **({"hierarchy": self.hierarchy.name, "level_rates": self.level_rates(),
                "node_abstain_rate": self.node_abstain_rate}
               if self.hierarchy is not None else {}),
            **({"tau_sweep": [
                {"tau": t, "certified_fraction": f,
                 "certified_range": certified_range(self.transform, self.sigma, t).to_record()}
                for t, f in self.tau_sweep]} if self.tau_sweep else {}),
        }


def pvalue_table(n: int, tau: float) -> np.ndarray:
    """P(Bin(n, τ) ≥ k) for k = 0, …, n: every p-value a count out of n can have."""
    return np.asarray(binom_pvalue_greater(np.arange(n + 1), n, tau), dtype=np.float64)


def _check_target_and_hits(target, hits, n: int) -> tuple[np.ndarray, np.ndarray]:
    target, hits = np.asarray(target), np.asarray(hits)
    if target.ndim != 2 or target.size == 0:
        raise ValueError(f"target must be a non-empty (H, W) map, got shape {target.shape}")
    if not np.issubdtype(target.dtype, np.integer):
        raise ValueError(f"target must hold integer class ids, got dtype {target.dtype}")
    if target.min() < 0 or target.max() >= ABSTAIN_PIXEL:
        raise ValueError(f"target must hold class ids in [0, {ABSTAIN_PIXEL})")
    if hits.shape != target.shape:
        raise ValueError(f"hits shape {hits.shape} must match target shape {target.shape}")
    if not np.issubdtype(hits.dtype, np.integer):
        raise ValueError(f"hits must hold integer counts, got dtype {hits.dtype}")
    if hits.min() < 0 or hits.max() > n:
        raise ValueError(f"hits must lie in [0, n] = [0, {n}]")
    return target, hits


def certify_segmentation(
    target,
    hits,
    n: int,
    sigma: float,
    tau: float,
    alpha: float,
    correction: str = "holm",
    return_pvalues: bool = False,
    *,
    n0: int | None = None,
    transform: str = "gaussian",
) -> SegmentationCertificate:
    """SegCertify's τ-test: certify each pixel's class ĉ_i or abstain.

    Guarantee: with probability ≥ 1 − alpha over the estimation sampling, every
    non-abstaining pixel of the returned map equals the smoothed segmenter's class for
    every ℓ2 perturbation ‖δ‖₂ ≤ σ Φ⁻¹(τ) of the whole image tensor in model-input space
    (RGB in [0, 1]). It requires ``target`` (ĉ, from :meth:`ClassCounter.top_class`) to be
    chosen from selection samples independent of the ``n`` estimation samples behind
    ``hits`` (k_i = #{f_i = ĉ_i}, from :class:`HitCounter`) — never the same noise twice.

    Each pixel's p-value for H0: P(f_i = ĉ_i) ≤ τ is P(Bin(n, τ) ≥ k_i); ``correction``
    ("holm" or "bonferroni") rejects over all H·W pixels at family-wise level ``alpha``.
    Rejected pixels keep ĉ_i, the others get ``ABSTAIN_PIXEL``. ``n0`` is only recorded.

    With a camera-effect ``transform`` (samples drawn with one brightness, contrast or
    gamma parameter per copy, σ its smoothing σ), the same test certifies each pixel for
    every parameter in ``certified_range(transform, σ, τ)``, since P ≥ τ for ĉ leaves
    ≤ 1 − τ to every other class.
    """
    sigma = check_sigma(sigma)
    tau = check_tau(tau)
    alpha = check_alpha(alpha)
    n = check_sample_count(n)
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {sorted(CORRECTIONS)}, got {correction!r}")
    target, hits = _check_target_and_hits(target, hits, n)
    # k is an integer in 0..n: one tail evaluation per possible count, then a lookup.
    pvalues = pvalue_table(n, tau)[hits]
    certified = CORRECTIONS[correction](pvalues, alpha)
    labels = np.where(certified, target, ABSTAIN_PIXEL).astype(np.uint8)
    if return_pvalues:
        pvalues.flags.writeable = False
    return _certificate(labels, sigma, tau, n, alpha, correction, n0, transform,
                        pvalues=pvalues if return_pvalues else None)


def _certificate(labels: np.ndarray, sigma: float, tau: float, n: int, alpha: float,
                 correction: str, n0: int | None, transform: str,
                 **fields) -> SegmentationCertificate:
    """The certificate of a checked τ-test's outcome (``labels``, made read-only)."""
    labels.flags.writeable = False
    return SegmentationCertificate(
        labels=labels,
        radius=(None if transform in ("gamma", "brightness_contrast")
                else segmentation_radius(sigma, tau)),
        sigma=sigma,
        tau=tau,
        n=n,
        alpha=alpha,
        correction=correction,
        n0=None if n0 is None else int(n0),
        transform=check_transform(transform),
        **fields,
    )


def certify_hierarchical(
    targets,
    hits,
    hierarchy: Hierarchy,
    n: int,
    sigma: float,
    tau: float,
    alpha: float,
    correction: str = "holm",
    *,
    n0: int | None = None,
    transform: str = "gaussian",
) -> SegmentationCertificate:
    """Hierarchical τ-test: certify each pixel's finest node of ``hierarchy`` or abstain
    (``docs/certificates.md`` §9).

    ``targets`` (D, H, W) holds per level the node chosen from the selection samples
    (:meth:`ClassCounter.top_nodes`, local ids), ``hits`` (D, H, W) the estimation samples
    whose class lies in it (a :class:`HitCounter` per level). Every (pixel, level) pair is
    one test of H0: P(f_i ∈ node) ≤ τ, all D·H·W at family-wise level ``alpha`` under
    ``correction``; a pixel's certified node is its finest rejected one.

    Guarantee: with probability ≥ 1 − alpha over the estimation sampling, every pixel's
    certified node is what the smoothed segmenter *of that node's level* (each pixel's
    majority node of the level) outputs under every ℓ2 perturbation ‖δ‖₂ ≤ σ Φ⁻¹(τ) of the
    resized input in [0, 1] units — for a camera-effect ``transform``, under every
    parameter in ``certified_range`` — since P(f_i ∈ node) > τ keeps it above 1/2 there.
    At level 0 this is the plain certificate; so pixels certified at level 0 keep their
    class. A flat hierarchy gives exactly :func:`certify_segmentation`'s certificate.
    """
    targets, hits = np.asarray(targets), np.asarray(hits)
    if targets.ndim != 3 or targets.shape[0] != hierarchy.depth or hits.shape != targets.shape:
        raise ValueError(f"targets and hits must both have shape ({hierarchy.depth}, H, W), "
                         f"got {targets.shape} and {hits.shape}")
    if hierarchy.is_flat:
        return certify_segmentation(targets[0], hits[0], n, sigma, tau, alpha, correction,
                                    n0=n0, transform=transform)
    if hierarchy.num_nodes > ABSTAIN_PIXEL:
        raise ValueError(f"hierarchy {hierarchy.name!r} has {hierarchy.num_nodes} nodes; node "
                         f"maps hold at most {ABSTAIN_PIXEL}")
    sigma, n = check_sigma(sigma), check_sample_count(n)
    tau, alpha = check_tau(tau), check_alpha(alpha)
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {sorted(CORRECTIONS)}, got {correction!r}")
    for level, (target, count) in enumerate(zip(targets, hits, strict=True)):
        _check_target_and_hits(target, count, n)
        if target.max() >= len(hierarchy.node_names[level]):
            raise ValueError(f"targets of level {level} must be node ids of that level")
    certified = CORRECTIONS[correction](pvalue_table(n, tau)[hits], alpha)  # (D, H, W)
    finest = np.argmax(certified, axis=0)  # first certified level (0 where none)
    chosen = np.take_along_axis(targets, finest[None], axis=0)[0] + hierarchy.offsets[finest]
    nodes = np.where(certified.any(axis=0), chosen, ABSTAIN_PIXEL).astype(np.uint8)
    nodes.flags.writeable = False
    labels = np.where(certified[0], targets[0], ABSTAIN_PIXEL).astype(np.uint8)
    return _certificate(labels, sigma, tau, n, alpha, correction, n0, transform, nodes=nodes,
                        hierarchy=hierarchy)


def certified_masks_by_tau(
    hits, n: int, taus, alpha: float, correction: str = "holm"
) -> tuple[tuple[float, np.ndarray], ...]:
    """(τ', mask) for each τ' in ``taus``: the pixels the τ-test certifies at τ', from one
    set of counts. Each mask holds at family-wise level ``alpha`` over the frame's pixels
    on its own (radius σΦ⁻¹(τ') in model-input space, or the camera effect's range at τ'),
    not all masks jointly (the same counts are tested once per τ')."""
    hits = np.asarray(hits)
    out = []
    for tau in taus:
        pvalues = pvalue_table(n, check_tau(tau))[hits]
        out.append((float(tau), CORRECTIONS[correction](pvalues, alpha)))
    return tuple(out)


def certified_fraction_by_tau(
    hits, n: int, taus, alpha: float, correction: str = "holm"
) -> tuple[tuple[float, float], ...]:
    """Fraction of pixels the τ-test certifies, for each τ' in ``taus``, from one set of
    counts — the curve of certified fraction against the certified radius or parameter
    range σΦ⁻¹(τ'). Each point holds at family-wise level ``alpha`` on its own, not all
    points jointly (the same counts are tested once per τ'; :func:`certified_masks_by_tau`)."""
    return tuple((tau, float(np.mean(mask)))
                 for tau, mask in certified_masks_by_tau(hits, n, taus, alpha, correction))
