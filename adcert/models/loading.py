"""Build an OpenMMLab model from config + checkpoint, the way ``tools/test.py`` does.

The one place adcert loads models. Checkpoints load with ``weights_only=True`` by
default; zoo checkpoints that pickle other Python objects need ``unsafe_load=True``,
which the CLIs expose as ``--unsafe-load`` for files the user trusts.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from mmengine.config import Config

FRAMEWORKS = ("mmdet", "mmseg")


@dataclass
class LoadedModel:
    """A model in eval mode with what a certificate record must name (§7)."""

    model: torch.nn.Module
    cfg: Config
    framework: str
    config_path: str
    checkpoint_path: str
    checkpoint_sha256: str
    device: torch.device
    # adcert.models.denoiser.LoadedDenoiser in front of the model, if the run has one.
    denoiser: Any = None

    @property
    def dataset_meta(self) -> dict:
        return getattr(self.model, "dataset_meta", None) or {}

    def describe(self) -> dict:
        """The ``model`` block of every record: config, checkpoint and hash, and the
        denoiser in front of the model (None without one)."""
        return {"config": self.config_path, "checkpoint": self.checkpoint_path,
                "checkpoint_sha256": self.checkpoint_sha256,
                "denoiser": self.denoiser.describe() if self.denoiser is not None else None}


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_config(config_path: str, cfg_options: dict | None = None) -> Config:
    """Read a config file and apply ``--cfg-options`` overrides; a config that cannot be
    parsed or merged is a ValueError naming the file."""
    if not os.path.isfile(config_path):
        raise FileNotFoundError(f"config file not found: {config_path}")
    try:
        cfg = Config.fromfile(config_path)
    except SystemExit as stop:  # a config runs as Python: it must not end the run, least
        # of all with status 0 and nothing certified
        raise ValueError(f"config {config_path} tried to exit (sys.exit({stop.code!r})) "
                         "while being read; a config may only set values") from None
    except Exception as error:  # noqa: BLE001 - mmengine raises anything a .py file can
        raise ValueError(f"cannot read config {config_path}: {_first_line(error)}") from None
    if cfg_options:
        try:
            cfg.merge_from_dict(cfg_options)
        except Exception as error:  # noqa: BLE001
            raise ValueError(f"--cfg-options do not fit {config_path}: "
                             f"{_first_line(error)}") from None
    return cfg


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def register_framework(framework: str) -> None:
    """Import the framework's modules into its registries and make it the default scope."""
    if framework == "mmdet":
        from mmdet.utils import register_all_modules
    elif framework == "mmseg":
        from mmseg.utils import register_all_modules
    else:
        raise ValueError(f"framework must be one of {FRAMEWORKS}, got {framework!r}")
    register_all_modules(init_default_scope=True)


def _strip_pretrained(model_cfg: Any) -> None:
    """Nothing may download at run time: drop backbone pretraining before building."""
    if isinstance(model_cfg, dict):
        if "pretrained" in model_cfg:
            model_cfg["pretrained"] = None
        init_cfg = model_cfg.get("init_cfg")
        if isinstance(init_cfg, dict) and init_cfg.get("type") == "Pretrained":
            model_cfg["init_cfg"] = None
        for value in model_cfg.values():
            _strip_pretrained(value)
    elif isinstance(model_cfg, list):
        for value in model_cfg:
            _strip_pretrained(value)


_UNSAFE_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")
SAFETENSORS_SUFFIX = ".safetensors"


def _is_safetensors(path: str) -> bool:
    """By name, or by the format's header: an 8-byte little-endian length, then JSON."""
    if path.lower().endswith(SAFETENSORS_SUFFIX):
        return True
    with open(path, "rb") as f:
        head = f.read(9)
    return (len(head) == 9 and head[8:9] == b"{"
            and int.from_bytes(head[:8], "little") < os.path.getsize(path))


def _read_safetensors(path: str) -> dict:
    """A safetensors file holds tensors only (it cannot run code): read it as a state
    dict when the ``safetensors`` package is there, else say that it is missing."""
    try:
        from safetensors.torch import load_file
    except ImportError:
        raise ValueError(f"checkpoint {path} is a safetensors file; reading it needs the "
                         "package safetensors (pip install safetensors)") from None
    try:
        return {"state_dict": load_file(path, device="cpu")}
    except Exception as error:  # noqa: BLE001 - safetensors raises its own error types
        raise ValueError(f"checkpoint {path} is not a readable safetensors file (corrupt or "
                         f"truncated?): {_first_line(error)[:160]}") from None


def read_checkpoint(path: str, unsafe_load: bool = False) -> dict:
    """``torch.load`` on CPU, tensors only unless ``unsafe_load`` (arbitrary code!).

    A safetensors file (by name or header) is read with the ``safetensors`` package.
    Errors name the problem in one line: a file that pickles a Python object outside
    torch's allow-list names that object (e.g. ``posix.system``) and only then suggests
    ``--unsafe-load``; a corrupt or truncated file says so, and anything that is not a
    dict (a bare tensor, a list) is refused.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint file not found: {path}")
    if _is_safetensors(path):
        return _read_safetensors(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=not unsafe_load)
    except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError …
        text = " ".join(str(error).split())
        found = None if unsafe_load else _UNSAFE_GLOBAL.search(text)
        if found:
            raise ValueError(f"checkpoint {path} pickles the Python object {found[1]}, which "
                             f"a safe load refuses; pass --unsafe-load only if you trust "
                             f"the file") from None
        detail = text[:160] if text else type(error).__name__
        raise ValueError(f"checkpoint {path} is not a readable checkpoint (corrupt or "
                         f"truncated?): {detail}") from None
    if not isinstance(state, Mapping):
        raise ValueError(f"checkpoint {path} holds a {type(state).__name__}, not a dict "
                         "with a state_dict")
    return state


def load_weights(model: torch.nn.Module, state: Mapping) -> None:
    """Copy a checkpoint's ``state_dict`` into ``model``; every model weight must be there,
    with the model's shape.

    A missing weight would leave part of the model at its random initialisation and
    make any certificate about it meaningless, so it is an error; extra keys are ignored.
    """
    state_dict = state.get("state_dict", state)
    if not isinstance(state_dict, Mapping) or not all(
            isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise ValueError("the checkpoint's state_dict is not a mapping of names to tensors")
    state_dict = {key.removeprefix("module."): value for key, value in state_dict.items()}
    own = model.state_dict()
    for key, value in state_dict.items():
        if key in own and tuple(own[key].shape) != tuple(value.shape):
            raise ValueError(f"checkpoint does not match the model: {key} has shape "
                             f"{tuple(value.shape)}, the model {tuple(own[key].shape)}")
    missing, _ = model.load_state_dict(state_dict, strict=False)
    if missing:
        raise ValueError(
            f"checkpoint does not match the model: {len(missing)} weights missing "
            f"(first: {missing[0]})"
        )
    # A NaN or infinite weight makes every output NaN, which mmdet's score threshold and
    # mmseg's argmax turn into "nothing found" without a word: refuse it here.
    not_finite = [key for key, value in state_dict.items()
                  if key in own and value.is_floating_point() and not torch.isfinite(value).all()]
    if not_finite:
        raise ValueError(f"the checkpoint's weights are not finite ({len(not_finite)} tensors "
                         f"hold NaN or infinity, first: {not_finite[0]}): the model's output "
                         "would not be finite")


def check_model_task(model: torch.nn.Module, framework: str) -> None:
    """A segmentation model given to the detection tools (or the reverse) builds in either
    registry but fails on its first output: refuse it when it is built."""
    if framework == "mmdet":
        from mmdet.models.detectors import BaseDetector as expected

        kind = "an mmdet detector"
    else:
        from mmseg.models.segmentors import BaseSegmentor as expected

        kind = "an mmseg segmentor"
    if not isinstance(model, expected):
        raise ValueError(f"the config's model is a {type(model).__name__}, not {kind}: "
                         "detection configs go to certify_det, segmentation configs to "
                         "certify_seg")


def load_model(
    config: str | Config,
    checkpoint: str,
    framework: str,
    device: str | torch.device | None = None,
    cfg_options: dict | None = None,
    unsafe_load: bool = False,
) -> LoadedModel:
    """Build ``cfg.model`` in ``framework``'s registry, load ``checkpoint``, eval mode.

    ``device`` defaults to CUDA when available. The checkpoint's ``meta.dataset_meta``
    (class names, palette) is attached as ``model.dataset_meta``.
    """
    cfg = config if isinstance(config, Config) else load_config(config, cfg_options)
    if "model" not in cfg:
        raise ValueError("the config has no `model` section")
    register_framework(framework)
    _strip_pretrained(cfg.model)
    from mmengine.registry import MODELS

    # Some heads mutate their config while building (DETR's class_weight): build a copy.
    try:
        model = MODELS.build(copy.deepcopy(cfg.model))
    except Exception as error:  # noqa: BLE001 - a bad key or type in the model config
        raise ValueError(f"cannot build the config's model: {_first_line(error)}") from None
    check_model_task(model, framework)
    state = read_checkpoint(checkpoint, unsafe_load=unsafe_load)
    load_weights(model, state)
    meta = state.get("meta") or {}
    meta = meta if isinstance(meta, Mapping) else {}
    model.dataset_meta = meta.get("dataset_meta") or {}
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model.to(device).eval()
    return LoadedModel(
        model=model,
        cfg=cfg,
        framework=framework,
        config_path=os.path.abspath(cfg.filename) if cfg.filename else "<in-memory>",
        checkpoint_path=os.path.abspath(checkpoint),
        checkpoint_sha256=file_sha256(checkpoint),
        device=device,
    )
