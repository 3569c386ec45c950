"""Frame and video files: the one module that finds, reads and writes them.

Image folders and videos given to the certify tools (``--images``), frames looked up by
``tools/visualize.py`` (``--img-dir``), and the videos both write all go through here.
Needs numpy and OpenCV only.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

import cv2
import numpy as np

from adcert.vis.caption import as_bgr_image, caption_bar

# Frame files read from a folder (--images, --img-dir), and the video files read as frames.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")
# Container by extension; mp4v plays without extra codecs wherever OpenCV's FFmpeg runs.
FOURCC_BY_EXTENSION = {".mp4": "mp4v", ".avi": "MJPG"}


def is_video(source: str) -> bool:
    """Whether ``source`` names a video file (by its extension)."""
    return source.lower().endswith(VIDEO_SUFFIXES)


def image_paths(folder: str) -> list[str]:
    """The image files of ``folder`` (by :data:`IMAGE_SUFFIXES`), sorted by name."""
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"image folder not found: {folder}")
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith(IMAGE_SUFFIXES))
    return [os.path.join(folder, name) for name in names]


def read_frame(path: str) -> np.ndarray:
    """One image file as a BGR uint8 array; an unreadable file is an OSError naming it."""
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise OSError(f"cannot read frame image {path}")
    return image


def stamp_status(image: np.ndarray, text: str) -> np.ndarray:
    """``image`` under a dark strip that holds ``text`` (e.g. "certified objects: 3 of 5",
    about the smoothed model's certificates), wrapped to the width. The strip is added
    above the frame rather than drawn over it, so it never covers a box or a label."""
    image = as_bgr_image(image)
    return np.vstack([caption_bar(image.shape[1], [text]), image])


def _fit_frame(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    """Scale ``frame`` to fit (height, width), keeping its aspect ratio; pad with black."""
    frame = as_bgr_image(frame)
    if frame.shape[:2] == (height, width):
        return frame
    scale = min(height / frame.shape[0], width / frame.shape[1])
    new_h = max(1, min(height, round(frame.shape[0] * scale)))
    new_w = max(1, min(width, round(frame.shape[1] * scale)))
    resized = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_AREA)
    out = np.zeros((height, width, 3), np.uint8)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    out[top:top + new_h, left:left + new_w] = resized
    return out


def write_video(frames: Iterable[np.ndarray], path: str, fps: float = 10.0) -> str:
    """Write BGR frames (e.g. certified drawings of the smoothed model) to ``path``: mp4v
    for .mp4, MJPG for .avi. Every frame is fitted to the first frame's size (rounded
    up to even, which mp4v needs). The file is written under a temporary name and
    renamed when complete, so a failed run never leaves a plausible-looking video."""
    extension = os.path.splitext(path)[1].lower()
    if extension not in FOURCC_BY_EXTENSION:
        raise ValueError(f"video must end in .mp4 or .avi, got {path!r}")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    iterator = iter(frames)
    first = next(iterator, None)
    if first is None:
        raise ValueError("no frames to write to the video")
    first = as_bgr_image(first)
    height, width = first.shape[0] + first.shape[0] % 2, first.shape[1] + first.shape[1] % 2

    folder, name = os.path.split(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    partial = os.path.join(folder, f".{os.path.splitext(name)[0]}.partial{extension}")
    fourcc = cv2.VideoWriter_fourcc(*FOURCC_BY_EXTENSION[extension])
    writer = cv2.VideoWriter(partial, fourcc, float(fps), (width, height))
    try:
        if not writer.isOpened():
            raise OSError(f"OpenCV cannot open a {FOURCC_BY_EXTENSION[extension]} writer "
                          f"for {path}")
        writer.write(_fit_frame(first, height, width))
        for frame in iterator:
            writer.write(_fit_frame(frame, height, width))
        writer.release()
        os.replace(partial, path)
    except BaseException:
        writer.release()
        if os.path.exists(partial):
            os.remove(partial)
        raise
    return path


def iter_video_frames(path: str, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """Decode the frames (or the first ``max_frames``) of a video file as BGR arrays."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"video not found: {path}")
    capture = cv2.VideoCapture(path)
    count = 0
    try:
        if not capture.isOpened():
            raise OSError(f"cannot read video {path}")
        while max_frames is None or count < max_frames:
            ok, frame = capture.read()
            if not ok:
                break
            count += 1
            yield frame
    finally:
        capture.release()
    if not count:
        raise OSError(f"no frames could be decoded from {path}")


def read_video_frames(path: str, max_frames: int | None = None) -> list[np.ndarray]:
    """All frames (or the first ``max_frames``) of a video file as BGR arrays."""
    return list(iter_video_frames(path, max_frames))


def extract_video_frames(path: str, folder: str, max_frames: int | None = None) -> list[str]:
    """Decode a video into ``folder/frame_000000.png`` …, so frames can go through a
    file-based test pipeline; returns the paths in order."""
    paths = []
    for frame in iter_video_frames(path, max_frames):
        paths.append(os.path.join(folder, f"frame_{len(paths):06d}.png"))
        if not cv2.imwrite(paths[-1], frame):
            raise OSError(f"could not write {paths[-1]}")
    return paths
