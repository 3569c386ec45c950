"""tools/test.py: the base model through the config's evaluator, clean and under noise."""

import importlib.util
import json
import os

import pytest

from ..helpers import REPO, tiny_demo_run

CONFIG = os.path.join(REPO, "configs", "demo", "fpn_mnv2_demo.py")


def _tool():
    spec = importlib.util.spec_from_file_location("adcert_test_tool",
                                                  os.path.join(REPO, "tools", "test.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return tiny_demo_run(tmp_path_factory.mktemp("test_tool"), CONFIG, "mmseg", [21])


@pytest.mark.parametrize("noise", [[], ["--noise-sigma", "0.25"]])
def test_prints_the_evaluator_metrics(tiny_run, noise, capsys):
    root, checkpoint, options = tiny_run
    assert _tool().main([CONFIG, checkpoint, "--work-dir", str(root / "out"), *noise,
                         "--cfg-options", *options]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    metrics = json.loads(line.removeprefix("metrics: "))
    assert 0.0 <= metrics["mIoU"] <= 100.0 and 0.0 <= metrics["aAcc"] <= 100.0


def test_missing_checkpoint_is_a_one_line_error(capsys):
    tool = _tool()
    assert tool.run_main(tool.main, [CONFIG, "no/such.pth"]) == 2
    assert capsys.readouterr().err == "error: file not found: no/such.pth\n"
