import json
import os

import cv2
import pytest

pytest.importorskip("mmseg")

from adcert.cli.certify_seg import cli  # noqa: E402
from adcert.datasets import write_split  # noqa: E402
from adcert.pipeline.schema import (  # noqa: E402
    SEGMENTATION_RECORD_SCHEMA,
    SUMMARY_SCHEMA,
    validate,
)

from ..helpers import REPO, tiny_demo_run  # noqa: E402

CONFIG = os.path.join(REPO, "configs", "demo", "fpn_mnv2_demo.py")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """Two generated 64×128 frames and a randomly initialised demo model."""
    return tiny_demo_run(tmp_path_factory.mktemp("mmseg"), CONFIG, "mmseg", [11, 12])


def run(tiny_run, *extra):
    root, checkpoint, options = tiny_run
    return cli([CONFIG, checkpoint, "--work-dir", str(root / "out"), "--n0", "2", "--n", "4",
                "--alpha", "0.1", "--tau", "0.6", "--seed", "1", *extra,
                "--cfg-options", *options])


def test_writes_records_masks_and_summary(tiny_run, capsys):
    assert run(tiny_run) == 0
    out = capsys.readouterr().out
    results = out.split("results: ")[1].split()[0]
    records = [json.loads(line) for line in open(results)]
    assert [r["image_id"] for r in records] == sorted(r["image_id"] for r in records)
    assert len(records) == 2
    for r in records:
        assert r["method"] == "segcertify_tau_abstain" and r["seed"] == 1
        assert r["n0"] == 2 and r["n"] == 4 and r["tau"] == 0.6 and r["correction"] == "holm"
        assert len(r["model"]["checkpoint_sha256"]) == 64
        # Masks are named after the frame's relative path, relative to the run folder.
        assert r["mask_path"] == f"masks/{r['image_id']}.certified.png"
        assert os.path.isfile(os.path.join(os.path.dirname(results), r["mask_path"]))
        assert 0.0 <= r["abstain_rate"] <= 1.0
        assert validate(r, SEGMENTATION_RECORD_SCHEMA) == []
        assert "for the whole frame" in r["guarantee_text"]
        # Ground truth: its mask beside the certified one, and what it shows.
        assert r["gt_mask_path"] == f"masks/{r['image_id']}.gt.png"
        gt = cv2.imread(os.path.join(os.path.dirname(results), r["gt_mask_path"]),
                        cv2.IMREAD_UNCHANGED)
        assert gt.shape == (r["height"], r["width"])
        assert r["valid_pixels"] == int((gt != 255).sum()) > 0
        assert 0.0 <= r["certified_wrong_rate"] <= 1.0
        accuracies = [e["certified_acc"] for e in r["tau_sweep"]]
        assert accuracies == sorted(accuracies, reverse=True)
    summary = json.load(open(os.path.join(os.path.dirname(results), "summary.json")))
    assert summary["frames"] == 2 and summary["settings"]["n"] == 4
    assert [e["tau"] for e in summary["tau_sweep"]] == [e["tau"] for e in records[0]["tau_sweep"]]
    for i, entry in enumerate(summary["tau_sweep"]):
        assert entry["certified_range"] == records[0]["tau_sweep"][i]["certified_range"]
        pixels = [r["height"] * r["width"] for r in records]
        assert entry["certified_fraction"] == pytest.approx(sum(
            r["tau_sweep"][i]["certified_fraction"] * p for r, p in zip(records, pixels,
                                                                          strict=True))
            / sum(pixels))
        assert entry["certified_acc"] == pytest.approx(sum(
            r["tau_sweep"][i]["certified_acc"] * r["valid_pixels"] for r in records)
            / sum(r["valid_pixels"] for r in records))
    assert "abstain_rate" in summary and "clean_miou" in summary
    assert validate(summary, SUMMARY_SCHEMA) == []


def test_same_seed_gives_the_same_certificates(tiny_run, capsys):
    maps = []
    for _ in range(2):
        assert run(tiny_run, "--max-images", "1") == 0
        results = capsys.readouterr().out.split("results: ")[1].split()[0]
        record = json.loads(open(results).readline())
        maps.append(open(os.path.join(os.path.dirname(results), record["mask_path"]),
                         "rb").read())
    assert maps[0] == maps[1]


@pytest.mark.parametrize("extra, message", [
    (["--tau", "0.5"], "tau must lie in (0.5, 1)"),
    (["--tau", "1.0"], "tau must lie in (0.5, 1)"),
    (["--n0", "10", "--n", "5"], "n0"),
    (["--alpha", "0"], "alpha"),
])
def test_bad_settings_exit_2_with_one_line(tiny_run, capsys, extra, message):
    assert run(tiny_run, *extra) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err and "\n" not in err


def test_missing_checkpoint_and_config_without_test_dataloader(tiny_run, tmp_path, capsys):
    root, _, options = tiny_run
    assert cli([CONFIG, str(tmp_path / "none.pth"), "--work-dir", str(tmp_path),
                "--cfg-options", *options]) == 2
    assert "checkpoint file not found" in capsys.readouterr().err
    bare = tmp_path / "bare.py"
    bare.write_text("model = dict(type='EncoderDecoder')\n")
    assert cli([str(bare), str(tmp_path / "none.pth")]) == 2
    assert "test_dataloader" in capsys.readouterr().err


def test_unreadable_frame_exits_2(tiny_run, tmp_path, capsys):
    root, checkpoint, options = tiny_run
    broken = tmp_path / "data"
    write_split(str(broken), "test", [13], height=64, width=128)
    (image,) = list((broken / "leftImg8bit" / "test").rglob("*.png"))
    image.write_bytes(b"not a png")
    code = cli([CONFIG, checkpoint, "--work-dir", str(tmp_path / "out"), "--n0", "2", "--n",
                "4", "--cfg-options", f"test_dataloader.dataset.data_root={broken}",
                "test_dataloader.dataset.pipeline.1.scale=(128,64)"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err
    assert not list((tmp_path / "out").rglob("results.jsonl"))


def test_gamma_smoothing_records_the_certified_gamma_range(tiny_run, capsys):
    assert run(tiny_run, "--transform", "gamma", "--sigma", "0.85", "--max-images", "1") == 0
    out = capsys.readouterr().out
    record = json.loads(open(out.split("results: ")[1].split()[0]).readline())
    assert record["transform"] == "gamma" and record["radius"] is None
    # τ = 0.6: gamma_interval(0.6, 0.4) ≈ (0.8585, 1.1498), rounded inwards in the text.
    assert record["certified_range"]["text"] == "gamma in (0.859, 1.149)"
    assert "gamma in (0.859, 1.149)" in out


def test_show_dir_draws_each_frame_and_its_panel(tiny_run, tmp_path, capsys):
    show = tmp_path / "show"
    assert run(tiny_run, "--show-dir", str(show)) == 0
    assert "drawings: 4 files" in capsys.readouterr().out
    names = sorted(os.listdir(show))
    assert len(names) == 4 and sum(name.endswith("_panel.png") for name in names) == 2


def test_image_folder_input(tiny_run, tmp_path, capsys):
    root = tiny_run[0]
    folder = root / "data" / "leftImg8bit" / "test" / "synthtown"
    assert run(tiny_run, "--images", str(folder)) == 0
    out = capsys.readouterr().out
    results = out.split("results: ")[1].split()[0]
    records = [json.loads(line) for line in open(results)]
    assert len(records) == 2 and all("certified_acc" not in r for r in records)
    assert not any("gt_mask_path" in r or "certified_acc" in r["tau_sweep"][0] for r in records)
    summary = json.load(open(os.path.join(os.path.dirname(results), "summary.json")))
    assert all(e["certified_acc"] is None for e in summary["tau_sweep"])
    assert all(os.path.isfile(os.path.join(os.path.dirname(results), r["mask_path"]))
               for r in records)


def test_brightness_contrast_records_an_ellipse(tiny_run, capsys):
    assert run(tiny_run, "--transform", "brightness_contrast", "--sigma", "0.2",
               "--max-images", "1") == 0
    out = capsys.readouterr().out
    record = json.loads(open(out.split("results: ")[1].split()[0]).readline())
    assert record["transform"] == "brightness_contrast" and record["radius"] is None
    assert record["certified_range"]["text"].startswith("contrast e^k and brightness b")


def test_frames_with_one_stem_get_their_own_ids_noise_and_masks(tiny_run, tmp_path, capsys):
    import shutil

    root = tiny_run[0]
    (source, *_) = sorted((root / "data" / "leftImg8bit" / "test" / "synthtown").glob("*.png"))
    folder = tmp_path / "frames"
    for relative in ("a.png", "a.jpg", "cityA/x.png", "cityB/x.png"):
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, folder / relative)
    assert run(tiny_run, "--images", str(folder)) == 0
    results = capsys.readouterr().out.split("results: ")[1].split()[0]
    records = [json.loads(line) for line in open(results)]
    assert [r["image_id"] for r in records] == ["a.jpg", "a.png", "cityA/x.png", "cityB/x.png"]
    masks = [os.path.join(os.path.dirname(results), r["mask_path"]) for r in records]
    assert len(set(masks)) == 4 and all(os.path.isfile(m) for m in masks)
    # Same pixels, different ids: the two x.png frames draw different noise.
    from adcert.noise import image_generator

    first, second = (image_generator(1, r["image_id"]).normal((4,)) for r in records[2:])
    assert not bool((first == second).all())
