"""The embedded demo behind ``make demo``: generated driving scenes, the committed
noise-trained demo models, certification, drawings and a video — offline, on a CPU.

Steps (each one the tool a user would run by hand, so the demo shows the real commands):
1. ``tools/make_demo_data.py``: the demo test split (frames no choice of model or design
   looked at) and a frame sequence (deterministic);
2. ``tools/certify_det.py``: RTMDet on MobileNetV2, median smoothing, α = 1e-5 per box,
   on the first test frames;
3. ``tools/certify_seg.py``: Semantic FPN, τ-abstain, on the same frames;
4. both tools on the sequence, then ``tools/visualize.py --video`` on each run (class
   names and colours from the run's summary);
5. camera effects on the first frames: the segmenter smoothed over brightness, the
   detector over gamma;
6. denoised smoothing on the first frames: the clean-trained segmenter behind its
   stability denoiser (``--denoiser``), the answer for checkpoints trained without noise;
7. ``tools/report.py``: the safety case of the test-frame runs against
   ``configs/report/demo.py`` (``report.json`` + ``report.html``).
Certificates are about the smoothed models, never the base models' raw outputs.
"""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DET_CONFIG = os.path.join(REPO, "configs", "demo", "rtmdet_mnv2_demo.py")
SEG_CONFIG = os.path.join(REPO, "configs", "demo", "fpn_mnv2_demo.py")
CHECKPOINTS = os.path.join(REPO, "data", "demo", "checkpoints")
DET_CHECKPOINT = os.path.join(CHECKPOINTS, "rtmdet_mnv2_demo.pth")
SEG_CHECKPOINT = os.path.join(CHECKPOINTS, "fpn_mnv2_demo.pth")
SEG_CLEAN_CHECKPOINT = os.path.join(CHECKPOINTS, "fpn_mnv2_demo_clean.pth")
SEG_DENOISER = (os.path.join(REPO, "configs", "denoiser", "conv_demo_stab_seg.py"),
                os.path.join(CHECKPOINTS, "conv_denoiser_demo_stab_seg.pth"))
REQUIREMENTS = os.path.join(REPO, "configs", "report", "demo.py")
# α per box of the detection runs the report argues from: a run's failure bound adds α per
# box (and bin) over its frames, and the report's verdicts add those of every run and ε
# they read; at 1e-3 per box 8 frames alone would use up the 0.05 a 0.95 confidence allows.
DET_ALPHA = "1e-5"


@dataclass(frozen=True)
class DemoSettings:
    work_dir: str = "work_dirs/demo"
    data_root: str = "data/demo"
    frames: int = 8  # test frames certified per task
    sequence: int = 6  # frames of the video sequence (the demo stays ≤ 12 min on 2 cores)
    seed: int | None = None  # run seed; OS entropy when None
    effect_frames: int = 2  # test frames certified against each camera effect


def _run(step: str, main: Callable[[list[str]], int], argv: list[str]) -> None:
    """Print the step and its command line, run it, and raise if it fails."""
    start = time.perf_counter()
    print(f"\n== {step}\n   {' '.join(argv)}", flush=True)
    status = main(argv)
    if status != 0:
        raise RuntimeError(f"{step} failed with exit status {status}")
    print(f"   ({time.perf_counter() - start:.0f} s)", flush=True)


def latest_run(work_dir: str) -> str:
    """The newest finished run folder (``<work_dir>/<timestamp>/`` with a summary)."""
    runs = sorted(glob.glob(os.path.join(glob.escape(work_dir), "*", "summary.json")))
    if not runs:
        raise FileNotFoundError(f"no finished run under {work_dir}")
    return os.path.dirname(runs[-1])


def run_demo(s: DemoSettings) -> None:
    """Run every step; raises on the first failing one (its own error already printed)."""
    from adcert.cli import certify_det, certify_seg, report, visualize
    from adcert.datasets import demo_data

    for path in (DET_CHECKPOINT, SEG_CHECKPOINT, SEG_CLEAN_CHECKPOINT, SEG_DENOISER[1]):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"demo checkpoint missing: {path}")
    seed = [] if s.seed is None else ["--seed", str(s.seed)]
    root = s.data_root.rstrip("/") + "/"
    _run("generate the demo scenes", demo_data.main,
         ["--out", s.data_root, "--train", "0", "--val", "0", "--test", "60",
          "--sequence", str(s.sequence)])
    det_dir, seg_dir = os.path.join(s.work_dir, "det"), os.path.join(s.work_dir, "seg")
    _run("certify the detector (median smoothing, sort-and-bin)", certify_det.cli,
         [DET_CONFIG, DET_CHECKPOINT, "--work-dir", det_dir, "--max-images", str(s.frames),
          "--alpha", DET_ALPHA, "--show-dir", os.path.join(det_dir, "show"), *seed,
          "--cfg-options", f"test_dataloader.dataset.data_root={root}"])
    _run("certify the segmenter (tau-abstain, Holm)", certify_seg.cli,
         [SEG_CONFIG, SEG_CHECKPOINT, "--work-dir", seg_dir, "--max-images", str(s.frames),
          "--show-dir", os.path.join(seg_dir, "show"), *seed,
          "--cfg-options", f"test_dataloader.dataset.data_root={root}"])
    video_dir = os.path.join(s.work_dir, "video")
    _run("certify the detector on the frame sequence", certify_det.cli,
         [DET_CONFIG, DET_CHECKPOINT, "--work-dir", os.path.join(video_dir, "det"), *seed,
          "--cfg-options", f"test_dataloader.dataset.data_root={root}",
          "test_dataloader.dataset.ann_file=annotations/sequence_demo.json",
          "test_dataloader.dataset.data_prefix.img=sequences/demo/"])
    _run("certify the segmenter on the frame sequence, down to Cityscapes' categories "
         "where a class is unstable", certify_seg.cli,
         [SEG_CONFIG, SEG_CHECKPOINT, "--work-dir", os.path.join(video_dir, "seg"), *seed,
          "--hierarchy", "cityscapes",
          "--cfg-options", f"test_dataloader.dataset.data_root={root}",
          "test_dataloader.dataset.data_prefix.img_path=sequences/demo",
          "test_dataloader.dataset.data_prefix.seg_map_path=sequences_gtFine/demo",
          "test_dataloader.dataset.img_suffix=.png"])
    for task in ("det", "seg"):
        results = os.path.join(latest_run(os.path.join(video_dir, task)), "results.jsonl")
        _run(f"render the {task} sequence video", visualize.cli,
             [results, "--out-dir", os.path.join(video_dir, f"{task}_frames"),
              "--video", os.path.join(video_dir, f"{task}_sequence.mp4"), "--fps", "3"])
    effects = os.path.join(s.work_dir, "effects")
    data = ["--cfg-options", f"test_dataloader.dataset.data_root={root}"]
    frames = ["--max-images", str(min(s.effect_frames, s.frames))]
    _run("certify the segmenter against brightness changes", certify_seg.cli,
         [SEG_CONFIG, SEG_CHECKPOINT, "--work-dir", os.path.join(effects, "seg_brightness"),
          "--transform", "brightness", "--sigma", "0.2", *frames, *seed, *data])
    _run("certify the detector against gamma changes", certify_det.cli,
         [DET_CONFIG, DET_CHECKPOINT, "--work-dir", os.path.join(effects, "det_gamma"),
          "--transform", "gamma", "--sigma", "0.85", "--eps", "0.1", "--alpha", DET_ALPHA,
          *frames, *seed, *data])
    denoised = os.path.join(s.work_dir, "denoised", "seg_clean_stab")
    _run("certify the clean-trained segmenter behind its stability denoiser", certify_seg.cli,
         [SEG_CONFIG, SEG_CLEAN_CHECKPOINT, "--denoiser", *SEG_DENOISER, "--work-dir", denoised,
          *frames, *seed, *data])
    report_dir = os.path.join(s.work_dir, "report")
    _run("write the safety-case report", report.cli,
         [latest_run(det_dir), latest_run(seg_dir),
          latest_run(os.path.join(effects, "seg_brightness")),
          latest_run(os.path.join(effects, "det_gamma")), latest_run(denoised),
          "--requirements", REQUIREMENTS, "--out", report_dir])
    print(f"\ndemo outputs under {s.work_dir}/: det/ and seg/ (results.jsonl, summary.json, "
          f"show/ drawings), video/det_sequence.mp4 (certified objects per frame) and "
          f"video/seg_sequence.mp4 (hierarchical: hatched pixels certified only as a "
          f"category), effects/ (camera-effect runs), denoised/ (clean-trained segmenter "
          f"behind its denoiser)\n"
          f"safety-case report: {os.path.join(report_dir, 'report.html')}")
