"""Run the embedded demo offline (what ``make demo`` does after setup).

    python tools/demo.py [--work-dir DIR] [--frames N] [--sequence N] [--seed S]
"""

import argparse
import sys

from adcert.demo import DemoSettings, run_demo


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-dir", default=DemoSettings.work_dir)
    parser.add_argument("--data-root", default=DemoSettings.data_root)
    parser.add_argument("--frames", type=int, default=DemoSettings.frames,
                        help="val frames certified per task")
    parser.add_argument("--sequence", type=int, default=DemoSettings.sequence,
                        help="frames of the video sequence")
    parser.add_argument("--seed", type=int, help="run seed (default: OS entropy)")
    args = parser.parse_args()
    for name in ("frames", "sequence"):
        if getattr(args, name) < 1:
            print(f"error: --{name} must be positive", file=sys.stderr)
            return 2
    try:
        run_demo(DemoSettings(args.work_dir, args.data_root, args.frames, args.sequence,
                              args.seed))
    except (RuntimeError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
