import contextlib
import io

import numpy as np
import pytest

pytest.importorskip("mmengine")
pytest.importorskip("pycocotools")

from adcert.evaluation.detection import CertifiedDetMetric, average_precision  # noqa: E402


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
                  "label_certified": certified, "may_vanish": False, "score": float(row[4])}
                 for row in pred]
        samples.append({"gt_boxes": gt, "gt_labels": gt_labels, "clean": pred,
                        "smoothed": boxes})
    return samples


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clean_ap50_matches_pycocotools(seed):
    frames = random_frames(seed)
    metric = CertifiedDetMetric(classes=["a", "b"])
    metric.process(None, as_samples(frames))
    m = metric.compute_metrics(metric.results)
    assert m["clean_ap50"] == pytest.approx(pycocotools_ap50(frames), abs=1e-6)
    # Exact bounds and certified labels: certified AP is the smoothed AP.
    assert m["certified_ap50"] == pytest.approx(m["smoothed_ap50"])


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


def test_average_precision_edge_cases():
    assert average_precision([], 3) == 0.0
    assert np.isnan(average_precision([(0.9, False)], 0))
    assert average_precision([(0.9, True), (0.8, True)], 2) == pytest.approx(1.0)
