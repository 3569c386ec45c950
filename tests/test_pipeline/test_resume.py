"""Streaming and resume: a run killed with SIGKILL part-way and resumed (with another
world size too) ends with the records of an uninterrupted run; SIGINT stops cleanly with
every finished frame kept.

No test here depends on timing: each stop is raised from inside the run, right after a
known number of frames reached its journal (``stop_at_frame.py``), never by a signal sent
from outside while the run races on.
"""

import json
import os
import signal
import subprocess
import sys

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
    write_split(str(root / "data"), "test", list(range(51, 51 + FRAMES)), height=64, width=128)
    return root / "data"


STOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stop_at_frame.py")


def flags(data, work_dir, *extra) -> list[str]:
    return [CONFIG, CHECKPOINT, "--work-dir", str(work_dir), "--n", "8", "--eps", "0.1",
            "--seed", "5", "--batch-size", "4", *extra, "--cfg-options",
            f"test_dataloader.dataset.data_root={data}",
            "test_dataloader.dataset.pipeline.1.scale=(128,64)"]


def command(data, work_dir, *extra) -> list[str]:
    return [sys.executable, os.path.join(REPO, "tools", "certify_det.py"),
            *flags(data, work_dir, *extra)]


def stopping(signal_name: str, frames: int, data, work_dir, *extra,
             ranks: int = 1) -> list[str]:
    """The run of :func:`command`, on ``ranks`` processes, each of which raises
    ``signal_name`` in itself right after journaling its ``frames``-th frame."""
    tool = [STOP, signal_name, str(frames), "det"]
    if ranks == 1:
        return [sys.executable, *tool, *flags(data, work_dir, *extra)]
    config, checkpoint, *rest = flags(data, work_dir, *extra)
    return [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--node_rank=0",
            "--master_addr=127.0.0.1", f"--master_port={ENV['PORT']}",
            f"--nproc_per_node={ranks}", "--", *tool, config, checkpoint,
            "--launcher", "pytorch", *rest]


# PYTHONPATH: every child imports this checkout's adcert, as the tests do.
ENV = {**os.environ, "PYTHON": sys.executable, "PORT": "29541", "OMP_NUM_THREADS": "1",
       "PYTHONWARNINGS": "ignore",
       "PYTHONPATH": os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")]))}


def finish(cmd) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def run_dirs(work_dir) -> list[str]:
    return sorted(str(p.parent) for p in work_dir.glob("*/run.json"))


def killed(cmd) -> int:
    """Run ``cmd`` (which kills itself) to its end; returns its exit status. Its process
    group is cleared afterwards in case a launcher left a worker behind."""
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=ENV, start_new_session=True)
    try:
        return process.wait(timeout=300)
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
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

    work = tmp_path / "killed"
    assert killed(stopping("SIGKILL", 2, data, work)) == -signal.SIGKILL
    (run,) = run_dirs(work)
    assert not os.path.exists(os.path.join(run, "summary.json"))
    first = len(read_run(run))
    assert first == 2
    # A torn last line, as a kill inside a write leaves it, is detected and redone.
    with open(os.path.join(run, "records", "rank0.jsonl"), "ab") as f:
        f.write(b'{"index": 5, "record": {"image_id": "x"')
    # Resume on two ranks, each killed after one more frame (rank 1 perhaps earlier, by
    # the launcher), then finish on one rank.
    assert killed(stopping("SIGKILL", 1, data, work, "--resume", ranks=2)) != 0
    assert first < len(read_run(run)) <= first + 2
    done = finish(command(data, work, "--resume", run))
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
    done = subprocess.run(stopping("SIGINT", 1, data, work), capture_output=True, text=True,
                          env=ENV, timeout=300)
    err = done.stderr
    assert done.returncode == 130, err[-2000:]
    lines = [line for line in err.splitlines() if not line.startswith("warning:")]
    assert len(lines) == 1 and lines[0].startswith("interrupted:") and "Traceback" not in err
    (run,) = run_dirs(work)
    assert len(read_run(run)) == 1 and f"1 of {FRAMES} frames" in err
    assert not os.path.exists(os.path.join(run, "summary.json"))
    assert not os.path.exists(os.path.join(run, "results.jsonl"))
    argv = flags(data, work, "--resume")
    assert cli(argv) == 0
    assert len(records(run)) == FRAMES


def test_resume_with_other_settings_is_a_one_line_error(data, tmp_path, capsys):
    from adcert.cli.certify_det import cli

    work = tmp_path / "mismatch"
    argv = flags(data, work, "--max-images", "1")
    assert cli(argv) == 0
    capsys.readouterr()
    changed = [a if a != "8" else "9" for a in argv]  # --n 8 → --n 9
    assert cli([*changed, "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --resume: settings.n is 9 here but 8") and err.count("\n") == 1
    # Kernels may round differently at another batch size (docs/certificates.md §8): a
    # resume must keep it, so that a run never mixes records of two batch sizes.
    assert cli([*argv, "--batch-size", "3", "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --resume: settings.batch_size is 3 here but 4")
    assert err.count("\n") == 1
    # The device noise path draws other values from the same law: no mixing either.
    assert cli([*argv, "--noise", "device", "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --resume: noise_path is 'device' here but 'host'")
    assert cli([*argv, "--resume", str(tmp_path / "nowhere")]) == 2
    assert "not a run folder" in capsys.readouterr().err


def test_device_noise_path_runs_on_the_cpu_and_names_itself(data, tmp_path, capsys):
    from adcert.cli.certify_det import cli

    assert cli(flags(data, tmp_path / "device", "--max-images", "1", "--noise", "device")) == 0
    (record,) = records(next((tmp_path / "device").iterdir()))
    noise = record["provenance"]["noise"]
    assert noise["path"] == "device" and noise["generator"].startswith("Philox4x32-10")
    # Where the cut tail could matter against alpha, the device path refuses the frame.
    capsys.readouterr()
    assert cli(flags(data, tmp_path / "reach", "--max-images", "1", "--noise", "device",
                     "--alpha", "1e-13")) == 2
    (error,) = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert error.startswith("error: 8 copies of 24576 values exceed the device noise path's")
