"""Gaussian-noise augmentation for training base models that randomized smoothing needs.

Put ``dict(type='RandomGaussianNoise', sigma=0.25)`` into an mmdet or mmseg train pipeline
(after resizing, before packing) together with
``custom_imports = dict(imports=['adcert.noise.transforms'], allow_failed_imports=False)``.
It adds N(0, σ²) per value on the [0, 1] scale, like adcert's certification noise, so the
base model learns the inputs it will be certified on.
"""

from __future__ import annotations

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.registry import TRANSFORMS

from adcert.stats._checks import check_sigma


@TRANSFORMS.register_module()
class RandomGaussianNoise(BaseTransform):
    """Add N(0, (255σ)²) noise to ``results['img']`` (0–255 scale) with probability ``prob``.

    The image becomes float32 and is not clipped or rounded, exactly as certification
    feeds noisy frames to the data preprocessor.
    """

    def __init__(self, sigma: float = 0.25, prob: float = 1.0) -> None:
        self.sigma = check_sigma(sigma)
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"prob must lie in [0, 1], got {prob}")
        self.prob = float(prob)

    def transform(self, results: dict) -> dict:
        # The global numpy stream on purpose: mmengine seeds it per run and per worker
        # (``randomness=dict(seed=...)``), which makes training reproducible.
        if np.random.rand() < self.prob:  # noqa: NPY002
            img = results["img"].astype(np.float32)
            noise = np.random.normal(0.0, 255.0 * self.sigma, img.shape)  # noqa: NPY002
            results["img"] = img + noise.astype(np.float32)
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(sigma={self.sigma}, prob={self.prob})"
