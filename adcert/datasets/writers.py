"""Write scenes where mmsegmentation and mmdetection read them without custom code.

Layout under ``root`` (Cityscapes-style, plus COCO json for detection)::

    leftImg8bit/<split>/<city>/<city>_<index:06d>_000019_leftImg8bit.png   BGR frames
    gtFine/<split>/<city>/<city>_<index:06d>_000019_gtFine_labelTrainIds.png  uint8 trainIds
    annotations/instances_<split>.json       COCO boxes; file_name relative to leftImg8bit/<split>/
    sequences/<name>/frame_<i:06d>.png        video frames
    sequences_gtFine/<name>/frame_<i:06d>_gtFine_labelTrainIds.png
    annotations/sequence_<name>.json          COCO boxes; file_name relative to sequences/<name>/

mmseg: ``CityscapesDataset(data_root=root, data_prefix=dict(img_path='leftImg8bit/val',
seg_map_path='gtFine/val'))`` (default suffixes); for a sequence add ``img_suffix='.png'``
and point the prefixes at ``sequences/<name>`` and ``sequences_gtFine/<name>``.
mmdet: ``CocoDataset(data_root=root, ann_file='annotations/instances_val.json',
data_prefix=dict(img='leftImg8bit/val/'), metainfo=dict(classes=DETECTION_CLASSES))``.

A split is written into a hidden temporary directory under ``root`` and moved into place
at the end, json last: a crash never leaves a split whose json exists but whose images
are missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from adcert.datasets.labels import CATEGORY_IDS, DETECTION_CLASSES
from adcert.datasets.scenes import Scene, derive_seed, generate_scene
from adcert.vis.video import IMAGE_SUFFIXES  # noqa: F401 (old home; use adcert.vis.video)

CITY = "synthtown"
IMG_SUFFIX = "_leftImg8bit.png"
SEG_SUFFIX = "_gtFine_labelTrainIds.png"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_SUPER = {"car": "vehicle", "person": "human", "rider": "human", "traffic sign": "object"}


@dataclass(frozen=True)
class SplitSummary:
    """Where a split (or sequence) went and what it holds."""

    split: str
    num_images: int
    image_dir: Path
    label_dir: Path
    ann_file: Path
    num_instances: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        counts = ", ".join(f"{self.num_instances.get(c, 0)} {c}" for c in DETECTION_CLASSES)
        return (
            f"{self.split}: {self.num_images} images in {self.image_dir}, labels in "
            f"{self.label_dir}, boxes ({counts}) in {self.ann_file}"
        )


def split_seeds(seed: int, split: str, count: int) -> list[int]:
    """Frame seeds of a split: ``derive_seed(seed, split, i)`` for i < count (disjoint splits)."""
    if count < 0:
        raise ValueError(f"count must be non-negative, got {count}")
    return [derive_seed(seed, split, i) for i in range(count)]


def frame_name(city: str, index: int) -> str:
    """Cityscapes-style frame stem, e.g. ``synthtown_000007_000019``."""
    return f"{city}_{index:06d}_000019"


def coco_categories() -> list[dict]:
    """COCO ``categories``: ids 1..4 for car, person, rider, traffic sign."""
    return [
        {"id": CATEGORY_IDS[c], "name": c, "supercategory": _SUPER[c]} for c in DETECTION_CLASSES
    ]


def write_split(
    root: str | os.PathLike,
    split: str,
    scenes: Iterable[Scene | int],
    *,
    city: str = CITY,
    height: int = 256,
    width: int = 512,
    overwrite: bool = False,
) -> SplitSummary:
    """Write one split (frames, trainId PNGs, COCO json) under ``root``.

    ``scenes`` holds :class:`Scene` objects or seeds (generated at ``height`` × ``width``
    one at a time, so memory stays flat). The split appears complete or not at all; an
    existing split raises ``FileExistsError`` unless ``overwrite``.
    """
    _check_name("split", split)
    _check_name("city", city)
    root = Path(root)
    image_dir, label_dir = root / "leftImg8bit" / split, root / "gtFine" / split
    ann_file = root / "annotations" / f"instances_{split}.json"

    def place(i: int) -> tuple[str, str]:
        stem = frame_name(city, i)
        return f"{city}/{stem}{IMG_SUFFIX}", f"{city}/{stem}{SEG_SUFFIX}"

    frames = (s if isinstance(s, Scene) else generate_scene(int(s), height, width) for s in scenes)
    return _write(root, split, frames, place, image_dir, label_dir, ann_file, overwrite, {})


def write_sequence(
    root: str | os.PathLike, name: str, scenes: Iterable[Scene], *, overwrite: bool = False
) -> SplitSummary:
    """Write video frames ``sequences/<name>/frame_%06d.png`` with their labels and COCO json.

    Annotations carry ``track_id`` and images ``frame_id`` (pycocotools ignores both).
    Same all-or-nothing and overwrite rules as :func:`write_split`.
    """
    _check_name("sequence name", name)
    root = Path(root)
    image_dir, label_dir = root / "sequences" / name, root / "sequences_gtFine" / name
    ann_file = root / "annotations" / f"sequence_{name}.json"

    def place(i: int) -> tuple[str, str]:
        return f"frame_{i:06d}.png", f"frame_{i:06d}{SEG_SUFFIX}"

    return _write(
        root, name, scenes, place, image_dir, label_dir, ann_file, overwrite, {"video": name}
    )


def _check_name(what: str, name: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"{what} must be a plain file name (letters, digits, _ . -), got {name!r}")


def _write(root, split, scenes, place, image_dir, label_dir, ann_file, overwrite, extra):
    targets = (image_dir, label_dir, ann_file)
    if not overwrite and any(p.exists() for p in targets):
        raise FileExistsError(f"{split!r} already exists under {root} (pass overwrite=True)")
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{split}.", dir=root))
    try:
        images, annotations, counts = [], [], Counter()
        for i, scene in enumerate(scenes):
            img_rel, seg_rel = place(i)
            _imwrite(tmp / "img" / img_rel, scene.image)
            _imwrite(tmp / "seg" / seg_rel, scene.semantic)
            h, w = scene.semantic.shape
            image_id = i + 1
            images.append(
                {
                    "id": image_id,
                    "file_name": img_rel,
                    "width": w,
                    "height": h,
                    "seed": scene.seed,
                    "frame_id": scene.frame,
                    **extra,
                }
            )
            for inst in scene.instances:
                x1, y1, x2, y2 = inst.bbox
                annotations.append(
                    {
                        "id": len(annotations) + 1,
                        "image_id": image_id,
                        "category_id": inst.category_id,
                        "bbox": [x1, y1, x2 - x1, y2 - y1],
                        "area": inst.area,
                        "iscrowd": 0,
                        "track_id": inst.track_id,
                    }
                )
                counts[inst.category] += 1
        coco = {
            "info": {"description": "adcert synthetic driving scenes", "split": split},
            "licenses": [],
            "images": images,
            "annotations": annotations,
            "categories": coco_categories(),
        }
        (tmp / "ann.json").write_text(json.dumps(coco, separators=(",", ":")))
        (tmp / "img").mkdir(exist_ok=True)
        (tmp / "seg").mkdir(exist_ok=True)
        # Publish: retire the old json first, then swap directories, the new json last.
        if ann_file.exists():
            ann_file.unlink()
        for src, dst in ((tmp / "img", image_dir), (tmp / "seg", label_dir)):
            dst.parent.mkdir(parents=True, exist_ok=True)
            if dst.exists():
                os.replace(dst, tmp / f"old-{dst.parent.name}")
            os.replace(src, dst)
        ann_file.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp / "ann.json", ann_file)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return SplitSummary(split, len(images), image_dir, label_dir, ann_file, dict(counts))


def _imwrite(path: Path, array) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), array):
        raise OSError(f"could not write {path}")
