"""Samplers of perturbations in model-input space, seeded per image.

``seeding`` needs no torch; the samplers do, and load it on first use.
"""

from adcert.noise.seeding import (
    NOISE_GENERATOR,
    NOISE_PATHS,
    NoiseStream,
    image_generator,
    new_run_seed,
    noise_provenance,
    resolve_noise_path,
    seed_entropy,
)

_LAZY = {"GaussianNoise": "gaussian", "perturbed_batches": "gaussian",
         "Brightness": "photometric", "Contrast": "photometric", "Gamma": "photometric",
         "BrightnessContrast": "photometric",
         "make_perturbation": "photometric"}

__all__ = ["NOISE_GENERATOR", "NOISE_PATHS", "NoiseStream", "image_generator", "new_run_seed",
           "noise_provenance", "resolve_noise_path", "seed_entropy", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"adcert.noise.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'adcert.noise' has no attribute {name!r}")
