import json
import os

import pytest

pytest.importorskip("mmdet")

from adcert.cli.certify_det import cli  # noqa: E402
from adcert.datasets import write_split  # noqa: E402
from adcert.pipeline.schema import (  # noqa: E402
    DETECTION_RECORD_SCHEMA,
    SUMMARY_SCHEMA,
    validate,
)

from ..helpers import REPO, tiny_demo_run  # noqa: E402

CONFIG = os.path.join(REPO, "configs", "demo", "rtmdet_mnv2_demo.py")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """Two generated 64×128 frames and a randomly initialised demo model."""
    return tiny_demo_run(tmp_path_factory.mktemp("mmdet"), CONFIG, "mmdet", [21, 22])


def run(tiny_run, *extra):
    root, checkpoint, options = tiny_run
    return cli([CONFIG, checkpoint, "--work-dir", str(root / "out"), "--n", "6", "--seed", "2",
                "--score-thr", "0.0", *extra, "--cfg-options", *options])


def test_writes_the_record_of_every_frame_and_the_summary(tiny_run, capsys):
    assert run(tiny_run, "--eps", "0.1", "--bin", "location+label") == 0
    out = capsys.readouterr().out
    assert "\r" not in out  # redirected: one log line per frame, no progress bar
    # B is computed from the samples: the tool states the threshold reading, not "the
    # certificates fail with probability ≤ B".
    assert ("certified_failure_bound is B: for every b, P(some certificate wrong and B ≤ b) "
            "≤ b") in out
    results = out.split("results: ")[1].split()[0]
    records = [json.loads(line) for line in open(results)]
    assert len(records) == 2
    keys = {"image_id", "img_path", "method", "sigma", "eps", "n", "alpha", "correction",
            "bin", "sort", "seed", "model", "boxes", "time_s"}
    for r in records:
        assert keys <= r.keys()
        assert validate(r, DETECTION_RECORD_SCHEMA) == []
        assert "ℓ2 norms over the resized model input" in r["provenance"]["norm_space"]
        assert "probability ≥ 1 − 0.001 for each box separately" in r["guarantee_text"]
        assert os.path.isabs(r["img_path"]) and os.path.isfile(r["img_path"])
        assert r["eps"] == 0.1 and r["n"] == 6 and r["bin"] == "location+label"
        assert r["seed"] == 2 and len(r["model"]["checkpoint_sha256"]) == 64
        for box in r["boxes"]:
            assert {"bbox", "lower", "upper", "label", "label_certified", "may_vanish",
                    "score"} <= box.keys()
        # The same samples certified at σ·(0.1 … 1.44) and the run's ε (σ = 0.25).
        assert [e["eps"] for e in r["eps_sweep"]] == [0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.36]
        at_run = next(e for e in r["eps_sweep"] if e["eps"] == 0.1)
        assert {k: at_run[k] for k in at_run} == {k: r[k] for k in at_run}
        # Annotated frames carry their ground truth, as the metric scored it.
        truth = r["ground_truth"]
        assert len(truth["boxes"]) == len(truth["labels"]) > 0
        assert all(0 <= x1 < x2 <= 128 and 0 <= y1 < y2 <= 64
                   for x1, y1, x2, y2 in truth["boxes"])
    summary = json.load(open(os.path.join(os.path.dirname(results), "summary.json")))
    assert {"clean_ap50", "smoothed_ap50", "certified_ap50"} <= summary.keys()
    assert summary["settings"]["eps"] == 0.1 and summary["guarantee"] == "per_box"
    assert [e["eps"] for e in summary["eps_sweep"]] == [0.025, 0.05, 0.1, 0.15, 0.2, 0.25,
                                                        0.36]
    at_run = next(e for e in summary["eps_sweep"] if e["eps"] == 0.1)
    assert {k: summary[k] for k in at_run if k != "eps"} == {
        k: v for k, v in at_run.items() if k != "eps"}
    assert validate(summary, SUMMARY_SCHEMA) == []
    text = open(results).read()
    assert "NaN" not in text and "Infinity" not in text  # strict JSON: null, never NaN
    run_dir = os.path.dirname(results)
    assert {"run.json", "config.py", "cfg_options.json"} <= set(os.listdir(run_dir))
    (log,) = [name for name in os.listdir(run_dir) if name.endswith(".log")]
    # The log names the dataloader and its split, not "test set" (it may read a val split).
    source = f"test_dataloader ({tiny_run[0] / 'data'}, leftImg8bit/"
    assert f"2 frames from {source}" in open(os.path.join(run_dir, log)).read()
    manifest = json.load(open(os.path.join(run_dir, "run.json")))
    assert manifest["source"].startswith(source)
    assert len(manifest["config_sha256"]) == 64 and manifest["versions"]["torch"]
    assert manifest["cfg_options"]["test_dataloader.dataset.pipeline.1.scale"] == [128, 64]


@pytest.mark.parametrize("eps", ["0", "-0.2"])
def test_non_positive_eps_exits_2(tiny_run, capsys, eps):
    assert run(tiny_run, "--eps", eps) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: eps must be positive") and "\n" not in err


def test_missing_checkpoint_and_config_without_test_dataloader(tiny_run, tmp_path, capsys):
    _, _, options = tiny_run
    assert cli([CONFIG, str(tmp_path / "none.pth"), "--work-dir", str(tmp_path),
                "--cfg-options", *options]) == 2
    assert "checkpoint file not found" in capsys.readouterr().err
    bare = tmp_path / "bare.py"
    bare.write_text("model = dict(type='RTMDet')\n")
    assert cli([str(bare), str(tmp_path / "none.pth")]) == 2
    assert "test_dataloader" in capsys.readouterr().err


def test_unreadable_frame_exits_2_without_results(tiny_run, tmp_path, capsys):
    _, checkpoint, _ = tiny_run
    broken = tmp_path / "data"
    write_split(str(broken), "test", [23], height=64, width=128)
    (image,) = list((broken / "leftImg8bit" / "test").rglob("*.png"))
    image.write_bytes(b"not a png")
    code = cli([CONFIG, checkpoint, "--work-dir", str(tmp_path / "out"), "--n", "4",
                "--cfg-options", f"test_dataloader.dataset.data_root={broken}",
                "test_dataloader.dataset.pipeline.1.scale=(128,64)"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot load frame") and "\n" not in err
    assert not list((tmp_path / "out").rglob("results.jsonl"))


def test_brightness_smoothing_records_the_attack_range(tiny_run, capsys):
    assert run(tiny_run, "--transform", "brightness", "--sigma", "0.2", "--eps", "0.05",
               "--max-images", "1") == 0
    out = capsys.readouterr().out
    record = json.loads(open(out.split("results: ")[1].split()[0]).readline())
    assert record["transform"] == "brightness" and record["sigma"] == 0.2
    assert record["certified_range"]["text"] == "brightness ±0.05 on the [0,1] scale"
    assert "brightness ±0.05" in out


def test_unknown_transform_exits_2(tiny_run, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run(tiny_run, "--transform", "fog")
    assert exit_info.value.code == 2


def test_show_dir_draws_each_frame_and_its_panel(tiny_run, tmp_path, capsys):
    show = tmp_path / "show"
    assert run(tiny_run, "--show-dir", str(show)) == 0
    assert "drawings: 4 files" in capsys.readouterr().out
    names = sorted(os.listdir(show))
    assert len(names) == 4 and sum(name.endswith("_panel.png") for name in names) == 2


def test_video_input_gives_records_drawings_and_a_certified_video(tiny_run, tmp_path, capsys):
    import cv2

    root = tiny_run[0]
    frames = sorted((root / "data" / "leftImg8bit" / "test" / "synthtown").glob("*.png"))
    clip = str(tmp_path / "clip.avi")
    writer = cv2.VideoWriter(clip, cv2.VideoWriter_fourcc(*"MJPG"), 5, (128, 64))
    for path in frames * 2:
        writer.write(cv2.imread(str(path)))
    writer.release()
    show = tmp_path / "show"
    assert run(tiny_run, "--images", clip, "--max-images", "3", "--show-dir", str(show)) == 0
    out = capsys.readouterr().out
    records = [json.loads(line) for line in open(out.split("results: ")[1].split()[0])]
    assert [r["image_id"] for r in records] == [f"frame_00000{i}.png" for i in range(3)]
    # Decoded lazily: no frame file is written, the record names the video.
    assert all(r["img_path"] is None and r["video"] == clip for r in records)
    assert not os.path.exists(os.path.join(os.path.dirname(out.split("results: ")[1].split()[0]),
                                           "frames"))
    summary = json.load(open(out.split("summary: ")[1].split()[0]))
    assert "clean_ap50" not in summary  # no annotations, no AP
    video = cv2.VideoCapture(str(show / "certified.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 3


def test_missing_image_folder_exits_2(tiny_run, tmp_path, capsys):
    assert run(tiny_run, "--images", str(tmp_path / "nowhere")) == 2
    assert "image folder not found" in capsys.readouterr().err


def test_brightness_contrast_records_the_attack_box(tiny_run, capsys):
    assert run(tiny_run, "--transform", "brightness_contrast", "--sigma", "0.2", "--eps",
               "0.05", "--max-images", "1") == 0
    out = capsys.readouterr().out
    record = json.loads(open(out.split("results: ")[1].split()[0]).readline())
    assert record["certified_range"]["text"] == (
        "contrast in [0.952, 1.051] with brightness ±0.05")
