"""What makes a record evidence: versions, device, hashes, and the guarantee in words.

Every record and summary carries ``schema_version`` and a ``provenance`` block; the run's
manifest (``run.json``) carries the same plus the config and ``--cfg-options``
(``docs/design.md``, provenance).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform

SCHEMA_VERSION = 1
PACKAGES = ("adcert", "torch", "mmcv", "mmengine", "mmdet", "mmsegmentation", "numpy", "scipy")
NORM_SPACE = ("ε and radii are ℓ2 norms over the resized model input (the frame after the "
              "test pipeline's resize, values in [0, 1], before normalization), not over "
              "the original image")


def versions() -> dict[str, str | None]:
    """Installed versions of adcert and the stack it certifies with (None if missing)."""
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def source_sha256() -> str:
    """sha256 over adcert's own Python sources (path and content of every ``.py`` file):
    a resumed run must run the code that certified its first frames."""
    import os

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    digest = hashlib.sha256()
    for folder, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                digest.update(os.path.relpath(path, root).encode() + b"\0")
                with open(path, "rb") as f:
                    digest.update(f.read() + b"\0")
    return digest.hexdigest()


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def device_name(device) -> str:
    """``cpu (x86_64)`` or ``cuda:0 (NVIDIA H200)``."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return f"{device.type} ({platform.machine()})"


def noise_block(device, path: str = "host") -> dict:
    """The noise generator's own description (``adcert.noise.seeding.noise_provenance``):
    which path drew the noise, with what generator and law, on which device."""
    from adcert.noise.seeding import noise_provenance

    return dict(noise_provenance(device, path))


def record_provenance(device, unsafe_load: bool, noise_path: str = "host") -> dict:
    """The block every record carries (identical for every frame of a run)."""
    import torch

    return {"device": device_name(device), "torch": torch.__version__,
            "noise": noise_block(device, noise_path), "unsafe_load": bool(unsafe_load),
            "norm_space": NORM_SPACE}


_DENOISED = (" The base model is the recorded denoiser followed by the task model; the "
             "smoothed model certified is that composite.")


def detection_guarantee(correction: str, alpha: float, eps: float, transform: str,
                        denoised: bool = False) -> str:
    """The detection certificate in words (``docs/certificates.md`` §3)."""
    scope = {"box": "for each box separately", "image": "for all boxes of the frame jointly",
             "none": "for each bound separately (no multiple-testing correction)"}[correction]
    attack = (f"every ℓ2 perturbation of norm ≤ {eps:g} of the resized model input"
              if transform == "gaussian" else f"every {transform} change in the recorded "
              "certified_range")
    return (f"With probability ≥ 1 − {alpha:g} {scope}, under {attack}, the median-smoothed "
            "detector's box lies between its lower and upper bounds and keeps its label "
            "where label_certified is true; boxes marked may_vanish carry no guarantee of "
            "presence. About the smoothed model, not the base model."
            + (_DENOISED if denoised else ""))


def segmentation_guarantee(correction: str, alpha: float, transform: str,
                           denoised: bool = False, hierarchy: str | None = None) -> str:
    """The segmentation certificate in words (``docs/certificates.md`` §4, §9)."""
    attack = ("every ℓ2 perturbation of the resized model input of norm ≤ radius"
              if transform == "gaussian" else f"every {transform} change in certified_range")
    if hierarchy is not None:
        return (f"With probability ≥ 1 − {alpha:g} for the whole frame ({correction} "
                f"correction over its pixels and the levels of the {hierarchy} hierarchy), "
                f"every pixel's certified node is what the smoothed segmenter of that node's "
                f"level (its majority node) outputs under {attack}; a pixel certified at "
                f"level 0 keeps its class, one certified at a coarser node may change class "
                f"within it, and an abstained pixel may take any class. About the smoothed "
                f"model, not the base model." + (_DENOISED if denoised else ""))
    return (f"With probability ≥ 1 − {alpha:g} for the whole frame ({correction} correction "
            f"over its pixels), every pixel the certificate does not abstain on keeps the "
            f"smoothed segmenter's class (its majority class) under {attack}; an abstained "
            f"pixel may take any class. About the smoothed model, not the base model."
            + (_DENOISED if denoised else ""))
