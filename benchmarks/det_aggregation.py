"""Which sort-and-bin aggregation certifies the demo detector best?

Step 1 runs the model once per frame: the clean detections and the raw detections of n
noisy copies, drawn from the frame's noise stream exactly as ``tools/certify_det.py``
draws them (same run seed, same image ids), cached under ``--cache``. Step 2 aggregates
those same samples under every configuration — bin mode × sort key × location grid ×
score cut-off — and ε, and scores each with adcert's metric. Because every
configuration sees the same samples, the differences between rows are the aggregation's
alone.

    .venv/bin/python benchmarks/det_aggregation.py [--frames 60] [--n 200] [--out FILE.md]
        [--split val|test] [--checkpoint PTH]

Choosing an aggregation is a choice: make it on ``--split val``. Figures of a chosen
aggregation are reported on ``--split test`` (the default, the config's test dataloader).

With ``NMS`` the smoothed boxes go through certified non-maximum suppression
(``--nms-iou``). Columns: smoothed AP@50 (pycocotools), certified AP@50 (the sound lower bound,
docs/certified_ap.md) and Chiang et al.'s reading, smoothed boxes per frame, smoothed
boxes per matched ground truth, the share of certified boxes that are localised
(worst-case IoU with their own box ≥ 0.5), and the share of boxes that may vanish. The
first line gives the base model's AP@50 on one noisy copy per frame at each cut-off,
the figure a smoothed detector should reach.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time

import numpy as np

CONFIG = "configs/demo/rtmdet_mnv2_demo.py"
CHECKPOINT = "data/demo/checkpoints/rtmdet_mnv2_demo.pth"
BINS = ("label", "location+label", "location", "none")
SORTS = ("center", "score")
GRIDS = ((3, 3), (1, 4), (1, 8), (2, 8), (1, 16))
SCORES = (0.2, 0.3)
EPSILONS = (0.1, 0.25, 0.36)
NMS = (None, 0.5)  # certified NMS after smoothing (adcert.certify.suppression)


def sample_frames(args) -> list[dict]:
    """Clean and noisy detections of the first ``args.frames`` frames of ``args.split``
    (cached per checkpoint and split)."""
    model = os.path.splitext(os.path.basename(args.checkpoint))[0]
    path = os.path.join(args.cache, f"{model}_{args.split}_n{args.n}_s{args.sigma}"
                                    f"_seed{args.seed}.npz")
    if os.path.exists(path):
        with np.load(path, allow_pickle=False) as data:
            frames = [_unpack(data, i) for i in range(int(data["count"]))]
        if len(frames) >= args.frames:
            return frames[: args.frames]
    from adcert.models.forward import clean_predictions, detections_array, perturbed_predictions
    from adcert.noise import image_generator, make_perturbation
    from adcert.pipeline.api import load_model
    from adcert.pipeline.frames import build_frames

    loaded = load_model(CONFIG, args.checkpoint, "detection", device="cpu")
    if args.split == "val":
        loaded.cfg.test_dataloader = loaded.cfg.val_dataloader
    frames = build_frames(loaded.cfg, None, args.frames)
    noise = make_perturbation("gaussian", args.sigma)
    out = []
    start = time.perf_counter()
    for i, frame in enumerate(frames.frames):
        packed = frames.load(frame.index)
        data = packed["data_samples"]
        clean = detections_array(clean_predictions(loaded.model, packed)[0])
        stream = image_generator(args.seed, frame.image_id, loaded.device)
        noisy = [detections_array(r) for batch in perturbed_predictions(
            loaded.model, packed, noise, args.n, 8, stream) for r in batch]
        ignored = data.get("ignored_instances")
        out.append({"image_id": frame.image_id, "size": np.array(data.ori_shape[:2]),
                    "gt_boxes": data.gt_instances.bboxes.numpy(),
                    "gt_labels": data.gt_instances.labels.numpy(),
                    "ignored_boxes": (ignored.bboxes.numpy() if ignored is not None
                                      and "bboxes" in ignored else np.zeros((0, 4))),
                    "clean": clean, "noisy": noisy})
        print(f"sampled {i + 1}/{len(frames)} frames "
              f"({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
    os.makedirs(args.cache, exist_ok=True)
    _save(path, out)
    return out


def _save(path: str, frames: list[dict]) -> None:
    arrays = {"count": np.array(len(frames))}
    for i, f in enumerate(frames):
        for key in ("size", "gt_boxes", "gt_labels", "ignored_boxes", "clean"):
            arrays[f"{i}/{key}"] = f[key]
        arrays[f"{i}/image_id"] = np.array(f["image_id"])
        arrays[f"{i}/noisy"] = np.concatenate(f["noisy"]).reshape(-1, 6)
        arrays[f"{i}/counts"] = np.array([len(d) for d in f["noisy"]])
    np.savez_compressed(path, **arrays)


def _unpack(data, i: int) -> dict:
    frame = {key: data[f"{i}/{key}"] for key in
             ("size", "gt_boxes", "gt_labels", "ignored_boxes", "clean")}
    frame["image_id"] = str(data[f"{i}/image_id"])
    counts = data[f"{i}/counts"]
    frame["noisy"] = np.split(data[f"{i}/noisy"], np.cumsum(counts)[:-1])
    return frame


def configurations(only: dict | None = None):
    """Every configuration, or those matching ``only`` (bin, sort, grid, score_thr, nms)."""
    for bin_mode, sort, score, nms in itertools.product(BINS, SORTS, SCORES, NMS):
        grids = GRIDS if "location" in bin_mode else ((3, 3),)
        for grid in grids:
            config = {"bin": bin_mode, "sort": sort, "grid": grid, "score_thr": score,
                      "nms": nms}
            if all(config[k] == v for k, v in (only or {}).items()):
                yield config


def frame_results(frame: dict, config: dict, n: int, sigma: float, num_classes: int,
                  alpha: float = 1e-3) -> dict:
    """Per ε, what :func:`frame_matches` makes of this frame under ``config``."""
    from adcert.certify.detection import BoxSampleCollector, certify_boxes
    from adcert.certify.suppression import suppress_duplicates
    from adcert.evaluation.detection import frame_matches

    collector = BoxSampleCollector(tuple(frame["size"]), config["bin"], config["sort"], 100,
                                   config["score_thr"], num_classes, config["grid"])
    collector.add_batch(frame["noisy"][:n])
    out = {}
    for eps in EPSILONS:
        cert = certify_boxes(collector, n, eps, sigma, alpha)
        if config["nms"] is not None:
            cert = suppress_duplicates(cert, config["nms"])
        record = cert.to_record()
        out[eps] = frame_matches({
            "gt_boxes": frame["gt_boxes"], "gt_labels": frame["gt_labels"],
            "ignored_boxes": frame["ignored_boxes"],
            "ignored_labels": np.zeros(len(frame["ignored_boxes"]), int),
            "clean": frame["clean"], "smoothed": record["boxes"],
            "may_appear": record["may_appear"], "record": record})
    return out


def summarise(results: list[dict], classes: list[str]) -> dict:
    from adcert.evaluation.detection import CertifiedDetMetric

    m = CertifiedDetMetric(classes).compute_metrics(results)
    boxes = sum(r["boxes"] for r in results)
    matched = sum(hit for r in results for pairs in _smoothed_hits(r) for hit in pairs)
    m["boxes_per_frame"] = boxes / len(results)
    m["boxes_per_matched"] = boxes / matched if matched else None
    return m


def _smoothed_hits(result: dict):
    from adcert.certify.detection import box_iou
    from adcert.evaluation.certified_ap import greedy_match

    s = result["smoothed"]
    det = s["detections"]
    matches = greedy_match(det[:, 4], det[:, 5].astype(int), box_iou(det[:, :4], s["gt_boxes"]),
                           s["gt_labels"])
    return [[hit for _, hit in pairs] for pairs in matches.values()]


def noisy_copy_ap(frames: list[dict], score: float, classes: list[str]) -> float:
    from adcert.evaluation.coco import coco_ap50

    per_label = coco_ap50([{"gt_boxes": f["gt_boxes"], "gt_labels": f["gt_labels"],
                            "detections": f["noisy"][0][f["noisy"][0][:, 4] >= score]}
                           for f in frames], list(range(len(classes))))
    return float(np.nanmean(list(per_label.values())))


OLD_DEFAULT = {"bin": "label", "sort": "center", "grid": (3, 3), "score_thr": 0.3, "nms": None}
NEW_DEFAULT = {"bin": "location+label", "sort": "score", "grid": (1, 8), "score_thr": 0.3,
               "nms": None}


def draw_defaults(frames: list[dict], out_dir: str, n: int, sigma: float, eps: float,
                  count: int) -> None:
    """The old default (left) and the new one (right) drawn over the same frames."""
    import cv2

    from adcert.certify.detection import BoxSampleCollector, certify_boxes
    from adcert.vis.boxes import draw_detection_record
    from adcert.vis.caption import side_by_side

    classes = ["car", "person", "rider", "traffic sign"]
    os.makedirs(out_dir, exist_ok=True)
    root = "data/demo"
    for frame in frames[:count]:
        image = cv2.imread(os.path.join(root, frame["image_id"]))
        drawings = []
        for config in (OLD_DEFAULT, NEW_DEFAULT):
            collector = BoxSampleCollector(tuple(frame["size"]), config["bin"], config["sort"],
                                           100, config["score_thr"], len(classes),
                                           config["grid"])
            collector.add_batch(frame["noisy"][:n])
            record = certify_boxes(collector, n, eps, sigma, 1e-3).to_record()
            drawings.append(draw_detection_record(image, record, classes))
        name = frame["image_id"].replace("/", "__").rsplit(".", 1)[0]
        path = os.path.join(out_dir, f"{name}_old_vs_new.png")
        titles = ("old default: class bins, centre order",
                  "new default: class x 1x8 column bins, score order")
        cv2.imwrite(path, side_by_side(*drawings, titles))
        print(path)


def _parse_only(item: str) -> tuple[str, object]:
    key, _, value = item.partition("=")
    if key == "grid":
        rows, cols = value.split("x")
        return key, (int(rows), int(cols))
    if key in ("score_thr", "nms"):
        return key, None if value == "none" else float(value)
    return key, value


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.3f}"


def _down(value) -> str:
    """Certified figures are lower bounds: rounded down, never up."""
    from adcert.stats._rounding import floor_text

    return "–" if value is None else floor_text(value, 3)


def _up(value) -> str:
    from adcert.stats._rounding import ceil_text

    return "–" if value is None else ceil_text(value, 3)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--subset", type=int, default=30, help="also score the first N")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--sigma", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--alpha", type=float, default=1e-3, help="per box (12 bounds)")
    parser.add_argument("--split", choices=("val", "test"), default="test",
                        help="val for choosing an aggregation, test for reporting one")
    parser.add_argument("--checkpoint", default=CHECKPOINT,
                        help=f"a checkpoint of {CONFIG} (default: the noise-trained one)")
    parser.add_argument("--cache", default="work_dirs/bench_det_aggregation")
    parser.add_argument("--out", help="also write the table to this Markdown file")
    parser.add_argument("--only", nargs="*", default=[], metavar="KEY=VALUE",
                        help="score only matching configurations, e.g. bin=label sort=score "
                             "grid=1x4 score_thr=0.3 nms=none")
    parser.add_argument("--draw", metavar="DIR",
                        help="only draw the old and new default side by side over the first "
                             "4 frames at ε = 0.1, into DIR")
    args = parser.parse_args(argv)
    only = dict(_parse_only(item) for item in args.only)
    if args.draw:
        draw_defaults(sample_frames(args), args.draw, args.n, args.sigma, 0.1, 4)
        return 0
    frames = sample_frames(args)
    classes = ["car", "person", "rider", "traffic sign"]
    lines = ["| bin | sort | grid | score ≥ | NMS | ε | frames | smoothed AP@50 "
             "| certified AP@50 | Chiang's reading | certified recall | failure bound "
             "| boxes/frame | boxes/matched | localised | may vanish |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    header = [f"base model, one noisy copy (σ = {args.sigma}): " + ", ".join(
        f"score ≥ {s}: AP@50 {noisy_copy_ap(frames, s, classes):.3f}" for s in SCORES)]
    print(header[0], flush=True)
    start = time.perf_counter()
    for config in configurations(only):
        per_frame = [frame_results(f, config, args.n, args.sigma, len(classes), args.alpha)
                     for f in frames]
        grid = f"{config['grid'][0]}×{config['grid'][1]}" if "location" in config["bin"] else "–"
        for eps in EPSILONS:
            for count in sorted({args.subset, len(frames)}):
                m = summarise([r[eps] for r in per_frame[:count]], classes)
                localised = (None if m["unlocalised_rate"] is None
                             else 1 - m["unlocalised_rate"])
                nms = "–" if config["nms"] is None else config["nms"]
                line = (f"| {config['bin']} | {config['sort']} | {grid} | {config['score_thr']} "
                        f"| {nms} | {eps} | {count} | {_fmt(m['smoothed_ap50'])} "
                        f"| {_down(m['certified_ap50'])} | {_fmt(m['chiang_certified_ap50'])} "
                        f"| {_down(m['certified_recall'])} | {_up(m['certified_failure_bound'])} "
                        f"| {m['boxes_per_frame']:.1f} | {_fmt(m['boxes_per_matched'])} "
                        f"| {_fmt(localised)} | {_fmt(m['may_vanish_rate'])} |")
                lines.append(line)
                print(line, flush=True)
    print(f"aggregation and scoring: {time.perf_counter() - start:.0f} s", file=sys.stderr)
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(header + ["", *lines]) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
