"""Hand-made run folders (manifest, records, summary, frame images, masks) whose report
figures and verdicts are known in advance."""

from __future__ import annotations

import json
import os

import cv2
import numpy as np

from adcert.pipeline.rundir import dumps

DET_CLASSES = ["car", "person"]
SEG_CLASSES = ["road", "car"]
# A hierarchy over SEG_CLASSES (docs/certificates.md §9); global node ids: road 0, car 1,
# flat 2, vehicle 3, world 4.
SEG_HIERARCHY = {"name": "toy", "levels": [
    {"name": "category", "nodes": {"flat": ["road"], "vehicle": ["car"]}},
    {"name": "group", "nodes": {"world": ["flat", "vehicle"]}}]}


def _frame(folder: str, name: str, height: int = 64, width: int = 96) -> str:
    path = os.path.join(folder, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    image = np.full((height, width, 3), 90, np.uint8)
    image[height // 2:] = 140
    cv2.imwrite(path, image)
    return path


def _write(run_dir: str, manifest: dict, records: list[dict], summary: dict | None,
           journal: bool = False) -> str:
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, "run.json"), "w") as f:
        f.write(dumps(manifest))
    if journal:  # an unfinished run: only the per-rank journal
        from adcert.pipeline.journal import Journal

        log = Journal(run_dir, 0)
        for i, record in enumerate(records):
            log.append(i, record, None)
        log.close()
        return run_dir
    with open(os.path.join(run_dir, "results.jsonl"), "w") as f:
        f.writelines(dumps(r) + "\n" for r in records)
    if summary is not None:
        with open(os.path.join(run_dir, "summary.json"), "w") as f:
            f.write(dumps(summary))
    return run_dir


def _manifest(task: str, settings: dict, frames: list[str]) -> dict:
    return {"schema_version": 1, "task": task, "settings": settings, "seed": 7,
            "config": "/models/cfg.py", "config_sha256": "a" * 64,
            "checkpoint": "/models/model.pth", "checkpoint_sha256": "b" * 64,
            "frames": frames, "world_size": 1, "versions": {"adcert": "0.1.0"},
            "device": "cpu (test)", "source": "test set", "amp": False,
            "norm_space": "resized model input in [0, 1]"}


def det_box(x1, y1, x2, y2, label=0, certain=True, score=0.9) -> dict:
    return {"bbox": [x1, y1, x2, y2], "lower": [x1 - 1, y1 - 1, x2 - 1, y2 - 1],
            "upper": [x1 + 1, y1 + 1, x2 + 1, y2 + 1], "label": label,
            "label_certified": certain, "label_range": [label, label],
            "may_vanish": not certain, "score": score, "score_lower": score - 0.1,
            "score_upper": score + 0.1, "localisation_iou": 0.9}


def detection_run(run_dir: str, *, certified_ap50=0.4, car_ap50=0.5, eps=0.1, alpha=1e-3,
                  transform="gaussian", sweep=None, boxes=None, classes=None,
                  truth=None, summary=True, journal=False, failure_bound=0.05) -> str:
    """A detection run over one 96×64 frame with the given headline figures."""
    classes = classes or DET_CLASSES
    settings = {"transform": transform, "sigma": 0.25, "eps": eps, "n": 100, "alpha": alpha,
                "correction": "box", "bin": "location+label", "sort": "score", "seed": 7}
    frame = _frame(run_dir, "frames/f0.png")
    if boxes is None:
        boxes = [det_box(10, 10, 40, 40, 0), det_box(50, 20, 70, 50, 1, certain=False)]
    record = {"schema_version": 1, "image_id": "f0.png", "img_path": frame, "index": 0,
              "input_shape": [64, 96], "eps": eps, "sigma": 0.25, "n": 100, "alpha": alpha,
              "transform": transform, "method": "median_smoothing_sort_and_bin",
              "certified_range": {"transform": transform, "low": 0.0, "high": eps,
                                  "text": f"norm < {eps}"},
              "guarantee_text": "per box", "boxes": boxes, "may_appear": [],
              "ground_truth": truth if truth is not None else {
                  "boxes": [[10, 10, 40, 40], [50, 20, 70, 50]], "labels": [0, 1],
                  "ignored_boxes": []}}
    sweep = sweep if sweep is not None else [
        {"eps": eps, "certified_ap50": certified_ap50,
         "certified_ap50_per_class": {classes[0]: car_ap50},
         "certified_recall": 0.5, "certified_failure_bound": failure_bound,
         "may_vanish_rate": 0.5, "chiang_certified_ap50": certified_ap50}]
    body = {"schema_version": 1, "task": "detection", "settings": settings, "frames": 1,
            "classes": classes, "guarantee_text": "per box guarantee",
            "clean_ap50": 0.7, "smoothed_ap50": 0.6, "certified_ap50": certified_ap50,
            "chiang_certified_ap50": certified_ap50,
            "clean_ap50_per_class": dict.fromkeys(classes, 0.7),
            "certified_ap50_per_class": {classes[0]: car_ap50, **{
                c: 0.0 for c in classes[1:]}},
            "certified_recall": 0.5, "certified_failure_bound": failure_bound,
            "may_vanish_rate": 0.5, "eps_sweep": sweep, "seconds_per_frame": 1.0}
    return _write(run_dir, _manifest("detection", settings, ["f0.png"]), [record],
                  body if summary else None, journal)


def segmentation_run(run_dir: str, *, certified_acc=0.85, abstain_rate=0.1, tau=0.75,
                     radius=0.168, alpha=1e-3, transform="gaussian", low=0.0,
                     labels=None, truth=None, tau_sweep=None, summary=True,
                     hierarchy=None, nodes=None, by_level=None) -> str:
    """A segmentation run over one 96×64 frame with its certified map and ground truth;
    with ``hierarchy`` (a spec such as :data:`SEG_HIERARCHY`) a hierarchical run whose node
    map is ``nodes`` (default: ``labels``) and whose per-level figures are ``by_level``
    (``{level: (certified_acc, certified_miou)}``)."""
    settings = {"transform": transform, "sigma": 0.25, "tau": tau, "n0": 10, "n": 100,
                "alpha": alpha, "correction": "holm", "seed": 7}
    frame = _frame(run_dir, "frames/f0.png")
    labels = labels if labels is not None else np.zeros((64, 96), np.uint8)
    truth = truth if truth is not None else np.zeros((64, 96), np.uint8)
    os.makedirs(os.path.join(run_dir, "masks"), exist_ok=True)
    cv2.imwrite(os.path.join(run_dir, "masks/f0.png.certified.png"), labels)
    cv2.imwrite(os.path.join(run_dir, "masks/f0.png.gt.png"), truth)
    valid = truth != 255
    wrong = float(np.mean(((labels != 255) & (labels != truth))[valid]))
    rng = {"transform": transform, "low": low, "high": radius, "text": f"< {radius}"}
    record = {"schema_version": 1, "image_id": "f0.png", "img_path": frame, "index": 0,
              "input_shape": [64, 96], "method": "segcertify_tau_abstain", "tau": tau,
              "transform": transform, "certified_range": rng, "alpha": alpha,
              "abstain_rate": float(np.mean(labels == 255)),
              "mask_path": "masks/f0.png.certified.png", "gt_mask_path": "masks/f0.png.gt.png",
              "certified_wrong_rate": wrong, "guarantee_text": "per frame"}
    body = {"schema_version": 1, "task": "segmentation", "settings": settings, "frames": 1,
            "classes": SEG_CLASSES, "guarantee_text": "per frame guarantee",
            "certified_acc": certified_acc, "abstain_rate": abstain_rate,
            "certified_miou": certified_acc - 0.1, "clean_acc": 0.95, "clean_miou": 0.8,
            "smoothed_acc": 0.93, "smoothed_miou": 0.78,
            "certified_iou_per_class": {"road": 0.9, "car": 0.5},
            "tau_sweep": tau_sweep if tau_sweep is not None else [
                {"tau": tau, "certified_range": rng, "certified_fraction": 1 - abstain_rate,
                 "certified_acc": certified_acc}]}
    if hierarchy is not None:
        _add_hierarchy(run_dir, record, body, hierarchy, labels if nodes is None else nodes,
                       by_level)
    return _write(run_dir, _manifest("segmentation", settings, ["f0.png"]), [record],
                  body if summary else None)


def _add_hierarchy(run_dir: str, record: dict, body: dict, hierarchy: dict,
                   nodes: np.ndarray, by_level: dict | None) -> None:
    cv2.imwrite(os.path.join(run_dir, "masks/f0.png.nodes.png"), nodes)
    levels = ["class"] + [level["name"] for level in hierarchy["levels"]]
    defaults = [(0.85, 0.7), (0.92, 0.8), (0.97, 0.9), (0.99, 0.95)]
    by_level = by_level or dict(zip(levels, defaults, strict=False))
    record.update(hierarchy=hierarchy["name"], nodes_mask_path="masks/f0.png.nodes.png",
                  abstain_rate=float(np.mean(nodes == 255)))
    body.update(hierarchy=hierarchy, certified_information_gain=0.8,
                certified_acc_by_level={k: v[0] for k, v in by_level.items()},
                certified_miou_by_level={k: v[1] for k, v in by_level.items()})


def requirements_file(path: str, requirements: list[dict], title: str = "test case") -> str:
    with open(path, "w") as f:
        f.write(f"title = {json.dumps(title)}\nrequirements = {requirements!r}\n")
    return path
