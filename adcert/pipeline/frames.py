"""The frames of a run and the ids that seed their noise.

A frame's ``image_id`` is its path relative to the data root (or the ``--images`` folder;
``frame_000000.png`` … for a video's frames), with ``/`` separators: ``cityA/x.png`` and
``cityB/x.png`` are two frames with two noise streams, and every output file named after
a frame derives from this id, never from the file's stem alone
(``docs/certificates.md`` §6, seeding).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Frame:
    index: int  # position in the test set (or folder / video), the run's frame order
    image_id: str  # relative path; seeds the frame's noise with the run seed
    img_path: str | None  # absolute path of the image file, when it has one


def frame_key(img_path: str, root: str | None) -> str:
    """``img_path`` relative to ``root`` (POSIX separators); a path outside ``root`` (or
    with no root) keys by its whole absolute path."""
    path = os.path.abspath(img_path)
    if root:
        relative = os.path.relpath(path, os.path.abspath(root))
        if relative != os.curdir and not relative.startswith(os.pardir + os.sep):
            return relative.replace(os.sep, "/")
    return path.lstrip(os.sep).replace(os.sep, "/")


@dataclass
class Frames:
    """A test set (an mmengine dataset or :class:`adcert.models.data.ImageFrames`), the
    frames to certify (after ``max_images``) and whether they carry annotations."""

    dataset: object
    frames: list[Frame]
    annotated: bool
    # The config's dataloader with its data root ("test_dataloader (data/demo/,
    # leftImg8bit/test/)"), the image folder or the video: for the log and run.json.
    source: str
    video: str | None = None  # absolute path when the frames are a video's (decoded lazily)

    def __len__(self) -> int:
        return len(self.frames)

    def load(self, index: int) -> dict:
        from adcert.models.data import load_frame

        return load_frame(self.dataset, index)

    def describe(self) -> list[str]:
        """The frame ids in order: what a resumed run must find again."""
        return [frame.image_id for frame in self.frames]


def _img_path(dataset, index: int) -> str | None:
    if hasattr(dataset, "paths"):
        return dataset.paths[index]
    info = dataset.get_data_info(index)
    return info.get("img_path")


def _check_name(image_id: str, img_path: str) -> None:
    """Ids are written into JSON records and output file names, which need UTF-8: a file
    name that is not (bytes the OS handed over as surrogates) is refused while listing,
    not after the first frame was certified."""
    try:
        image_id.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"the name of frame {os.fsencode(img_path)!r} is not valid UTF-8; "
                         "rename the file") from None


def list_frames(dataset, root: str | None, max_images: int | None) -> list[Frame]:
    """Frames of ``dataset`` keyed relative to ``root``; duplicate ids are an error (they
    would share one noise stream), and so is a name that is not valid UTF-8."""
    total = len(dataset)
    if total == 0:
        raise ValueError("no frames to certify: the test set is empty")
    count = total if max_images is None else min(total, max_images)
    frames, seen = [], {}
    for index in range(count):
        img_path = _img_path(dataset, index)
        image_id = frame_key(img_path, root) if img_path else f"frame_{index:06d}"
        if img_path:
            _check_name(image_id, img_path)
        if image_id in seen:
            raise ValueError(f"frames {seen[image_id]} and {index} have the same path "
                             f"{image_id!r}; each frame must be listed once")
        seen[image_id] = index
        frames.append(Frame(index, image_id, os.path.abspath(img_path) if img_path else None))
    return frames


def check_test_data(cfg) -> None:
    """The config's ``test_dataloader`` as the frames need it: a dict whose ``dataset`` is
    a dict and whose test ``pipeline`` (when given) is a list of steps with a ``type``.
    ValueError naming the part that is not, before any model is built."""
    if "test_dataloader" not in cfg:
        raise ValueError("the config has no `test_dataloader` to take frames from")
    loader = cfg.test_dataloader
    if not isinstance(loader, Mapping):
        raise ValueError(f"the config's `test_dataloader` must be a dict, got {loader!r}")
    dataset = loader.get("dataset")
    if not isinstance(dataset, Mapping):
        raise ValueError(f"the config's `test_dataloader.dataset` must be a dict, got "
                         f"{dataset!r}")
    pipeline = dataset.get("pipeline", [])
    if not isinstance(pipeline, list | tuple) or not all(
            isinstance(step, Mapping) and "type" in step for step in pipeline):
        raise ValueError("the config's `test_dataloader.dataset.pipeline` must be a list of "
                         f"dicts with a `type`, got {pipeline!r}"[:300])


def _has_annotations(cfg) -> bool:
    steps = cfg.test_dataloader.dataset.get("pipeline", [])
    return any("LoadAnnotations" in str(step.get("type", "")) for step in steps)


def loader_source(cfg) -> str:
    """The config's frames as the log names them: ``test_dataloader`` with its data root
    and image folder, e.g. ``test_dataloader (data/demo/, leftImg8bit/test/)``. The split
    must be named: a config's test_dataloader may well read a val split."""
    dataset = cfg.test_dataloader.dataset
    prefix = dataset.get("data_prefix")
    if isinstance(prefix, Mapping):  # mmdet names the image folder img, mmseg img_path
        prefix = prefix.get("img", prefix.get("img_path"))
    where = [str(part) for part in (dataset.get("data_root"), prefix) if part]
    if not where and dataset.get("ann_file"):
        where = [str(dataset.get("ann_file"))]
    if not where:  # a dataset wrapper or one of the user's own: its type at least
        where = [str(dataset.get("type", "dataset"))]
    return f"test_dataloader ({', '.join(where)})"


def build_frames(cfg, images: str | None, max_images: int | None) -> Frames:
    """The test set of ``cfg``, or ``images`` (a folder, one image file, or a video decoded
    lazily, frame by frame) through its test pipeline, annotations left out. A video's
    frames are keyed ``frame_000000.png`` … and have no image file."""
    from adcert.models.data import (
        IMAGE_SUFFIXES,
        VIDEO_SUFFIXES,
        ImageFrames,
        VideoFrames,
        build_test_dataset,
        image_paths,
        is_image,
        is_video,
    )

    if images is None:
        dataset = build_test_dataset(cfg)
        root = getattr(dataset, "data_root", None) or None
        return Frames(dataset, list_frames(dataset, root, max_images), _has_annotations(cfg),
                      loader_source(cfg))
    source = os.path.abspath(images)
    if is_video(images):
        video = VideoFrames(cfg, images, max_images)
        frames = [Frame(i, f"frame_{i:06d}.png", None) for i in range(len(video))]
        return Frames(video, frames, False, source, video=source)
    if os.path.isdir(images):
        dataset = ImageFrames(cfg, image_paths(images))
        return Frames(dataset, list_frames(dataset, images, max_images), False, source)
    if is_image(images) and os.path.isfile(images):  # one image, keyed by its file name
        dataset = ImageFrames(cfg, [images])
        return Frames(dataset, list_frames(dataset, os.path.dirname(source), max_images),
                      False, source)
    raise ValueError(f"--images {images} is neither an image folder, an image nor a video "
                     f"({'/'.join(IMAGE_SUFFIXES)}, {'/'.join(VIDEO_SUFFIXES)})")
