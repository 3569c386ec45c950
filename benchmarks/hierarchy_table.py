"""Hierarchical against flat certificates on the demo's test split (docs/certificates.md §9).

    .venv/bin/python benchmarks/hierarchy_table.py [--frames 20] [--seed 0]
        [--work-dir work_dirs/hier] [--out FILE.md]

Segmentation: the noise-trained segmenter and the clean-trained one behind its stability
denoiser, each flat and with ``--hierarchy cityscapes`` (σ 0.25, τ 0.75, n0 20, n 100,
α 1e-3, Holm). Detection: the noise-trained detector flat and with ``--hierarchy demo``
(σ 0.25, ε 0.1, n 100, α 1e-3 per box). Each row is a run of the command-line tool (its
records and summary are evidence like any other run's); a row whose run folder already
holds a ``summary.json`` is read, not recomputed.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys

CKPT = "data/demo/checkpoints"
STAB_SEG = ["--denoiser", "configs/denoiser/conv_demo_stab_seg.py",
            f"{CKPT}/conv_denoiser_demo_stab_seg.pth"]
SEG_ROWS = [  # (label, work-dir name, checkpoint, extra flags)
    ("noise-trained, flat", "seg_noise_flat", "fpn_mnv2_demo", []),
    ("noise-trained, cityscapes", "seg_noise_cityscapes", "fpn_mnv2_demo",
     ["--hierarchy", "cityscapes"]),
    ("clean + stability denoiser, flat", "seg_clean_stab_flat", "fpn_mnv2_demo_clean",
     STAB_SEG),
    ("clean + stability denoiser, cityscapes", "seg_clean_stab_cityscapes",
     "fpn_mnv2_demo_clean", [*STAB_SEG, "--hierarchy", "cityscapes"]),
]
DET_ROWS = [
    ("noise-trained, flat", "det_noise_flat", []),
    ("noise-trained, demo hierarchy", "det_noise_demo", ["--hierarchy", "demo"]),
]


def _summary(work_dir: str, certify, argv: list[str]) -> dict:
    done = sorted(glob.glob(os.path.join(glob.escape(work_dir), "*", "summary.json")))
    if not done:
        if certify(argv) != 0:
            raise SystemExit(f"run failed: {' '.join(argv)}")
        done = sorted(glob.glob(os.path.join(glob.escape(work_dir), "*", "summary.json")))
    return {**json.load(open(done[-1])), "_run_dir": os.path.dirname(done[-1])}


def _f(value, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def seg_table(args) -> str:
    from adcert.cli import certify_seg

    common = ["--max-images", str(args.frames), "--seed", str(args.seed), "--sigma", "0.25",
              "--tau", "0.75", "--n0", "20", "--n", "100", "--alpha", "0.001",
              "--device", "cpu"]
    lines = ["| model, hierarchy | no class certified | no node certified | certified acc "
             "(class) | (category) | (group) | CIG | certified mIoU (class / category / "
             "group) |", "|---|---|---|---|---|---|---|---|"]
    for label, name, checkpoint, extra in SEG_ROWS:
        work = os.path.join(args.work_dir, name)
        s = _summary(work, certify_seg.cli,
                     ["configs/demo/fpn_mnv2_demo.py", f"{CKPT}/{checkpoint}.pth", *common,
                      *extra, "--work-dir", work])
        by_level = s.get("certified_acc_by_level") or {"class": s["certified_acc"]}
        mious = s.get("certified_miou_by_level") or {"class": s["certified_miou"]}
        cig = s.get("certified_information_gain", s["certified_acc"])  # flat: CIG = acc
        root = s.get("node_abstain_rate", s["abstain_rate"])  # flat: the root is abstaining
        lines.append(
            f"| {label} | {_f(s['abstain_rate'])} | {_f(root)} | {_f(by_level.get('class'))} | "
            f"{_f(by_level.get('category'))} | {_f(by_level.get('group'))} | {_f(cig)} | "
            + " / ".join(_f(mious.get(k)) for k in ("class", "category", "group")) + " |")
    return "\n".join(lines)


def det_table(args) -> str:
    from adcert.cli import certify_det

    common = ["--max-images", str(args.frames), "--seed", str(args.seed), "--sigma", "0.25",
              "--eps", "0.1", "--n", "100", "--alpha", "0.001", "--device", "cpu"]
    summaries = {}
    for label, name, extra in DET_ROWS:
        work = os.path.join(args.work_dir, name)
        summaries[label] = _summary(work, certify_det.cli,
                                    ["configs/demo/rtmdet_mnv2_demo.py",
                                     f"{CKPT}/rtmdet_mnv2_demo.pth", *common, *extra,
                                     "--work-dir", work])
    flat, hier = (summaries[label] for label, _, _ in DET_ROWS)
    lines = ["| class | certified present, class certified (flat) | class certified "
             "(hierarchy) | some node certified (hierarchy) | certified AP@50 flat / "
             "hierarchy |", "|---|---|---|---|---|"]
    present = hier.get("certified_present_per_class", {})
    flat_ap, hier_ap = flat["certified_ap50_per_class"], hier["certified_ap50_per_class"]
    flat_counts = _flat_present(flat)
    for name in flat["classes"]:
        counts = present.get(name, {})
        lines.append(f"| {name} | {flat_counts.get(name, 0)} | {counts.get('class', '–')} | "
                     f"{counts.get('node', '–')} | {_f(flat_ap.get(name))} / "
                     f"{_f(hier_ap.get(name))} |")
    lines.append(f"| all (mean AP) | {sum(flat_counts.values())} | "
                 f"{sum(c['class'] for c in present.values())} | "
                 f"{sum(c['node'] for c in present.values())} | "
                 f"{_f(flat['certified_ap50'])} / {_f(hier['certified_ap50'])} |")
    return "\n".join(lines)


def _flat_present(summary: dict) -> dict[str, int]:
    """Boxes certified present with their class certified, per class, from the records."""
    run_dir = summary.get("_run_dir")
    counts: dict[str, int] = {}
    path = os.path.join(run_dir, "results.jsonl") if run_dir else None
    if path and os.path.isfile(path):
        for line in open(path):
            for box in json.loads(line)["boxes"]:
                if box["label_certified"] and not box["may_vanish"]:
                    name = summary["classes"][box["label"]]
                    counts[name] = counts.get(name, 0) + 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work-dir", default="work_dirs/hier")
    parser.add_argument("--out", help="also write the tables to this new file")
    args = parser.parse_args(argv)
    text = (f"segmentation: {args.frames} demo test frames, seed {args.seed}\n\n"
            f"{seg_table(args)}\n\ndetection: {args.frames} demo test frames, seed "
            f"{args.seed}, ε 0.1\n\n{det_table(args)}\n")
    print(text)
    if args.out:
        with open(args.out, "x", encoding="utf-8") as handle:
            handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
