"""Train a model from an mmdet / mmseg config with mmengine's Runner (the demo models).

    python tools/train.py CONFIG [--work-dir DIR] [--cfg-options k=v ...] [--seed S]
"""

import argparse
import os
import sys

from mmengine.config import Config, DictAction
from mmengine.runner import Runner


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--work-dir", help="default: work_dirs/<config name>")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, default={})
    args = parser.parse_args()
    if not os.path.isfile(args.config):
        print(f"error: config file not found: {args.config}", file=sys.stderr)
        return 2
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    name = os.path.splitext(os.path.basename(args.config))[0]
    cfg.work_dir = args.work_dir or os.path.join("work_dirs", name)
    cfg.randomness = dict(seed=args.seed, deterministic=False)
    Runner.from_cfg(cfg).train()
    return 0


if __name__ == "__main__":
    sys.exit(main())
