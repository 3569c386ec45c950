"""The detection pipeline's ε sweep: the same samples certified at several ε
(docs/certificates.md §3), on a stand-in model so that no network runs."""

from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("mmengine")

from adcert.pipeline import detection  # noqa: E402
from adcert.pipeline.settings import DetSettings  # noqa: E402

OBJECTS = np.array([[20, 10, 60, 50, 0.8, 0], [120, 30, 180, 90, 0.7, 1],
                    [70, 40, 110, 80, 0.6, 0]], dtype=float)


def test_sweep_eps_holds_the_factors_of_sigma_and_the_run_eps():
    assert detection.sweep_eps(DetSettings(sigma=0.25, eps=0.1)) == (
        0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.36)
    assert detection.sweep_eps(DetSettings(sigma=0.5, eps=0.3)) == (
        0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.72)


def stand_in_model(monkeypatch, seed: int = 0) -> None:
    """certify_frame's model calls replaced: jittered copies of OBJECTS per noisy copy,
    each object missing from 15 % of the copies."""
    rng = np.random.default_rng(seed)

    def perturbed(model, packed, noise, n, batch_size, generator, amp, denoiser=None):
        for start in range(0, n, batch_size):
            batch = []
            for _ in range(min(batch_size, n - start)):
                boxes = OBJECTS.copy()
                boxes[:, :4] += rng.normal(0, 2, (len(boxes), 4))
                batch.append(boxes[rng.random(len(boxes)) > 0.15])
            yield batch

    monkeypatch.setattr(detection, "clean_predictions",
                        lambda model, packed, amp, denoiser=None: [OBJECTS])
    monkeypatch.setattr(detection, "detections_array", lambda result: result)
    monkeypatch.setattr(detection, "detections_arrays", lambda results: list(results))
    monkeypatch.setattr(detection, "perturbed_predictions", perturbed)


def test_bounds_widen_with_eps_for_the_same_samples(monkeypatch):
    stand_in_model(monkeypatch)
    settings = DetSettings(sigma=0.25, eps=0.1, n=400, alpha=0.01, bin="label",
                           sort="center", score_thr=0.0, seed=0)
    packed = {"data_samples": SimpleNamespace(ori_shape=(100, 200))}
    found = detection.certify_frame(None, packed, settings, None, num_classes=2)
    sweep = found.eps_sweep
    assert tuple(c.eps for c in sweep) == detection.sweep_eps(settings)
    assert found.certificate is next(c for c in sweep if c.eps == settings.eps)
    assert len(found.certificate.boxes) == 3 and found.certificate.boxes[0].localised
    # Objects missing from 15 % of the copies may vanish at ε = 1.44 σ, not at 0.1 σ.
    assert any(b.may_vanish for b in sweep[-1].boxes)
    assert not any(b.may_vanish for b in sweep[0].boxes)
    for small, large in zip(sweep, sweep[1:], strict=False):
        assert small.alpha_per_bound == large.alpha_per_bound  # each ε at the run's α
        assert [b.bbox for b in small.boxes] == [b.bbox for b in large.boxes]
        for a, b in zip(small.boxes, large.boxes, strict=True):
            assert np.all(np.array(b.lower) <= np.array(a.lower))
            assert np.all(np.array(b.upper) >= np.array(a.upper))
            assert b.score_lower <= a.score_lower and b.score_upper >= a.score_upper
            assert (a.may_vanish <= b.may_vanish and a.label_certified >= b.label_certified)
            assert b.localisation_iou <= a.localisation_iou
    entry = detection.sweep_record(sweep[0])
    assert set(entry) == set(detection.SWEEP_RECORD_KEYS)
    assert entry["eps"] == 0.025 and len(entry["boxes"]) == 3


def test_ground_truth_record_is_plain_json():
    sample = {"gt_boxes": np.array([[1, 2, 3, 4]], np.float32), "gt_labels": np.array([2]),
              "ignored_boxes": np.zeros((0, 4))}
    assert detection.ground_truth_record(sample) == {
        "boxes": [[1.0, 2.0, 3.0, 4.0]], "labels": [2], "ignored_boxes": []}
    assert detection.ground_truth_record({**sample, "gt_boxes": np.zeros((0, 4)),
                                          "gt_labels": np.zeros(0)})["boxes"] == []


def test_every_eps_of_the_sweep_names_its_boxes_label_nodes(monkeypatch):
    from adcert.certify.hierarchy import load_hierarchy

    stand_in_model(monkeypatch)
    classes = ["car", "person", "rider", "traffic sign"]
    settings = DetSettings(sigma=0.25, eps=0.1, n=400, alpha=0.01, bin="location+label",
                           score_thr=0.0, seed=0)
    session = SimpleNamespace(
        settings=settings, hierarchy=load_hierarchy("demo", classes), classes=classes,
        options=SimpleNamespace(amp=False), seed=0, record_provenance={},
        loaded=SimpleNamespace(model=None, denoiser=None, describe=lambda: {}),
        frames=SimpleNamespace(video=None, annotated=False))
    packed = {"data_samples": SimpleNamespace(ori_shape=(100, 200)),
              "inputs": np.zeros((3, 100, 200))}
    frame = SimpleNamespace(image_id="f.png", img_path="f.png", index=0)
    record = detection.certify_record(session, frame, packed, None).record
    assert record["hierarchy"] == "demo" and record["boxes"]
    for entry in (record, *record["eps_sweep"]):
        assert all("label_node" in box for box in entry["boxes"])
    # A box whose label is certified has its class as its node.
    certified = [b for b in record["boxes"] if b["label_certified"]]
    assert certified and all(b["label_node"] == classes[b["label"]] for b in certified)
