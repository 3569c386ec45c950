"""Settings → session: everything a run sets up before its first forward pass.

:func:`open_session` reads the config, builds and validates the task's settings object,
checks the device and that every output path can be written and overwrites nothing,
starts the distributed group, fixes one run seed for all ranks, lists the frames (before
the model, so that a bad frame list costs no model load), loads the model and checks
that it is the task's kind with finite weights, and creates (or, with ``resume``, checks
and reopens) the run folder. Any bad input is a ValueError / OSError raised here, before
a single frame is certified (``docs/design.md``, run engine).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

from adcert.noise.seeding import resolve_noise_path
from adcert.pipeline import provenance, rundir
from adcert.pipeline.frames import Frames, build_frames, check_test_data


@dataclass(frozen=True)
class RunOptions:
    """How to run, as opposed to what to certify (that is the settings object)."""

    config: str
    checkpoint: str
    cfg_options: dict = field(default_factory=dict)
    work_dir: str | None = None
    images: str | None = None
    out: str | None = None
    show_dir: str | None = None
    launcher: str = "none"
    device: str | None = None
    amp: bool = False
    noise: str = "auto"  # where pixel noise is drawn: auto, host or device (docs/noise.md)
    unsafe_load: bool = False
    resume: str | bool | None = None  # a run folder, True for the latest, None for a new run
    denoiser: tuple[str, str] | None = None  # --denoiser CONFIG CHECKPOINT


@dataclass
class Session:
    """A run, set up: the same on every rank except ``rank``."""

    task: Any  # adcert.pipeline.tasks.Task
    options: RunOptions
    settings: Any  # DetSettings | SegSettings
    seed: int
    rank: int
    world_size: int
    loaded: Any  # adcert.models.loading.LoadedModel
    frames: Frames
    classes: list[str]
    run_dir: str
    manifest: dict
    logger: Any = None
    hierarchy: Any = None  # adcert.certify.hierarchy.Hierarchy, None when flat

    @property
    def record_provenance(self) -> dict:
        return provenance.record_provenance(self.loaded.device, self.options.unsafe_load,
                                            self.noise_path)

    @property
    def noise_path(self) -> str:
        """``host`` or ``device``: where this run draws its pixel noise."""
        return self.manifest["noise_path"]


def resolve_device(device: str | None):
    """``torch.device`` of ``device`` (default: CUDA when available); unknown names and
    CUDA on a machine without it are ValueErrors."""
    import torch

    try:
        resolved = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"--device {device!r} is not a device ({error})") from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"--device {device} but CUDA is not available on this machine")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(f"--device {device}: only {torch.cuda.device_count()} GPU(s)")
    elif resolved.type != "cpu":
        raise ValueError(f"--device {device!r}: adcert runs on cpu or cuda")
    return resolved


def _init_distributed(launcher: str) -> None:
    """mmengine's init_dist on GPUs (NCCL); CPU ranks started by torchrun use gloo."""
    import torch
    from mmengine.dist import init_dist

    if torch.cuda.is_available():
        init_dist(launcher)
    elif launcher == "pytorch":
        if not torch.distributed.is_initialized():
            torch.distributed.init_process_group(backend="gloo")
    else:
        raise ValueError(f"--launcher {launcher} needs GPUs; on CPU use torchrun "
                         "(tools/dist_certify.sh, --launcher pytorch)")


def _broadcast(value: Any, world_size: int) -> Any:
    if world_size == 1:
        return value
    from mmengine.dist import broadcast_object_list

    box = [value]
    broadcast_object_list(box)
    return box[0]


def _check_writable(path: str, what: str, folder: str) -> None:
    """The nearest existing folder on the way to ``folder`` (where ``path`` will be
    written) must take a new file: tried with a probe file, since permission bits say
    nothing for root or a read-only mount. So an output that cannot be written stops the
    run before its first frame, not after the whole run."""
    import tempfile

    folder = os.path.abspath(folder)
    while not os.path.exists(folder):
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        raise ValueError(f"{what} {path}: {folder} is not a folder")
    try:
        handle, probe = tempfile.mkstemp(prefix=".adcert-probe-", dir=folder)
    except OSError as error:
        raise ValueError(f"{what} {path}: cannot write in {folder} "
                         f"({error.strerror or error})") from None
    os.close(handle)
    os.remove(probe)


def _check_output_paths(options: RunOptions) -> None:
    """``--out`` a new file and ``--show-dir`` a folder, both writable: checked first. A
    resumed run gets no exception: an existing ``--out`` may be one of its inputs."""
    if options.out is not None:
        if os.path.isdir(options.out):
            raise ValueError(f"--out {options.out} is a folder, not a file")
        if os.path.lexists(options.out):  # an input, or an earlier result: never replaced
            raise ValueError(f"--out {options.out} already exists; remove it or choose "
                             "another name")
        _check_writable(options.out, "--out", os.path.dirname(os.path.abspath(options.out)))
    if options.show_dir is not None:
        if os.path.exists(options.show_dir) and not os.path.isdir(options.show_dir):
            raise ValueError(f"--show-dir {options.show_dir} is a file, not a folder")
        _check_writable(options.show_dir, "--show-dir", options.show_dir)


def _inside(path: str, folder: str) -> bool:
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder + os.sep)


def _check_outputs(options: RunOptions, frames: Frames, run_dir: str | None) -> None:
    """Nothing the user owns is overwritten: ``--out`` (a new file, see
    :func:`_check_output_paths`, for a resumed run too) lies outside the run folder, and
    drawings never go into a folder that holds input frames or the input video."""
    if options.out is not None and run_dir is not None and _inside(options.out, run_dir):
        raise ValueError(f"--out {options.out} is inside the run folder {run_dir}; choose a "
                         "path outside it")
    if options.show_dir is None:
        return
    shown = os.path.realpath(options.show_dir)
    if frames.video and os.path.dirname(os.path.realpath(frames.video)) == shown:
        raise ValueError(f"--show-dir {options.show_dir} holds the input video "
                         f"{os.path.basename(frames.video)}; drawings and certified.mp4 "
                         "would go beside it: choose another folder")
    for frame in frames.frames:
        if frame.img_path and os.path.dirname(os.path.realpath(frame.img_path)) == shown:
            raise ValueError(f"--show-dir {options.show_dir} holds input frames (e.g. "
                             f"{frame.image_id}); drawings would overwrite them: choose "
                             "another folder")


def _classes(frames: Frames, loaded) -> list[str]:
    meta = getattr(frames.dataset, "metainfo", {}) or {}
    classes = meta.get("classes") or loaded.dataset_meta.get("classes")
    if not classes:
        raise ValueError("neither the dataset nor the checkpoint names the classes")
    return list(classes)


def _manifest(task, options: RunOptions, settings, seed: int, loaded, frames: Frames,
              config_text: str, world_size: int) -> dict:
    return {
        "schema_version": provenance.SCHEMA_VERSION,
        "task": task.name,
        "settings": settings.to_dict(),
        "seed": seed,
        "amp": options.amp,
        "noise_path": resolve_noise_path(options.noise, loaded.device),
        "config": os.path.abspath(options.config),
        "config_sha256": provenance.text_sha256(config_text),
        "config_file_sha256": _file_sha256(options.config),
        "cfg_options": options.cfg_options,
        "checkpoint": os.path.abspath(options.checkpoint),
        "checkpoint_sha256": loaded.checkpoint_sha256,
        "denoiser": loaded.denoiser.describe() if loaded.denoiser is not None else None,
        "unsafe_load": options.unsafe_load,
        "source": frames.source,
        "frames": frames.describe(),
        "world_size": world_size,
        "versions": provenance.versions(),
        "adcert_source_sha256": provenance.source_sha256(),
        "device": provenance.device_name(loaded.device),
        "norm_space": provenance.NORM_SPACE,
    }


def _file_sha256(path: str) -> str:
    from adcert.models.loading import file_sha256

    return file_sha256(path)


def _find_run_dir(options: RunOptions, rank: int, world_size: int) -> str:
    """The run folder to resume: ``--resume RUN_DIR`` or the work dir's latest run."""
    path = None
    if rank == 0:
        path = (rundir.latest_run_dir(_work_dir(options)) if options.resume is True
                else str(options.resume))
    return _broadcast(path, world_size)


def _work_dir(options: RunOptions) -> str:
    name = os.path.splitext(os.path.basename(options.config))[0]
    return options.work_dir or os.path.join("work_dirs", name)


def open_session(task, options: RunOptions, flags: dict | None = None,
                 settings=None) -> Session:
    """Set up a run of ``task`` (see the module doc). ``flags`` are the settings given on
    the command line (None = not given); they override the config's ``certify`` dict. A
    ready ``settings`` object (the Python API) is used as it is instead."""
    from adcert.models.loading import load_config, load_model, register_framework

    cfg = load_config(options.config, options.cfg_options)
    check_test_data(cfg)
    certify_cfg, denoiser = _split_denoiser(cfg.get("certify"), options)
    if settings is None:
        settings = task.settings_type.build(certify_cfg, flags)
    elif not isinstance(settings, task.settings_type):
        raise ValueError(f"{task.name} needs {task.settings_type.__name__}, got "
                         f"{type(settings).__name__}")
    device = resolve_device(options.device)
    resolve_noise_path(options.noise, device)  # an unknown path fails before anything loads
    if options.amp and device.type != "cuda":  # autocast is CUDA-only here: refuse, rather
        # than record amp: true for a run that ran in float32
        raise ValueError(f"--amp needs CUDA (mixed precision runs only there); this run is "
                         f"on {device.type}")
    _check_output_paths(options)
    if options.images is not None and not os.path.exists(options.images):
        raise FileNotFoundError(f"image folder not found: {options.images}")

    from mmengine.dist import get_dist_info

    if options.launcher != "none":
        _init_distributed(options.launcher)
    rank, world_size = get_dist_info()
    original = None
    if options.resume:
        run_dir = _find_run_dir(options, rank, world_size)
        original = rundir.read_manifest(run_dir)
    seed = settings.seed
    if seed is None:
        from adcert.noise import new_run_seed

        seed = original["seed"] if original else new_run_seed()
    seed = _broadcast(seed, world_size)  # every rank draws from one run seed
    if original is not None and settings.seed is None:  # the original's seed, as it was given
        settings = dataclasses.replace(settings, seed=original["settings"].get("seed"))
    register_framework(task.framework)  # the registry of the frames' datasets, transforms
    frames = build_frames(cfg, options.images, settings.max_images)  # before the model: cheap
    _check_outputs(options, frames, run_dir if original is not None else None)
    loaded = load_model(cfg, options.checkpoint, task.framework, device=device,
                        unsafe_load=options.unsafe_load)
    if denoiser is not None:
        from adcert.models.denoiser import load_denoiser

        spec, checkpoint, denoiser_config = denoiser
        loaded.denoiser = load_denoiser(spec, checkpoint, device, sigma=settings.sigma,
                                        config_path=denoiser_config,
                                        unsafe_load=options.unsafe_load)
    if original is None:
        run_dir = _broadcast(rundir.new_run_dir(_work_dir(options)) if rank == 0 else None,
                             world_size)
    try:
        classes = _classes(frames, loaded)
        task.check_model(loaded, classes)
        hierarchy = _hierarchy(settings, classes)
        manifest = _manifest(task, options, settings, seed, loaded, frames, cfg.pretty_text,
                             world_size)
        if hierarchy is not None:  # its content, so that --resume sees an edited file
            manifest["hierarchy"] = hierarchy.to_record()
        if original is not None:
            rundir.check_resumable(original, manifest)
    except BaseException:
        if original is None and rank == 0:  # nothing certified yet: leave no run folder
            import shutil

            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    if original is None and rank == 0:
        cfg.dump(os.path.join(run_dir, "config.py"))
        rundir.write_json(os.path.join(run_dir, "cfg_options.json"), options.cfg_options)
        rundir.write_json(os.path.join(run_dir, rundir.MANIFEST), manifest)
    _barrier(world_size)
    session = Session(task, options, settings, seed, rank, world_size, loaded, frames,
                      classes, run_dir, original or manifest, hierarchy=hierarchy)
    session.logger = _logger(run_dir)
    session.logger.info(f"{'resuming' if original else 'starting'} {task.name} run {run_dir}: "
                        f"{len(frames)} frames from {frames.source}, seed {seed}, "
                        f"{world_size} rank(s), settings {settings.to_dict()}")
    return session


def _hierarchy(settings, classes: list[str]):
    """The run's class hierarchy over the model's classes (None when the settings name
    none); a hierarchy that does not fit them is a ValueError."""
    name = getattr(settings, "hierarchy", None)
    if name is None:
        return None
    from adcert import ABSTAIN_PIXEL
    from adcert.certify.hierarchy import load_hierarchy

    hierarchy = load_hierarchy(name, classes)
    if hierarchy.num_nodes > ABSTAIN_PIXEL:  # node maps are uint8 PNGs, 255 the root
        raise ValueError(f"hierarchy {hierarchy.name!r} has {hierarchy.num_nodes} nodes; at "
                         f"most {ABSTAIN_PIXEL} fit a node map")
    return hierarchy


def _split_denoiser(certify_cfg: Any, options: RunOptions) -> tuple[Any, tuple | None]:
    """The config's ``certify`` dict without its ``denoiser`` entry, and the denoiser the
    run asks for (``--denoiser`` over ``certify.denoiser``; see
    :func:`adcert.models.denoiser.resolve_denoiser`)."""
    from collections.abc import Mapping

    from adcert.models.denoiser import resolve_denoiser

    requested = resolve_denoiser(certify_cfg, options.denoiser)
    if isinstance(certify_cfg, Mapping) and "denoiser" in certify_cfg:
        certify_cfg = {k: v for k, v in certify_cfg.items() if k != "denoiser"}
    return certify_cfg, requested


def _logger(run_dir: str):
    """MMLogger writing ``<run>/<timestamp>.log`` and the console (rank 0)."""
    import time

    from mmengine.logging import MMLogger

    stamp = time.strftime("%Y%m%d_%H%M%S")
    return MMLogger.get_instance(f"adcert-{stamp}-{os.getpid()}-{id(run_dir)}",
                                 logger_name="adcert",
                                 log_file=os.path.join(run_dir, f"{stamp}.log"),
                                 log_level="INFO")


def _barrier(world_size: int) -> None:
    if world_size > 1:
        from mmengine.dist import barrier

        barrier()
