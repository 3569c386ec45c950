"""Median-smoothing certification of one frame with an mmdet model
(``docs/certificates.md`` §2, §3), and the detection task the run engine drives."""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np
import torch

from adcert.certify.detection import BoxSampleCollector, DetectionCertificate, certify_boxes
from adcert.certify.hierarchy import Hierarchy, box_label_node
from adcert.certify.suppression import suppress_duplicates
from adcert.models.forward import (
    clean_predictions,
    detections_array,
    detections_arrays,
    perturbed_predictions,
)
from adcert.noise import make_perturbation
from adcert.pipeline import provenance
from adcert.pipeline.frames import Frame
from adcert.pipeline.settings import DetSettings
from adcert.pipeline.task import FrameResult, Task

# ε multiples of σ every record also certifies from the frame's samples: the curve of
# certified figures against the attack size, beside the run's own ε.
SWEEP_EPS_FACTORS = (0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.44)
# What each ε of a record's ``eps_sweep`` keeps of its certificate's record.
SWEEP_RECORD_KEYS = ("eps", "alpha_per_bound", "certified_range", "observed_slots", "boxes",
                     "may_appear")


def sweep_eps(settings: DetSettings) -> tuple[float, ...]:
    """The ε values a frame is certified at: round(σ·f, 6) for f in
    :data:`SWEEP_EPS_FACTORS` and the run's own ε, sorted, each once (0 left out)."""
    values = {round(settings.sigma * f, 6) for f in SWEEP_EPS_FACTORS} | {settings.eps}
    return tuple(sorted(v for v in values if v > 0))


class DetFrame(NamedTuple):
    """What :func:`certify_frame` returns: the certificate at the run's ε, the base
    model's clean detections, and one certificate per :func:`sweep_eps` value."""

    certificate: DetectionCertificate
    clean: np.ndarray
    eps_sweep: tuple[DetectionCertificate, ...]


def certify_frame(
    model: torch.nn.Module,
    packed: dict,
    settings: DetSettings,
    generator,
    amp: bool = False,
    num_classes: int | None = None,
    denoiser=None,
    hierarchy: Hierarchy | None = None,
) -> DetFrame:
    """Certified boxes of the smoothed detector and the base model's clean detections
    (all of them: the model's own test score threshold applies, not ``score_thr``).

    Boxes are in the original image's pixels; ε is an ℓ2 radius over the resized frame in
    [0, 1] units (for a camera-effect ``transform``, the parameter range of
    :func:`adcert.stats.attack_range`). Guarantee as :func:`certify_boxes` with
    ``settings.correction``: per box, per frame or per bound at level ``settings.alpha``.
    ``num_classes`` (the model's labels) fixes the per-frame family before sampling. A
    ``denoiser`` runs in front of ``model``: the base model is then the denoiser followed
    by the detector (``docs/certificates.md`` §8).

    The same n samples are certified again at every ε of :func:`sweep_eps`. Each of those
    certificates holds at level α on its own (per box, frame or bound as the correction
    says); they do not hold jointly over ε.

    With a ``hierarchy`` (§9) label bins hold a level-1 node's classes, so a box whose
    class flickers inside the node stays in one bin; its label is certified only where its
    label bounds meet, and :func:`label_nodes` names the finest node they allow.
    """
    s = settings
    clean = detections_array(clean_predictions(model, packed, amp, denoiser)[0])
    height, width = packed["data_samples"].ori_shape[:2]
    groups = (hierarchy.class_to_node[1] if hierarchy is not None and not hierarchy.is_flat
              and "label" in s.bin else None)
    collector = BoxSampleCollector((height, width), s.bin, s.sort, s.max_per_bin, s.score_thr,
                                   num_classes=num_classes, grid=s.grid_shape,
                                   label_groups=groups)
    noise = make_perturbation(s.transform, s.sigma)
    for batch in perturbed_predictions(model, packed, noise, s.n, s.batch_size, generator, amp,
                                       denoiser):
        collector.add_batch(detections_arrays(batch))
    sweep = tuple(_certify(collector, s, eps) for eps in sweep_eps(s))
    cert = next(c for c in sweep if c.eps == s.eps)
    return DetFrame(cert, clean, sweep)


def _certify(collector: BoxSampleCollector, s: DetSettings, eps: float) -> DetectionCertificate:
    """The collector's samples certified at ``eps`` (then certified NMS, if the run has it)."""
    cert = certify_boxes(collector, s.n, eps, s.sigma, s.alpha, s.correction,
                         transform=s.transform)
    return suppress_duplicates(cert, s.nms_iou) if s.nms_iou is not None else cert


def label_nodes(boxes: list[dict], hierarchy: Hierarchy, groups: list | None) -> None:
    """Add ``label_node`` and ``label_node_level`` to each box record: the finest node of
    ``hierarchy`` holding every class its label bounds allow (among its bin's node's
    classes, ``groups`` giving each box's bin node), from the same bounds and so under
    the same guarantee as the box's other bounds."""
    for i, box in enumerate(boxes):
        found = box_label_node(hierarchy, box["label_range"], groups[i] if groups else None)
        box["label_node"], box["label_node_level"] = found if found else (None, None)


def sweep_record(cert: DetectionCertificate) -> dict:
    """One ``eps_sweep`` entry of a record: the :data:`SWEEP_RECORD_KEYS` of the record of
    ``cert``."""
    record = cert.to_record()
    return {key: record[key] for key in SWEEP_RECORD_KEYS}


def frame_record(session, frame: Frame, packed: dict) -> dict:
    """The fields every record starts with: which frame, which model, which run."""
    loaded = session.loaded
    video = {"video": session.frames.video} if session.frames.video else {}
    return {"schema_version": provenance.SCHEMA_VERSION, "image_id": frame.image_id,
            "img_path": frame.img_path, **video, "index": frame.index,
            "input_shape": [int(v) for v in packed["inputs"].shape[-2:]],
            "seed": session.seed, "model": loaded.describe()}


def metric_sample(packed: dict, record: dict, clean: np.ndarray) -> dict:
    """What :func:`adcert.evaluation.detection.frame_matches` takes for one frame."""
    data = packed["data_samples"]
    gt = data.gt_instances
    sample = {"gt_boxes": _numpy(gt.bboxes), "gt_labels": _numpy(gt.labels), "clean": clean,
              "smoothed": record["boxes"], "may_appear": record.get("may_appear", []),
              "eps_sweep": record.get("eps_sweep", []), "record": record}
    # mmdet's PackDetInputs moves crowd / ignored boxes out of gt_instances.
    ignored = data.get("ignored_instances")
    if ignored is not None and "bboxes" in ignored:
        sample["ignored_boxes"] = _numpy(ignored.bboxes)
        sample["ignored_labels"] = _numpy(ignored.labels)
    return sample


def ground_truth_record(sample: dict) -> dict:
    """The frame's annotations as the metric scores them (:func:`metric_sample`), in the
    original image's pixels: boxes [x1, y1, x2, y2], their labels, and ignored (crowd)
    regions."""
    def boxes(values) -> list[list[float]]:
        return [[float(v) for v in box] for box in np.asarray(values, float).reshape(-1, 4)]

    return {"boxes": boxes(sample["gt_boxes"]),
            "labels": [int(v) for v in np.asarray(sample["gt_labels"]).reshape(-1)],
            "ignored_boxes": boxes(sample.get("ignored_boxes", []))}


def _numpy(values) -> np.ndarray:
    """Boxes may come as a tensor or as mmdet's HorizontalBoxes."""
    return np.asarray(getattr(values, "tensor", values).cpu().numpy())


def certify_record(session, frame: Frame, packed: dict, generator) -> FrameResult:
    """The detection pipeline function: one frame in, its record out."""
    s = session.settings
    start = time.perf_counter()
    hierarchy = session.hierarchy
    cert, clean, sweep = certify_frame(session.loaded.model, packed, s, generator,
                                       session.options.amp, num_classes=len(session.classes),
                                       denoiser=session.loaded.denoiser, hierarchy=hierarchy)
    record = {**frame_record(session, frame, packed), **cert.to_record(),
              "eps_sweep": [sweep_record(c) for c in sweep]}
    if hierarchy is not None and not hierarchy.is_flat:
        record["hierarchy"] = hierarchy.name
        for entry, certificate in [(record, cert), *zip(record["eps_sweep"], sweep, strict=True)]:
            label_nodes(entry["boxes"], hierarchy, [b.bin_key[1] for b in certificate.boxes]
                        if "label" in s.bin else None)
    record["guarantee_text"] = provenance.detection_guarantee(
        s.correction, s.alpha, s.eps, s.transform, session.loaded.denoiser is not None)
    sample = None
    if session.frames.annotated:
        sample = metric_sample(packed, record, clean)
        record["ground_truth"] = ground_truth_record(sample)
    record["provenance"] = session.record_provenance
    record["time_s"] = round(time.perf_counter() - start, 3)
    return FrameResult(record, sample, clean[clean[:, 4] >= s.score_thr])


def _make_metric(classes: list[str], hierarchy=None):
    from adcert.evaluation.detection import CertifiedDetMetric

    metric = CertifiedDetMetric(classes)
    metric.dataset_meta = {"classes": list(classes)}
    return metric


def model_num_classes(model_cfg) -> int | None:
    """The largest ``num_classes`` a model config names (its heads), None if none."""
    found: list[int] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("num_classes"), int):
                found.append(node["num_classes"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list | tuple):
            for value in node:
                walk(value)

    walk(model_cfg)
    return max(found) if found else None


def check_model(loaded, classes: list[str]) -> None:
    """A model that predicts more classes than the data set names would give records with
    labels that name nothing: an error."""
    count = model_num_classes(loaded.cfg.model)
    if count is not None and count > len(classes):
        raise ValueError(f"the model predicts {count} classes but the data set names only "
                         f"{len(classes)}; give the config the model's class list")


def smallest_useful_n(s: DetSettings, num_classes: int | None = None,
                      limit: int = 1 << 24) -> int | None:
    """The smallest n for which a box can get finite lower and upper bounds at the run's
    ε, σ, α and correction (the per-frame family needs ``num_classes`` when bins are per
    label; without it, per box), None past ``limit``."""
    from adcert.certify.detection import _alpha_per_bound, possible_bins
    from adcert.stats import order_statistic_indices, percentile_levels

    bins = possible_bins(s.bin, num_classes, s.grid_shape)
    family = None if bins is None else bins * s.max_per_bin
    correction = "box" if s.correction == "image" and family is None else s.correction
    alpha = _alpha_per_bound(s.alpha, correction, family)
    p_l, p_u = percentile_levels(s.transform, s.sigma, s.eps)

    def finite(n: int) -> bool:
        k_l, k_u = order_statistic_indices(n, p_l, p_u, alpha)
        return k_l >= 1 and k_u <= n

    high = 1
    while not finite(high):
        high *= 2
        if high > limit:
            return None
    low = high // 2
    while low + 1 < high:
        mid = (low + high) // 2
        low, high = (low, mid) if finite(mid) else (mid, high)
    return high


def preflight(s: DetSettings, packed: dict, num_classes: int | None = None) -> str | None:
    """A warning when no box can get finite bounds at these settings."""
    needed = smallest_useful_n(s, num_classes)
    if needed is not None and s.n >= needed:
        return None
    what = f"n ≥ {needed}" if needed else "a larger ε/σ ratio"
    return (f"n = {s.n} is too small for finite box bounds at ε = {s.eps:g}, σ = {s.sigma:g}, "
            f"α = {s.alpha:g}: every bound will be infinite; it takes {what}")


def _title(s: DetSettings) -> str:
    return (f"median-smoothed detector, {s.transform} σ={s.sigma}, ε={s.eps}, n={s.n}, "
            f"α={s.alpha}, correction {s.correction}")


TASK = Task(
    name="detection", framework="mmdet", settings_type=DetSettings, certify=certify_record,
    make_metric=_make_metric, check_model=check_model, title=_title, preflight=preflight,
    headline=("clean_ap50", "smoothed_ap50", "certified_ap50", "chiang_certified_ap50",
              "certified_recall", "certified_failure_bound", "may_vanish_rate",
              "may_appear_per_frame", "label_changeable_rate", "unlocalised_rate",
              "seconds_per_frame"))
