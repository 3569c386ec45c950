"""Denoised smoothing on the demo: the clean-trained models with and without a denoiser
against the noise-trained ones, on the same frames, n, σ, α and seed.

    .venv/bin/python benchmarks/denoiser_table.py [--task seg|det|both] [--frames-seg 20]
        [--frames-det 30] [--seed 0] [--work-dir work_dirs/denoiser_table] [--out FILE.md]

Each row is one ``certify_dataset`` run (the API behind the command-line tools), so its
records and summary are evidence like any other run's; a row whose run folder already has
a ``summary.json`` is read, not recomputed. Segmentation: n0 = 20, n = 100, τ = 0.75,
α = 1e-3 (Holm). Detection: n = 100, α = 1e-3 per box, the demo's aggregation, certified
AP@50 read at ε = 0.1 and, from the same samples, at ε = 0.25.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys

CKPT = "data/demo/checkpoints"
MSE = ("configs/denoiser/conv_demo_mse.py", f"{CKPT}/conv_denoiser_demo_mse.pth")
ROWS = {
    "seg": [
        ("clean-trained, no denoiser", "fpn_mnv2_demo_clean", None),
        ("clean-trained + MSE denoiser", "fpn_mnv2_demo_clean", MSE),
        ("clean-trained + stability denoiser", "fpn_mnv2_demo_clean",
         ("configs/denoiser/conv_demo_stab_seg.py", f"{CKPT}/conv_denoiser_demo_stab_seg.pth")),
        ("noise-trained (σ = 0.25)", "fpn_mnv2_demo", None),
    ],
    "det": [
        ("clean-trained, no denoiser", "rtmdet_mnv2_demo_clean", None),
        ("clean-trained + MSE denoiser", "rtmdet_mnv2_demo_clean", MSE),
        ("clean-trained + stability denoiser", "rtmdet_mnv2_demo_clean",
         ("configs/denoiser/conv_demo_stab_det.py", f"{CKPT}/conv_denoiser_demo_stab_det.pth")),
        ("noise-trained (σ = 0.25)", "rtmdet_mnv2_demo", None),
    ],
}


def run_row(task: str, model: str, denoiser, frames: int, seed: int, work_dir: str) -> dict:
    """The row's summary: read from an earlier complete run, else certified now."""
    done = sorted(glob.glob(os.path.join(work_dir, "*", "summary.json")))
    if done:
        return json.load(open(done[-1]))
    from adcert.pipeline.api import certify_dataset
    from adcert.pipeline.settings import DetSettings, SegSettings

    settings = (SegSettings(sigma=0.25, tau=0.75, n0=20, n=100, alpha=1e-3, batch_size=8,
                            max_images=frames, seed=seed)
                if task == "seg" else
                DetSettings(sigma=0.25, eps=0.1, n=100, alpha=1e-3, batch_size=8,
                            max_images=frames, seed=seed))
    result = certify_dataset(f"configs/demo/{model}.py", f"{CKPT}/{model}.pth", settings,
                             work_dir=work_dir, device="cpu", denoiser=denoiser)
    return result.summary


def _figure(value, scale: float = 1.0) -> str:
    return "–" if value is None else f"{value * scale:.3g}"


def seg_line(name: str, s: dict) -> str:
    return (f"| {name} | {_figure(s.get('clean_acc'))} | {_figure(s.get('smoothed_acc'))} | "
            f"**{_figure(s.get('certified_acc'))}** | {_figure(s.get('clean_miou'))} | "
            f"{_figure(s.get('smoothed_miou'))} | {_figure(s.get('certified_miou'))} | "
            f"{_figure(s.get('abstain_rate'))} | {s['seconds_per_frame']:.1f} |")


def det_line(name: str, s: dict) -> str:
    sweep = {round(e["eps"], 6): e for e in s.get("eps_sweep", [])}
    at = {eps: sweep.get(eps, {}) for eps in (0.1, 0.25)}
    return (f"| {name} | {_figure(s.get('clean_ap50'))} | {_figure(s.get('smoothed_ap50'))} | "
            f"**{_figure(at[0.1].get('certified_ap50'))}** | "
            f"{_figure(at[0.1].get('chiang_certified_ap50'))} | "
            f"**{_figure(at[0.25].get('certified_ap50'))}** | "
            f"{_figure(at[0.25].get('chiang_certified_ap50'))} | {s['seconds_per_frame']:.1f} |")


HEADERS = {
    "seg": ("| model | clean acc | smoothed acc | certified acc | clean mIoU | smoothed mIoU | "
            "certified mIoU | abstain | s / frame |\n|---|---|---|---|---|---|---|---|---|"),
    "det": ("| model | clean AP@50 | smoothed AP@50 | certified AP@50, ε 0.1 | Chiang, ε 0.1 | "
            "certified AP@50, ε 0.25 | Chiang, ε 0.25 | s / frame |\n"
            "|---|---|---|---|---|---|---|---|"),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=["seg", "det", "both"], default="both")
    parser.add_argument("--frames-seg", type=int, default=20)
    parser.add_argument("--frames-det", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work-dir", default="work_dirs/denoiser_table")
    parser.add_argument("--out", help="also write the tables to this markdown file")
    parser.add_argument("--rows", help="only these row numbers, e.g. 0,3")
    args = parser.parse_args()
    tasks = ["seg", "det"] if args.task == "both" else [args.task]
    wanted = None if args.rows is None else {int(i) for i in args.rows.split(",")}
    text = []
    for task in tasks:
        frames = args.frames_seg if task == "seg" else args.frames_det
        lines = [HEADERS[task]]
        for index, (name, model, denoiser) in enumerate(ROWS[task]):
            if wanted is not None and index not in wanted:
                continue
            work = os.path.join(args.work_dir, task, f"{index}_{model}")
            summary = run_row(task, model, denoiser, frames, args.seed, work)
            line = (seg_line if task == "seg" else det_line)(name, summary)
            print(line, flush=True)
            lines.append(line)
        text.append(f"{task}: {frames} demo test frames, seed {args.seed}\n\n" + "\n".join(lines))
    output = "\n\n".join(text) + "\n"
    print(output)
    if args.out:
        with open(args.out, "w") as f:
            f.write(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
