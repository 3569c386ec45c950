"""Redraw the README's two pictures from a certified demo run.

    .venv/bin/python tools/make_readme_figures.py [--work-dir work_dirs/readme_figures]
        [--out docs/figures] [--seed 0] [--max-width 768] [--max-kb 200]

Writes the demo's first test frame (``tools/make_demo_data.py``, seed 0) under the work
dir, certifies it with the committed demo detector and segmenter through the certify
tools' own entry points and settings, as ``make demo`` does (but with a fixed ``--seed``
and on the CPU, so the pictures are reproducible), and copies from the runs' show dirs:

- ``demo_det.png``: the certified detection drawing of the frame;
- ``demo_seg.png``: the segmentation panel (clean prediction beside the certified map),
  certified down the ``cityscapes`` hierarchy (``--hierarchy cityscapes``);

each scaled down to at most ``--max-width`` pixels wide and, if need be, further until the
PNG is at most ``--max-kb`` kB. About a minute on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys

import cv2

from adcert.cli import certify_det, certify_seg
from adcert.demo import DET_ALPHA, DET_CHECKPOINT, DET_CONFIG, REPO, SEG_CHECKPOINT, SEG_CONFIG


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-dir", default="work_dirs/readme_figures",
                        help="data, runs and drawings (replaced on every call)")
    parser.add_argument("--out", default=os.path.join(REPO, "docs", "figures"),
                        help="folder of demo_det.png and demo_seg.png")
    parser.add_argument("--seed", type=int, default=0, help="run seed of both runs")
    parser.add_argument("--max-width", type=int, default=768)
    parser.add_argument("--max-kb", type=int, default=200)
    return parser.parse_args(argv)


def certify(step, argv: list[str]) -> None:
    """Run one certify tool's entry point; raise if it fails (its error already printed)."""
    print(f"\n== {' '.join(argv)}", flush=True)
    status = step(argv)
    if status != 0:
        raise SystemExit(f"certification failed with exit status {status}")


def drawing(show_dir: str, panel: bool) -> str:
    """The one drawing (``<stem>.png``) or panel (``<stem>_panel.png``) in ``show_dir``."""
    found = [path for path in glob.glob(os.path.join(glob.escape(show_dir), "*.png"))
             if path.endswith("_panel.png") == panel]
    if len(found) != 1:
        raise SystemExit(f"expected one {'panel' if panel else 'drawing'} in {show_dir}, "
                         f"found {len(found)}")
    return found[0]


def write_small_png(source: str, target: str, max_width: int, max_kb: int) -> None:
    """``source`` scaled (area interpolation) to at most ``max_width`` pixels wide, and
    further by 0.85 at a time until its PNG fits in ``max_kb`` kB, written to ``target``."""
    image = cv2.imread(source, cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"cannot read {source}")
    width = min(max_width, image.shape[1])
    while True:
        height = round(image.shape[0] * width / image.shape[1])
        small = image if width == image.shape[1] else cv2.resize(
            image, (width, height), interpolation=cv2.INTER_AREA)
        ok, data = cv2.imencode(".png", small, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        if not ok:
            raise SystemExit(f"cannot encode {source} as PNG")
        if len(data) <= max_kb * 1024 or width < 64:
            break
        width = int(width * 0.85)
    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    with open(target, "wb") as file:
        file.write(data.tobytes())
    print(f"{target}: {small.shape[1]}×{small.shape[0]}, {len(data) / 1024:.0f} kB")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if os.path.isdir(args.work_dir):
        shutil.rmtree(args.work_dir)
    data = os.path.join(args.work_dir, "data")
    subprocess.run([sys.executable, os.path.join(REPO, "tools", "make_demo_data.py"),
                    "--out", data, "--train", "0", "--val", "0", "--test", "1",
                    "--sequence", "0", "--seed", "0"], check=True)
    common = ["--max-images", "1", "--seed", str(args.seed), "--device", "cpu",
              "--cfg-options", f"test_dataloader.dataset.data_root={data}/"]
    shows = {task: os.path.join(args.work_dir, task, "show") for task in ("det", "seg")}
    certify(certify_det.cli,
            [DET_CONFIG, DET_CHECKPOINT, "--work-dir", os.path.join(args.work_dir, "det"),
             "--alpha", DET_ALPHA, "--show-dir", shows["det"], *common])
    certify(certify_seg.cli,
            [SEG_CONFIG, SEG_CHECKPOINT, "--work-dir", os.path.join(args.work_dir, "seg"),
             "--hierarchy", "cityscapes", "--show-dir", shows["seg"], *common])
    write_small_png(drawing(shows["det"], panel=False), os.path.join(args.out, "demo_det.png"),
                    args.max_width, args.max_kb)
    write_small_png(drawing(shows["seg"], panel=True), os.path.join(args.out, "demo_seg.png"),
                    args.max_width, args.max_kb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
