"""Slim a training checkpoint (weights + class names, float16) so it can ship.

    python tools/publish_checkpoint.py SOURCE TARGET [--fp32] [--unsafe-load]

mmengine's own checkpoints hold pickled objects (the config), so reading the ones
tools/train.py wrote needs --unsafe-load; the written file loads with weights_only=True.
"""

import argparse
import sys

from adcert.cli.common import run_main
from adcert.models.publish import slim_checkpoint


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("target")
    parser.add_argument("--fp32", action="store_true", help="keep float32 weights")
    parser.add_argument("--unsafe-load", action="store_true",
                        help="read a source holding pickled objects (your own files only)")
    args = parser.parse_args(argv)
    size, sha256 = slim_checkpoint(args.source, args.target, half=not args.fp32,
                                   unsafe_load=args.unsafe_load)
    print(f"{args.target}: {size / 2**20:.1f} MiB, sha256 {sha256}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
