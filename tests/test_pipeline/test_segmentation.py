"""Segmentation records with ground truth: certified accuracy per τ', the rate of
certified wrong pixels, and the run summary's τ' sweep."""

import numpy as np
import pytest

pytest.importorskip("mmengine")

from adcert.certify.segmentation import certified_masks_by_tau  # noqa: E402
from adcert.pipeline.segmentation import (  # noqa: E402
    certified_acc_by_tau,
    certified_wrong_rate,
    tau_sweep_summary,
)

N, ALPHA = 100, 0.1
TARGET = np.array([[0, 1], [2, 2]])
# All 100 copies agree, none do, or 80 do: certified at τ' = 0.55 but not at 0.95.
HITS = np.array([[N, N], [0, 80]])
GT = np.array([[0, 2], [255, 2]])  # (0, 1) is selected as 1 but is 2; (1, 0) is ignored


def test_certified_accuracy_per_tau_on_a_hand_made_frame():
    masks = certified_masks_by_tau(HITS, N, (0.55, 0.95), ALPHA)
    assert [m.tolist() for _, m in masks] == [[[True, True], [False, True]],
                                              [[True, True], [False, False]]]
    # Valid pixels: (0, 0) right, (0, 1) wrong, (1, 1) right but certified at 0.55 only.
    assert certified_acc_by_tau(TARGET, masks, GT) == [pytest.approx(2 / 3),
                                                       pytest.approx(1 / 3)]
    assert certified_acc_by_tau(TARGET, masks, np.full((2, 2), 255)) == [None, None]


def test_certified_wrong_rate_counts_certified_pixels_of_another_class():
    labels = np.array([[0, 1], [255, 255]], dtype=np.uint8)  # certified at the run's τ
    assert certified_wrong_rate(labels, GT) == pytest.approx(1 / 3)
    assert certified_wrong_rate(labels, np.full((2, 2), 255)) is None


def record(height, width, fractions, accuracies, valid):
    sweep = [{"tau": tau, "certified_fraction": f, "certified_range": {"text": f"τ {tau}"},
              **({} if a is ... else {"certified_acc": a})}
             for tau, f, a in zip((0.55, 0.95), fractions, accuracies, strict=True)]
    return {"height": height, "width": width, "tau_sweep": sweep,
            **({} if valid is None else {"valid_pixels": valid})}


def test_tau_sweep_summary_weighs_frames_by_their_pixels():
    records = [record(10, 10, (1.0, 0.5), (0.9, 0.3), 50),
               record(10, 30, (0.5, 0.0), (0.5, 0.1), 150),
               record(10, 10, (0.0, 0.0), (None, None), 0)]
    first, second = tau_sweep_summary(records)
    assert first["tau"] == 0.55 and first["certified_range"] == {"text": "τ 0.55"}
    assert first["certified_fraction"] == pytest.approx((100 + 150) / 500)
    assert first["certified_acc"] == pytest.approx((0.9 * 50 + 0.5 * 150) / 200)
    assert second["certified_fraction"] == pytest.approx(50 / 500)
    assert second["certified_acc"] == pytest.approx((0.3 * 50 + 0.1 * 150) / 200)
    unannotated = [record(10, 10, (1.0, 0.5), (..., ...), None)]
    assert [entry["certified_acc"] for entry in tau_sweep_summary(unannotated)] == [None, None]
    assert tau_sweep_summary([]) == []


@pytest.mark.parametrize("task", ["detection", "segmentation"])
def test_a_model_with_more_classes_than_the_data_is_refused(task):
    from types import SimpleNamespace

    from adcert.pipeline import detection, segmentation

    module = detection if task == "detection" else segmentation
    loaded = SimpleNamespace(cfg=SimpleNamespace(model={"head": {"num_classes": 19}}))
    module.TASK.check_model(loaded, [f"c{i}" for i in range(19)])  # as many: fine
    with pytest.raises(ValueError, match="predicts 19 classes but the data set names only 2"):
        module.TASK.check_model(loaded, ["road", "car"])
