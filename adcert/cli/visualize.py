"""``tools/visualize.py``: draw certified results over their frames.

Reads a ``results.jsonl`` from certify_det / certify_seg (or, with ``--certify``, runs
one with ``--show-dir``) and writes, per frame,
``<out-dir>/<image stem>.png`` (and ``<stem>_panel.png`` with ``--panel``), plus one video
of all frames with ``--video``. Detection or segmentation is read from each record's
``method``. The drawings show the smoothed model's certificates.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from adcert.cli.common import run_main
from adcert.datasets.labels import CITYSCAPES_CLASSES, DETECTION_CLASSES
from adcert.datasets.writers import IMAGE_SUFFIXES
from adcert.vis import (
    certified_object_count,
    draw_clean_detections,
    draw_clean_mask,
    draw_detection_record,
    draw_segmentation_record,
    load_label_map,
    parse_boxes,
    record_abstain_rate,
    side_by_side,
    stamp_status,
    write_video,
)
from adcert.vis.video import FOURCC_BY_EXTENSION

DETECTION, SEGMENTATION = "detection", "segmentation"
METHOD_KINDS = {"median_smoothing_sort_and_bin": DETECTION,
                "segcertify_tau_abstain": SEGMENTATION}
CLASS_PRESETS = {"cityscapes": CITYSCAPES_CLASSES, "demo-det": DETECTION_CLASSES}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    argv = sys.argv[1:] if argv is None else list(argv)
    certify = "--certify" in argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    if certify:  # no positional here: every flag we do not know goes to the certify tool
        parser.add_argument("--certify", nargs=2, required=True,
                            metavar=("det|seg", "CONFIG:CHECKPOINT"))
    else:
        parser.add_argument("results", help="results.jsonl written by certify_det / "
                            "certify_seg (or use --certify det|seg CONFIG:CHECKPOINT to "
                            "certify directly; further flags such as --images, --n, "
                            "--sigma are passed on to the certify tool)")
    parser.add_argument("--out-dir", required=True, help="folder for the drawn frames")
    parser.add_argument("--img-dir", help="folder of the frames, for records without a "
                        "readable img_path (looked up by image_id)")
    parser.add_argument("--classes", help="comma-separated class names in id order, or a "
                        f"preset: {', '.join(CLASS_PRESETS)} (default: 'class <id>')")
    parser.add_argument("--video", help="also write all frames, in record order, to this "
                        ".mp4 / .avi")
    parser.add_argument("--fps", type=float, default=10.0, help="video frame rate")
    parser.add_argument("--panel", action="store_true",
                        help="also write <stem>_panel.png: input frame | certified drawing")
    if not certify:
        args = parser.parse_args(argv)
        args.certify = None
        return args
    args, rest = parser.parse_known_args(argv)
    if args.video or args.img_dir or args.classes:
        parser.error("--video, --img-dir and --classes read results files; with --certify "
                     "the frames come from the config or --images (a video gives a video)")
    args.results, args.certify_flags = None, rest
    return args


def certify_directly(task: str, model: str, out_dir: str, flags: list[str]) -> int:
    """Run certify_det / certify_seg with ``--show-dir out_dir`` (drawings, panels and,
    for ``--images clip.mp4``, the certified video); records go to ``out_dir/run``."""
    from adcert.cli import certify_det, certify_seg

    tools = {"det": certify_det, "seg": certify_seg}
    if task not in tools:
        raise ValueError(f"--certify takes det or seg, got {task!r}")
    config, _, checkpoint = model.partition(":")
    if not config or not checkpoint:
        raise ValueError(f"--certify needs CONFIG:CHECKPOINT, got {model!r}")
    return tools[task].main([config, checkpoint, "--show-dir", out_dir, "--work-dir",
                             os.path.join(out_dir, "run"), *flags])


def parse_classes(text: str | None) -> list[str] | None:
    if text is None:
        return None
    if text in CLASS_PRESETS:
        return list(CLASS_PRESETS[text])
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise ValueError(f"--classes has an empty name: {text!r}")
    return names


def load_records(path: str) -> list[dict]:
    """One JSON object per non-blank line."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"results file not found: {path}")
    records = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not valid JSON ({error.msg})") from None
            if not isinstance(record, dict):
                raise ValueError(f"{path}:{number}: expected a JSON object per line")
            records.append(record)
    return records


def record_kind(record: dict) -> str:
    method = record.get("method")
    if method not in METHOD_KINDS:
        raise ValueError(f"record {record.get('image_id')!r} has unknown method {method!r} "
                         f"(known: {', '.join(METHOD_KINDS)})")
    return METHOD_KINDS[method]


def _existing(path: str, base_dir: str | None) -> str | None:
    """``path`` as given, else relative to ``base_dir`` (the results file's folder)."""
    candidates = [path]
    if base_dir is not None and not os.path.isabs(path):
        candidates.append(os.path.join(base_dir, path))
    return next((c for c in candidates if os.path.isfile(c)), None)


def find_frame(record: dict, img_dir: str | None, base_dir: str | None = None) -> str:
    """The record's frame: its ``img_path`` if that file exists, else ``img_dir`` joined
    with the img_path's file name or the ``image_id`` (also tried with .png/.jpg/.jpeg)."""
    img_path = record.get("img_path")
    if img_path:
        found = _existing(str(img_path), base_dir)
        if found:
            return found
    image_id = record.get("image_id")
    names = [os.path.basename(str(img_path))] if img_path else []
    if image_id is not None:
        names += [str(image_id)] + [f"{image_id}{ext}" for ext in IMAGE_SUFFIXES]
    if img_dir is not None:
        for name in names:
            if os.path.isfile(os.path.join(img_dir, name)):
                return os.path.join(img_dir, name)
    if not img_path and img_dir is None:
        raise ValueError(f"record {image_id!r} has no img_path; pass --img-dir")
    tried = [str(img_path)] if img_path else []
    tried += [os.path.join(img_dir, name) for name in names] if img_dir is not None else []
    raise FileNotFoundError(f"frame of record {image_id!r} not found (tried "
                            f"{', '.join(tried)})")


def read_frame(path: str) -> np.ndarray:
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise OSError(f"cannot read frame image {path}")
    return image


def _stems(records: Sequence[dict]) -> list[str]:
    """Output names from image ids; repeats get _2, _3, … so that no frame overwrites one."""
    stems, seen = [], {}
    for i, record in enumerate(records):
        source = record.get("image_id") or record.get("img_path") or f"frame_{i:05d}"
        stem = os.path.splitext(os.path.basename(str(source)))[0] or f"frame_{i:05d}"
        seen[stem] = seen.get(stem, 0) + 1
        stems.append(stem if seen[stem] == 1 else f"{stem}_{seen[stem]}")
    return stems


@dataclass(frozen=True)
class _Frame:
    record: dict
    kind: str
    frame_path: str
    mask_path: str | None
    stem: str


def _plan(records: Sequence[dict], out_dir: str, img_dir: str | None,
          base_dir: str | None) -> list[_Frame]:
    """Check every record and find its files before anything is written."""
    if not records:
        raise ValueError("no records to draw")
    kinds = {record_kind(record) for record in records}
    if len(kinds) > 1:
        raise ValueError("the results mix detection and segmentation records")
    frames = []
    for record, stem in zip(records, _stems(records), strict=True):
        kind = record_kind(record)
        frame_path = find_frame(record, img_dir, base_dir)
        if not cv2.haveImageReader(frame_path):
            raise OSError(f"cannot read frame image {frame_path}")
        if os.path.realpath(frame_path) == os.path.realpath(os.path.join(out_dir, f"{stem}.png")):
            raise ValueError(f"drawing {stem}.png would overwrite its input frame; choose "
                             "another --out-dir")
        mask_path = None
        if kind == DETECTION:
            parse_boxes(record)
        else:
            if not record.get("mask_path"):
                raise KeyError(f"segmentation record {record.get('image_id')!r} has no "
                               "mask_path")
            mask_path = _existing(str(record["mask_path"]), base_dir)
            if mask_path is None:
                raise FileNotFoundError(f"label map not found: {record['mask_path']}")
        frames.append(_Frame(record, kind, frame_path, mask_path, stem))
    return frames


def _status(frame: _Frame, labels: np.ndarray | None) -> str:
    if frame.kind == DETECTION:
        certified, total = certified_object_count(frame.record)
        return f"certified objects: {certified} of {total}"
    return f"abstain rate: {record_abstain_rate(frame.record, labels):.1%}"


def _write_png(path: str, image: np.ndarray) -> str:
    if not cv2.imwrite(path, image):
        raise OSError(f"could not write {path}")
    return path


def render_records(records: Sequence[dict], out_dir: str,
                   classes: Sequence[str] | None = None, *, img_dir: str | None = None,
                   base_dir: str | None = None, panel: bool = False, video: str | None = None,
                   fps: float = 10.0, clean: Sequence[np.ndarray | None] | None = None,
                   ) -> list[str]:
    """Draw every record over its frame into ``out_dir/<stem>.png``; with ``panel`` also
    ``<stem>_panel.png`` (input frame, or ``clean[i]`` drawn when given: a (k, 6) detection
    array or a clean label map, beside the certified drawing); with ``video`` one video of
    all frames in record order, each stamped with its certified-object count or abstain
    rate. Relative paths in the records are also tried under ``base_dir``. Every record is
    checked and its files found before the first write; the video appears only complete.
    Returns the written paths (frames in order, then the video)."""
    if video is not None and os.path.splitext(video)[1].lower() not in FOURCC_BY_EXTENSION:
        raise ValueError(f"--video must end in .mp4 or .avi, got {video!r}")
    if video is not None and not fps > 0:
        raise ValueError(f"--fps must be positive, got {fps}")
    if clean is not None and len(clean) != len(records):
        raise ValueError(f"{len(clean)} clean predictions for {len(records)} records")
    frames = _plan(records, out_dir, img_dir, base_dir)
    os.makedirs(out_dir, exist_ok=True)
    written: list[str] = []

    def drawn_frames() -> Iterator[np.ndarray]:
        for i, frame in enumerate(frames):
            image = read_frame(frame.frame_path)
            labels = None
            if frame.kind == DETECTION:
                drawing = draw_detection_record(image, frame.record, classes)
            else:
                labels = load_label_map(frame.mask_path)
                drawing = draw_segmentation_record(image, labels, frame.record, classes)
            written.append(_write_png(os.path.join(out_dir, f"{frame.stem}.png"), drawing))
            if panel:
                left, title = image, "input frame"
                if clean is not None and clean[i] is not None:
                    draw_clean = (draw_clean_detections if frame.kind == DETECTION
                                  else draw_clean_mask)
                    left, title = draw_clean(image, clean[i], classes), "clean (base model)"
                both = side_by_side(left, drawing, (title, "certified (smoothed model)"))
                written.append(_write_png(os.path.join(out_dir, f"{frame.stem}_panel.png"),
                                          both))
            yield stamp_status(drawing, f"{i + 1}/{len(frames)}  {_status(frame, labels)}")

    if video is None:
        for _ in drawn_frames():
            pass
    else:
        written.append(write_video(drawn_frames(), video, fps))
    return written


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.certify:
        return certify_directly(*args.certify, args.out_dir, args.certify_flags)
    records = load_records(args.results)
    if not records:
        raise ValueError(f"{args.results} holds no records")
    written = render_records(
        records, args.out_dir, parse_classes(args.classes), img_dir=args.img_dir,
        base_dir=os.path.dirname(os.path.abspath(args.results)), panel=args.panel,
        video=args.video, fps=args.fps)
    print(f"drew {len(records)} frames into {args.out_dir}")
    if args.panel:
        print(f"panels: {len(records)} *_panel.png files in {args.out_dir}")
    if args.video:
        print(f"video: {written[-1]}")
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run_main(main, argv)
