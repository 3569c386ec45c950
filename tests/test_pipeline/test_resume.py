"""Streaming and resume: a run killed with SIGKILL at random points and resumed (with
another world size too) ends with the records of an uninterrupted run; SIGINT stops
cleanly with every finished frame kept."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("mmdet")

from adcert.datasets import write_split  # noqa: E402
from adcert.pipeline.journal import read_run  # noqa: E402

from ..helpers import REPO  # noqa: E402

CONFIG = os.path.join(REPO, "configs", "demo", "rtmdet_mnv2_demo.py")
CHECKPOINT = os.path.join(REPO, "data", "demo", "checkpoints", "rtmdet_mnv2_demo.pth")
TIMING = {"time_s"}  # the only fields allowed to differ between runs
FRAMES = 6


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume")
    write_split(str(root / "data"), "val", list(range(51, 51 + FRAMES)), height=64, width=128)
    return root / "data"


def command(data, work_dir, ranks: int = 1, *extra) -> list[str]:
    flags = [CONFIG, CHECKPOINT, "--work-dir", str(work_dir), "--n", "8", "--eps", "0.1",
             "--seed", "5", "--batch-size", "4", *extra, "--cfg-options",
             f"test_dataloader.dataset.data_root={data}",
             "test_dataloader.dataset.pipeline.1.scale=(128,64)"]
    if ranks == 1:
        return [sys.executable, os.path.join(REPO, "tools", "certify_det.py"), *flags]
    return ["bash", os.path.join(REPO, "tools", "dist_certify.sh"), "det", flags[0], flags[1],
            str(ranks), *flags[2:]]


ENV = {**os.environ, "PYTHON": sys.executable, "PORT": "29541", "OMP_NUM_THREADS": "1",
       "PYTHONWARNINGS": "ignore"}


def finish(cmd) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def run_dirs(work_dir) -> list[str]:
    return sorted(str(p.parent) for p in work_dir.glob("*/run.json"))


def kill_after(cmd, work_dir, frames_done: int, delay: float) -> None:
    """Start ``cmd``, SIGKILL its process group ``delay`` s after the run has
    ``frames_done`` finished frames in its journals (or when it exits first)."""
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=ENV, start_new_session=True)
    deadline = time.monotonic() + 240
    try:
        while process.poll() is None and time.monotonic() < deadline:
            runs = run_dirs(work_dir)
            if runs and len(read_run(runs[-1])) >= frames_done:
                time.sleep(delay)
                break
            time.sleep(0.05)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def records(run_dir) -> list[dict]:
    with open(os.path.join(run_dir, "results.jsonl")) as f:
        return [{k: v for k, v in json.loads(line).items() if k not in TIMING} for line in f]


def summary_figures(run_dir) -> dict:
    summary = json.load(open(os.path.join(run_dir, "summary.json")))
    return {k: summary[k] for k in ("frames", "clean_ap50", "smoothed_ap50", "certified_ap50",
                                    "certified_recall", "settings")}


def test_killed_and_resumed_runs_equal_an_uninterrupted_one(data, tmp_path):
    reference = tmp_path / "reference"
    finish(command(data, reference))
    (expected_dir,) = run_dirs(reference)
    expected = records(expected_dir)
    assert len(expected) == FRAMES and sum(len(r["boxes"]) for r in expected) > 0

    rng = random.Random(0)
    work = tmp_path / "killed"
    kill_after(command(data, work), work, rng.randint(1, 2), rng.uniform(0.0, 0.3))
    (run,) = run_dirs(work)
    assert not os.path.exists(os.path.join(run, "summary.json"))
    first = len(read_run(run))
    assert 1 <= first < FRAMES
    # A torn last line, as a kill inside a write leaves it, is detected and redone.
    with open(os.path.join(run, "records", "rank0.jsonl"), "ab") as f:
        f.write(b'{"index": 5, "record": {"image_id": "x"')
    # Resume on two ranks, killed again, then finish on one rank.
    kill_after(command(data, work, 2, "--resume"), work, first + 1, rng.uniform(0.0, 0.3))
    assert len(read_run(run)) > first
    done = finish(command(data, work, 1, "--resume", run))
    assert f"results: {run}/results.jsonl" in done.stdout
    assert run_dirs(work) == [run]  # resumed in place, no second run folder
    got = records(run)
    differ = [(i, k) for i, (a, b) in enumerate(zip(got, expected, strict=True))
              for k in set(a) | set(b) if a.get(k) != b.get(k)]
    assert not differ, differ[:5]
    assert summary_figures(run) == summary_figures(expected_dir)


def test_sigint_keeps_finished_frames_and_resume_completes(data, tmp_path, capsys):
    from adcert.cli.certify_det import cli

    work = tmp_path / "interrupted"
    process = subprocess.Popen(command(data, work), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        runs = run_dirs(work)
        if runs and len(read_run(runs[-1])) >= 1:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-2000:]
    lines = [line for line in err.splitlines() if not line.startswith("warning:")]
    assert len(lines) == 1 and lines[0].startswith("interrupted:") and "Traceback" not in err
    (run,) = run_dirs(work)
    kept = len(read_run(run))
    assert kept >= 1 and f"{kept} of {FRAMES} frames" in err
    assert not os.path.exists(os.path.join(run, "summary.json"))
    assert not os.path.exists(os.path.join(run, "results.jsonl"))
    argv = command(data, work, 1, "--resume")[2:]
    assert cli(argv) == 0
    assert len(records(run)) == FRAMES


def test_resume_with_other_settings_is_a_one_line_error(data, tmp_path, capsys):
    from adcert.cli.certify_det import cli

    work = tmp_path / "mismatch"
    argv = command(data, work, 1, "--max-images", "1")[2:]
    assert cli(argv) == 0
    capsys.readouterr()
    changed = [a if a != "8" else "9" for a in argv]  # --n 8 → --n 9
    assert cli([*changed, "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --resume: settings.n is 9 here but 8") and err.count("\n") == 1
    assert cli([*argv, "--resume", str(tmp_path / "nowhere")]) == 2
    assert "not a run folder" in capsys.readouterr().err
