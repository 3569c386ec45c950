"""``tools/certify_seg.py``: τ-abstain certification of an mmseg model's test frames."""

from __future__ import annotations

import os
import shutil
import time

import cv2
import numpy as np

from adcert.cli.common import base_parser, run_main
from adcert.pipeline.run import RunDir, merge_settings, shard

DEFAULTS = dict(sigma=0.25, tau=0.75, n0=100, n=1000, alpha=1e-4, correction="holm",
                batch_size=8, max_images=None, seed=None)


def parse_args(argv: list[str] | None):
    parser = base_parser(__doc__)
    parser.add_argument("--tau", type=float, help="per-pixel threshold τ in (0.5, 1)")
    parser.add_argument("--correction", choices=["holm", "bonferroni"])
    return parser.parse_args(argv)


def check_settings(s: dict) -> None:
    if not 0.5 < s["tau"] < 1.0:
        raise ValueError(f"tau must lie in (0.5, 1), got {s['tau']}")
    if not 0.0 < s["alpha"] < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {s['alpha']}")
    if not s["sigma"] > 0:
        raise ValueError(f"sigma must be positive, got {s['sigma']}")
    if s["n0"] < 1 or s["n"] < 1 or s["n0"] > s["n"]:
        raise ValueError(f"need 1 ≤ n0 ≤ n, got n0={s['n0']}, n={s['n']}")
    if s["batch_size"] < 1:
        raise ValueError(f"batch_size must be positive, got {s['batch_size']}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from mmengine.dist import collect_results, get_dist_info, init_dist
    from mmengine.utils import ProgressBar

    from adcert.evaluation.segmentation import CertifiedSegMetric
    from adcert.models.data import build_test_dataset, load_frame
    from adcert.models.loading import load_config, load_model
    from adcert.noise import image_generator, new_run_seed
    from adcert.pipeline.segmentation import certify_frame

    cfg = load_config(args.config, args.cfg_options)
    cli = {k: getattr(args, k) for k in DEFAULTS}
    s = merge_settings(DEFAULTS, cfg.get("certify"), cli)
    check_settings(s)
    if "test_dataloader" not in cfg:
        raise ValueError("the config has no `test_dataloader` to take frames from")
    if args.launcher != "none":
        init_dist(args.launcher)
    rank, world_size = get_dist_info()
    seed = s["seed"] if s["seed"] is not None else new_run_seed()
    if world_size > 1:  # every rank must draw with the same run seed
        from mmengine.dist import broadcast_object_list
        holder = [seed]
        broadcast_object_list(holder)
        seed = holder[0]

    loaded = load_model(cfg, args.checkpoint, "mmseg", device=args.device,
                        unsafe_load=args.unsafe_load)
    dataset = build_test_dataset(cfg)
    classes = dataset.metainfo.get("classes") or loaded.dataset_meta.get("classes")
    num_classes = len(classes)
    work_dir = args.work_dir or os.path.join(
        "work_dirs", os.path.splitext(os.path.basename(args.config))[0])
    run = RunDir(work_dir, time.strftime("%Y%m%d_%H%M%S")) if rank == 0 else None
    mask_dir = run.subdir("masks") if run else None

    metric = CertifiedSegMetric(num_classes=num_classes)
    indices = shard(len(dataset), rank, world_size, s["max_images"])
    bar = ProgressBar(len(indices)) if rank == 0 else None
    results = []
    for index in indices:
        packed = load_frame(dataset, index)
        sample = packed["data_samples"]
        image_id = os.path.basename(sample.img_path) if "img_path" in sample else str(index)
        start = time.perf_counter()
        cert, clean = certify_frame(
            loaded.model, packed, num_classes, s["sigma"], s["tau"], s["n0"], s["n"],
            s["alpha"], s["correction"], s["batch_size"],
            image_generator(seed, image_id, loaded.device), args.amp)
        elapsed = time.perf_counter() - start
        gt = sample.gt_sem_seg.data[0].numpy() if "gt_sem_seg" in sample else None
        record = {
            "image_id": image_id, "index": index, **cert.to_record(), "seed": seed,
            "model": {"config": loaded.config_path, "checkpoint": loaded.checkpoint_path,
                      "checkpoint_sha256": loaded.checkpoint_sha256},
            "time_s": round(elapsed, 3),
        }
        scores = None
        if gt is not None:
            valid = gt != 255
            record["certified_acc"] = float(np.mean((cert.labels == gt)[valid]))
            record["clean_acc"] = float(np.mean((clean == gt)[valid]))
            metric.process(None, [{"gt": gt, "certified": cert.labels, "clean": clean}])
            scores = metric.results.pop()
        results.append((record, cert.labels, scores))
        if bar:
            bar.update()
    # Each rank's frames (with their maps and metric counts) go to rank 0, which writes.
    results = collect_results(results, len(shard(len(dataset), 0, 1, s["max_images"])))
    if rank != 0:
        return 0
    out_records = []
    for record, labels, _ in sorted(results, key=lambda item: item[0]["index"]):
        stem = os.path.splitext(record["image_id"])[0]
        record["mask_path"] = os.path.join(mask_dir, f"{stem}_certified.png")
        if not cv2.imwrite(record["mask_path"], labels):
            raise OSError(f"could not write {record['mask_path']}")
        out_records.append(record)
    run.write_results(out_records)
    if args.out:
        shutil.copyfile(run.results_path, args.out)
    summary = {"settings": {**s, "seed": seed}, "frames": len(out_records),
               "classes": list(classes),
               "seconds_per_frame": float(np.mean([r["time_s"] for r in out_records]))
               if out_records else None}
    metric_results = [scores for _, _, scores in results if scores is not None]
    if metric_results:
        summary.update(metric.compute_metrics(metric_results))
    path = run.write_summary(summary)
    print(f"\ncertified {len(out_records)} frames (smoothed segmenter, σ={s['sigma']}, "
          f"τ={s['tau']}, n={s['n']}, α={s['alpha']}, {s['correction']}):")
    for key in ("clean_acc", "certified_acc", "certified_miou", "on_certified_acc",
                "abstain_rate", "seconds_per_frame"):
        if summary.get(key) is not None:
            print(f"  {key:18s} {summary[key]:.4f}")
    print(f"results: {run.results_path}\nsummary: {path}")
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run_main(main, argv)
