"""Evaluate a model's (not a smoothed model's) quality with its config's test_evaluator,
optionally under Gaussian noise — the numbers behind the demo models' README table.

    python tools/test.py CONFIG CHECKPOINT [--noise-sigma S] [--work-dir DIR] [--seed S]

``--noise-sigma`` inserts RandomGaussianNoise (σ on the [0, 1] scale) after the test
pipeline's resize, as certification does. The last line printed is ``metrics: {json}``.
"""

import argparse
import json
import os
import sys

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from adcert.cli.common import run_main


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("checkpoint")
    parser.add_argument("--noise-sigma", type=float)
    parser.add_argument("--work-dir")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, default={})
    args = parser.parse_args(argv)
    for path in (args.config, args.checkpoint):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"file not found: {path}")
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    if args.noise_sigma is not None:
        pipeline = cfg.test_dataloader.dataset.pipeline
        resize = next((i for i, t in enumerate(pipeline) if "Resize" in t["type"]), None)
        if resize is None:
            raise ValueError("the test pipeline has no Resize step to add noise after")
        pipeline.insert(resize + 1, dict(type="RandomGaussianNoise", sigma=args.noise_sigma))
        imports = list(cfg.get("custom_imports", {}).get("imports", []))
        cfg.custom_imports = dict(imports=imports + ["adcert.noise.transforms"],
                                  allow_failed_imports=False)
    name = os.path.splitext(os.path.basename(args.config))[0]
    cfg.work_dir = args.work_dir or os.path.join("work_dirs", name + "_test")
    cfg.load_from = args.checkpoint
    cfg.randomness = dict(seed=args.seed)
    for key in ("train_dataloader", "train_cfg", "optim_wrapper", "param_scheduler"):
        cfg.pop(key, None)  # testing only: no train data needed on disk
    metrics = Runner.from_cfg(cfg).test()
    print("metrics: " + json.dumps({k: float(v) for k, v in metrics.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
