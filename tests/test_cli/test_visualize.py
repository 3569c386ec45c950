import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from adcert.cli.visualize import cli, main
from adcert.vis import read_video_frames, render_records

from ..test_vis.synthetic import (
    detection_record,
    digest,
    frame,
    label_map,
    segmentation_record,
)


def write_jsonl(path, records) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


@pytest.fixture
def frames_dir(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(3):
        image = frame()
        image[:, : 10 * (i + 1)] = (0, 0, 200)  # each frame its own
        cv2.imwrite(str(folder / f"frame_{i:03d}.png"), image)
    return folder


@pytest.fixture
def det_results(tmp_path, frames_dir):
    records = []
    for i in range(3):
        record = detection_record(f"frame_{i:03d}.png", str(frames_dir / f"frame_{i:03d}.png"))
        record["boxes"] = record["boxes"][: i + 1]  # 1, 1 and 1 certified of 1, 2, 3 boxes
        records.append(record)
    run = tmp_path / "run"
    run.mkdir()
    return write_jsonl(run / "results.jsonl", records)


@pytest.fixture
def seg_results(tmp_path, frames_dir):
    """Records as certify_seg writes them: no img_path, mask paths relative to the run."""
    run = tmp_path / "segrun"
    (run / "masks").mkdir(parents=True)
    records = []
    for i, image_id in enumerate(["frame_000.png", "frame_001"]):  # with and without suffix
        mask = f"masks/frame_{i:03d}_certified.png"
        cv2.imwrite(str(run / mask), label_map())
        records.append(segmentation_record(image_id, mask))
    return write_jsonl(run / "results.jsonl", records)


def test_detection_frames_panels_and_video(tmp_path, det_results, capsys):
    out, video = tmp_path / "vis", tmp_path / "vis" / "all.mp4"
    assert cli([det_results, "--out-dir", str(out), "--classes", "car,person,rider,sign",
                "--panel", "--video", str(video), "--fps", "5"]) == 0
    stdout = capsys.readouterr().out
    assert f"drew 3 frames into {out}" in stdout and f"video: {video}" in stdout
    assert sorted(os.listdir(out)) == [
        "all.mp4", "frame_000.png", "frame_000_panel.png", "frame_001.png",
        "frame_001_panel.png", "frame_002.png", "frame_002_panel.png"]
    drawn = cv2.imread(str(out / "frame_000.png"))
    assert drawn.shape[1] == 160 and drawn.shape[0] > 96  # the frame plus its caption
    panel = cv2.imread(str(out / "frame_000_panel.png"))
    assert panel.shape[1] == 2 * 160 + 4
    decoded = read_video_frames(str(video))
    assert len(decoded) == 3
    # Frames keep record order: frame i has a red band 10 (i + 1) px wide on the left.
    # The status strip sits above the frame, so frame row 60 is lower in the video.
    row = 60 + decoded[0].shape[0] - drawn.shape[0]
    red_width = [int(np.sum(f[row, :40, 2] > 150)) for f in decoded]
    assert red_width == sorted(red_width) and red_width[0] < red_width[-1]


def test_records_render_identically_twice(tmp_path, det_results):
    first = cli([det_results, "--out-dir", str(tmp_path / "a")])
    second = cli([det_results, "--out-dir", str(tmp_path / "b")])
    assert first == second == 0
    for name in os.listdir(tmp_path / "a"):
        a, b = (cv2.imread(str(tmp_path / d / name)) for d in "ab")
        assert digest(a) == digest(b)


def test_segmentation_frames_found_through_img_dir(tmp_path, seg_results, frames_dir, capsys):
    out = tmp_path / "segvis"
    assert cli([seg_results, "--out-dir", str(out), "--img-dir", str(frames_dir),
                "--video", str(tmp_path / "seg.avi")]) == 0
    assert sorted(os.listdir(out)) == ["frame_000.png", "frame_001.png"]
    assert len(read_video_frames(str(tmp_path / "seg.avi"))) == 2
    assert "drew 2 frames" in capsys.readouterr().out


def test_render_records_draws_clean_predictions_in_panels(tmp_path, frames_dir):
    record = detection_record("frame_000.png", str(frames_dir / "frame_000.png"))
    clean = [np.array([[10.0, 10.0, 40.0, 40.0, 0.9, 2.0]])]
    written = render_records([record], str(tmp_path / "out"), panel=True, clean=clean)
    assert [os.path.basename(p) for p in written] == ["frame_000.png", "frame_000_panel.png"]
    plain = render_records([record], str(tmp_path / "plain"), panel=True)
    panels = [cv2.imread(paths[1]) for paths in (written, plain)]
    assert digest(panels[0]) != digest(panels[1])


def test_repeated_image_ids_do_not_overwrite_each_other(tmp_path, frames_dir):
    record = detection_record("frame_000.png", str(frames_dir / "frame_000.png"))
    written = render_records([record, record], str(tmp_path / "out"))
    assert [os.path.basename(p) for p in written] == ["frame_000.png", "frame_000_2.png"]


def error_of(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    return err


def test_missing_results_file(tmp_path, capsys):
    assert cli([str(tmp_path / "nope.jsonl"), "--out-dir", str(tmp_path / "out")]) == 2
    assert "results file not found" in error_of(capsys)


def test_empty_results(tmp_path, capsys):
    path = tmp_path / "results.jsonl"
    path.write_text("\n")
    assert cli([str(path), "--out-dir", str(tmp_path / "out")]) == 2
    assert "holds no records" in error_of(capsys)


def test_unknown_method(tmp_path, capsys):
    path = write_jsonl(tmp_path / "results.jsonl", [{"image_id": "a", "method": "magic"}])
    assert cli([path, "--out-dir", str(tmp_path / "out")]) == 2
    assert "unknown method 'magic'" in error_of(capsys)


def test_mixed_detection_and_segmentation_records(tmp_path, capsys):
    path = write_jsonl(tmp_path / "results.jsonl", [detection_record(), segmentation_record()])
    assert cli([path, "--out-dir", str(tmp_path / "out")]) == 2
    assert "mix detection and segmentation" in error_of(capsys)


def test_broken_json_line(tmp_path, capsys):
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(detection_record()) + "\n{oops\n")
    assert cli([str(path), "--out-dir", str(tmp_path / "out")]) == 2
    assert "results.jsonl:2: not valid JSON" in error_of(capsys)


def test_unreadable_frame_writes_nothing(tmp_path, det_results, frames_dir, capsys):
    (frames_dir / "frame_002.png").write_bytes(b"not an image")
    out, video = tmp_path / "out", tmp_path / "out.mp4"
    assert cli([det_results, "--out-dir", str(out), "--video", str(video)]) == 2
    assert "cannot read frame image" in error_of(capsys)
    assert not out.exists() and not video.exists()


def test_frame_that_fails_to_decode_leaves_no_video(tmp_path, det_results, frames_dir, capsys):
    # A valid PNG header on a truncated file passes the checks, fails when decoded.
    data = (frames_dir / "frame_002.png").read_bytes()
    (frames_dir / "frame_002.png").write_bytes(data[:60])
    video = tmp_path / "out.mp4"
    assert cli([det_results, "--out-dir", str(tmp_path / "out"), "--video", str(video)]) == 2
    assert "frame_002.png" in error_of(capsys)
    assert not any(name.endswith(".mp4") for name in os.listdir(tmp_path))


def test_segmentation_without_img_path_needs_img_dir(tmp_path, seg_results, capsys):
    assert cli([seg_results, "--out-dir", str(tmp_path / "out")]) == 2
    assert "pass --img-dir" in error_of(capsys)


def test_missing_mask(tmp_path, seg_results, frames_dir, capsys):
    os.remove(os.path.join(os.path.dirname(seg_results), "masks", "frame_001_certified.png"))
    assert cli([seg_results, "--out-dir", str(tmp_path / "out"), "--img-dir",
                str(frames_dir)]) == 2
    assert "label map not found" in error_of(capsys)
    assert not (tmp_path / "out").exists()


def test_bad_video_extension_is_caught_before_drawing(tmp_path, det_results, capsys):
    out = tmp_path / "out"
    assert cli([det_results, "--out-dir", str(out), "--video", str(tmp_path / "v.gif")]) == 2
    assert ".mp4 or .avi" in error_of(capsys)
    assert not out.exists()


def test_refuses_to_overwrite_an_input_frame(tmp_path, det_results, frames_dir, capsys):
    assert cli([det_results, "--out-dir", str(frames_dir)]) == 2
    assert "overwrite its input frame" in error_of(capsys)


def test_needs_results(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--out-dir", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "results" in capsys.readouterr().err


def test_certify_mode_is_gone(tmp_path, det_results, capsys):
    """Certifying and drawing in one go is the certify tools' --show-dir."""
    with pytest.raises(SystemExit):
        main([det_results, "--out-dir", str(tmp_path), "--certify", "det", "a.py:b.pth"])
    assert "--certify" in capsys.readouterr().err


# An RGB colour no generated or built-in colour has, to find in the drawings.
MARKER_RGB = [12, 200, 99]
MARKER_BGR = (99, 200, 12)


def has_colour(path, bgr) -> bool:
    return bool(np.any(np.all(cv2.imread(str(path)) == bgr, axis=-1)))


def test_class_names_and_colours_come_from_the_run_summary(tmp_path, det_results):
    run = os.path.dirname(det_results)
    palette = [MARKER_RGB, [0, 0, 255], [0, 255, 0], [255, 0, 0]]
    with open(os.path.join(run, "summary.json"), "w") as f:
        json.dump({"classes": ["car", "person", "rider", "sign"], "palette": palette}, f)
    assert cli([det_results, "--out-dir", str(tmp_path / "meta")]) == 0
    assert has_colour(tmp_path / "meta" / "frame_000.png", MARKER_BGR)  # class 0's box
    # A palette that does not give one colour per class is not used.
    with open(os.path.join(run, "summary.json"), "w") as f:
        json.dump({"classes": ["car", "person", "rider", "sign"], "palette": palette[:2]}, f)
    assert cli([det_results, "--out-dir", str(tmp_path / "own")]) == 0
    assert not has_colour(tmp_path / "own" / "frame_000.png", MARKER_BGR)


def test_summary_named_explicitly(tmp_path, det_results, capsys):
    summary = tmp_path / "elsewhere.json"
    summary.write_text(json.dumps({"classes": ["a", "b", "c", "d"], "palette": [
        MARKER_RGB, [1, 1, 1], [2, 2, 2], [3, 3, 3]]}))
    assert cli([det_results, "--out-dir", str(tmp_path / "out"), "--summary",
                str(summary)]) == 0
    assert has_colour(tmp_path / "out" / "frame_000.png", MARKER_BGR)
    assert cli([det_results, "--out-dir", str(tmp_path / "out2"), "--summary",
                str(tmp_path / "none.json")]) == 2
    assert "run summary not found" in error_of(capsys)


def test_drawing_a_run_loads_no_certify_tool_and_no_model():
    code = ("import sys, adcert.cli.visualize; print(sorted(m for m in sys.modules if m in "
            "('adcert.cli.certify_det', 'adcert.cli.certify_seg', 'torch', 'mmdet', "
            "'mmseg')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
