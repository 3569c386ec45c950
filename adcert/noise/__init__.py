"""Samplers of perturbations in model-input space, seeded per image.

``seeding`` needs no torch; the samplers do, and load it on first use.
"""

from adcert.noise.seeding import image_generator, image_seed, new_run_seed

__all__ = ["GaussianNoise", "image_generator", "image_seed", "new_run_seed", "perturbed_batches"]


def __getattr__(name: str):
    if name in ("GaussianNoise", "perturbed_batches"):
        from adcert.noise import gaussian

        return getattr(gaussian, name)
    raise AttributeError(f"module 'adcert.noise' has no attribute {name!r}")
