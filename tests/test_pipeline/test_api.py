"""The Python API, through the README's own example (run as written, on generated frames)."""

import os
import re
import subprocess
import sys

import pytest

pytest.importorskip("mmdet")
pytest.importorskip("mmseg")

from adcert.datasets import write_split  # noqa: E402

from ..helpers import REPO  # noqa: E402


def readme_example() -> str:
    text = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    section = text[text.index("### Python API"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_example_runs(tmp_path):
    write_split(str(tmp_path / "data"), "val", [71], height=64, width=128)
    code = (readme_example()
            .replace('"data/demo/"', repr(str(tmp_path / "data") + "/"))
            .replace('"work_dirs/api"', repr(str(tmp_path / "api"))))
    code += ("\nassert len(run.records) == 1 and os.path.isfile(run.summary_path)"
             "\nassert cert.labels.shape == (64, 128)\n")
    done = subprocess.run([sys.executable, "-c", "import os\n" + code], cwd=REPO,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert done.returncode == 0, done.stderr[-3000:]


def test_settings_of_the_wrong_task_are_refused():
    from adcert.pipeline import certify_dataset
    from adcert.pipeline.api import _task

    with pytest.raises(ValueError, match="DetSettings or SegSettings"):
        _task({"n": 3})
    with pytest.raises(ValueError, match="DetSettings or SegSettings"):
        certify_dataset("c.py", "m.pth", object())
