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
