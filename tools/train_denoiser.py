"""Train a denoiser for denoised smoothing on mmengine's runner (adcert.models.denoiser).

    python tools/train_denoiser.py configs/denoiser/conv_demo_mse.py [--sigma 0.25]
        [--objective mse|stability] [--task CONFIG CHECKPOINT] [--load-from CKPT]
        [--work-dir DIR] [--seed S] [--cfg-options k=v ...]

The flags override the config's ``model.sigma``, ``model.objective``, ``model.task`` and
``load_from``. ``--task`` names the frozen task model the stability objective trains
through (its framework is read from the config: a ``certify`` dict with ``eps`` is a
detector's). Publish the result with ``tools/publish_checkpoint.py``; a bad config or
checkpoint is one line on stderr and exit status 2 before training starts.
"""

import argparse
import sys

import train  # tools/train.py, beside this file

from adcert.cli.common import run_main


def task_framework(config: str) -> str:
    """mmdet or mmseg, from the task config's model type."""
    from adcert.models.loading import load_config

    model = load_config(config).get("model") or {}
    kind = str(model.get("type", ""))
    if kind in ("EncoderDecoder", "CascadeEncoderDecoder") or "seg" in kind.lower():
        return "mmseg"
    return "mmdet"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--sigma", type=float, help="the smoothing σ on the [0, 1] scale")
    parser.add_argument("--objective", choices=["mse", "stability"])
    parser.add_argument("--task", nargs=2, metavar=("CONFIG", "CHECKPOINT"),
                        help="the frozen task model of the stability objective")
    parser.add_argument("--load-from", help="start from this denoiser checkpoint")
    parser.add_argument("--work-dir")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cfg-options", nargs="+", default=[])
    args = parser.parse_args(argv)
    options = list(args.cfg_options)
    if args.sigma is not None:
        if not args.sigma > 0:
            raise ValueError(f"--sigma must be positive, got {args.sigma}")
        options.append(f"model.sigma={args.sigma!r}")
    if args.objective:
        options.append(f"model.objective={args.objective}")
    if args.task:
        config, checkpoint = args.task
        options += [f"model.task.config={config}", f"model.task.checkpoint={checkpoint}",
                    f"model.task.framework={task_framework(config)}"]
    if args.load_from:
        options.append(f"load_from={args.load_from}")
    forwarded = [args.config, "--seed", str(args.seed)]
    forwarded += ["--work-dir", args.work_dir] if args.work_dir else []
    forwarded += ["--cfg-options", *options] if options else []
    return train.main(forwarded)


if __name__ == "__main__":
    sys.exit(run_main(main))
