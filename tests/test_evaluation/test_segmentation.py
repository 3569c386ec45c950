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
    # class 0: gt {0,1}, pred {0, (1,3)->0} → I=1, U=2+2-1=3; class 1: gt 4, pred 2, I=2 → 2/4
    assert m["certified_miou"] == pytest.approx((1 / 3 + 2 / 4) / 2)


def test_area_counts_ignore_out_of_range_predictions():
    counts = area_counts(np.array([0, 1, 255, 7]), np.array([0, 0, 1, 1]), num_classes=2)
    np.testing.assert_array_equal(counts["intersect"], [1, 0])
    np.testing.assert_array_equal(counts["pred_area"], [1, 1])
    np.testing.assert_array_equal(counts["gt_area"], [2, 2])
