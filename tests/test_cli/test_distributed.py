"""Two CPU ranks (torchrun + gloo) certify each frame exactly once, as one process does."""

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("mmdet")

from adcert.datasets import write_split  # noqa: E402

from ..helpers import REPO  # noqa: E402

CONFIG = os.path.join(REPO, "configs", "demo", "rtmdet_mnv2_demo.py")
CHECKPOINT = os.path.join(REPO, "data", "demo", "checkpoints", "rtmdet_mnv2_demo.pth")
SCRIPT = os.path.join(REPO, "tools", "dist_certify.sh")


def certify(data_root, out, processes):
    flags = [CONFIG, CHECKPOINT, "--work-dir", str(out), "--n", "6", "--eps", "0.1",
             "--seed", "3", "--cfg-options", f"test_dataloader.dataset.data_root={data_root}"]
    if processes == 1:
        command = [sys.executable, os.path.join(REPO, "tools", "certify_det.py"), *flags]
    else:
        command = ["bash", SCRIPT, "det", flags[0], flags[1], str(processes), *flags[2:]]
    env = {**os.environ, "PYTHON": sys.executable, "PORT": "29533", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    results = done.stdout.split("results: ")[1].split()[0]
    return [json.loads(line) for line in open(results)]


def test_two_ranks_certify_every_frame_once_with_single_process_results(tmp_path):
    write_split(str(tmp_path / "data"), "test", [41, 42, 43])
    single = certify(tmp_path / "data", tmp_path / "single", 1)
    double = certify(tmp_path / "data", tmp_path / "double", 2)
    assert [r["image_id"] for r in double] == [r["image_id"] for r in single]
    assert len({r["image_id"] for r in double}) == 3
    assert sum(len(r["boxes"]) for r in single) > 0  # something noise-dependent to compare
    for one, two in zip(single, double, strict=True):
        # Noise is seeded per (run seed, image id): the rank that drew it does not matter.
        assert one["boxes"] == two["boxes"]
