"""The README's Python API, run as written: its ```python blocks run in order in one fresh
interpreter, and each must print exactly the ```text block that follows it.

The blocks read the demo's first test frame from ``data/demo/``; the test writes that frame
with ``tools/make_demo_data.py`` (seed 0, as ``make demo`` does) into a temporary data root
and points the blocks there. A frame's noise is keyed by its path relative to the data
root, so the figures are the ones the README's reader gets after ``make demo``.
"""

import json
import os
import re
import subprocess
import sys

import pytest

from .helpers import REPO

README = os.path.join(REPO, "README.md")
# A python block and, right after it (only blank lines between), the text block it prints.
BLOCK = re.compile(r"^```python\n(.*?)^```\n(?:\s*^```text\n(.*?)^```$)?", re.S | re.M)

# Runs the blocks in one namespace; only what the blocks themselves print is compared
# (logs of the run engine go to the real stdout and stderr).
RUNNER = r"""
import io, json, sys

blocks, out = json.load(open(sys.argv[1], encoding="utf-8")), sys.argv[2]
namespace, printed = {"__name__": "__readme__"}, []
for number, code in enumerate(blocks, 1):
    buffer = io.StringIO()
    namespace["print"] = lambda *args, _buffer=buffer, **kwargs: print(
        *args, **{**kwargs, "file": _buffer})
    exec(compile(code, f"README.md python block {number}", "exec"), namespace)
    printed.append(buffer.getvalue())
json.dump(printed, open(out, "w", encoding="utf-8"))
"""


def readme_blocks() -> list[tuple[str, str | None]]:
    """(code, expected output or None) of every python block of the README, in order."""
    text = open(README, encoding="utf-8").read()
    return [(match.group(1), match.group(2)) for match in BLOCK.finditer(text)]


def test_every_python_block_shows_its_output():
    blocks = readme_blocks()
    assert blocks, "the README has no ```python block"
    missing = [code.splitlines()[0] for code, expected in blocks if not expected]
    assert missing == [], f"python blocks without a ```text block of their output: {missing}"


def test_python_blocks_print_what_the_readme_shows(tmp_path):
    pytest.importorskip("mmdet")
    pytest.importorskip("mmseg")
    data = tmp_path / "data"
    subprocess.run([sys.executable, os.path.join(REPO, "tools", "make_demo_data.py"),
                    "--out", str(data), "--train", "0", "--val", "0", "--test", "1",
                    "--sequence", "0", "--seed", "0"], check=True, capture_output=True)
    blocks = readme_blocks()
    assert any('"data/demo/"' in code for code, _ in blocks), "no block reads data/demo/"
    codes = [code.replace('"data/demo/"', repr(str(data) + "/"))
             .replace('"work_dirs/', f'"{tmp_path / "work_dirs"}/')
             for code, _ in blocks]
    (tmp_path / "blocks.json").write_text(json.dumps(codes), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(tmp_path / "blocks.json"),
         str(tmp_path / "printed.json")],
        cwd=REPO, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert done.returncode == 0, done.stderr[-3000:]
    printed = json.loads((tmp_path / "printed.json").read_text(encoding="utf-8"))
    for number, ((_, expected), got) in enumerate(zip(blocks, printed, strict=True), 1):
        assert got == expected, f"python block {number} of README.md printed:\n{got}"
