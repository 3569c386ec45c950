"""The demo's synthetic driving scenes on disk: ``tools/make_demo_data.py``'s logic.

    python tools/make_demo_data.py --out data/demo --train 400 --val 60 --test 60 \\
        --sequence 48 --seed 0 [--height 256] [--width 512] [--sequence-name demo]

Frame seeds derive from (--seed, split, index), so train, val, test and the sequence never
share a frame. Choices (checkpoints, schedules, designs) are made on val; every reported
figure is measured on test, which no choice looked at. The same command always writes the
same files. Existing splits under --out are replaced (atomically, split by split). Layout:
see :mod:`adcert.datasets.writers`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from adcert.datasets import (
    derive_seed,
    generate_sequence,
    split_seeds,
    write_sequence,
    write_split,
)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr and exit status 2."""

    def error(self, message: str) -> None:  # one line on stderr, exit code 2
        self.exit(2, f"{self.prog}: error: {message}\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of ``tools/make_demo_data.py``, checked."""
    parser = _Parser(prog="make_demo_data.py", description="Generate the demo's synthetic "
                     "driving scenes (Cityscapes layout + COCO json).")
    parser.add_argument("--out", type=Path, default=Path("data/demo"), help="output root")
    parser.add_argument("--train", type=int, default=400, help="training frames")
    parser.add_argument("--val", type=int, default=60,
                        help="validation frames (model and design selection)")
    parser.add_argument("--test", type=int, default=60,
                        help="test frames (every reported figure)")
    parser.add_argument("--sequence", type=int, default=48, help="frames of the video sequence")
    parser.add_argument("--sequence-name", default="demo")
    parser.add_argument("--seed", type=int, default=0, help="run seed (non-negative)")
    parser.add_argument("--height", type=int, default=256)
    parser.add_argument("--width", type=int, default=512)
    args = parser.parse_args(argv)
    for name in ("train", "val", "test", "sequence", "seed"):
        if getattr(args, name) < 0:
            parser.error(f"--{name} must be non-negative, got {getattr(args, name)}")
    for name in ("height", "width"):
        if getattr(args, name) < 32:
            parser.error(f"--{name} must be at least 32, got {getattr(args, name)}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Write the requested splits and sequence; returns the exit status (2 on bad input)."""
    args = parse_args(argv)
    prog = "make_demo_data.py"
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        if not os.access(args.out, os.W_OK | os.X_OK):
            raise PermissionError(f"cannot write to {args.out}")
        size = dict(height=args.height, width=args.width)
        for split, count in (("train", args.train), ("val", args.val), ("test", args.test)):
            if count:
                seeds = split_seeds(args.seed, split, count)
                print(write_split(args.out, split, seeds, overwrite=True, **size))
        if args.sequence:
            scenes = generate_sequence(derive_seed(args.seed, "sequence", 0), args.sequence, **size)
            print(write_sequence(args.out, args.sequence_name, scenes, overwrite=True))
    except (OSError, ValueError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    return 0
