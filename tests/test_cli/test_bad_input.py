"""Bad input never gives a traceback: one line naming the problem, exit status 2, and no
output that looks complete. Nothing the user owns is overwritten."""

import importlib.util
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
    folder = tiny_run[0] / "data" / "leftImg8bit" / "val" / "synthtown"
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
