"""Camera-effect perturbations of a whole frame in model-input space (RGB in [0, 1]).

One parameter per noisy copy, drawn in float64 from the frame's
:class:`~adcert.noise.seeding.NoiseStream` (tails of the law itself, docs/noise.md),
applied to every pixel in float64 and rounded once to the frame's dtype
(docs/certificates.md §5). No clipping to [0, 1] after a transform: clipping would
break resolvability (φ(φ(x, a), b) = φ(x, a ∘ b)), on which the certified parameter
ranges rest. The certificate is therefore about the unclipped transform — the one
:meth:`apply` performs and a user should apply to test it; a camera that saturates
(values clipped at 0 or 1) is outside it. Gamma maps [0, 1] into itself, so for frames
loaded from images (values in [0, 1]) nothing is lost there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from adcert.noise.gaussian import GaussianNoise
from adcert.noise.seeding import NoiseStream
from adcert.stats._checks import check_sigma
from adcert.stats.parameter_ranges import check_transform


@dataclass(frozen=True)
class _FrameTransform:
    sigma: float

    def __post_init__(self) -> None:
        check_sigma(self.sigma)

    def apply(self, x, theta: float):
        raise NotImplementedError

    def draw(self, stream: NoiseStream) -> float:
        """One parameter θ ~ N(0, σ²) (the additive families), a float64 normal."""
        return self.sigma * float(stream.normal_scalars(1)[0])

    def __call__(self, x: torch.Tensor, stream: NoiseStream) -> torch.Tensor:
        # Applied in float64, rounded once: the model sees φ(x, θ) to within 2⁻²⁴·|φ(x, θ)|.
        return self.apply(x.to(torch.float64), self.draw(stream)).to(x.dtype)

    def fill(self, x64: torch.Tensor, stream: NoiseStream, out: torch.Tensor,
             scratch=None) -> None:
        """``self(x, stream)`` written into ``out`` (x's dtype), given x in float64 once
        per frame; the same bits, without a float64 copy of x per noisy copy."""
        out.copy_(self.apply(x64, self.draw(stream)))


@dataclass(frozen=True)
class Brightness(_FrameTransform):
    """x ↦ x + b, b ~ N(0, σ²) on the [0, 1] scale."""

    def apply(self, x, theta: float):
        return x + theta


@dataclass(frozen=True)
class Contrast(_FrameTransform):
    """x ↦ e^k · x, k ~ N(0, σ²): contrast factor e^k, additive in k."""

    def apply(self, x, theta: float):
        return x * math.exp(theta)


@dataclass(frozen=True)
class Gamma(_FrameTransform):
    """x ↦ x^γ, γ ~ Rayleigh(σ) (median σ√(2 ln 2); σ ≈ 0.849 centres it on γ = 1).

    Defined for x ≥ 0 (frames in [0, 1]); multiplicative in γ: (x^a)^b = x^{ab}.
    """

    def apply(self, x, theta: float):
        if theta <= 0:
            raise ValueError(f"gamma must be positive, got {theta}")
        return x**theta

    def draw(self, stream: NoiseStream) -> float:
        """One γ ~ Rayleigh(σ) in float64, tails included (not an inverse CDF of float32
        uniforms, which stops at 5.77σ)."""
        gamma = 0.0
        while gamma <= 0.0:  # an exact 0 has probability 0 under the law: draw again
            gamma = float(stream.rayleigh(self.sigma))
        return gamma


@dataclass(frozen=True)
class BrightnessContrast(_FrameTransform):
    """x ↦ e^k · x + b with k, b ~ N(0, σ²) independent: contrast first, then brightness.
    θ is the pair (k, b)."""

    def apply(self, x, theta: tuple[float, float]):
        k, b = theta
        return x * math.exp(k) + b

    def draw(self, stream: NoiseStream) -> tuple[float, float]:
        """(k, b), two independent float64 N(0, σ²) draws, k first."""
        k, b = stream.normal_scalars(2).tolist()
        return self.sigma * k, self.sigma * b


_FAMILIES = {"gaussian": GaussianNoise, "brightness": Brightness, "contrast": Contrast,
             "gamma": Gamma, "brightness_contrast": BrightnessContrast}


def make_perturbation(transform: str, sigma: float):
    """The perturbation a certify run samples: ``gaussian`` pixel noise (ℓ2 certificates)
    or one of the camera effects (parameter-range certificates)."""
    return _FAMILIES[check_transform(transform)](sigma)
