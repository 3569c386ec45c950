"""Synthetic driving scenes for the demo: generator and Cityscapes/COCO writers.

``generate_scene`` / ``generate_sequence`` draw camera-like street scenes with exact
Cityscapes trainId maps and visible-pixel boxes for ``car``, ``person``, ``rider`` and
``traffic sign``; ``write_split`` / ``write_sequence`` store them in the layout that
mmsegmentation's ``CityscapesDataset`` and mmdetection's ``CocoDataset`` read as is.
Needs numpy and OpenCV only (no torch).
"""

from adcert.datasets.labels import (
    CATEGORY_IDS,
    CITYSCAPES_CLASSES,
    DETECTION_CLASSES,
    IGNORE_INDEX,
    TRAIN_IDS,
)
from adcert.datasets.scenes import (
    MIN_VISIBLE_AREA,
    MIN_VISIBLE_FRACTION,
    Instance,
    Scene,
    derive_seed,
    generate_scene,
    generate_sequence,
)
from adcert.datasets.writers import SplitSummary, split_seeds, write_sequence, write_split

__all__ = [
    "CATEGORY_IDS",
    "CITYSCAPES_CLASSES",
    "DETECTION_CLASSES",
    "IGNORE_INDEX",
    "MIN_VISIBLE_AREA",
    "MIN_VISIBLE_FRACTION",
    "TRAIN_IDS",
    "Instance",
    "Scene",
    "SplitSummary",
    "derive_seed",
    "generate_scene",
    "generate_sequence",
    "split_seeds",
    "write_sequence",
    "write_split",
]
