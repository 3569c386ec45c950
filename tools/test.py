"""Evaluate a model's (not a smoothed model's) quality with its config's test_evaluator,
optionally under Gaussian noise — the numbers behind the demo models' README table.

    python tools/test.py CONFIG CHECKPOINT [--noise-sigma S] [--work-dir DIR] [--seed S]
        [--unsafe-load]

``--noise-sigma`` inserts RandomGaussianNoise (σ on the [0, 1] scale) after the test
pipeline's resize, as certification does. The last line printed is ``metrics: {json}``.
The checkpoint is read as the certify tools read it (``weights_only`` unless
``--unsafe-load``; every model weight present with its shape); bad input is one line on
stderr and exit status 2.
"""

import argparse
import json
import os
import sys

from mmengine.runner import Runner

from adcert.cli.common import CfgOptionsAction, run_main
from adcert.models.loading import load_config, load_weights, read_checkpoint


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("checkpoint")
    parser.add_argument("--noise-sigma", type=float)
    parser.add_argument("--work-dir")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cfg-options", nargs="+", action=CfgOptionsAction, default={})
    parser.add_argument("--unsafe-load", action="store_true",
                        help="allow pickled Python objects in the checkpoint (trusted files only)")
    args = parser.parse_args(argv)
    for path in (args.config, args.checkpoint):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"file not found: {path}")
    if args.unsafe_load:
        print("warning: --unsafe-load runs any Python code pickled in the checkpoint",
              file=sys.stderr)
    cfg = load_config(args.config, args.cfg_options)
    state = read_checkpoint(args.checkpoint, unsafe_load=args.unsafe_load)
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
    cfg.load_from = None  # the weights are loaded below, as read above
    cfg.randomness = dict(seed=args.seed)
    for key in ("train_dataloader", "train_cfg", "optim_wrapper", "param_scheduler"):
        cfg.pop(key, None)  # testing only: no train data needed on disk
    try:
        runner = Runner.from_cfg(cfg)
    except Exception as error:  # noqa: BLE001 - any bad key of the config
        raise ValueError(f"cannot build the runner from {args.config}: {error}") from None
    load_weights(getattr(runner.model, "module", runner.model), state)
    metrics = runner.test()
    print("metrics: " + json.dumps({k: float(v) for k, v in metrics.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
