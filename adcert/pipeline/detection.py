"""Median-smoothing certification of one frame with an mmdet model
(``docs/certificates.md`` §2, §3), and the detection task the run engine drives."""

from __future__ import annotations

import time

import numpy as np
import torch

from adcert.certify.detection import BoxSampleCollector, DetectionCertificate, certify_boxes
from adcert.certify.suppression import suppress_duplicates
from adcert.models.forward import clean_predictions, detections_array, perturbed_predictions
from adcert.noise import make_perturbation
from adcert.pipeline import provenance
from adcert.pipeline.frames import Frame
from adcert.pipeline.settings import DetSettings
from adcert.pipeline.task import FrameResult, Task


def certify_frame(
    model: torch.nn.Module,
    packed: dict,
    settings: DetSettings,
    generator,
    amp: bool = False,
    num_classes: int | None = None,
) -> tuple[DetectionCertificate, np.ndarray]:
    """Certified boxes of the smoothed detector and the base model's clean detections
    (all of them: the model's own test score threshold applies, not ``score_thr``).

    Boxes are in the original image's pixels; ε is an ℓ2 radius over the resized frame in
    [0, 1] units (for a camera-effect ``transform``, the parameter range of
    :func:`adcert.stats.attack_range`). Guarantee as :func:`certify_boxes` with
    ``settings.correction``: per box, per frame or per bound at level ``settings.alpha``.
    ``num_classes`` (the model's labels) fixes the per-frame family before sampling.
    """
    s = settings
    clean = detections_array(clean_predictions(model, packed, amp)[0])
    height, width = packed["data_samples"].ori_shape[:2]
    collector = BoxSampleCollector((height, width), s.bin, s.sort, s.max_per_bin, s.score_thr,
                                   num_classes=num_classes, grid=s.grid_shape)
    noise = make_perturbation(s.transform, s.sigma)
    for batch in perturbed_predictions(model, packed, noise, s.n, s.batch_size, generator, amp):
        collector.add_batch([detections_array(result) for result in batch])
    cert = certify_boxes(collector, s.n, s.eps, s.sigma, s.alpha, s.correction,
                         transform=s.transform)
    if s.nms_iou is not None:
        cert = suppress_duplicates(cert, s.nms_iou)
    return cert, clean


def frame_record(session, frame: Frame, packed: dict) -> dict:
    """The fields every record starts with: which frame, which model, which run."""
    loaded = session.loaded
    video = {"video": session.frames.video} if session.frames.video else {}
    return {"schema_version": provenance.SCHEMA_VERSION, "image_id": frame.image_id,
            "img_path": frame.img_path, **video, "index": frame.index,
            "input_shape": [int(v) for v in packed["inputs"].shape[-2:]],
            "seed": session.seed,
            "model": {"config": loaded.config_path, "checkpoint": loaded.checkpoint_path,
                      "checkpoint_sha256": loaded.checkpoint_sha256}}


def metric_sample(packed: dict, record: dict, clean: np.ndarray) -> dict:
    """What :func:`adcert.evaluation.detection.frame_matches` takes for one frame."""
    data = packed["data_samples"]
    gt = data.gt_instances
    sample = {"gt_boxes": _numpy(gt.bboxes), "gt_labels": _numpy(gt.labels), "clean": clean,
              "smoothed": record["boxes"], "may_appear": record.get("may_appear", []),
              "record": record}
    # mmdet's PackDetInputs moves crowd / ignored boxes out of gt_instances.
    ignored = data.get("ignored_instances")
    if ignored is not None and "bboxes" in ignored:
        sample["ignored_boxes"] = _numpy(ignored.bboxes)
        sample["ignored_labels"] = _numpy(ignored.labels)
    return sample


def _numpy(values) -> np.ndarray:
    """Boxes may come as a tensor or as mmdet's HorizontalBoxes."""
    return np.asarray(getattr(values, "tensor", values).cpu().numpy())


def certify_record(session, frame: Frame, packed: dict, generator) -> FrameResult:
    """The detection pipeline function: one frame in, its record out."""
    s = session.settings
    start = time.perf_counter()
    cert, clean = certify_frame(session.loaded.model, packed, s, generator,
                                session.options.amp, num_classes=len(session.classes))
    record = {**frame_record(session, frame, packed), **cert.to_record()}
    record["guarantee_text"] = provenance.detection_guarantee(s.correction, s.alpha, s.eps,
                                                              s.transform)
    record["provenance"] = session.record_provenance
    record["time_s"] = round(time.perf_counter() - start, 3)
    sample = None
    if session.frames.annotated:
        sample = metric_sample(packed, record, clean)
    return FrameResult(record, sample, clean[clean[:, 4] >= s.score_thr])


def _make_metric(classes: list[str]):
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
