"""Small synthetic frames, label maps and result records for the drawing tests."""

from __future__ import annotations

import hashlib

import numpy as np

DET_CLASSES = ["car", "person", "rider", "traffic sign"]


def frame(height: int = 96, width: int = 160) -> np.ndarray:
    """A bright sky over a dark road with a gradient, so that colours are not uniform."""
    image = np.empty((height, width, 3), np.uint8)
    image[: height // 2] = (235, 225, 210)
    image[height // 2:] = (60, 60, 60)
    image[..., 1] = np.clip(image[..., 1].astype(int) + np.arange(width) // 8, 0, 255)
    return image


def box(bbox, lower, upper, label=0, label_certified=True, may_vanish=False, score=0.9):
    return {"bbox": list(bbox), "lower": lower, "upper": upper, "label": label,
            "label_certified": label_certified, "may_vanish": may_vanish, "score": score}


def detection_record(image_id: str = "frame_000.png", img_path: str | None = None) -> dict:
    """Three boxes: one certified, one that may vanish (unbounded), one with an
    uncertified label that sticks out of a 96 x 160 frame."""
    return {
        "image_id": image_id, "img_path": img_path, "method": "median_smoothing_sort_and_bin",
        "sigma": 0.25, "eps": 0.36, "n": 200, "alpha": 0.001, "correction": "box",
        "bin": "label", "sort": "center", "seed": 7,
        "boxes": [
            box((30, 30, 80, 80), [24, 24, 72, 72], [38, 38, 86, 86], label=0),
            box((90, 10, 130, 60), [None, 4, 84, None], [100, None, None, None], label=1,
                may_vanish=True, score=0.5),
            box((120, 50, 200, 120), [110, 40, 190, 110], [126, 58, 210, 130], label=3,
                label_certified=False, score=0.3),
        ],
    }


def label_map(height: int = 96, width: int = 160) -> np.ndarray:
    """Road (0), car (13), an id beyond the Cityscapes palette (40) and abstentions."""
    labels = np.zeros((height, width), np.uint8)
    labels[: height // 2] = 10
    labels[50:80, 20:70] = 13
    labels[10:40, 100:150] = 40
    labels[40:70, 70:130] = 255
    return labels


def segmentation_record(image_id: str = "frame_000", mask_path: str = "") -> dict:
    return {"image_id": image_id, "index": 0, "method": "segcertify_tau_abstain",
            "radius": 0.1686, "sigma": 0.25, "tau": 0.75, "n0": 32, "n": 200,
            "alpha": 0.001, "correction": "holm", "abstain_rate": 0.125, "seed": 7,
            "mask_path": mask_path}


def digest(array: np.ndarray) -> str:
    """sha256 over shape, dtype and bytes: equal digests mean byte-identical arrays."""
    array = np.ascontiguousarray(array)
    header = f"{array.shape}{array.dtype}".encode()
    return hashlib.sha256(header + array.tobytes()).hexdigest()


def crowded_horizon_record(height: int = 256, width: int = 512, count: int = 24,
                           seed: int = 0) -> dict:
    """``count`` small, overlapping boxes on one horizon line (distant traffic), two of
    them cut by the frame's left and right edges; certified, unlocalised and crossed
    boxes mixed. Coordinates scale with the frame, so every size shows the same scene."""
    rng = np.random.default_rng(seed)
    horizon = 0.47 * height
    boxes = []
    for i in range(count):
        w = width * rng.uniform(0.02, 0.06)
        h = w * rng.uniform(0.6, 1.4)
        x1 = -0.3 * w if i == 0 else (width - 0.7 * w if i == count - 1
                                      else rng.uniform(0.05, 0.9) * width)
        y2 = horizon + rng.uniform(-0.02, 0.04) * height
        bbox = (x1, y2 - h, x1 + w, y2)
        kind = i % 3
        spread = 0.02 * w if kind == 0 else 0.4 * w  # tight: localised; wide: unlocalised
        lower = [v - spread for v in bbox]
        upper = [v + spread for v in bbox]
        boxes.append(box(bbox, lower, upper, label=i % len(DET_CLASSES),
                         may_vanish=kind == 2, score=0.5))
    return {"method": "median_smoothing_sort_and_bin", "boxes": boxes}
