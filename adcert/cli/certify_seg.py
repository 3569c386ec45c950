"""``tools/certify_seg.py``: τ-abstain certification of an mmseg model's test frames."""

from __future__ import annotations

import os
import time

import cv2
import numpy as np

from adcert.cli.common import (
    base_parser,
    certify_frames,
    check_common_settings,
    finish_run,
    model_record,
    run_main,
    show_results,
    start_session,
)
from adcert.stats._checks import check_sample_sizes, check_tau

DEFAULTS = dict(transform="gaussian", sigma=0.25, tau=0.75, n0=100, n=1000, alpha=1e-4,
                correction="holm", batch_size=8, max_images=None, seed=None)


def parse_args(argv: list[str] | None):
    parser = base_parser(__doc__)
    parser.add_argument("--tau", type=float, help="per-pixel threshold τ in (0.5, 1)")
    parser.add_argument("--correction", choices=["holm", "bonferroni"])
    return parser.parse_args(argv)


def check_settings(s: dict) -> None:
    check_tau(s["tau"])
    check_sample_sizes(s["n0"], s["n"])
    check_common_settings(s)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from adcert.evaluation.segmentation import CertifiedSegMetric
    from adcert.pipeline.segmentation import certify_frame

    session = start_session(args, "mmseg", DEFAULTS, check_settings)
    s, classes = session.settings, session.classes
    metric = CertifiedSegMetric(num_classes=len(classes))

    def certify_one(packed, index, image_id, generator):
        start = time.perf_counter()
        cert, clean = certify_frame(
            session.loaded.model, packed, len(classes), s["sigma"], s["tau"], s["n0"], s["n"],
            s["alpha"], s["correction"], s["batch_size"], generator, args.amp, s["transform"])
        sample = packed["data_samples"]
        record = {"image_id": image_id, "img_path": sample.get("img_path"), "index": index,
                  **cert.to_record(),
                  "seed": session.seed, "model": model_record(session),
                  "time_s": round(time.perf_counter() - start, 3)}
        # Clean maps are kept (as uint8) only to be drawn: at 1024×2048 they add up.
        shown = clean.astype(np.uint8) if args.show_dir else None
        if "gt_sem_seg" not in sample:
            return record, cert.labels, None, shown
        gt = sample.gt_sem_seg.data[0].numpy()
        valid = gt != 255
        record["certified_acc"] = float(np.mean((cert.labels == gt)[valid]))
        record["clean_acc"] = float(np.mean((clean == gt)[valid]))
        metric.process(None, [{"gt": gt, "certified": cert.labels, "clean": clean}])
        return record, cert.labels, metric.results.pop(), shown

    results = certify_frames(session, certify_one)
    if results is None:  # not rank 0
        return 0
    mask_dir = session.run.subdir("masks")
    records = []
    for record, labels, _, _ in results:
        stem = os.path.splitext(record["image_id"])[0]
        record["mask_path"] = os.path.join(mask_dir, f"{stem}_certified.png")
        if not cv2.imwrite(record["mask_path"], labels):
            raise OSError(f"could not write {record['mask_path']}")
        records.append(record)
    scores = [scores for _, _, scores, _ in results if scores is not None]
    summary = metric.compute_metrics(scores) if scores else {}
    title = (f"smoothed segmenter, {s['transform']} σ={s['sigma']}, τ={s['tau']}, "
             f"n={s['n']}, α={s['alpha']}, {s['correction']}")
    status = finish_run(session, records, summary, args.out, title,
                        ("clean_acc", "certified_acc", "certified_miou", "on_certified_acc",
                         "abstain_rate", "seconds_per_frame"))
    show_results(args, records, classes, [clean for *_, clean in results])
    return status


def cli(argv: list[str] | None = None) -> int:
    return run_main(main, argv)
