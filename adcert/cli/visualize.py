"""``tools/visualize.py``: draw a finished certify run over its frames.

Reads the ``results.jsonl`` of ``tools/certify_det.py`` / ``tools/certify_seg.py`` and
writes, per frame, ``<out-dir>/<image stem>.png`` (and ``<stem>_panel.png`` with
``--panel``), plus one video of all frames with ``--video``. Detection or segmentation is
read from each record's ``method``; class names and colours from the run's
``summary.json`` beside the results (the model's ``dataset_meta``), and for a run with a
class hierarchy its tree (node maps: classes solid, coarser nodes hatched in colour). The
drawings show the smoothed model's certificates. To certify and draw in one go, give the
certify tools ``--show-dir``.
"""

from __future__ import annotations

import argparse
import os

from adcert.cli.common import run_main
from adcert.vis.render import SUMMARY_NAME, load_records, load_summary, render_records


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line of ``tools/visualize.py``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="results.jsonl written by certify_det / certify_seg")
    parser.add_argument("--out-dir", required=True, help="folder for the drawn frames")
    parser.add_argument("--img-dir", help="folder of the frames, for records without a "
                        "readable img_path (looked up by image_id)")
    parser.add_argument("--summary", help=f"the run's {SUMMARY_NAME}, for class names, "
                        f"colours and class hierarchy (default: {SUMMARY_NAME} beside "
                        "RESULTS, if there is one)")
    parser.add_argument("--classes", help="comma-separated class names in id order, "
                        "instead of the summary's (default: the summary's, else 'class <id>')")
    parser.add_argument("--video", help="also write all frames, in record order, to this "
                        ".mp4 / .avi")
    parser.add_argument("--fps", type=float, default=10.0, help="video frame rate")
    parser.add_argument("--panel", action="store_true",
                        help="also write <stem>_panel.png: input frame | certified drawing")
    return parser.parse_args(argv)


def parse_classes(text: str) -> list[str]:
    """``--classes a,b,c`` as a list of names."""
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise ValueError(f"--classes has an empty name: {text!r}")
    return names


def run_meta(results: str, summary_path: str | None) -> dict:
    """The summary of the run behind ``results``: the named file, else ``summary.json``
    beside the results, else nothing (a copy made with ``--out`` has none beside it)."""
    if summary_path is not None:
        return load_summary(summary_path)
    beside = os.path.join(os.path.dirname(os.path.abspath(results)), SUMMARY_NAME)
    return load_summary(beside) if os.path.isfile(beside) else {}


def main(argv: list[str] | None = None) -> int:
    """Draw the records of one run; returns the exit status."""
    args = parse_args(argv)
    records = load_records(args.results)
    if not records:
        raise ValueError(f"{args.results} holds no records")
    summary = run_meta(args.results, args.summary)
    classes = parse_classes(args.classes) if args.classes else summary.get("classes")
    palette = summary.get("palette")  # used only if it has one colour per class
    written = render_records(
        records, args.out_dir, classes, palette=palette, img_dir=args.img_dir,
        base_dir=os.path.dirname(os.path.abspath(args.results)), panel=args.panel,
        video=args.video, fps=args.fps, hierarchy=summary.get("hierarchy"))
    print(f"drew {len(records)} frames into {args.out_dir}")
    if args.panel:
        print(f"panels: {len(records)} *_panel.png files in {args.out_dir}")
    if args.video:
        print(f"video: {written[-1]}")
    return 0


def cli(argv: list[str] | None = None) -> int:
    """Console entry point ``adcert-visualize``: bad input is one line and status 2."""
    return run_main(main, argv)
