"""Bad input never gives a traceback: one line naming the problem, exit status 2, and no
output that looks complete. Nothing the user owns is overwritten."""

import importlib.util
import json
import os

import pytest
import torch

pytest.importorskip("mmdet")

from adcert.cli.certify_det import cli  # noqa: E402

from ..helpers import REPO, tiny_demo_run  # noqa: E402

CONFIG = os.path.join(REPO, "configs", "demo", "rtmdet_mnv2_demo.py")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return tiny_demo_run(tmp_path_factory.mktemp("bad"), CONFIG, "mmdet", [61, 62])


def certify(tiny_run, work, *extra, config=CONFIG, checkpoint=None):
    root, default_checkpoint, options = tiny_run
    return cli([config, checkpoint or default_checkpoint, "--work-dir", str(work), "--n", "4",
                "--seed", "0", *extra, "--cfg-options", *options])


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("warning:")]
    assert len(lines) == 1 and lines[0].startswith("error: "), err[-2000:]
    assert "Traceback" not in err
    return lines[0]


def nothing_complete(work) -> bool:
    return not list(work.rglob("results.jsonl")) and not list(work.rglob("summary.json"))


def test_config_with_a_syntax_error(tiny_run, tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("model = dict(type='RTMDet'\n")
    assert certify(tiny_run, tmp_path / "w", config=str(bad)) == 2
    assert "cannot read config" in one_line_error(capsys)
    assert not (tmp_path / "w").exists()


@pytest.mark.parametrize("content, message", [
    (torch.zeros(3), "holds a Tensor, not a dict"),
    ([1, 2], "holds a list, not a dict"),
    ({"state_dict": [1, 2]}, "state_dict is not a mapping"),
])
def test_checkpoint_that_is_not_a_state_dict(tiny_run, tmp_path, capsys, content, message):
    path = tmp_path / "odd.pth"
    torch.save(content, path)
    assert certify(tiny_run, tmp_path / "w", checkpoint=str(path)) == 2
    assert message in one_line_error(capsys)
    assert nothing_complete(tmp_path)


def test_checkpoint_with_wrong_shapes(tiny_run, tmp_path, capsys):
    state = torch.load(tiny_run[1], weights_only=True)
    key = next(k for k, v in state["state_dict"].items() if v.ndim == 4)
    state["state_dict"][key] = torch.zeros(1, 1, 1, 1)
    path = tmp_path / "shapes.pth"
    torch.save(state, path)
    assert certify(tiny_run, tmp_path / "w", checkpoint=str(path)) == 2
    assert f"does not match the model: {key} has shape (1, 1, 1, 1)" in one_line_error(capsys)


def test_unsafe_checkpoint_names_the_global_and_corrupt_one_does_not_suggest_unsafe(
        tiny_run, tmp_path, capsys):
    state = torch.load(tiny_run[1], weights_only=True)
    state["hook"] = os.system
    unsafe = tmp_path / "unsafe.pth"
    torch.save(state, unsafe)
    assert certify(tiny_run, tmp_path / "w", checkpoint=str(unsafe)) == 2
    line = one_line_error(capsys)
    assert "posix.system" in line and "--unsafe-load" in line
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(open(tiny_run[1], "rb").read()[:5000])
    assert certify(tiny_run, tmp_path / "w", checkpoint=str(truncated)) == 2
    line = one_line_error(capsys)
    assert "corrupt or truncated" in line and "--unsafe-load" not in line


def test_unsafe_load_warns_and_is_recorded(tiny_run, tmp_path, capsys):
    import json

    assert certify(tiny_run, tmp_path / "w", "--unsafe-load", "--max-images", "1") == 0
    captured = capsys.readouterr()
    assert captured.err.startswith("warning: --unsafe-load")
    results = captured.out.split("results: ")[1].split()[0]
    record = json.loads(open(results).readline())
    assert record["provenance"]["unsafe_load"] is True
    summary = json.load(open(os.path.join(os.path.dirname(results), "summary.json")))
    assert summary["provenance"]["unsafe_load"] is True


@pytest.mark.parametrize("extra, message", [
    (["--cfg-options", "model.backbone.no_such_arg=1"], "cannot build the config's model"),
    (["--cfg-options", "certify.sigma=x"], "sigma must be a number, got 'x'"),
    (["--cfg-options", "certify=3"], "`certify` must be a dict"),
    (["--device", "bogus"], "--device 'bogus' is not a device"),
    (["--max-images", "0"], "max_images must be ≥ 1"),
    (["--max-images", "-2"], "max_images must be ≥ 1"),
    (["--sigma", "1e38"], "overflow float32"),
    (["--eps", "inf"], "eps must be finite"),
    (["--cfg-options", "test_dataloader.dataset.metainfo.classes=[car,person]"],
     "the model predicts 4 classes but the data set names only 2"),
])
def test_bad_settings_and_options(tiny_run, tmp_path, capsys, extra, message):
    # A second --cfg-options merges with the fixture's (mmengine's DictAction).
    assert certify(tiny_run, tmp_path / "w", *extra) == 2
    assert message in one_line_error(capsys)
    assert nothing_complete(tmp_path)
    assert not (tmp_path / "w").exists() or not os.listdir(tmp_path / "w")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda(tiny_run, tmp_path, capsys):
    assert certify(tiny_run, tmp_path / "w", "--device", "cuda") == 2
    assert "CUDA is not available" in one_line_error(capsys)


def test_a_flag_that_does_not_apply_is_rejected(tiny_run, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        certify(tiny_run, tmp_path / "w", "--n0", "5")
    assert stop.value.code == 2
    assert "unrecognized arguments: --n0" in capsys.readouterr().err


def test_show_dir_on_the_image_folder_is_refused(tiny_run, tmp_path, capsys):
    folder = tiny_run[0] / "data" / "leftImg8bit" / "test" / "synthtown"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert certify(tiny_run, tmp_path / "w", "--images", str(folder), "--show-dir",
                   str(folder)) == 2
    assert "holds input frames" in one_line_error(capsys)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_existing_out_file_is_not_replaced(tiny_run, tmp_path, capsys):
    out = tmp_path / "mine.jsonl"
    out.write_text("the user's file\n")
    assert certify(tiny_run, tmp_path / "w", "--out", str(out)) == 2
    assert "already exists" in one_line_error(capsys)
    assert out.read_text() == "the user's file\n"


def _tool(name):
    spec = importlib.util.spec_from_file_location(f"adcert_tool_{name}",
                                                  os.path.join(REPO, "tools", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_test_and_train_tools_on_bad_input(tiny_run, tmp_path, capsys):
    test_tool, train_tool = _tool("test"), _tool("train")
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint at all")
    assert test_tool.run_main(test_tool.main, [CONFIG, str(garbage)]) == 2
    assert "corrupt or truncated" in one_line_error(capsys)
    state = torch.load(tiny_run[1], weights_only=True)
    state["hook"] = os.system
    unsafe = tmp_path / "unsafe.pth"
    torch.save(state, unsafe)
    assert test_tool.run_main(test_tool.main, [CONFIG, str(unsafe)]) == 2
    assert "posix.system" in one_line_error(capsys)
    bad = tmp_path / "bad.py"
    bad.write_text("model = dict(\n")
    assert test_tool.run_main(test_tool.main, [str(bad), tiny_run[1]]) == 2
    assert "cannot read config" in one_line_error(capsys)
    assert train_tool.run_main(train_tool.main, [str(bad)]) == 2
    assert "cannot read config" in one_line_error(capsys)
    assert train_tool.run_main(train_tool.main, [CONFIG, "--cfg-options",
                                                 f"load_from={unsafe}"]) == 2
    assert "posix.system" in one_line_error(capsys)


# --- issue 23: the last holes of the 231-case bad-input probe -------------------------
#
# Cases that must stop before the first forward pass run under ``no_forward``, which fails
# the test if the model is ever asked for a prediction. Cases that need a finished run
# share one (``finished_run``: the two tiny frames at n = 4) and work on copies of it.


@pytest.fixture
def no_forward(monkeypatch):
    import adcert.models.forward as forward

    def refuse(*args, **kwargs):
        raise AssertionError("a forward pass ran before the error")

    monkeypatch.setattr(forward, "_predict", refuse)


def frames_folder(tiny_run):
    return tiny_run[0] / "data" / "leftImg8bit" / "test" / "synthtown"


def results_of(capsys) -> tuple[str, list[dict]]:
    import json

    out = capsys.readouterr().out
    results = out.split("results: ")[1].split()[0]
    return os.path.dirname(results), [json.loads(line) for line in open(results)]


@pytest.fixture(scope="module")
def finished_run(tiny_run, tmp_path_factory):
    """One complete run of the two tiny frames: (run folder, its records)."""
    import json

    work = tmp_path_factory.mktemp("finished")
    root, checkpoint, options = tiny_run
    assert cli([CONFIG, checkpoint, "--work-dir", str(work), "--n", "4", "--seed", "0",
                "--cfg-options", *options]) == 0
    (run_dir,) = [p for p in work.iterdir() if (p / "summary.json").exists()]
    records = [json.loads(line) for line in open(run_dir / "results.jsonl")]
    return run_dir, records


def killed_copy(finished_run, tmp_path):
    """A copy of the finished run as a kill would leave it: journals, no results."""
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(finished_run[0], copy)
    (copy / "results.jsonl").unlink()
    (copy / "summary.json").unlink()
    return copy


def without_time(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "time_s"}


def test_resume_never_writes_out_over_an_input(tiny_run, finished_run, tmp_path, capsys,
                                               no_forward):
    import shutil

    run_dir = killed_copy(finished_run, tmp_path)
    checkpoint = tmp_path / "copy.pth"  # the same file (same sha256) at a path we may lose
    shutil.copy(tiny_run[1], checkpoint)
    before = checkpoint.read_bytes()
    assert certify(tiny_run, tmp_path / "w", "--resume", str(run_dir), "--out",
                   str(checkpoint), checkpoint=str(checkpoint)) == 2
    assert "already exists" in one_line_error(capsys)
    assert checkpoint.read_bytes() == before


def test_resume_never_writes_out_into_its_own_run_folder(tiny_run, finished_run, tmp_path,
                                                         capsys, no_forward):
    run_dir = killed_copy(finished_run, tmp_path)
    assert certify(tiny_run, tmp_path / "w", "--resume", str(run_dir), "--out",
                   str(run_dir / "summary.json")) == 2
    assert "inside the run folder" in one_line_error(capsys)


def test_show_dir_on_the_folder_of_an_input_video_is_refused(tiny_run, tmp_path, capsys,
                                                              no_forward):
    import cv2

    show = tmp_path / "clips"
    show.mkdir()
    clip = show / "certified.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 5, (128, 64))
    for path in sorted(frames_folder(tiny_run).glob("*.png")):
        writer.write(cv2.imread(str(path)))
    writer.release()
    before = clip.read_bytes()
    assert certify(tiny_run, tmp_path / "w", "--images", str(clip), "--show-dir",
                   str(show)) == 2
    assert "holds the input video" in one_line_error(capsys)
    assert clip.read_bytes() == before


def _journal_lines(run_dir) -> list[bytes]:
    return (run_dir / "records" / "rank0.jsonl").read_bytes().splitlines(keepends=True)


def test_a_corrupt_journal_line_costs_no_intact_record(tiny_run, finished_run, tmp_path,
                                                       capsys):
    run_dir = killed_copy(finished_run, tmp_path)
    first, second = _journal_lines(run_dir)
    torn = b"#" + first[1:]  # unparseable, still a whole line
    (run_dir / "records" / "rank0.jsonl").write_bytes(torn + second)
    assert certify(tiny_run, tmp_path / "w", "--resume", str(run_dir)) == 0
    err = capsys.readouterr().err
    assert "warning:" in err and "quarantine" in err and "Traceback" not in err
    records = [json.loads(line) for line in open(run_dir / "results.jsonl")]
    assert [without_time(r) for r in records] == [without_time(r) for r in finished_run[1]]
    # The intact line is kept as it was (frame 1 not certified again), the bad one set aside.
    lines = _journal_lines(run_dir)
    assert len(lines) == 2 and lines[0] == second
    assert (run_dir / "records" / "quarantine.jsonl").read_bytes() == torn


def test_a_journal_record_that_does_not_match_the_run_is_set_aside(tiny_run, finished_run,
                                                                   tmp_path, capsys):
    run_dir = killed_copy(finished_run, tmp_path)
    first, second = _journal_lines(run_dir)
    image_id = finished_run[1][1]["image_id"].encode()
    altered = image_id[:-5] + bytes([image_id[-5] ^ 1]) + image_id[-4:]  # one flipped bit
    (run_dir / "records" / "rank0.jsonl").write_bytes(first + second.replace(image_id,
                                                                             altered))
    assert certify(tiny_run, tmp_path / "w", "--resume", str(run_dir)) == 0
    err = capsys.readouterr().err
    assert "does not match" in err and "quarantine" in err
    records = [json.loads(line) for line in open(run_dir / "results.jsonl")]
    assert [without_time(r) for r in records] == [without_time(r) for r in finished_run[1]]
    assert _journal_lines(run_dir)[0] == first


def _inherit(tmp_path, base: str, name: str) -> str:
    path = tmp_path / name
    path.write_text(f"_base_ = [{base!r}]\ncertify = None\n")
    return str(path)


def test_a_segmentation_config_is_refused_by_certify_det(tiny_run, tmp_path, capsys,
                                                         no_forward):
    # Refused when the model is built, before any checkpoint is read: so any will do.
    seg = _inherit(tmp_path, os.path.join(REPO, "configs", "demo", "fpn_mnv2_demo.py"),
                   "seg.py")
    assert certify(tiny_run, tmp_path / "w", config=seg) == 2
    assert "not an mmdet detector" in one_line_error(capsys)
    assert not (tmp_path / "w").exists()


def test_a_detection_config_is_refused_by_certify_seg(tiny_run, tmp_path, capsys, no_forward):
    from adcert.cli.certify_seg import cli as seg_cli

    det = _inherit(tmp_path, CONFIG, "det.py")
    root, checkpoint, options = tiny_run
    assert seg_cli([det, checkpoint, "--work-dir", str(tmp_path / "w"), "--n0", "2", "--n",
                    "4", "--cfg-options", *options]) == 2
    assert "not an mmseg segmentor" in one_line_error(capsys)
    assert not (tmp_path / "w").exists()


@pytest.mark.parametrize("text, message", [
    ("test_dataloader = None", "`test_dataloader` must be a dict"),
    ("test_dataloader = dict(dataset=3)", "`test_dataloader.dataset` must be a dict"),
    ("test_dataloader = dict(dataset=dict(pipeline=None))",
     "`test_dataloader.dataset.pipeline` must be a list"),
])
def test_a_config_without_usable_test_data(tiny_run, tmp_path, capsys, no_forward, text,
                                           message):
    config = tmp_path / "odd.py"
    config.write_text(f"_base_ = [{CONFIG!r}]\n{text}\n")
    assert cli([str(config), tiny_run[1], "--work-dir", str(tmp_path / "w"), "--n", "4",
                "--images", str(frames_folder(tiny_run))]) == 2
    assert message in one_line_error(capsys)
    assert not (tmp_path / "w").exists()


@pytest.mark.parametrize("extra, message", [
    (["--cfg-options", "model.backbone.out_indices=[1,2"], "unbalanced bracket"),
    (["--cfg-options", "certify.score_thr=2"], "score_thr must lie in [0, 1]"),
    (["--score-thr", "-0.5"], "score_thr must lie in [0, 1]"),
])
def test_bad_config_values_are_one_line(tiny_run, tmp_path, capsys, no_forward, extra,
                                        message):
    assert certify(tiny_run, tmp_path / "w", *extra) == 2
    assert message in one_line_error(capsys)
    assert not (tmp_path / "w").exists() or not os.listdir(tmp_path / "w")


def test_a_config_cannot_end_the_run_with_success(tiny_run, tmp_path, capsys, no_forward):
    config = tmp_path / "exits.py"
    config.write_text(f"_base_ = [{CONFIG!r}]\nimport sys\nsys.exit(0)\n")
    assert certify(tiny_run, tmp_path / "w", config=str(config)) == 2
    assert "tried to exit" in one_line_error(capsys)


@pytest.mark.parametrize("text, message", [
    ("requirements = [3]", "requirement 1: must be a dict, got int"),
    ("requirements = ['DET-1']", "requirement 1: must be a dict, got str"),
    ("import sys\nsys.exit(0)\nrequirements = []", "tried to exit"),
])
def test_report_requirements_that_are_not_dicts(tmp_path, capsys, text, message):
    from adcert.cli.report import cli as report_cli

    requirements = tmp_path / "req.py"
    requirements.write_text(text + "\n")
    assert report_cli([str(tmp_path), "--requirements", str(requirements), "--out",
                       str(tmp_path / "report")]) == 2
    assert message in one_line_error(capsys)
    assert not (tmp_path / "report").exists()


def test_a_truncated_video_says_how_many_frames_it_claimed(tiny_run, tmp_path, capsys,
                                                           no_forward):
    import cv2

    clip = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 5, (128, 64))
    for path in sorted(frames_folder(tiny_run).glob("*.png")) * 2:
        writer.write(cv2.imread(str(path)))
    writer.release()
    data = clip.read_bytes()
    clip.write_bytes(data[:len(data) * 6 // 10])  # the index and the last frames cut off
    assert certify(tiny_run, tmp_path / "w", "--images", str(clip)) == 2
    line = one_line_error(capsys)
    assert "claims 4 frames but only" in line and "--max-images" in line


def _image_folder(tiny_run, tmp_path):
    import shutil

    folder = tmp_path / "images"
    shutil.copytree(frames_folder(tiny_run), folder)
    return folder


def test_a_file_name_that_is_not_utf8_is_refused_while_listing(tiny_run, tmp_path, capsys,
                                                               no_forward):
    folder = _image_folder(tiny_run, tmp_path)
    first = sorted(folder.iterdir())[0]
    with open(os.path.join(os.fsencode(folder), b"z\xff.png"), "wb") as f:
        f.write(first.read_bytes())
    assert certify(tiny_run, tmp_path / "w", "--images", str(folder)) == 2
    assert "not valid UTF-8" in one_line_error(capsys)


def test_a_named_pipe_among_the_frames_is_refused(tiny_run, tmp_path, capsys, no_forward):
    folder = _image_folder(tiny_run, tmp_path)
    os.mkfifo(folder / "pipe.png")
    assert certify(tiny_run, tmp_path / "w", "--images", str(folder)) == 2
    assert "pipe.png is not a regular file" in one_line_error(capsys)


def _read_only_place() -> str | None:
    """A folder no one may write in, root included (where the machine has one)."""
    import tempfile

    for folder in ("/sys", "/proc"):
        if os.path.isdir(folder):
            try:
                os.close(tempfile.mkstemp(dir=folder)[0])
            except OSError:
                return folder
    return None


@pytest.mark.skipif(_read_only_place() is None, reason="no read-only folder here")
@pytest.mark.parametrize("flag, name", [("--out", "adcert.jsonl"),
                                        ("--show-dir", "adcert_show/deeper")])
def test_outputs_that_cannot_be_written_are_refused_first(tiny_run, tmp_path, capsys,
                                                          no_forward, flag, name):
    target = os.path.join(_read_only_place(), name)
    assert certify(tiny_run, tmp_path / "w", flag, target) == 2
    assert f"{flag} {target}: cannot write" in one_line_error(capsys)
    assert not (tmp_path / "w").exists() or not os.listdir(tmp_path / "w")


def test_a_checkpoint_of_nan_weights_is_refused(tiny_run, tmp_path, capsys, no_forward):
    state = torch.load(tiny_run[1], weights_only=True)
    state["state_dict"] = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v
                           for k, v in state["state_dict"].items()}
    path = tmp_path / "nan.pth"
    torch.save(state, path)
    assert certify(tiny_run, tmp_path / "w", checkpoint=str(path)) == 2
    assert "not finite" in one_line_error(capsys)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_amp_on_cpu_is_refused(tiny_run, tmp_path, capsys, no_forward):
    assert certify(tiny_run, tmp_path / "w", "--amp", "--device", "cpu") == 2
    assert "--amp needs CUDA" in one_line_error(capsys)


def test_a_symlinked_sub_folder_is_followed(tiny_run, tmp_path, capsys):
    first, second = sorted(frames_folder(tiny_run).glob("*.png"))
    folder, elsewhere = tmp_path / "images", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    (folder / "a.png").write_bytes(first.read_bytes())
    (elsewhere / "b.png").write_bytes(second.read_bytes())
    (folder / "linked").symlink_to(elsewhere, target_is_directory=True)
    assert certify(tiny_run, tmp_path / "w", "--images", str(folder), "--n", "2") == 0
    _, records = results_of(capsys)
    assert [r["image_id"] for r in records] == ["a.png", "linked/b.png"]


def test_a_folder_that_links_back_to_itself_is_refused(tiny_run, tmp_path, capsys, no_forward):
    folder = _image_folder(tiny_run, tmp_path)
    (folder / "loop").symlink_to(folder, target_is_directory=True)
    assert certify(tiny_run, tmp_path / "w", "--images", str(folder)) == 2
    assert "links back to" in one_line_error(capsys)


def test_a_single_image_is_accepted(tiny_run, tmp_path, capsys):
    image = sorted(frames_folder(tiny_run).glob("*.png"))[0]
    assert certify(tiny_run, tmp_path / "w", "--images", str(image), "--n", "2") == 0
    _, records = results_of(capsys)
    assert [r["image_id"] for r in records] == [image.name]


def test_a_file_that_is_neither_image_nor_video_is_refused(tiny_run, tmp_path, capsys,
                                                           no_forward):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    assert certify(tiny_run, tmp_path / "w", "--images", str(notes)) == 2
    assert "neither an image folder, an image nor a video" in one_line_error(capsys)


def _safetensors_checkpoint(tiny_run, tmp_path) -> str:
    safetensors = pytest.importorskip("safetensors.torch")
    state = torch.load(tiny_run[1], weights_only=True)["state_dict"]
    path = str(tmp_path / "model.safetensors")
    safetensors.save_file({k: v.clone() for k, v in state.items()}, path)  # unshared
    return path


def test_a_safetensors_checkpoint_is_read(tiny_run, tmp_path, capsys):
    path = _safetensors_checkpoint(tiny_run, tmp_path)
    assert certify(tiny_run, tmp_path / "w", "--max-images", "1", "--n", "2",
                   checkpoint=path) == 0
    _, records = results_of(capsys)
    assert len(records) == 1


def test_a_safetensors_checkpoint_without_the_package_names_it(tiny_run, tmp_path, capsys,
                                                               monkeypatch, no_forward):
    import sys

    path = _safetensors_checkpoint(tiny_run, tmp_path)
    monkeypatch.setitem(sys.modules, "safetensors", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "safetensors.torch", None)
    assert certify(tiny_run, tmp_path / "w", checkpoint=path) == 2
    line = one_line_error(capsys)
    assert "pip install safetensors" in line and "corrupt" not in line


def test_a_run_that_fails_before_its_first_frame_leaves_nothing_to_resume(tiny_run, tmp_path,
                                                                          capsys, no_forward):
    folder = _image_folder(tiny_run, tmp_path)
    sorted(folder.iterdir())[0].write_bytes(b"not a png")
    work = tmp_path / "w"
    assert certify(tiny_run, work, "--images", str(folder)) == 2
    assert "cannot load frame" in one_line_error(capsys)
    assert not work.exists() or not os.listdir(work)
    assert certify(tiny_run, work, "--images", str(folder), "--resume") == 2
    assert "no run to resume" in one_line_error(capsys)
