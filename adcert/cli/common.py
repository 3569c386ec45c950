"""Arguments and error handling shared by the certify tools (``tools/test.py`` shape)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from mmengine.config import DictAction


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("config", help="model config file (mmdet / mmseg)")
    parser.add_argument("checkpoint", help="checkpoint file")
    parser.add_argument("--work-dir", help="output folder (default: work_dirs/<config name>)")
    parser.add_argument("--out", help="also copy the per-frame results to this .jsonl file")
    parser.add_argument("--show-dir", help="draw certified predictions into this folder")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, default={},
                        help="override config settings, key=value as in mmdet")
    parser.add_argument("--launcher", choices=["none", "pytorch", "slurm", "mpi"],
                        default="none")
    parser.add_argument("--sigma", type=float, help="Gaussian noise σ on the [0, 1] scale")
    parser.add_argument("--n0", type=int, help="selection samples per frame")
    parser.add_argument("--n", type=int, help="estimation samples per frame")
    parser.add_argument("--alpha", type=float, help="failure probability per frame")
    parser.add_argument("--batch-size", type=int, help="noisy copies per forward pass")
    parser.add_argument("--seed", type=int,
                        help="run seed (default: fresh OS entropy, recorded in every result)")
    parser.add_argument("--max-images", type=int, help="certify only the first N frames")
    parser.add_argument("--device", help="cpu, cuda, cuda:1 … (default: cuda if available)")
    parser.add_argument("--amp", action="store_true", help="mixed precision on CUDA")
    parser.add_argument("--unsafe-load", action="store_true",
                        help="allow pickled Python objects in the checkpoint (trusted files only)")
    return parser


def run_main(main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> int:
    """Run ``main``; bad input becomes one line on stderr and exit status 2."""
    try:
        return main(argv)
    except (ValueError, FileNotFoundError, OSError, KeyError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        print(f"error: {message}", file=sys.stderr)
        return 2
