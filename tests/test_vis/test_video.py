import os

import cv2
import numpy as np
import pytest

from adcert.vis import (
    extract_video_frames,
    image_paths,
    is_video,
    read_frame,
    read_video_frames,
    stamp_status,
    write_video,
)

from .synthetic import digest, frame


def grey_frames(count: int, height: int = 48, width: int = 64) -> list[np.ndarray]:
    return [np.full((height, width, 3), 30 + 40 * i, np.uint8) for i in range(count)]


def count_frames(path: str) -> tuple[int, int]:
    """(frame count in the header, frames actually decoded)."""
    capture = cv2.VideoCapture(path)
    assert capture.isOpened()
    header = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    decoded = 0
    while capture.read()[0]:
        decoded += 1
    capture.release()
    return header, decoded


@pytest.mark.parametrize("name", ["out.mp4", "out.avi"])
def test_video_holds_every_frame_in_order(tmp_path, name):
    path = str(tmp_path / name)
    assert write_video(grey_frames(5), path, fps=5) == path
    assert count_frames(path) == (5, 5)
    means = [float(f.mean()) for f in read_video_frames(path)]
    assert means == pytest.approx([30 + 40 * i for i in range(5)], abs=6)
    assert sorted(os.listdir(tmp_path)) == [name]  # no temporary file left behind


def test_frames_are_fitted_to_the_first_frames_size(tmp_path):
    path = str(tmp_path / "mixed.mp4")
    frames = [frame(48, 64), frame(96, 200), np.full((30, 30), 128, np.uint8),
              frame(47, 63)]
    write_video(iter(frames), path)  # any iterable, grey frames too
    decoded = read_video_frames(path)
    assert len(decoded) == 4
    assert {f.shape for f in decoded} == {(48, 64, 3)}


def test_odd_first_frame_is_padded_to_even_size(tmp_path):
    path = str(tmp_path / "odd.mp4")
    write_video(grey_frames(2, 47, 63), path)
    assert read_video_frames(path)[0].shape == (48, 64, 3)


def test_bad_extension_or_no_frames_is_rejected(tmp_path):
    with pytest.raises(ValueError, match=".mp4 or .avi"):
        write_video(grey_frames(2), str(tmp_path / "out.gif"))
    with pytest.raises(ValueError, match="no frames"):
        write_video([], str(tmp_path / "out.mp4"))
    with pytest.raises(ValueError, match="fps"):
        write_video(grey_frames(2), str(tmp_path / "out.mp4"), fps=0)
    assert os.listdir(tmp_path) == []


def test_failure_midway_leaves_no_video(tmp_path):
    def frames():
        yield from grey_frames(3)
        raise RuntimeError("frame 4 could not be drawn")

    with pytest.raises(RuntimeError):
        write_video(frames(), str(tmp_path / "out.mp4"))
    assert os.listdir(tmp_path) == []


def test_video_appears_only_when_complete(tmp_path):
    path = tmp_path / "out.mp4"
    seen_while_writing = []

    def frames():
        for image in grey_frames(3):
            yield image
            seen_while_writing.append(path.exists())

    write_video(frames(), str(path))
    assert seen_while_writing == [False, False, False] and path.exists()


def test_reading_missing_or_broken_videos_fails(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_video_frames(str(tmp_path / "missing.mp4"))
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    with pytest.raises(OSError):
        read_video_frames(str(broken))


def test_read_stops_at_max_frames(tmp_path):
    path = str(tmp_path / "out.mp4")
    write_video(grey_frames(5), path)
    assert len(read_video_frames(path, max_frames=2)) == 2


def test_status_strip_sits_above_the_frame_and_covers_none_of_it():
    image = frame(96, 160)
    stamped = stamp_status(image, "1/3  certified objects: 2 of 3")
    strip = stamped.shape[0] - image.shape[0]
    assert 0 < strip < 60 and stamped.shape[1] == image.shape[1]
    np.testing.assert_array_equal(stamped[strip:], image)
    assert np.any(stamped[:strip] != stamped[0, 0])  # the text is there
    assert digest(stamp_status(image, "1/3  certified objects: 2 of 3")) == digest(stamped)
    assert digest(stamp_status(image, "1/3  certified objects: 3 of 3")) != digest(stamped)


def test_frame_files_of_a_folder_are_found_sorted_and_read(tmp_path):
    for name in ("b.png", "a.JPG", "notes.txt", "c.bmp"):
        (tmp_path / name).write_bytes(b"")
    cv2.imwrite(str(tmp_path / "b.png"), frame())
    assert [os.path.basename(p) for p in image_paths(str(tmp_path))] == ["a.JPG", "b.png",
                                                                         "c.bmp"]
    assert digest(read_frame(str(tmp_path / "b.png"))) == digest(frame())
    with pytest.raises(OSError, match="cannot read frame image"):
        read_frame(str(tmp_path / "c.bmp"))
    with pytest.raises(FileNotFoundError, match="image folder not found"):
        image_paths(str(tmp_path / "missing"))


def test_videos_are_told_by_extension_and_decoded_to_numbered_frames(tmp_path):
    assert is_video("clip.MP4") and is_video("a/b.mkv") and not is_video("frame.png")
    video = write_video(grey_frames(3), str(tmp_path / "clip.avi"), fps=5)
    folder = tmp_path / "frames"
    folder.mkdir()
    paths = extract_video_frames(video, str(folder), max_frames=2)
    assert [os.path.basename(p) for p in paths] == ["frame_000000.png", "frame_000001.png"]
    assert image_paths(str(folder)) == paths
