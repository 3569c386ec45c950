"""The frames a config's ``test_dataloader`` names, after its test pipeline."""

from __future__ import annotations

import os

from mmengine.config import Config

from adcert.datasets.writers import IMAGE_SUFFIXES


def build_test_dataset(cfg: Config):
    """Build ``cfg.test_dataloader.dataset`` in the current default scope."""
    if "test_dataloader" not in cfg or "dataset" not in cfg.test_dataloader:
        raise ValueError("the config has no `test_dataloader.dataset` to take frames from")
    from mmengine.registry import DATASETS

    return DATASETS.build(cfg.test_dataloader.dataset)


def load_frame(dataset, index: int) -> dict:
    """``dataset[index]`` through the test pipeline; a frame that cannot be read or
    transformed is a ValueError naming it (mmcv signals unreadable images by assert)."""
    try:
        return dataset[index]
    except Exception as error:  # noqa: BLE001 - any pipeline failure is bad input here
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"cannot load frame {index} of the test set: {detail}") from error


VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")


class ImageFrames:
    """Image files through a config's test pipeline, annotations left out — what the
    certify tools read with ``--images`` instead of the config's test set."""

    def __init__(self, cfg: Config, paths: list[str]) -> None:
        from mmengine.dataset import Compose

        if not paths:
            raise ValueError("no frames to certify: the image folder is empty")
        steps = [step for step in cfg.test_dataloader.dataset.pipeline
                 if "LoadAnnotations" not in step["type"]]
        self.pipeline = Compose(steps)
        self.paths = list(paths)
        self.metainfo = _dataset_metainfo(cfg.test_dataloader.dataset)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict:
        return self.pipeline({"img_path": self.paths[index], "img_id": index})


def _dataset_metainfo(dataset_cfg) -> dict:
    """The classes the config's test set would have, without reading its files."""
    from mmengine.registry import DATASETS

    if dataset_cfg.get("metainfo"):
        return dict(dataset_cfg["metainfo"])
    with DATASETS.switch_scope_and_registry(dataset_cfg.get("_scope_")) as registry:
        dataset_class = registry.get(dataset_cfg.get("type"))
    return dict(getattr(dataset_class, "METAINFO", {}) or {})


def is_video(source: str) -> bool:
    return source.lower().endswith(VIDEO_SUFFIXES)


def image_paths(folder: str) -> list[str]:
    """The image files of ``folder``, sorted by name."""
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"image folder not found: {folder}")
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith(IMAGE_SUFFIXES))
    return [os.path.join(folder, name) for name in names]
