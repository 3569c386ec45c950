"""Arguments and error handling shared by the certify tools (``tools/test.py`` shape)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

from mmengine.config import DictAction

from adcert.stats.parameter_ranges import TRANSFORMS


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("config", help="model config file (mmdet / mmseg)")
    parser.add_argument("checkpoint", help="checkpoint file")
    parser.add_argument("--work-dir", help="output folder (default: work_dirs/<config name>)")
    parser.add_argument("--out", help="also copy the per-frame results to this .jsonl file")
    parser.add_argument("--show-dir", help="draw certified predictions into this folder")
    parser.add_argument("--images", help="certify this image folder or video (mp4/avi/…) "
                        "through the config's test pipeline instead of its test set")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, default={},
                        help="override config settings, key=value as in mmdet")
    parser.add_argument("--launcher", choices=["none", "pytorch", "slurm", "mpi"],
                        default="none")
    parser.add_argument("--transform", choices=TRANSFORMS,
                        help="what is smoothed over: ℓ2 pixel noise (default) or a camera "
                             "effect's parameter")
    parser.add_argument("--sigma", type=float,
                        help="σ of the smoothing: pixel noise on the [0, 1] scale, brightness "
                             "offset, log-contrast (both for brightness_contrast), or the "
                             "Rayleigh σ of gamma")
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


def check_common_settings(settings: dict) -> None:
    """σ, α and batch size, with the statistics core's own checks and messages."""
    from adcert.stats._checks import check_alpha, check_sigma
    from adcert.stats.parameter_ranges import check_transform

    check_sigma(settings["sigma"])
    check_transform(settings["transform"])
    check_alpha(settings["alpha"])
    if settings["batch_size"] < 1:
        raise ValueError(f"batch_size must be positive, got {settings['batch_size']}")


def run_main(main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> int:
    """Run ``main``; bad input becomes one line on stderr and exit status 2."""
    try:
        return main(argv)
    except (ValueError, FileNotFoundError, OSError, KeyError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        print(f"error: {message}", file=sys.stderr)
        return 2


@dataclass
class Session:
    """Everything a certify tool sets up before its loop over frames."""

    settings: dict
    seed: int
    rank: int
    world_size: int
    loaded: object  # adcert.models.loading.LoadedModel
    dataset: object
    run: object | None  # adcert.pipeline.run.RunDir on rank 0

    @property
    def classes(self) -> list[str]:
        meta = getattr(self.dataset, "metainfo", {}) or {}
        classes = meta.get("classes") or self.loaded.dataset_meta.get("classes")
        if not classes:
            raise ValueError("neither the dataset nor the checkpoint names the classes")
        return list(classes)


def _init_distributed(launcher: str, init_dist: Callable) -> None:
    """mmengine's init_dist on GPUs (NCCL); CPU-only ranks started by torchrun talk over
    gloo (mmengine's own path would select a CUDA device)."""
    import torch

    if torch.cuda.is_available():
        init_dist(launcher)
    elif launcher == "pytorch":
        torch.distributed.init_process_group(backend="gloo")
    else:
        raise ValueError(f"--launcher {launcher} needs GPUs; on CPU use torchrun "
                         "(tools/dist_certify.sh, --launcher pytorch)")


def start_session(args, framework: str, defaults: dict, check: Callable[[dict], None]) -> Session:
    """Config + CLI → settings; distributed init; one run seed for all ranks; model, test
    set and (on rank 0) the timestamped output folder."""
    from mmengine.dist import broadcast_object_list, get_dist_info, init_dist

    from adcert.models.data import build_test_dataset
    from adcert.models.loading import load_config, load_model
    from adcert.noise import new_run_seed
    from adcert.pipeline.run import RunDir, merge_settings

    cfg = load_config(args.config, args.cfg_options)
    settings = merge_settings(defaults, cfg.get("certify"),
                              {k: getattr(args, k, None) for k in defaults})
    check(settings)
    if "test_dataloader" not in cfg:
        raise ValueError("the config has no `test_dataloader` to take frames from")
    if args.launcher != "none":
        _init_distributed(args.launcher, init_dist)
    rank, world_size = get_dist_info()
    seed = [settings["seed"] if settings["seed"] is not None else new_run_seed()]
    if world_size > 1:
        broadcast_object_list(seed)  # every rank draws its frames' noise from one run seed
    loaded = load_model(cfg, args.checkpoint, framework, device=args.device,
                        unsafe_load=args.unsafe_load)
    work_dir = args.work_dir or os.path.join(
        "work_dirs", os.path.splitext(os.path.basename(args.config))[0])
    run = RunDir(work_dir) if rank == 0 else None
    if args.images:
        dataset = _image_frames(cfg, args.images, run, settings.get("max_images"))
    else:
        dataset = build_test_dataset(cfg)
    return Session(settings, seed[0], rank, world_size, loaded, dataset, run)


def _image_frames(cfg, source: str, run, max_images: int | None):
    """``--images``: a folder's images, or a video's frames decoded by rank 0 into the run
    folder (so the drawings and records can point at them)."""
    from mmengine.dist import broadcast_object_list, get_dist_info

    from adcert.models.data import ImageFrames, image_paths, is_video
    from adcert.vis.video import extract_video_frames

    if not is_video(source):
        return ImageFrames(cfg, image_paths(source))
    paths = [extract_video_frames(source, run.subdir("frames"), max_images) if run else None]
    if get_dist_info()[1] > 1:
        broadcast_object_list(paths)
    return ImageFrames(cfg, paths[0])


def certify_frames(session: Session, certify_one: Callable) -> list | None:
    """Call ``certify_one(packed, index, image_id, generator)`` on this rank's shard of the
    test set (each frame exactly once over all ranks), with a progress bar; returns every
    rank's results, ordered by frame, on rank 0 and None elsewhere."""
    from mmengine.dist import collect_results
    from mmengine.utils import ProgressBar

    from adcert.models.data import load_frame
    from adcert.noise import image_generator
    from adcert.pipeline.run import shard

    max_images = session.settings.get("max_images")
    indices = shard(len(session.dataset), session.rank, session.world_size, max_images)
    bar = ProgressBar(len(indices)) if session.rank == 0 else None
    results = []
    for index in indices:
        packed = load_frame(session.dataset, index)
        sample = packed["data_samples"]
        image_id = os.path.basename(sample.img_path) if "img_path" in sample else str(index)
        generator = image_generator(session.seed, image_id, session.loaded.device)
        results.append((index, certify_one(packed, index, image_id, generator)))
        if bar:
            bar.update()
    total = len(shard(len(session.dataset), 0, 1, max_images))
    gathered = collect_results(results, total)
    if session.rank != 0:
        return None
    return [result for _, result in sorted(gathered, key=lambda item: item[0])]


def model_record(session: Session) -> dict:
    loaded = session.loaded
    return {"config": loaded.config_path, "checkpoint": loaded.checkpoint_path,
            "checkpoint_sha256": loaded.checkpoint_sha256}


def finish_run(session: Session, records: list[dict], summary: dict, out: str | None,
               title: str, keys: tuple[str, ...]) -> int:
    """Rank 0's last step: results.jsonl (then the ``--out`` copy), summary.json last, and
    the headline figures on stdout."""
    import shutil

    run = session.run
    run.write_results(records)
    if out:
        shutil.copyfile(run.results_path, out)
    times = [r["time_s"] for r in records]
    summary = {"settings": {**session.settings, "seed": session.seed}, "frames": len(records),
               "classes": session.classes, "model": model_record(session),
               "seconds_per_frame": sum(times) / len(times) if times else None, **summary}
    ranges = {r["certified_range"]["text"] for r in records if "certified_range" in r}
    if len(ranges) == 1:
        summary["certified_range"] = ranges.pop()
    path = run.write_summary(summary)
    print(f"\ncertified {len(records)} frames ({title}):")
    if "certified_range" in summary:
        print(f"  certified against: {summary['certified_range']}")
    width = max(len(key) for key in keys)
    for key in keys:
        if summary.get(key) is not None:
            print(f"  {key:{width}s} {summary[key]:.4f}")
    print(f"results: {run.results_path}\nsummary: {path}")
    return 0


def show_results(args, records: list[dict], classes: list[str], clean: list) -> None:
    """``--show-dir``: the same drawings as ``tools/visualize.py --panel`` (certified
    drawing per frame, and a panel beside the base model's clean prediction), and a video
    of them when the frames came from one (``--images clip.mp4``)."""
    if not args.show_dir:
        return
    from adcert.cli.visualize import render_records
    from adcert.models.data import is_video

    video = None
    if args.images and is_video(args.images):
        video = os.path.join(args.show_dir, "certified.mp4")
    written = render_records(records, args.show_dir, classes, panel=True, clean=clean,
                             video=video)
    print(f"drawings: {len(written)} files in {args.show_dir}")
