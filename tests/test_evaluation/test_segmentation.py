import numpy as np
import pytest

pytest.importorskip("mmengine")

from adcert.evaluation.segmentation import CertifiedSegMetric, area_counts  # noqa: E402


def test_abstentions_count_as_wrong_or_are_left_out():
    gt = np.array([[0, 0, 1, 1], [1, 1, 255, 255]])
    certified = np.array([[0, 255, 1, 0], [1, 255, 1, 255]], dtype=np.uint8)
    metric = CertifiedSegMetric(num_classes=2)
    metric.process(None, [{"gt": gt, "certified": certified, "clean": gt}])
    m = metric.compute_metrics(metric.results)
    # 6 valid pixels: 2 abstain; of the 4 certified ones 3 are right.
    assert m["abstain_rate"] == pytest.approx(2 / 6)
    assert m["certified_acc"] == pytest.approx(3 / 6)
    assert m["on_certified_acc"] == pytest.approx(3 / 4)
    assert m["clean_acc"] == 1.0 and m["clean_miou"] == 1.0
    # Under attack the abstained pixel of class 0 may take class 1 and the one of class 1
    # class 0: class 0 then has I = 1, U = 4, class 1 I = 2, U = 5 (docs/certificates.md §4).
    assert m["certified_miou"] == pytest.approx((1 / 4 + 2 / 5) / 2)
    assert m["certified_iou_per_class"] == {"0": 0.25, "1": pytest.approx(0.4)}


def test_area_counts_ignore_out_of_range_predictions():
    counts = area_counts(np.array([0, 1, 255, 7]), np.array([0, 0, 1, 1]), num_classes=2)
    np.testing.assert_array_equal(counts["intersect"], [1, 0])
    np.testing.assert_array_equal(counts["pred_area"], [1, 1])
    np.testing.assert_array_equal(counts["gt_area"], [2, 2])


def _mmseg_miou(pairs, num_classes: int) -> float:
    import torch
    from mmseg.evaluation.metrics import IoUMetric
    metric = IoUMetric(iou_metrics=["mIoU"])
    metric.dataset_meta = {"classes": [str(i) for i in range(num_classes)]}
    as_map = lambda a: {"data": torch.from_numpy(a[None].astype(np.int64))}  # noqa: E731
    samples = [{"pred_sem_seg": as_map(pred), "gt_sem_seg": as_map(gt)} for pred, gt in pairs]
    metric.process({}, samples)
    return metric.compute_metrics(metric.results)["mIoU"] / 100


def test_miou_is_mmseg_iou_metric():
    # Class 2 is predicted but absent from the ground truth: mmseg scores it IoU 0.
    rng = np.random.default_rng(0)
    pairs = [(rng.integers(0, 3, (20, 30)), rng.integers(0, 2, (20, 30))) for _ in range(3)]
    pairs[0][1][:4] = 255
    metric = CertifiedSegMetric(num_classes=3, classes=["a", "b", "c"])
    metric.process(None, [{"gt": gt, "certified": pred, "clean": pred} for pred, gt in pairs])
    m = metric.compute_metrics(metric.results)
    assert m["clean_miou"] == pytest.approx(_mmseg_miou(pairs, 3), abs=5e-5)
    assert m["clean_iou_per_class"]["c"] == 0.0 and set(m["clean_iou_per_class"]) == {"a", "b", "c"}


def test_all_abstain_gives_none_not_a_number():
    import json

    gt = np.zeros((4, 4), dtype=np.int64)
    metric = CertifiedSegMetric(num_classes=2)
    metric.process(None, [{"gt": gt, "certified": np.full((4, 4), 255, np.uint8)}])
    m = metric.compute_metrics(metric.results)
    json.dumps(m, allow_nan=False)
    assert m["abstain_rate"] == 1.0 and m["on_certified_acc"] is None
    empty = CertifiedSegMetric(num_classes=2)
    empty.process(None, [{"gt": np.full((2, 2), 255), "certified": np.zeros((2, 2), np.uint8)}])
    assert empty.compute_metrics(empty.results)["abstain_rate"] is None


def test_smoothed_figures_are_the_majority_maps_scores():
    gt = np.array([[0, 0, 1, 1]])
    metric = CertifiedSegMetric(num_classes=2)
    metric.process(None, [{"gt": gt, "certified": np.array([[0, 255, 255, 1]]),
                           "clean": np.array([[0, 0, 0, 1]]),
                           "smoothed": np.array([[0, 0, 1, 0]])}])
    figures = metric.compute_metrics(metric.results)
    assert figures["smoothed_acc"] == 0.75 and figures["clean_acc"] == 0.75
    assert figures["smoothed_miou"] == pytest.approx((2 / 3 + 1 / 2) / 2)
