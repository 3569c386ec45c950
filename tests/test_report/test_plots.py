import cv2
import pytest

from adcert.report.plots import certified_fraction_curve, plot_certified_fraction
from adcert.stats import certified_range


def sweep_record(transform, fractions, sigma=0.2):
    return {"transform": transform, "tau_sweep": [
        {"tau": tau, "certified_fraction": f,
         "certified_range": certified_range(transform, sigma, tau).to_record()}
        for tau, f in fractions.items()]}


def test_curve_averages_frames_per_tau_and_orders_by_range():
    records = [sweep_record("gamma", {0.6: 0.9, 0.9: 0.5}),
               sweep_record("gamma", {0.6: 0.7, 0.9: 0.3})]
    transform, x, y = certified_fraction_curve(records)
    assert transform == "gamma" and x[0] < x[1]
    assert list(y) == pytest.approx([0.8, 0.4])


def test_mixed_transforms_and_missing_sweeps_are_refused():
    with pytest.raises(ValueError, match="mix transforms"):
        certified_fraction_curve([sweep_record("gamma", {0.6: 1}),
                                  sweep_record("brightness", {0.6: 1})])
    with pytest.raises(ValueError, match="tau_sweep"):
        certified_fraction_curve([{"transform": "gaussian"}])


def test_plot_writes_a_png(tmp_path):
    runs = {"a": [sweep_record("brightness", {0.6: 0.9, 0.8: 0.6})],
            "b": [sweep_record("brightness_contrast", {0.6: 0.8, 0.8: 0.5})]}
    path = plot_certified_fraction(runs, str(tmp_path / "curve.png"))
    image = cv2.imread(path)
    assert image is not None and image.shape[1] > image.shape[0]


def test_report_plots_are_png_and_split_by_transform(tmp_path):
    from adcert.report.html import _plots
    from adcert.report.plots import plot_ap_vs_eps, plot_camera_ranges

    curve = {"run": "R1", "transform": "gaussian",
             "points": [{"eps": 0.1, "certified_ap50": 0.3, "chiang_certified_ap50": None}]}
    assert plot_ap_vs_eps([curve]).startswith(b"\x89PNG")
    assert plot_camera_ranges([{"run": "R2", "task": "segmentation", "transform": "gamma",
                                "low": 0.9, "high": 1.1, "text": "gamma"}]).startswith(b"\x89PNG")
    gamma = {**curve, "run": "R3", "transform": "gamma"}
    page = _plots({"detection_eps": [curve, gamma], "segmentation_tau": [],
                   "camera_effects": [], "readings": []})
    assert page.count("<figure>") == 2  # ε means different things: one plot per transform


def test_readings_plot_says_why_an_old_segmentation_run_has_no_smoothed_bar(monkeypatch):
    import matplotlib.figure

    from adcert.report.plots import NO_SMOOTHED_NOTE, plot_readings

    texts = []
    real = matplotlib.figure.Figure.text
    monkeypatch.setattr(matplotlib.figure.Figure, "text",
                        lambda self, x, y, s, *a, **k: texts.append(s) or real(self, x, y, s,
                                                                                *a, **k))
    det = {"run": "R1", "task": "detection", "figure": "AP@50", "clean": 0.8,
           "smoothed": 0.6, "certified": 0.2}
    assert plot_readings([det]).startswith(b"\x89PNG") and texts == []
    seg = {"run": "R2", "task": "segmentation", "figure": "mIoU", "clean": 0.7,
           "smoothed": None, "certified": 0.4}
    assert plot_readings([det, seg]).startswith(b"\x89PNG")
    assert texts == [NO_SMOOTHED_NOTE]


def test_segmentation_reading_is_the_summary_smoothed_miou(tmp_path):
    import json

    from adcert.report.figures import readings
    from adcert.report.runs import load_run
    from tests.test_report.fake_runs import segmentation_run

    run_dir = segmentation_run(str(tmp_path / "run"))
    reading = readings(load_run(run_dir, "R1"))
    assert (reading["clean"], reading["smoothed"]) == (0.8, 0.78)
    summary_path = tmp_path / "run" / "summary.json"
    summary = json.loads(summary_path.read_text())
    del summary["smoothed_miou"]  # a summary written before smoothed figures were measured
    summary_path.write_text(json.dumps(summary))
    assert readings(load_run(run_dir, "R1"))["smoothed"] is None
