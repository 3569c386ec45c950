"""Label spaces of the synthetic scenes: Cityscapes trainIds and the four detection classes."""

from __future__ import annotations

# Cityscapes' 19 evaluated classes in trainId order (the order mmseg's CityscapesDataset
# uses for its METAINFO classes).
CITYSCAPES_CLASSES: tuple[str, ...] = (
    "road",
    "sidewalk",
    "building",
    "wall",
    "fence",
    "pole",
    "traffic light",
    "traffic sign",
    "vegetation",
    "terrain",
    "sky",
    "person",
    "rider",
    "car",
    "truck",
    "bus",
    "train",
    "motorcycle",
    "bicycle",
)
TRAIN_IDS: dict[str, int] = {name: i for i, name in enumerate(CITYSCAPES_CLASSES)}

# Unlabelled pixels (here: the ego vehicle's bonnet), ignored by mmseg's losses and metrics.
IGNORE_INDEX = 255

# Detection classes, COCO category ids 1..4 in this order. A cyclist gives one ``rider``
# box around the rider's pixels; the bicycle is trainId 18 in the label map but has no box.
DETECTION_CLASSES: tuple[str, ...] = ("car", "person", "rider", "traffic sign")
CATEGORY_IDS: dict[str, int] = {name: i + 1 for i, name in enumerate(DETECTION_CLASSES)}
