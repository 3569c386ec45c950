import contextlib
import io
import json

import numpy as np
import pytest

pytest.importorskip("mmengine")
pytest.importorskip("pycocotools")

from adcert.evaluation.certified_ap import average_precision  # noqa: E402
from adcert.evaluation.detection import CertifiedDetMetric  # noqa: E402


def random_frames(seed: int, frames: int = 6):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(frames):
        g = int(rng.integers(1, 6))
        xy = rng.uniform(0, 150, (g, 2))
        gt = np.concatenate([xy, xy + rng.uniform(10, 60, (g, 2))], axis=1)
        gt_labels = rng.integers(0, 2, g)
        # Predictions: jittered copies of some truths plus a few random boxes.
        keep = rng.random(g) < 0.8
        pred = gt[keep] + rng.normal(0, 6, (keep.sum(), 4))
        extra = rng.uniform(0, 150, (2, 2))
        pred = np.concatenate([pred, np.concatenate([extra, extra + 30], axis=1)])
        labels = np.concatenate([gt_labels[keep], rng.integers(0, 2, 2)])
        scores = rng.uniform(0.1, 1.0, len(pred))
        out.append((gt, gt_labels, np.column_stack([pred, scores, labels])))
    return out


def pycocotools_ap50(frames) -> float:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, anns, dets = [], [], []
    for i, (gt, gt_labels, pred) in enumerate(frames):
        images.append({"id": i, "width": 300, "height": 300})
        for box, label in zip(gt, gt_labels, strict=True):
            w, h = box[2] - box[0], box[3] - box[1]
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": int(label),
                         "bbox": [box[0], box[1], w, h], "area": w * h, "iscrowd": 0})
        for row in pred:
            dets.append({"image_id": i, "category_id": int(row[5]), "score": float(row[4]),
                         "bbox": [row[0], row[1], row[2] - row[0], row[3] - row[1]]})
    coco = COCO()
    coco.dataset = {"images": images, "annotations": anns,
                    "categories": [{"id": 0, "name": "a"}, {"id": 1, "name": "b"}]}
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
        evaluator = COCOeval(coco, coco.loadRes(dets), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return float(evaluator.stats[1])  # AP at IoU 0.5, all areas, 100 detections


def as_samples(frames, widen: float = 0.0, certified: bool = True):
    samples = []
    for gt, gt_labels, pred in frames:
        boxes = [{"bbox": list(row[:4]), "lower": list(row[:4] - widen),
                  "upper": list(row[:4] + widen), "label": int(row[5]),
                  "label_range": [int(row[5]), int(row[5]) if certified else None],
                  "label_certified": certified, "may_vanish": False, "score": float(row[4]),
                  "score_lower": float(row[4]), "score_upper": float(row[4]),
                  "localisation_iou": 1.0}
                 for row in pred]
        samples.append({"gt_boxes": gt, "gt_labels": gt_labels, "clean": pred,
                        "smoothed": boxes})
    return samples


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clean_and_smoothed_ap50_are_pycocotools(seed):
    frames = random_frames(seed)
    metric = CertifiedDetMetric(classes=["a", "b"])
    metric.process(None, as_samples(frames))
    m = metric.compute_metrics(metric.results)
    assert m["clean_ap50"] == pytest.approx(pycocotools_ap50(frames), abs=1e-9)
    assert m["smoothed_ap50"] == pytest.approx(pycocotools_ap50(frames), abs=1e-9)
    # Exact bounds: the sound reading can only lose where a truth is not exclusive.
    assert m["certified_ap50"] <= m["smoothed_ap50"] + 1e-12
    assert set(m["certified_ap50_per_class"]) == {"a", "b"}


def test_exact_bounds_and_exclusive_truths_certify_the_smoothed_ap():
    # Two well-separated objects, each found once: nothing can take another's truth.
    gt = np.array([[0, 0, 40, 40], [100, 100, 160, 150]], dtype=float)
    pred = np.array([[1, 1, 41, 40, 0.9, 0], [100, 102, 158, 150, 0.8, 1]])
    frames = [(gt, np.array([0, 1]), pred)]
    metric = CertifiedDetMetric(classes=["a", "b"])
    metric.process(None, as_samples(frames))
    m = metric.compute_metrics(metric.results)
    assert m["certified_ap50"] == pytest.approx(1.0) and m["certified_recall"] == 1.0
    assert m["chiang_certified_ap50"] == pytest.approx(1.0)


def test_wide_bounds_or_changeable_labels_lose_certified_ap():
    frames = random_frames(3)
    metric = CertifiedDetMetric(classes=["a", "b"])
    metric.process(None, as_samples(frames, widen=8.0))
    wide = metric.compute_metrics(metric.results)
    assert wide["certified_ap50"] < wide["smoothed_ap50"]
    metric = CertifiedDetMetric(classes=["a", "b"])
    metric.process(None, as_samples(frames, certified=False))
    changeable = metric.compute_metrics(metric.results)
    assert changeable["certified_ap50"] == 0.0 and changeable["label_changeable_rate"] == 1.0
    assert changeable["chiang_certified_ap50"] == 0.0


def test_crowd_regions_are_neither_true_nor_false_for_clean_ap():
    gt = np.array([[0, 0, 40, 40]], dtype=float)
    crowd = np.array([[100, 100, 200, 200]], dtype=float)
    pred = np.array([[0, 0, 40, 40, 0.5, 0], [110, 110, 190, 190, 0.9, 0]])
    sample = {"gt_boxes": gt, "gt_labels": [0], "clean": pred, "smoothed": [],
              "ignored_boxes": crowd, "ignored_labels": [0]}
    metric = CertifiedDetMetric(classes=["a"])
    metric.process(None, [sample])
    m = metric.compute_metrics(metric.results)
    assert m["clean_ap50"] == pytest.approx(1.0)  # the box on the crowd is not an FP
    sample.pop("ignored_boxes"), sample.pop("ignored_labels")
    metric = CertifiedDetMetric(classes=["a"])
    metric.process(None, [sample])
    assert metric.compute_metrics(metric.results)["clean_ap50"] < 1.0


def test_strict_json_and_none_where_undefined():
    metric = CertifiedDetMetric(classes=["a", "b"])
    sample = {"gt_boxes": np.zeros((0, 4)), "gt_labels": [], "clean": np.zeros((0, 6)),
              "smoothed": []}
    metric.process(None, [sample])
    m = metric.compute_metrics(metric.results)
    json.dumps(m, allow_nan=False)
    assert m["certified_ap50"] is None and m["certified_ap50_per_class"] == {"a": None, "b": None}
    assert m["certified_recall"] is None


def test_average_precision_edge_cases():
    assert average_precision([], 3) == 0.0
    assert np.isnan(average_precision([(0.9, False)], 0))
    assert average_precision([(0.9, True), (0.8, True)], 2) == pytest.approx(1.0)
    # A tie between a true and a false positive ranks the false one first.
    assert average_precision([(0.9, True), (0.9, False)], 1) == pytest.approx(0.5)


def with_eps_sweep(frames, widths: dict[float, float], run_eps: float):
    """Samples whose headline certificate is the one at ``run_eps`` and whose
    ``eps_sweep`` holds one certificate per ε, bounds widened by ``widths[ε]``."""
    samples = as_samples(frames, widen=widths[run_eps])
    for sample, frame in zip(samples, frames, strict=True):
        sweep = []
        for eps, widen in sorted(widths.items()):
            boxes = as_samples([frame], widen=widen)[0]["smoothed"]
            sweep.append({"eps": eps, "alpha_per_bound": 1e-4, "observed_slots": len(boxes),
                          "certified_range": {"text": f"ℓ2 ≤ {eps}"}, "boxes": boxes,
                          "may_appear": []})
        sample["record"] = {"possible_bins": 2, "alpha_per_bound": 1e-4,
                            "observed_slots": len(sample["smoothed"]),
                            "boxes": sample["smoothed"], "may_appear": []}
        sample["eps_sweep"] = sweep
    return samples


def test_eps_sweep_at_the_run_eps_is_the_headline_and_falls_with_eps():
    frames = random_frames(4)
    metric = CertifiedDetMetric(classes=["a", "b"])
    metric.process(None, with_eps_sweep(frames, {0.05: 0.0, 0.1: 2.0, 0.2: 8.0}, 0.1))
    m = metric.compute_metrics(metric.results)
    json.dumps(m, allow_nan=False)
    assert [entry["eps"] for entry in m["eps_sweep"]] == [0.05, 0.1, 0.2]
    at_run = m["eps_sweep"][1]
    assert set(at_run) == {"eps", "certified_ap50", "certified_ap50_per_class",
                           "chiang_certified_ap50", "certified_recall",
                           "certified_failure_bound", "may_vanish_rate"}
    assert {key: m[key] for key in at_run if key != "eps"} == {
        key: value for key, value in at_run.items() if key != "eps"}
    assert at_run["certified_failure_bound"] > 0
    aps = [entry["certified_ap50"] for entry in m["eps_sweep"]]
    assert aps == sorted(aps, reverse=True) and aps[0] > aps[1] > aps[2]
    # Exact bounds lose nothing on these frames: the smoothed AP (up to summation order).
    assert aps[0] == pytest.approx(m["smoothed_ap50"], abs=1e-12)


def test_no_eps_sweep_without_sweep_entries():
    metric = CertifiedDetMetric(classes=["a", "b"])
    metric.process(None, as_samples(random_frames(5)))
    assert "eps_sweep" not in metric.compute_metrics(metric.results)
