"""The frames a config's ``test_dataloader`` names, after its test pipeline."""

from __future__ import annotations

import os

from mmengine.config import Config

from adcert.vis.video import IMAGE_SUFFIXES, VIDEO_SUFFIXES


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


class VideoFrames:
    """A video's frames through a config's test pipeline, decoded one at a time when asked
    for — never all written out or held. The pipeline's image-loading step is replaced by
    the decoded frame (as ``LoadImageFromFile`` would set it); annotations are left out.

    Frames are read forward from an open capture (skipped frames are grabbed, not
    decoded); asking for an earlier frame reopens the video. ``max_frames`` caps the count.
    """

    def __init__(self, cfg: Config, path: str, max_frames: int | None = None) -> None:
        from mmengine.dataset import Compose

        steps = [step for step in cfg.test_dataloader.dataset.pipeline
                 if "LoadAnnotations" not in step["type"]]
        if not steps or "LoadImage" not in steps[0]["type"]:
            raise ValueError("the test pipeline does not start by loading an image")
        self.to_float32 = bool(steps[0].get("to_float32", False))
        self.pipeline = Compose(steps[1:])
        self.path = os.path.abspath(path)
        self.metainfo = _dataset_metainfo(cfg.test_dataloader.dataset)
        self._capture, self._next = None, 0
        claimed, self.count = self._count(max_frames)
        wanted = claimed if max_frames is None else min(claimed, max_frames)
        if self.count < wanted:  # a truncated file: say so rather than certify part of it
            raise ValueError(f"video {path} claims {claimed} frames but only {self.count} "
                             f"could be read (truncated?); --max-images {self.count} "
                             "certifies the frames that decode")
        if self.count == 0:
            raise ValueError(f"no frames could be decoded from {path}")

    def _count(self, max_frames: int | None) -> tuple[int, int]:
        """(frames the container claims, frames that can be read up to ``max_frames``)."""
        import cv2

        if not os.path.isfile(self.path):
            raise FileNotFoundError(f"video not found: {self.path}")
        capture = cv2.VideoCapture(self.path)
        count = 0
        try:
            claimed = max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT)))
            while (max_frames is None or count < max_frames) and capture.grab():
                count += 1
        finally:
            capture.release()
        return claimed, count

    def __len__(self) -> int:
        return self.count

    def frame(self, index: int):
        """Frame ``index`` as a BGR uint8 array."""
        import cv2

        if not 0 <= index < self.count:
            raise IndexError(f"frame {index} of a {self.count}-frame video")
        if self._capture is None or index < self._next:
            if self._capture is not None:
                self._capture.release()
            self._capture, self._next = cv2.VideoCapture(self.path), 0
        while self._next < index:
            if not self._capture.grab():
                raise OSError(f"cannot decode frame {self._next} of {self.path}")
            self._next += 1
        ok, image = self._capture.read()
        if not ok:
            raise OSError(f"cannot decode frame {index} of {self.path}")
        self._next += 1
        return image

    def __getitem__(self, index: int) -> dict:
        import numpy as np

        image = self.frame(index)
        if self.to_float32:
            image = image.astype(np.float32)
        return self.pipeline({"img": image, "img_shape": image.shape[:2],
                              "ori_shape": image.shape[:2], "img_id": index,
                              "img_path": f"{self.path}#{index}"})


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


def is_image(source: str) -> bool:
    return source.lower().endswith(IMAGE_SUFFIXES)


def _listing_error(error: OSError) -> None:
    raise OSError(f"cannot list {error.filename}: {error.strerror}")


def image_paths(folder: str) -> list[str]:
    """The image files under ``folder``, sorted by relative path: sub-folders included,
    symlinked ones followed (hidden ones, starting with ".", left out).

    Every image name must be a regular file or a link to one (a named pipe would block
    the run, a broken link stop it halfway), and no folder may be reached twice (a link
    loop, or two links to one folder, would list its frames again): ValueErrors naming
    the path. A sub-folder that cannot be read is an OSError.
    """
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"image folder not found: {folder}")
    found, listed = [], {}
    for parent, dirs, names in os.walk(folder, onerror=_listing_error, followlinks=True):
        where = os.path.relpath(parent, folder)
        real = os.path.realpath(parent)
        if real in listed:
            raise ValueError(f"--images: {parent} links back to {listed[real]}, which is "
                             "already listed; each frame must be listed once")
        listed[real] = parent
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in names:
            relative = os.path.normpath(os.path.join(where, name))
            if not name.lower().endswith(IMAGE_SUFFIXES):
                continue
            if not os.path.isfile(os.path.join(parent, name)):
                raise ValueError(f"--images: {relative} is not a regular file (a named pipe, "
                                 "a device or a broken link?)")
            found.append(relative)
    return [os.path.join(folder, relative) for relative in sorted(found)]
