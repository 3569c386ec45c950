"""Gaussian pixel noise in model-input space (RGB in [0, 1]) and the one sampling loop."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from adcert.stats._checks import check_sigma


@dataclass(frozen=True)
class GaussianNoise:
    """x ↦ x + δ, δ ~ N(0, σ² I), per sample, on RGB values in [0, 1] (no clipping).

    Clipping would change the noise distribution the certificate assumes, so none is
    done; models see values slightly outside [0, 1].
    """

    sigma: float

    def __post_init__(self) -> None:
        check_sigma(self.sigma)

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return x + self.sigma * noise


def perturbed_batches(
    x: torch.Tensor,
    num: int,
    batch_size: int,
    perturbation: Callable[[torch.Tensor, torch.Generator], torch.Tensor],
    generator: torch.Generator,
) -> Iterator[torch.Tensor]:
    """Yield ``num`` perturbed copies of one input ``x`` in batches of ≤ ``batch_size``.

    Each copy draws from ``generator`` in turn, so the copies are the same whatever the
    batch size.
    """
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    done = 0
    while done < num:
        size = min(int(batch_size), num - done)
        yield torch.stack([perturbation(x, generator) for _ in range(size)])
        done += size
