"""Train a model from an mmdet / mmseg config with mmengine's Runner (the demo models).

    python tools/train.py CONFIG [--work-dir DIR] [--cfg-options k=v ...] [--seed S]

A config that cannot be read, or a ``load_from`` checkpoint that is not a safe, readable
checkpoint, is one line on stderr and exit status 2 before training starts.
"""

import argparse
import os
import sys

from mmengine.runner import Runner

from adcert.cli.common import CfgOptionsAction, run_main
from adcert.models.loading import load_config, read_checkpoint


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--work-dir", help="default: work_dirs/<config name>")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cfg-options", nargs="+", action=CfgOptionsAction, default={})
    args = parser.parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    if cfg.get("load_from"):
        read_checkpoint(cfg.load_from)  # safe load only: refuse pickled code up front
    name = os.path.splitext(os.path.basename(args.config))[0]
    cfg.work_dir = args.work_dir or os.path.join("work_dirs", name)
    cfg.randomness = dict(seed=args.seed, deterministic=False)
    try:
        runner = Runner.from_cfg(cfg)
    except Exception as error:  # noqa: BLE001 - any bad key of the config
        raise ValueError(f"cannot build the runner from {args.config}: {error}") from None
    runner.train()
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
