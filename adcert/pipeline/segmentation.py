"""τ-abstain certification of one frame with an mmseg model (``docs/certificates.md`` §4),
and the segmentation task the run engine drives."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch

from adcert import ABSTAIN_PIXEL
from adcert.certify.hierarchy import Hierarchy, correct_at_level, information_gain
from adcert.certify.segmentation import (
    ClassCounter,
    HitCounter,
    SegmentationCertificate,
    certified_masks_by_tau,
    certify_hierarchical,
    certify_segmentation,
)
from adcert.models.forward import clean_predictions, label_map, label_maps, perturbed_predictions
from adcert.noise import make_perturbation
from adcert.pipeline import provenance
from adcert.pipeline.detection import check_model, frame_record
from adcert.pipeline.frames import Frame
from adcert.pipeline.settings import SegSettings
from adcert.pipeline.task import FrameResult, Task

# τ' values whose certified fraction (and, with ground truth, certified accuracy) every
# record reports: the curve behind the plots.
SWEEP_TAUS = (0.55, 0.65, 0.75, 0.85, 0.95, 0.99)
MASK_DIR = "masks"
IGNORE_INDEX = 255  # ground-truth pixels that score nothing (mmseg's ignore index)


class SegFrame(NamedTuple):
    """What :func:`certify_frame` returns: the certificate at the run's τ, the base model's
    clean map, the selected class ĉ per pixel, and (τ', certified mask) per
    :data:`SWEEP_TAUS` value."""

    certificate: SegmentationCertificate
    clean: np.ndarray
    target: np.ndarray
    sweep_masks: tuple[tuple[float, np.ndarray], ...]


def certify_frame(
    model: torch.nn.Module,
    packed: dict,
    num_classes: int,
    settings: SegSettings,
    generator,
    amp: bool = False,
    denoiser=None,
    hierarchy: Hierarchy | None = None,
) -> SegFrame:
    """Certified label map of the smoothed segmenter and the base model's clean map.

    n0 selection copies pick ĉ per pixel, n fresh copies count it; label maps are
    streamed into counters, never all held. Guarantee as :func:`certify_segmentation`:
    with probability ≥ 1 − alpha every certified pixel keeps its class for all
    ‖δ‖₂ ≤ σΦ⁻¹(τ) over the resized frame in [0, 1] units — or, for a camera-effect
    ``transform``, for every parameter in the certificate's ``certified_range``. Each
    mask of the τ' sweep holds at level alpha on its own, not jointly with the others.
    A ``denoiser`` runs in front of ``model``: the base model is then the denoiser
    followed by the segmenter (``docs/certificates.md`` §8). With a ``hierarchy`` every
    level below the root is tested per pixel in one family and each pixel keeps its finest
    certified node (:func:`certify_hierarchical`, §9); the τ' sweep reports level 0.
    """
    s = settings
    noise = make_perturbation(s.transform, s.sigma)
    clean = label_map(clean_predictions(model, packed, amp, denoiser)[0])
    on_device = next(model.parameters()).device.type != "cpu"
    selection = ClassCounter(num_classes, clean.shape)
    _count_selection(perturbed_predictions(model, packed, noise, s.n0, s.batch_size, generator,
                                           amp, denoiser), selection, on_device)
    levels = None if hierarchy is None or hierarchy.is_flat else hierarchy
    # One hypothesis per level: its top node, the node's classes pooled (§9); level 0 is
    # the class itself, counted without a class → node lookup.
    targets = selection.top_nodes(levels) if levels else selection.top_class()[None]
    mappings = (None, *levels.class_to_node[1:]) if levels else (None,)
    counters = [HitCounter(t, m) for t, m in zip(targets, mappings, strict=True)]
    _count_hits(perturbed_predictions(model, packed, noise, s.n, s.batch_size, generator, amp,
                                      denoiser), counters, on_device)
    hits = np.stack([c.hits for c in counters])
    if levels is None:
        cert = certify_segmentation(targets[0], hits[0], s.n, s.sigma, s.tau, s.alpha,
                                    s.correction, n0=s.n0, transform=s.transform)
    else:
        cert = certify_hierarchical(targets, hits, levels, s.n, s.sigma, s.tau, s.alpha,
                                    s.correction, n0=s.n0, transform=s.transform)
    # The sweep's masks come from the run's family of tests (every level); level 0 is
    # reported.
    masks = tuple((tau, mask[0]) for tau, mask in
                  certified_masks_by_tau(hits, s.n, SWEEP_TAUS, s.alpha, s.correction))
    sweep = tuple((tau, float(np.mean(mask))) for tau, mask in masks)
    return SegFrame(dataclasses.replace(cert, tau_sweep=sweep), clean, targets[0], masks)


def _count_selection(batches, counter: ClassCounter, on_device: bool) -> None:
    """Stream the selection copies' label maps into ``counter``. ``on_device``: the counts
    are tallied where the maps are (an accelerator) and cross to the host once per frame,
    not once per copy."""
    if not on_device:
        for batch in batches:
            counter.update(label_maps(batch).numpy())
        return
    pixels, classes = counter.shape[0] * counter.shape[1], counter.num_classes
    tally = offsets = None
    seen = 0
    for batch in batches:
        maps = label_maps(batch).reshape(len(batch), pixels)
        if tally is None:
            offsets = torch.arange(pixels, device=maps.device) * classes  # (pixel, class)
            tally = torch.zeros(pixels * classes, dtype=torch.int64, device=maps.device)
        tally += torch.bincount((maps + offsets).reshape(-1), minlength=tally.numel())
        seen += len(batch)
    if tally is None:
        return
    # add_counts checks each pixel's counts sum to `seen`: a label outside [0, C) cannot
    # pass unnoticed into a neighbour's slot.
    counter.add_counts(tally.reshape(*counter.shape, classes).cpu().numpy(), seen)


def _count_hits(batches, counters: list[HitCounter], on_device: bool) -> None:
    """Stream the estimation copies' label maps into every level's ``counters``
    (``on_device``: tallied where the maps are and moved to the host once per frame)."""
    if not on_device:
        for batch in batches:
            maps = label_maps(batch).numpy()
            for counter in counters:
                counter.update(maps)
        return
    tallies: list[torch.Tensor] = []
    seen = 0
    for batch in batches:
        maps = label_maps(batch)
        if not tallies:
            device = maps.device
            targets = [torch.from_numpy(c.target).to(device) for c in counters]
            nodes = [None if c.class_to_node is None else
                     torch.from_numpy(c.class_to_node).to(device) for c in counters]
            tallies = [torch.zeros(c.shape, dtype=torch.int32, device=device) for c in counters]
        for target, table, tally in zip(targets, nodes, tallies, strict=True):
            tally += ((maps if table is None else table[maps]) == target).sum(0, dtype=torch.int32)
        seen += len(batch)
    for counter, tally in zip(counters, tallies, strict=True):
        counter.add_hits(tally.cpu().numpy(), seen)


def mask_name(image_id: str, kind: str) -> str:
    """``masks/<image id>.<kind>.png``, relative to the run folder: named after the frame's
    whole relative path, so a.png and a.jpg, or cityA/x.png and cityB/x.png, never share
    a file."""
    return f"{MASK_DIR}/{image_id}.{kind}.png"


def write_mask(run_dir: str, relative: str, labels: np.ndarray) -> None:
    """Write a uint8 label map as PNG through a temporary name (complete or absent)."""
    import cv2

    path = os.path.join(run_dir, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = os.path.join(os.path.dirname(path), f".partial.{os.path.basename(path)}")
    if not cv2.imwrite(partial, labels.astype(np.uint8)):
        raise OSError(f"could not write {path}")
    os.replace(partial, path)


def _accuracy(pred: np.ndarray, gt: np.ndarray) -> float | None:
    valid = gt != IGNORE_INDEX
    return float(np.mean((pred == gt)[valid])) if valid.any() else None


def certified_acc_by_tau(target: np.ndarray, masks: Sequence[tuple[float, np.ndarray]],
                         gt: np.ndarray) -> list[float | None]:
    """Per (τ', mask) of ``masks``: the fraction of valid ground-truth pixels (gt ≠ 255)
    certified at τ' with the selected class ``target`` equal to gt — certified accuracy at
    radius σΦ⁻¹(τ'), each τ' at level α on its own. None when no pixel is valid."""
    valid = gt != IGNORE_INDEX
    if not valid.any():
        return [None] * len(masks)
    right = valid & (target == gt)
    return [float(np.count_nonzero(mask & right) / np.count_nonzero(valid))
            for _, mask in masks]


def certified_wrong_rate(labels: np.ndarray, gt: np.ndarray) -> float | None:
    """Fraction of valid ground-truth pixels certified (``labels`` ≠ 255) with a class
    other than gt: where the certificate vouches for a wrong class. None when no pixel is
    valid."""
    valid = gt != IGNORE_INDEX
    if not valid.any():
        return None
    wrong = valid & (labels != ABSTAIN_PIXEL) & (labels != gt)
    return float(np.count_nonzero(wrong) / np.count_nonzero(valid))


def _ground_truth_fields(session, frame: Frame, record: dict, found: SegFrame,
                         gt: np.ndarray) -> None:
    """Add what the frame's ground truth shows to ``record``, and write it as a mask."""
    cert = found.certificate
    record["valid_pixels"] = int(np.count_nonzero(gt != IGNORE_INDEX))
    record["certified_acc"] = _accuracy(cert.labels, gt)
    record["clean_acc"] = _accuracy(found.clean, gt)
    record["certified_wrong_rate"] = certified_wrong_rate(cert.labels, gt)
    accuracies = certified_acc_by_tau(found.target, found.sweep_masks, gt)
    for entry, accuracy in zip(record.get("tau_sweep", []), accuracies, strict=True):
        entry["certified_acc"] = accuracy
    if cert.nodes is not None:
        _hierarchy_fields(record, cert, gt)
    record["gt_mask_path"] = mask_name(frame.image_id, "gt")
    write_mask(session.run_dir, record["gt_mask_path"], gt)


def _hierarchy_fields(record: dict, cert: SegmentationCertificate, gt: np.ndarray) -> None:
    """Per level the share of valid pixels whose certified node at or below it contains
    the ground truth (a lower bound under attack, as ``certified_acc``), and the certified
    information gain (§9)."""
    hierarchy, valid = cert.hierarchy, np.count_nonzero(gt != IGNORE_INDEX)
    if not valid:
        return
    record["certified_acc_by_level"] = {
        name: float(np.count_nonzero(correct_at_level(cert.nodes, gt, hierarchy, level,
                                                      ABSTAIN_PIXEL, IGNORE_INDEX)) / valid)
        for level, name in enumerate(hierarchy.level_names)}
    record["certified_information_gain"] = information_gain(
        cert.nodes, gt, hierarchy, ABSTAIN_PIXEL, IGNORE_INDEX) / valid


def certify_record(session, frame: Frame, packed: dict, generator) -> FrameResult:
    """The segmentation pipeline function: one frame in, its record (and mask) out."""
    s = session.settings
    start = time.perf_counter()
    found = certify_frame(session.loaded.model, packed, len(session.classes), s, generator,
                          session.options.amp, session.loaded.denoiser, session.hierarchy)
    cert, clean = found.certificate, found.clean
    record = {**frame_record(session, frame, packed), **cert.to_record(),
              "guarantee": "per_frame",
              "guarantee_text": provenance.segmentation_guarantee(
                  s.correction, s.alpha, s.transform, session.loaded.denoiser is not None,
                  cert.hierarchy.name if cert.hierarchy is not None else None)}
    record["mask_path"] = mask_name(frame.image_id, "certified")
    write_mask(session.run_dir, record["mask_path"], cert.labels)
    if cert.nodes is not None:  # global node ids (docs/certificates.md §9), 255 = root
        record["nodes_mask_path"] = mask_name(frame.image_id, "nodes")
        write_mask(session.run_dir, record["nodes_mask_path"], cert.nodes)
    shown = None
    if session.options.show_dir:  # the clean map, for the drawings' panels
        shown = mask_name(frame.image_id, "clean")
        write_mask(session.run_dir, shown, clean)
    sample = None
    sample_data = packed["data_samples"]
    if session.frames.annotated and "gt_sem_seg" in sample_data:
        gt = sample_data.gt_sem_seg.data[0].numpy()
        _ground_truth_fields(session, frame, record, found, gt)
        sample = {"gt": gt, "certified": cert.labels, "clean": clean,
                  "smoothed": found.target,
                  **({"nodes": cert.nodes} if cert.nodes is not None else {})}
    record["provenance"] = session.record_provenance
    record["time_s"] = round(time.perf_counter() - start, 3)
    return FrameResult(record, sample, shown)


def tau_sweep_summary(records: list[dict]) -> list[dict]:
    """Per τ' every record's ``tau_sweep`` has: its certified range, the certified
    fraction weighted by the frames' pixels, and the certified accuracy weighted by their
    valid ground-truth pixels (None without any). Sorted by τ'; each τ' at level α per
    frame on its own, not jointly over τ'."""
    by_tau: dict[float, list[tuple[dict, dict]]] = {}
    for record in records:
        for entry in record.get("tau_sweep", []):
            by_tau.setdefault(entry["tau"], []).append((record, entry))
    out = []
    for tau in sorted(t for t, found in by_tau.items() if len(found) == len(records)):
        found = by_tau[tau]
        pixels = sum(r["height"] * r["width"] for r, _ in found)
        fraction = sum(e["certified_fraction"] * r["height"] * r["width"]
                       for r, e in found) / pixels
        scored = [(e["certified_acc"], r["valid_pixels"]) for r, e in found
                  if e.get("certified_acc") is not None and r.get("valid_pixels")]
        valid = sum(v for _, v in scored)
        out.append({"tau": tau, "certified_range": found[0][1]["certified_range"],
                    "certified_fraction": fraction,
                    "certified_acc": sum(a * v for a, v in scored) / valid if valid else None})
    return out


def _summarize(records: list[dict]) -> dict:
    sweep = tau_sweep_summary(records)
    return {"tau_sweep": sweep} if sweep else {}


def _make_metric(classes: list[str], hierarchy: Hierarchy | None = None):
    from adcert.evaluation.segmentation import CertifiedSegMetric

    metric = CertifiedSegMetric(num_classes=len(classes), classes=list(classes),
                                hierarchy=hierarchy)
    metric.dataset_meta = {"classes": list(classes)}
    return metric


def preflight(s: SegSettings, packed: dict, num_classes: int | None = None) -> str | None:
    """A warning when no pixel can be certified: the smallest p-value, τⁿ (all n copies
    agree), must reach α/N over the frame's N pixels (Holm and Bonferroni alike)."""
    import math

    height, width = packed["data_samples"].ori_shape[:2]
    threshold = s.alpha / (height * width)
    if s.n * math.log(s.tau) <= math.log(threshold):
        return None
    needed = math.ceil(math.log(threshold) / math.log(s.tau))
    return (f"n = {s.n} cannot certify any pixel at τ = {s.tau:g}, α = {s.alpha:g} over "
            f"{height}×{width} pixels (τⁿ > α/N); it takes n ≥ {needed}")


def _title(s: SegSettings) -> str:
    return (f"smoothed segmenter, {s.transform} σ={s.sigma}, τ={s.tau}, n={s.n}, "
            f"α={s.alpha}, {s.correction}")


TASK = Task(
    name="segmentation", framework="mmseg", settings_type=SegSettings,
    certify=certify_record, make_metric=_make_metric, check_model=check_model, title=_title,
    preflight=preflight, summarize=_summarize,
    headline=("clean_acc", "certified_acc", "certified_miou", "on_certified_acc",
              "abstain_rate", "seconds_per_frame"))
