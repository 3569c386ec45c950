"""A small Python API for notebooks: certify one image or a whole data set.

    from adcert.pipeline import DetSettings, certify_dataset, certify_image, load_model

    run = certify_dataset("configs/demo/rtmdet_mnv2_demo.py", "data/demo/checkpoints/"
                          "rtmdet_mnv2_demo.pth", DetSettings(n=100, eps=0.1, seed=0))
    run.summary["certified_ap50"], run.records[0]["boxes"]

    model = load_model("configs/demo/fpn_mnv2_demo.py", "…/fpn_mnv2_demo.pth", "segmentation")
    cert = certify_image(model, "frame.png", SegSettings(n0=20, n=100, seed=0))
    cert.labels, cert.radius

:func:`certify_dataset` is exactly the command-line run (same run folder, records and
summary; the same seed gives the same records). :func:`certify_image` certifies one image
file through the config's test pipeline and returns the certificate object
(:class:`adcert.certify.detection.DetectionCertificate` or
:class:`adcert.certify.segmentation.SegmentationCertificate`); its noise is seeded by
(``settings.seed``, ``image_id``), ``image_id`` defaulting to the run engine's identity of
the file: its path relative to ``root`` (the data root or image folder a run would use),
or its whole absolute path without one — never the bare file name, which ``a/x.png`` and
``b/x.png`` share.
"""

from __future__ import annotations

import os

from adcert.pipeline.settings import DetSettings, SegSettings

TASKS = {"detection": DetSettings, "segmentation": SegSettings}


def _task(settings_or_name):
    from adcert.pipeline import detection, segmentation

    tasks = {"detection": detection.TASK, "segmentation": segmentation.TASK}
    if isinstance(settings_or_name, str):
        if settings_or_name not in tasks:
            raise ValueError(f"task must be detection or segmentation, got {settings_or_name!r}")
        return tasks[settings_or_name]
    for task in tasks.values():
        if isinstance(settings_or_name, task.settings_type):
            return task
    raise ValueError(f"settings must be DetSettings or SegSettings, got {settings_or_name!r}")


def load_model(config: str, checkpoint: str, task: str, device: str | None = None,
               cfg_options: dict | None = None, unsafe_load: bool = False,
               denoiser: tuple[str, str | None] | None = None):
    """Build ``config``'s model for ``task`` ("detection" / "segmentation") and load
    ``checkpoint`` (``weights_only`` unless ``unsafe_load``): a
    :class:`adcert.models.loading.LoadedModel`. ``denoiser`` (config, checkpoint or None)
    puts a denoiser in front of it: certificates are then about the denoiser followed by
    the model (``docs/certificates.md`` §8)."""
    from adcert.models.denoiser import load_denoiser, resolve_denoiser
    from adcert.models.loading import load_model as _load
    from adcert.pipeline.session import resolve_device

    device = resolve_device(device)
    loaded = _load(config, checkpoint, _task(task).framework, device=device,
                   cfg_options=cfg_options, unsafe_load=unsafe_load)
    if denoiser is not None:  # read as --denoiser CONFIG CHECKPOINT is (`none` allowed)
        spec, denoiser_checkpoint, denoiser_config = resolve_denoiser(None, denoiser)
        loaded.denoiser = load_denoiser(spec, denoiser_checkpoint, device,
                                        config_path=denoiser_config, unsafe_load=unsafe_load)
    return loaded


def certify_image(model, image: str, settings: DetSettings | SegSettings,
                  image_id: str | None = None, root: str | None = None, noise: str = "auto"):
    """Certify one image file with a loaded model; returns the certificate object.

    ``settings.seed`` must be set: a notebook result should be reproducible. The noise
    stream is seeded by (seed, ``image_id``); without an ``image_id`` the frame is keyed as
    a run keys it (:func:`adcert.pipeline.frames.frame_key`): relative to ``root`` when
    given — so the result equals that frame's record in a run over ``root`` with the same
    seed — else by its absolute path, so two files never share a stream (docs/noise.md).
    The guarantee is the one stated in ``docs/certificates.md`` (§3 per box, §4 per frame).
    ``noise`` says where the pixel noise is drawn (``auto``, ``host`` or ``device``).
    """
    from adcert.models.data import ImageFrames
    from adcert.noise import image_generator
    from adcert.pipeline import detection, segmentation
    from adcert.pipeline.frames import frame_key

    if settings.seed is None:
        raise ValueError("certify_image needs settings.seed (e.g. DetSettings(seed=0))")
    if not os.path.isfile(image):
        raise FileNotFoundError(f"image not found: {image}")
    packed = ImageFrames(model.cfg, [image])[0]
    key = image_id if image_id is not None else frame_key(image, root)
    generator = image_generator(settings.seed, key, model.device, noise)
    if isinstance(settings, DetSettings):
        return detection.certify_frame(model.model, packed, settings, generator,
                                       denoiser=model.denoiser).certificate
    classes = model.dataset_meta.get("classes") or ImageFrames(model.cfg, [image]).metainfo.get(
        "classes")
    if not classes:
        raise ValueError("neither the checkpoint nor the config names the classes")
    return segmentation.certify_frame(model.model, packed, len(classes), settings,
                                      generator, denoiser=model.denoiser).certificate


def certify_dataset(config: str, checkpoint: str, settings: DetSettings | SegSettings, *,
                    work_dir: str | None = None, images: str | None = None,
                    device: str | None = None, cfg_options: dict | None = None,
                    unsafe_load: bool = False, resume: str | bool | None = None,
                    denoiser: tuple[str, str] | None = None, noise: str = "auto"):
    """Certify the config's test set (or ``images``: a folder or video) as the command-line
    tools do; returns :class:`adcert.pipeline.engine.RunResult` (``records``, ``summary``,
    ``run_dir``). The run folder is written as by the tools, so it can be resumed.
    ``denoiser`` is (config, checkpoint) of a denoiser to certify the model behind;
    ``noise`` says where the pixel noise is drawn (``auto``, ``host`` or ``device``)."""
    from adcert.pipeline.engine import run
    from adcert.pipeline.session import RunOptions, open_session

    task = _task(settings)
    options = RunOptions(config=config, checkpoint=checkpoint, cfg_options=dict(cfg_options or {}),
                         work_dir=work_dir, images=images, device=device,
                         unsafe_load=unsafe_load, resume=resume, denoiser=denoiser,
                         noise=noise)
    return run(open_session(task, options, settings=settings))
