"""Draw a certify run's records over their frames: PNGs, panels and a video.

A run (``tools/certify_det.py`` / ``tools/certify_seg.py``) writes ``results.jsonl``, one
record per frame (docs/certificates.md §7), and ``summary.json`` beside it, which names
the classes (and, where the dataset has one, the palette) of the model's
``dataset_meta``. :func:`render_records` draws the records; the certify tools call it
for ``--show-dir`` and ``tools/visualize.py`` for a finished run. Records of a run with a
class hierarchy carry a node map (``nodes_mask_path``), drawn by :mod:`adcert.vis.nodes`
with the tree of the summary's ``hierarchy``. Every drawing shows the smoothed model's
certificates. Needs numpy and OpenCV only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from adcert.certify.hierarchy import Hierarchy
from adcert.vis.boxes import (
    certified_object_count,
    draw_clean_detections,
    draw_detection_record,
    parse_boxes,
)
from adcert.vis.caption import side_by_side
from adcert.vis.masks import (
    draw_clean_mask,
    draw_segmentation_record,
    load_label_map,
    record_abstain_rate,
)
from adcert.vis.nodes import draw_node_record, resolve_hierarchy
from adcert.vis.palette import BGR, palette_from_meta
from adcert.vis.video import (
    FOURCC_BY_EXTENSION,
    IMAGE_SUFFIXES,
    read_frame,
    stamp_status,
    write_video,
)

DETECTION, SEGMENTATION = "detection", "segmentation"
METHOD_KINDS = {"median_smoothing_sort_and_bin": DETECTION,
                "segcertify_tau_abstain": SEGMENTATION}
SUMMARY_NAME = "summary.json"


def load_records(path: str) -> list[dict]:
    """The records of a ``results.jsonl``: one JSON object per non-blank line."""
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


def load_summary(path: str) -> dict:
    """A run's ``summary.json`` (``path`` may name the file or the results beside it)."""
    if not path.endswith(".json") or path.endswith(".jsonl"):
        path = os.path.join(os.path.dirname(os.path.abspath(path)), SUMMARY_NAME)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"run summary not found: {path}")
    with open(path, encoding="utf-8") as f:
        try:
            summary = json.load(f)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: not valid JSON ({error.msg})") from None
    if not isinstance(summary, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return summary


def record_kind(record: Mapping) -> str:
    """``"detection"`` or ``"segmentation"``, from the record's ``method``."""
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


def find_frame(record: Mapping, img_dir: str | None, base_dir: str | None = None) -> str:
    """The record's frame: its ``img_path`` if that file exists, else ``img_dir`` joined
    with the img_path's file name or the ``image_id`` (also tried with each of
    :data:`~adcert.vis.video.IMAGE_SUFFIXES`)."""
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


def _stem(record: Mapping, position: int) -> str:
    """An output name from the record's image id (its path relative to the data root, so
    ``cityA/x.png`` becomes ``cityA__x``), else from its image file's name."""
    image_id, img_path = record.get("image_id"), record.get("img_path")
    if image_id not in (None, "") and not os.path.isabs(str(image_id)):
        source = str(image_id).replace(os.sep, "/").strip("/").replace("/", "__")
    elif img_path or image_id not in (None, ""):
        source = os.path.basename(str(img_path or image_id))
    else:
        source = ""
    return os.path.splitext(source)[0] or f"frame_{position:05d}"


def _stems(records: Sequence[Mapping]) -> list[str]:
    """Output names from image ids; repeats get _2, _3, … so that no frame overwrites one."""
    stems: list[str] = []
    seen: dict[str, int] = {}
    for i, record in enumerate(records):
        stem = _stem(record, i)
        seen[stem] = seen.get(stem, 0) + 1
        stems.append(stem if seen[stem] == 1 else f"{stem}_{seen[stem]}")
    return stems


@dataclass(frozen=True)
class _Frame:
    record: Mapping
    kind: str
    frame_path: str
    mask_path: str | None
    stem: str
    nodes_path: str | None = None  # the node map of a hierarchical run (§9)


def _plan(records: Sequence[Mapping], out_dir: str, img_dir: str | None,
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
                             "another output folder")
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
        nodes_path = None
        if kind == SEGMENTATION and record.get("nodes_mask_path"):
            nodes_path = _existing(str(record["nodes_mask_path"]), base_dir)
            if nodes_path is None:
                raise FileNotFoundError(f"node map not found: {record['nodes_mask_path']}")
        frames.append(_Frame(record, kind, frame_path, mask_path, stem, nodes_path))
    return frames


def _run_hierarchy(records: Sequence[Mapping], hierarchy: Hierarchy | Mapping | None,
                   classes: Sequence[str] | None, base_dir: str | None) -> Hierarchy | None:
    """The tree the records' node maps refer to: ``hierarchy`` (a :class:`Hierarchy`, or
    the summary's ``hierarchy`` dict over ``classes``), else the one in the
    ``summary.json`` of ``base_dir`` (the run folder); None when no record has a node map."""
    with_nodes = [r for r in records if r.get("nodes_mask_path")]
    if not with_nodes:
        return None
    names = sorted({str(r["hierarchy"]) for r in with_nodes if r.get("hierarchy")})
    if hierarchy is None and base_dir is not None \
            and os.path.isfile(os.path.join(base_dir, SUMMARY_NAME)):
        summary = load_summary(os.path.join(base_dir, SUMMARY_NAME))
        hierarchy, classes = summary.get("hierarchy"), classes or summary.get("classes")
    if hierarchy is None:
        which = repr(names[0]) if names else "unknown"
        raise ValueError(f"the records hold node maps of hierarchy {which}, but no hierarchy "
                         "was given: pass the run's summary.json (--summary)")
    tree = resolve_hierarchy(hierarchy, classes)
    other = [name for name in names if name != tree.name]
    if other:
        raise ValueError(f"the records' node maps are of hierarchy {other[0]!r}, the "
                         f"hierarchy given is {tree.name!r}")
    return tree


def _status(frame: _Frame, labels: np.ndarray | None) -> str:
    if frame.kind == DETECTION:
        certified, total = certified_object_count(frame.record)
        return f"certified objects: {certified} of {total}"
    return f"abstain rate: {record_abstain_rate(frame.record, labels):.1%}"


def _write_png(path: str, image: np.ndarray) -> str:
    if not cv2.imwrite(path, image):
        raise OSError(f"could not write {path}")
    return path


def _check_output(video: str | None, fps: float, clean: Sequence | None, count: int) -> None:
    if video is not None and os.path.splitext(video)[1].lower() not in FOURCC_BY_EXTENSION:
        raise ValueError(f"the video must end in .mp4 or .avi, got {video!r}")
    if video is not None and not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if clean is not None and len(clean) != count:
        raise ValueError(f"{len(clean)} clean predictions for {count} records")


def render_records(records: Sequence[Mapping], out_dir: str,
                   classes: Sequence[str] | None = None, *,
                   palette: Sequence[Sequence[int]] | None = None,
                   img_dir: str | None = None, base_dir: str | None = None,
                   panel: bool = False, video: str | None = None, fps: float = 10.0,
                   clean: Sequence[np.ndarray | None] | None = None,
                   hierarchy: Hierarchy | Mapping | None = None) -> list[str]:
    """Draw every record over its frame into ``out_dir/<stem>.png``.

    ``classes`` and ``palette`` are the run's (``dataset_meta['classes']`` and
    ``['palette']``, RGB, as in ``summary.json``); without them ids are named
    "class <id>" and coloured by the project's own palette. With ``panel`` also
    ``<stem>_panel.png`` (input frame, or ``clean[i]`` drawn when given: a (k, 6) detection
    array or a clean label map, beside the certified drawing); with ``video`` one video of
    all frames in record order, each stamped with its certified-object count or abstain
    rate. Relative paths in the records are also tried under ``base_dir``. Every record is
    checked and its files found before the first write; the video appears only complete.
    Records with a node map (a hierarchical run, docs/certificates.md §9) are drawn with
    ``hierarchy`` (a :class:`~adcert.certify.hierarchy.Hierarchy`, or the summary's
    ``hierarchy`` dict over ``classes``; when None, the one in ``base_dir``'s
    ``summary.json``): classes solid, coarser nodes hatched in colour, abstain grey.
    Returns the written paths (frames in order, then the video).
    """
    _check_output(video, fps, clean, len(records))
    frames = _plan(records, out_dir, img_dir, base_dir)
    tree = _run_hierarchy(records, hierarchy, classes, base_dir)
    colours: Sequence[BGR] | None = palette_from_meta(palette, classes)
    os.makedirs(out_dir, exist_ok=True)
    written: list[str] = []

    def drawn_frames() -> Iterator[np.ndarray]:
        for i, frame in enumerate(frames):
            image = read_frame(frame.frame_path)
            labels = None
            if frame.kind == DETECTION:
                drawing = draw_detection_record(image, frame.record, classes, colours)
                draw_clean = draw_clean_detections
            elif frame.nodes_path is not None and tree is not None:
                labels = load_label_map(frame.nodes_path)
                drawing = draw_node_record(image, labels, frame.record, tree, colours)
                draw_clean = draw_clean_mask
            else:
                labels = load_label_map(frame.mask_path)
                drawing = draw_segmentation_record(image, labels, frame.record, classes,
                                                   colours)
                draw_clean = draw_clean_mask
            written.append(_write_png(os.path.join(out_dir, f"{frame.stem}.png"), drawing))
            if panel:
                left, title = image, "input frame"
                if clean is not None and clean[i] is not None:
                    left = draw_clean(image, clean[i], classes, colours)
                    title = "clean (base model)"
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
