"""Denoised smoothing: a denoiser D in front of a frozen task model f.

The smoothed model certifies g(x) = smooth(f(D(x + δ))): D is part of the base model and
only ever sees the noisy input, so every certificate of ``docs/certificates.md`` holds
unchanged for the composite D → f (``docs/certificates.md`` §8). D takes and returns a
batch (B, 3, H, W) in the [0, 1] scale of the sampling loop (:mod:`adcert.models.forward`),
after the noise and before the data preprocessor's normalization.

Two kinds behind one interface, registered in mmengine's ``MODELS`` registry:

- :class:`ConvDenoiser`, a small residual U-Net trained by ``tools/train_denoiser.py``
  (MSE, then the stability objective through the frozen task model, Salman et al. 2020);
- :class:`DiffusionDenoiser`, one reverse step of a pretrained DDPM (Carlini et al. 2023),
  through the ``diffusers`` package.

:class:`IdentityDenoiser` passes the input through: the soundness suite runs with it to show
that the denoiser stage leaves every analytic check intact.
"""

from __future__ import annotations

import copy
import hashlib
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from mmengine.registry import MODELS
from torch import nn

KINDS = ("ConvDenoiser", "DiffusionDenoiser", "IdentityDenoiser")
NO_CHECKPOINT = "none"  # --denoiser CONFIG none: a denoiser without weights of its own
# Files of a saved diffusers folder that decide its function: weights (every format
# diffusers or a user may save) and configs. Other files (a README, a .gitattributes)
# change nothing the denoiser computes and are left out of its hash.
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".msgpack", ".h5",
                   ".onnx")
CONFIG_SUFFIXES = (".json", ".yaml", ".yml")


@MODELS.register_module()
class IdentityDenoiser(nn.Module):
    """D(x) = x: the base model is the task model alone."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def _conv(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride, 1),
                         nn.ReLU(inplace=True))


@MODELS.register_module()
class ConvDenoiser(nn.Module):
    """A shallow U-Net that predicts the clean frame from the noisy one.

    The frame is folded into ``fold`` × ``fold`` pixel blocks first (pixel unshuffle), so
    every convolution runs at 1/fold or 1/(2·fold) of the resolution: the denoiser must cost
    a fraction of the task model's forward per noisy copy. ``channels`` is the width at the
    folded resolution, twice that one level down. It predicts the frame, not the noise: at
    σ = 0.25 the clean frame is the smooth, low-dimensional signal of a folded block, while
    predicting the noise would have to carry all 3·fold² noise values through the network.
    """

    def __init__(self, channels: int = 32, fold: int = 4, depth: int = 4) -> None:
        super().__init__()
        folded = 3 * fold * fold
        self.fold = nn.PixelUnshuffle(fold)
        self.unfold = nn.PixelShuffle(fold)
        self.enter = _conv(folded, channels)
        self.down = _conv(channels, 2 * channels, stride=2)
        self.middle = nn.Sequential(*[_conv(2 * channels, 2 * channels) for _ in range(depth)])
        self.up = nn.ConvTranspose2d(2 * channels, channels, 2, stride=2)
        self.merge = _conv(2 * channels, channels)
        self.leave = nn.Conv2d(channels, folded, 3, 1, 1)
        self.multiple = 2 * fold  # input sides must divide by this; others are padded

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        pad_h, pad_w = (-height) % self.multiple, (-width) % self.multiple
        y = nn.functional.pad(x - 0.5, (0, pad_w, 0, pad_h), mode="replicate")
        skip = self.enter(self.fold(y))
        deep = self.middle(self.down(skip))
        merged = self.merge(torch.cat([self.up(deep), skip], dim=1))
        return self.unfold(self.leave(merged))[..., :height, :width] + 0.5


def diffusion_timestep(alphas_cumprod: torch.Tensor, sigma: float) -> int:
    """The timestep t* whose noise level matches σ (Carlini et al. 2023):
    x + δ with δ ~ N(0, σ²) scaled by √ᾱ_t is a DDPM sample at t when
    σ² = (1 − ᾱ_t) / ᾱ_t; t* is the t closest to that in log σ. ``sigma`` is in the
    diffusion model's own input scale."""
    levels = torch.sqrt((1.0 - alphas_cumprod.double()) / alphas_cumprod.double())
    return int(torch.argmin(torch.abs(torch.log(levels) - math.log(sigma))))


@MODELS.register_module()
class DiffusionDenoiser(nn.Module):
    """One reverse step of a DDPM: x̂₀ = (x_t* − √(1 − ᾱ_t*) ε̂(x_t*, t*)) / √ᾱ_t*.

    The input x + δ in [0, 1] is mapped to the model's [−1, 1] range (so its noise level
    there is 2σ), scaled by √ᾱ_t* to become x_t*, and denoised in one step; x̂₀ is clipped
    to [−1, 1] and mapped back. Nothing is sampled: D is deterministic.

    ``pretrained`` is a local diffusers folder (``UNet2DModel`` weights and
    ``scheduler/`` config, e.g. a saved google/ddpm-cifar10-32 pipeline); ``unet`` and
    ``scheduler`` are the keyword arguments of ``UNet2DModel`` and ``DDPMScheduler`` to build
    one from scratch instead (tests use a tiny random one). ``sigma`` is the smoothing σ on
    the [0, 1] scale; ``resize`` runs the UNet at that (height, width) and resizes back,
    for models trained at a fixed size. A run records the ``pretrained`` folder with one
    hash of its weight and config files (:func:`folder_sha256`), so that two weight sets
    at one path never give the same record and ``--resume`` refuses a changed folder.
    """

    def __init__(self, sigma: float, pretrained: str | None = None,
                 unet: Mapping | None = None, scheduler: Mapping | None = None,
                 resize: Sequence[int] | None = None) -> None:
        super().__init__()
        from diffusers import DDPMScheduler, UNet2DModel

        if (pretrained is None) == (unet is None):
            raise ValueError("DiffusionDenoiser needs exactly one of pretrained= (a local "
                             "diffusers folder) and unet= (UNet2DModel arguments)")
        if not (isinstance(sigma, int | float) and math.isfinite(sigma) and sigma > 0):
            raise ValueError(f"DiffusionDenoiser sigma must be positive, got {sigma!r}")
        if pretrained is not None:
            if not os.path.isdir(pretrained):
                raise FileNotFoundError(f"diffusion model folder not found: {pretrained}")
            unet_dir = os.path.join(pretrained, "unet")
            # low_cpu_mem_usage=False: without `accelerate` diffusers would say on stderr
            # that it falls back to it, a line beside every one-line error of the tools.
            self.unet = UNet2DModel.from_pretrained(
                unet_dir if os.path.isdir(unet_dir) else pretrained, local_files_only=True,
                low_cpu_mem_usage=False)
            schedule = DDPMScheduler.from_pretrained(pretrained, subfolder="scheduler",
                                                     local_files_only=True)
        else:
            self.unet = UNet2DModel(**dict(unet))
            schedule = DDPMScheduler(**dict(scheduler or {}))
        alphas = schedule.alphas_cumprod.double()
        self.sigma = float(sigma)
        self.timestep = diffusion_timestep(alphas, 2.0 * self.sigma)
        self.register_buffer("alpha_bar", alphas[self.timestep].float().reshape(()))
        self.resize = tuple(resize) if resize is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        y = 2.0 * x - 1.0
        if self.resize is not None:
            y = nn.functional.interpolate(y, size=self.resize, mode="bilinear",
                                          align_corners=False)
        alpha_bar = self.alpha_bar
        x_t = torch.sqrt(alpha_bar) * y
        t = torch.full((len(x),), self.timestep, device=x.device, dtype=torch.long)
        eps = self.unet(x_t, t).sample
        x0 = ((x_t - torch.sqrt(1.0 - alpha_bar) * eps) / torch.sqrt(alpha_bar)).clamp(-1, 1)
        if self.resize is not None:
            x0 = nn.functional.interpolate(x0, size=size, mode="bilinear", align_corners=False)
        return (x0 + 1.0) / 2.0


def folder_sha256(folder: str) -> str:
    """One sha256 over a saved model folder's weight and config files
    (:data:`WEIGHT_SUFFIXES`, :data:`CONFIG_SUFFIXES`), sub-folders included: for each
    file in sorted order of its relative POSIX path, that path and the sha256 of its
    contents. So renaming, adding, removing or changing any such file changes the hash,
    and the same files hash alike wherever the folder lies. Links are followed (a hub
    cache links to its blobs). ValueError when the folder holds no weight file."""
    from adcert.models.loading import file_sha256

    names, seen = [], set()
    for root, dirs, files in os.walk(folder, followlinks=True):
        seen.add(os.path.realpath(root))  # a linked loop of folders is walked once
        dirs[:] = [d for d in dirs if not d.startswith(".")  # .cache, .git: not the model
                   and os.path.realpath(os.path.join(root, d)) not in seen]
        for name in files:
            if name.lower().endswith(WEIGHT_SUFFIXES + CONFIG_SUFFIXES):
                path = os.path.join(root, name)
                names.append(os.path.relpath(path, folder).replace(os.sep, "/"))
    if not any(name.lower().endswith(WEIGHT_SUFFIXES) for name in names):
        raise ValueError(f"diffusion model folder {folder} holds no weight file "
                         f"({', '.join(WEIGHT_SUFFIXES)})")
    digest = hashlib.sha256()
    for name in sorted(names):
        digest.update(name.encode("utf-8") + b"\0")
        digest.update(file_sha256(os.path.join(folder, name)).encode("ascii") + b"\n")
    return digest.hexdigest()


@dataclass
class LoadedDenoiser:
    """A denoiser in eval mode on the task model's device, with what a record names."""

    module: nn.Module
    spec: dict  # the denoiser's config dict, as built
    config_path: str | None
    checkpoint_path: str | None
    checkpoint_sha256: str | None
    # A DiffusionDenoiser's ``pretrained`` folder and the hash of its weight and config
    # files (:func:`folder_sha256`): the spec names the folder only, not what is in it.
    pretrained_path: str | None = None
    pretrained_sha256: str | None = None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x)

    def describe(self) -> dict:
        """The ``denoiser`` block of run.json and of every record."""
        return {"type": self.spec.get("type"), "spec": self.spec,
                "config": self.config_path, "checkpoint": self.checkpoint_path,
                "checkpoint_sha256": self.checkpoint_sha256,
                "pretrained": self.pretrained_path,
                "pretrained_sha256": self.pretrained_sha256}


def denoiser_spec(config_path: str) -> dict:
    """The ``denoiser = dict(type=...)`` of a denoiser config file (``--denoiser CONFIG``);
    the training configs of ``configs/denoiser/`` name it ``model.denoiser``."""
    from adcert.models.loading import load_config

    cfg = load_config(config_path)
    spec = cfg.get("denoiser")
    if spec is None and isinstance(cfg.get("model"), Mapping):
        spec = cfg.model.get("denoiser")
    if not isinstance(spec, Mapping):
        raise ValueError(f"denoiser config {config_path} has no `denoiser = dict(type=...)`")
    return spec.to_dict() if hasattr(spec, "to_dict") else dict(spec)


def build_denoiser(spec: Mapping, sigma: float | None = None) -> nn.Module:
    """Build a denoiser from ``dict(type=..., ...)``; a ``DiffusionDenoiser`` without its own
    ``sigma`` takes the run's. Unknown types and bad arguments are ValueErrors."""
    if not isinstance(spec, Mapping) or spec.get("type") not in KINDS:
        kind = spec.get("type") if isinstance(spec, Mapping) else spec
        raise ValueError(f"denoiser type must be one of {', '.join(KINDS)}, got {kind!r}")
    spec = {k: v for k, v in copy.deepcopy(dict(spec)).items() if k != "checkpoint"}
    if spec["type"] == "DiffusionDenoiser" and "sigma" not in spec:
        spec["sigma"] = sigma
    try:
        return MODELS.build(spec)
    except (FileNotFoundError, ImportError):
        raise
    except Exception as error:  # noqa: BLE001 - a bad key or value of the denoiser dict
        text = str(error).strip().splitlines()
        raise ValueError(f"cannot build the denoiser {spec['type']}: "
                         f"{text[0] if text else type(error).__name__}") from None


def load_denoiser(spec: Mapping, checkpoint: str | None, device: torch.device,
                  sigma: float | None = None, config_path: str | None = None,
                  unsafe_load: bool = False) -> LoadedDenoiser:
    """Build ``spec``, load ``checkpoint`` (every weight must be there, as for task
    models; ``adcert.models.loading.load_weights``) and put it in eval mode on ``device``.

    A ``ConvDenoiser`` needs a checkpoint (random weights would certify a random model);
    an ``IdentityDenoiser`` has none; a ``DiffusionDenoiser`` reads its ``pretrained``
    folder, or a checkpoint of its state_dict.
    """
    from adcert.models.loading import file_sha256, load_weights, read_checkpoint

    module = build_denoiser(spec, sigma)
    has_weights = any(True for _ in module.parameters())
    if checkpoint is not None and not has_weights:
        raise ValueError(f"denoiser checkpoint {checkpoint}: a {spec.get('type')} has no "
                         "weights to load; give `none` as its checkpoint")
    if checkpoint is not None:
        state = _denoiser_state(read_checkpoint(checkpoint, unsafe_load=unsafe_load))
        try:
            load_weights(module, state)
        except ValueError as error:
            raise ValueError(f"denoiser checkpoint {checkpoint}: {error}") from None
    elif has_weights and spec.get("type") == "ConvDenoiser":
        raise ValueError("a ConvDenoiser needs its checkpoint (--denoiser CONFIG CHECKPOINT "
                         "or certify.denoiser.checkpoint)")
    module.to(device).eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    described = {k: v for k, v in dict(spec).items() if k != "checkpoint"}
    pretrained = spec.get("pretrained") if spec.get("type") == "DiffusionDenoiser" else None
    return LoadedDenoiser(
        module=module, spec=described,
        config_path=os.path.abspath(config_path) if config_path else None,
        checkpoint_path=os.path.abspath(checkpoint) if checkpoint else None,
        checkpoint_sha256=file_sha256(checkpoint) if checkpoint else None,
        pretrained_path=os.path.abspath(pretrained) if pretrained else None,
        pretrained_sha256=folder_sha256(pretrained) if pretrained else None)


def _denoiser_state(state: Mapping) -> Mapping:
    """A training checkpoint of ``DenoiserTrainer`` holds the denoiser under ``denoiser.``:
    take those keys, unprefixed; a bare denoiser checkpoint is returned as it is."""
    weights = state.get("state_dict", state)
    if isinstance(weights, Mapping) and weights and all(
            isinstance(key, str) and key.startswith("denoiser.") for key in weights):
        return {"state_dict": {key[len("denoiser."):]: value for key, value in weights.items()}}
    return state


def resolve_denoiser(certify_cfg: Any, flag: Sequence[str | None] | None
                     ) -> tuple[dict, str | None, str | None] | None:
    """Which denoiser a run asks for: ``--denoiser CONFIG CHECKPOINT`` over the config's
    ``certify.denoiser = dict(type=..., checkpoint=...)``; None for none. Returns
    (spec, checkpoint, config path)."""
    if flag:
        config_path, checkpoint = flag
        if checkpoint is not None and checkpoint.lower() == NO_CHECKPOINT:
            checkpoint = None
        if not os.path.isfile(config_path):
            raise FileNotFoundError(f"denoiser config file not found: {config_path}")
        return denoiser_spec(config_path), checkpoint, config_path
    spec = (certify_cfg or {}).get("denoiser") if isinstance(certify_cfg, Mapping) else None
    if spec is None:
        return None
    if not isinstance(spec, Mapping):
        raise ValueError(f"certify.denoiser must be a dict(type=..., checkpoint=...), got "
                         f"{spec!r}")
    spec = spec.to_dict() if hasattr(spec, "to_dict") else dict(spec)
    return spec, spec.get("checkpoint"), None
