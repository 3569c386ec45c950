"""Arguments, printing and error handling shared by the certify tools (``tools/test.py``
shape). The run itself is :mod:`adcert.pipeline.engine`'s; this module only parses
arguments and prints."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from mmengine.config import DictAction

from adcert.stats.parameter_ranges import TRANSFORMS

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class CfgOptionsAction(DictAction):
    """mmengine's ``--cfg-options`` parser, with what it cannot parse as a one-line
    ValueError (exit status 2) instead of its AssertionError or an unpacking error."""

    def __call__(self, parser, namespace, values, option_string=None):
        for item in values:
            if "=" not in item:
                raise ValueError(f"--cfg-options {item!r} is not key=value")
            try:  # one item at a time, so that the message names the bad one
                super().__call__(parser, namespace, [item], option_string)
            except AssertionError:  # mmengine asserts that brackets balance
                raise ValueError(f"--cfg-options {item!r}: unbalanced bracket") from None


def base_parser(description: str) -> argparse.ArgumentParser:
    """The flags both certify tools take; each tool adds its own settings."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("config", help="model config file (mmdet / mmseg)")
    parser.add_argument("checkpoint", help="checkpoint file")
    parser.add_argument("--work-dir", help="output folder (default: work_dirs/<config name>)")
    parser.add_argument("--resume", nargs="?", const=True, metavar="RUN_DIR",
                        help="continue an interrupted run (default: the work dir's latest); "
                             "settings, seed and checkpoint must match the original run")
    parser.add_argument("--out", help="also copy the per-frame results to this new .jsonl "
                                      "file (never replaces an existing one)")
    parser.add_argument("--show-dir", help="draw certified predictions into this folder")
    parser.add_argument("--images", help="certify this image folder (sub-folders and "
                        "symlinked ones included), image or video (mp4/avi/…) through the "
                        "config's test pipeline instead of its test set")
    parser.add_argument("--cfg-options", nargs="+", action=CfgOptionsAction, default={},
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
    parser.add_argument("--n", type=int, help="estimation samples per frame")
    parser.add_argument("--batch-size", type=int,
                        help="noisy copies per forward pass (records may differ in their "
                             "last digits with it; --resume needs the same)")
    parser.add_argument("--seed", type=int,
                        help="run seed (default: fresh OS entropy, recorded in every result)")
    parser.add_argument("--max-images", type=int, help="certify only the first N frames")
    parser.add_argument("--device", help="cpu, cuda, cuda:1 … (default: cuda if available)")
    parser.add_argument("--amp", action="store_true",
                        help="mixed precision on CUDA (refused on a CPU)")
    parser.add_argument("--noise", choices=("auto", "host", "device"), default="auto",
                        help="where pixel noise is drawn: on the host by numpy, or on the "
                             "model's device by Philox (default auto: device on CUDA, host "
                             "elsewhere; docs/noise.md)")
    parser.add_argument("--unsafe-load", action="store_true",
                        help="allow pickled Python objects in the checkpoint (trusted files only)")
    parser.add_argument("--denoiser", nargs=2, metavar=("CONFIG", "CHECKPOINT"),
                        help="certify the model behind this denoiser (denoised smoothing; "
                             "overrides the config's certify.denoiser); CHECKPOINT `none` "
                             "for one without weights of its own")
    return parser


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def run_main(main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> int:
    """Run ``main``; bad input becomes one line on stderr and exit status 2, Ctrl-C one
    line and exit status 130."""
    from adcert.pipeline.engine import Interrupted

    try:
        return main(argv)
    except Interrupted as stop:
        print(str(stop), file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("interrupted before the first frame; nothing was certified", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, FileNotFoundError, OSError, KeyError, SyntaxError) as error:
        print(f"error: {_first_line(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT


def run_options(args):
    """The parsed flags that say how to run (not what to certify)."""
    from adcert.pipeline.session import RunOptions

    return RunOptions(config=args.config, checkpoint=args.checkpoint,
                      cfg_options=dict(args.cfg_options or {}), work_dir=args.work_dir,
                      images=args.images, out=args.out, show_dir=args.show_dir,
                      launcher=args.launcher, device=args.device, amp=args.amp, noise=args.noise,
                      unsafe_load=args.unsafe_load, resume=args.resume,
                      denoiser=tuple(args.denoiser) if args.denoiser else None)


def settings_flags(args, settings_type) -> dict:
    """The settings given on the command line (None = not given)."""
    import dataclasses

    return {f.name: getattr(args, f.name, None) for f in dataclasses.fields(settings_type)}


def certify_main(task, args) -> int:
    """Set up the session, run the engine, print the headline figures (rank 0)."""
    from adcert.pipeline.engine import run
    from adcert.pipeline.session import open_session

    if args.unsafe_load:
        print("warning: --unsafe-load runs any Python code pickled in the checkpoint; use it "
              "only for files you trust (recorded as unsafe_load: true)", file=sys.stderr)
    session = open_session(task, run_options(args), settings_flags(args, task.settings_type))
    result = run(session)
    if session.rank != 0:
        return 0
    if args.out:
        _copy_results(result, args.out)
    _print_summary(task, session, result)
    show_results(args, session, result)
    return 0


def _copy_results(result, out: str) -> None:
    """``--out``: the records with ``mask_path`` and ``gt_mask_path`` made absolute (they
    leave the run folder)."""
    from adcert.pipeline import rundir

    run_dir = os.path.abspath(result.run_dir)
    lines = []
    for record in result.records:
        record = {**record, **{key: os.path.join(run_dir, record[key])
                               for key in ("mask_path", "gt_mask_path") if record.get(key)}}
        lines.append(rundir.dumps(record) + "\n")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    rundir.write_atomic(out, "".join(lines))


def _print_summary(task, session, result) -> None:
    from adcert.stats._rounding import figure_text

    summary = result.summary
    print(f"\ncertified {summary['frames']} frames ({task.title(session.settings)}):")
    if "certified_range" in summary:
        print(f"  certified against: {summary['certified_range']}")
    width = max(len(key) for key in task.headline)
    for key in task.headline:
        if summary.get(key) is not None:
            print(f"  {key:{width}s} {figure_text(key, summary[key])}")
    if summary.get("certified_failure_bound") is not None:
        from adcert.evaluation.certified_ap import FAILURE_BOUND_READING

        # B is computed from the samples: say what is proven, not "fails with prob. ≤ B".
        print(f"  certified_failure_bound is B: {FAILURE_BOUND_READING} "
              "(docs/certified_ap.md)")
    print(f"results: {result.results_path}\nsummary: {result.summary_path}")


def _render_records():
    try:
        from adcert.vis.render import render_records
    except ImportError:
        from adcert.cli.visualize import render_records
    return render_records


def show_results(args, session, result) -> None:
    """``--show-dir``: the same drawings as ``tools/visualize.py --panel`` (certified
    drawing per frame, and a panel beside the base model's clean prediction), and a video
    of them when the frames came from one (``--images clip.mp4``)."""
    if not args.show_dir:
        return
    from adcert.vis import load_label_map

    classes = session.classes
    clean = [load_label_map(os.path.join(result.run_dir, item)) if isinstance(item, str)
             else item for item in result.clean]
    render, video = _render_records(), session.frames.video
    if video is None:
        written = render(result.records, args.show_dir, classes, panel=True, clean=clean,
                         base_dir=result.run_dir)
    else:  # the drawings need the frames as files: decode them now, into a temporary folder
        import tempfile

        from adcert.vis.video import extract_video_frames

        with tempfile.TemporaryDirectory() as frames:
            extract_video_frames(video, frames, len(result.records))
            written = render(result.records, args.show_dir, classes, panel=True, clean=clean,
                             base_dir=result.run_dir, img_dir=frames,
                             video=os.path.join(args.show_dir, "certified.mp4"))
    print(f"drawings: {len(written)} files in {args.show_dir}")
