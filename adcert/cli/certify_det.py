"""``tools/certify_det.py``: median-smoothing certification of an mmdet model's test frames."""

from __future__ import annotations

import time

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

DEFAULTS = dict(transform="gaussian", sigma=0.25, eps=0.36, n=2000, alpha=1e-3, bin="label",
                sort="center", max_per_bin=100, score_thr=0.05, correction="box",
                batch_size=8, max_images=None, seed=None)


def parse_args(argv: list[str] | None):
    parser = base_parser(__doc__)
    parser.add_argument("--eps", type=float,
                        help="attack size: ℓ2 radius on the [0, 1] scale; with a camera "
                             "effect, brightness |b| ≤ ε, contrast or gamma in [e^-ε, e^ε]")
    parser.add_argument("--bin", choices=["none", "label", "location", "location+label"])
    parser.add_argument("--sort", choices=["center", "score"])
    parser.add_argument("--max-per-bin", type=int, help="boxes kept per bin and sample")
    parser.add_argument("--score-thr", type=float, help="drop sampled boxes below this score")
    parser.add_argument("--correction", choices=["box", "image", "none"],
                        help="multiple-testing correction: per box (default), per image, none")
    return parser.parse_args(argv)


def check_settings(s: dict) -> None:
    if not s["eps"] > 0:
        raise ValueError(f"eps must be positive, got {s['eps']}")
    if s["n"] < 1:
        raise ValueError(f"n must be a positive sample count, got {s['n']}")
    check_common_settings(s)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from adcert.evaluation.detection import CertifiedDetMetric, frame_matches
    from adcert.pipeline.detection import certify_frame

    session = start_session(args, "mmdet", DEFAULTS, check_settings)
    s, classes = session.settings, session.classes

    def certify_one(packed, index, image_id, generator):
        start = time.perf_counter()
        cert, clean = certify_frame(
            session.loaded.model, packed, s["sigma"], s["eps"], s["n"], s["alpha"], s["bin"],
            s["sort"], s["max_per_bin"], s["score_thr"], s["correction"], s["batch_size"],
            generator, args.amp, s["transform"])
        sample = packed["data_samples"]
        record = {"image_id": image_id, "img_path": sample.get("img_path"), "index": index,
                  **cert.to_record(), "seed": session.seed, "model": model_record(session),
                  "time_s": round(time.perf_counter() - start, 3)}
        kept = clean[clean[:, 4] >= s["score_thr"]]
        if args.images or "gt_instances" not in sample:  # no annotations: no AP
            return record, None, kept
        gt = sample.gt_instances
        return record, frame_matches({"gt_boxes": gt.bboxes.numpy(),
                                      "gt_labels": gt.labels.numpy(), "clean": kept,
                                      "smoothed": record["boxes"]}), kept

    results = certify_frames(session, certify_one)
    if results is None:  # not rank 0
        return 0
    records = [record for record, _, _ in results]
    matches = [m for _, m, _ in results if m is not None]
    summary = {"guarantee": records[0]["guarantee"] if records else None}
    if matches:
        summary.update(CertifiedDetMetric(classes).compute_metrics(matches))
    title = (f"median-smoothed detector, {s['transform']} σ={s['sigma']}, ε={s['eps']}, "
             f"n={s['n']}, α={s['alpha']}, correction {s['correction']}")
    status = finish_run(session, records, summary, args.out, title,
                        ("clean_ap50", "smoothed_ap50", "certified_ap50", "certified_recall",
                         "may_vanish_rate", "label_changeable_rate", "seconds_per_frame"))
    show_results(args, records, classes, [clean for _, _, clean in results])
    return status


def cli(argv: list[str] | None = None) -> int:
    return run_main(main, argv)
