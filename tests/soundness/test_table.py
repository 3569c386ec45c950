"""tools/soundness_table.py turns the harness's JSON lines into the README's table."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from tests.soundness.harness import SoundnessResult, assert_sound

TOOL = Path(__file__).resolve().parents[2] / "tools" / "soundness_table.py"


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("soundness_table", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_table_marks_sound_unsound_and_broken_rows(tool, tmp_path, monkeypatch, capsys):
    log = tmp_path / "sound.jsonl"
    monkeypatch.setenv("ADCERT_SOUNDNESS_LOG", str(log))
    assert_sound("good", 5, 1000, 0.1)
    with pytest.raises(AssertionError):
        assert_sound("bad", 200, 1000, 0.1)
    with pytest.raises(AssertionError):
        assert_sound("broken: no correction", 900, 1000, 0.1)
    assert_sound("good", 6, 1000, 0.1)  # a second run of the same check: the last wins
    assert_sound("good", 30, 1000, 0.2)  # the same name at another α: its own row
    capsys.readouterr()
    assert tool.main([str(log)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("| certifier | α | trials | wrong |") and len(out) == 6
    good, bad, good_02, broken = out[2:]
    assert good.startswith("| good | 0.1 | 1000 | 6 | 0.0060 |") and good.endswith("| sound |")
    assert good_02.startswith("| good | 0.2 | 1000 | 30 |")
    assert bad.endswith("| **UNSOUND** |")
    lower = SoundnessResult("x", 0.1, 1000, 900).lower
    assert f"| {lower:.4f} | caught |" in broken


def test_empty_log_is_an_error(tool, tmp_path):
    log = tmp_path / "empty.jsonl"
    log.write_text("\n")
    assert tool.main([str(log)]) == 1


def test_numpy_counts_are_logged_as_plain_numbers(tmp_path, monkeypatch):
    log = tmp_path / "sound.jsonl"
    monkeypatch.setenv("ADCERT_SOUNDNESS_LOG", str(log))
    assert_sound("numpy", np.int64(3), np.int64(1000), np.float64(0.1))
    record = json.loads(log.read_text())
    assert record["wrong"] == 3 and record["trials"] == 1000 and record["alpha"] == 0.1
