"""Gaussian pixel noise in model-input space (RGB in [0, 1]) and the one sampling loop."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

from adcert.noise.seeding import NoiseStream
from adcert.stats._checks import check_sigma


@dataclass(frozen=True)
class GaussianNoise:
    """x ↦ x + δ, δ ~ N(0, σ² I), per sample, on RGB values in [0, 1] (no clipping).

    δ is σ times float64 standard normals with the Gaussian's own tails
    (:class:`~adcert.noise.seeding.NoiseStream`); x + δ is formed in float64 and rounded
    once to ``x.dtype``, so each float32 value the model sees lies within 2⁻²⁴·|x + δ| of
    the exact sum (docs/noise.md). Clipping would change the noise distribution the
    certificate assumes, so none is done; models see values slightly outside [0, 1].
    """

    sigma: float

    def __post_init__(self) -> None:
        check_sigma(self.sigma)

    def __call__(self, x: torch.Tensor, stream: NoiseStream) -> torch.Tensor:
        out = torch.empty_like(x)
        self.fill(x.to(torch.float64), stream, out)
        return out

    def fill(self, x64: torch.Tensor, stream: NoiseStream, out: torch.Tensor,
             scratch: np.ndarray | None = None) -> None:
        """``self(x, stream)`` written into ``out`` (x's dtype), given x in float64 once per
        frame; the host stream draws into ``scratch`` (a float64 array of x's shape) when
        given. The same bits as ``self(x, stream)``, with fewer passes over memory."""
        z = stream.normal64(x64.shape, x64.device, scratch)
        # In place and as two separate ops (no fused multiply-add), so CPU and GPU round
        # alike and the copies agree bit for bit across devices; copy_ rounds once.
        out.copy_(z.mul_(self.sigma).add_(x64))


def perturbed_batches(
    x: torch.Tensor,
    num: int,
    batch_size: int,
    perturbation: Callable[[torch.Tensor, NoiseStream], torch.Tensor],
    stream: NoiseStream,
    prefetch: bool = True,
) -> Iterator[torch.Tensor]:
    """Yield ``num`` perturbed copies of one input ``x`` in batches of ≤ ``batch_size``.

    Each copy draws from ``stream`` in turn, so the copies are the same whatever the batch
    size. With ``prefetch`` the next batch is drawn in a background thread while the
    caller works on the current one (numpy and torch release the GIL); a caller that stops
    early leaves the stream up to one batch further on. Without it each batch is drawn
    when asked for. Either way the copies are the same.
    """
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    sizes = [min(int(batch_size), num - start) for start in range(0, num, int(batch_size))]
    if not sizes:
        return
    grad = torch.is_grad_enabled()  # grad mode is per thread: carry the caller's over
    # adcert's perturbations write into the batch directly (``fill``): x in float64 once,
    # one scratch buffer for the host draws, no per-copy temporaries to stack.
    fill = getattr(perturbation, "fill", None)
    x64 = x.to(torch.float64) if fill is not None and not grad else None
    scratch = np.empty(tuple(x.shape)) if x64 is not None and x.device.type == "cpu" else None

    def draw(size: int) -> torch.Tensor:
        with torch.set_grad_enabled(grad):
            if x64 is None:
                return torch.stack([perturbation(x, stream) for _ in range(size)])
            out = torch.empty((size, *x.shape), dtype=x.dtype, device=x.device)
            for slot in out:
                fill(x64, stream, slot, scratch)
            return out

    if not prefetch:
        for size in sizes:
            yield draw(size)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="adcert-noise") as pool:
        pending = pool.submit(draw, sizes[0])
        for size in sizes[1:]:
            batch = pending.result()
            pending = pool.submit(draw, size)
            yield batch
        yield pending.result()
