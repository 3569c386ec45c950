"""Pixel noise drawn on the model's device: a counter-based stream (Philox4x32-10).

The host stream (:mod:`adcert.noise.seeding`) draws on the CPU with numpy and copies the
float64 noise to the device: 50 MB per Cityscapes-size copy. This stream computes the
same law where the model is, from a counter, so nothing crosses the bus and a copy's
values are a function of (run seed, image id, copy index, position) only — the same on
every device, in every batch size (docs/noise.md, "The device path").

Each Philox block (Salmon et al., SC 2011; 10 rounds, Random123's constants) gives four
32-bit words and becomes one pair of normals by Box–Muller: a 64-bit uniform u ∈ (0, 1)
for the radius √(−2 ln u) and a 53-bit uniform for the angle. The radius reaches
√(130 ln 2) ≈ 9.49; the pair never lands beyond it, a region of Gaussian mass 2⁻⁶⁵ per
pair (:func:`cut_mass`). The arithmetic is plain int64/float64 torch, so a CPU computes
the bits a GPU does and the tests check the law on the CPU.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from adcert.noise.seeding import LANES, NoiseStream, seed_entropy

#: Gaussian mass per pair of normals that the device path can never draw (beyond radius
#: √(130 ln 2)): the smallest radius uniform is 2⁻⁶⁵, and P(R > r) = exp(−r²/2) = u.
PAIR_CUT_MASS = 2.0**-65
#: What every record names as the source of its noise on the device path.
DEVICE_NOISE_GENERATOR = (
    "Philox4x32-10 on the model's device, keyed by SeedSequence(64-bit run seed, "
    "BLAKE2b-192 of the image id), counter (block, copy index); float64 Box–Muller from a "
    "64-bit radius uniform and a 53-bit angle uniform (radius ≤ 9.49, 2^-65 of mass per "
    "pair cut); x + δ rounded once to the input dtype"
)

_MASK32 = 0xFFFFFFFF
_MULTIPLIERS = (0xD2511F53, 0xCD9E8D57)
_WEYL = (0x9E3779B9, 0xBB67AE85)
_MAX_BLOCKS = 2**32  # word 0 of the counter numbers a copy's blocks


def _mulhilo(a: torch.Tensor, multiplier: int) -> tuple[torch.Tensor, torch.Tensor]:
    """High and low 32-bit words of a · multiplier (a < 2³²), without int64 overflow:
    the multiplier is split into 16-bit halves so every partial product stays < 2⁴⁹."""
    low_part = a * (multiplier & 0xFFFF)
    high_part = a * (multiplier >> 16)
    total = low_part + ((high_part & 0xFFFF) << 16)
    return (high_part >> 16) + (total >> 32), total & _MASK32


def philox4x32(counter: list[torch.Tensor], key: tuple[int, int],
               rounds: int = 10) -> list[torch.Tensor]:
    """Philox4x32-``rounds`` of the four counter words (int64 tensors holding values
    < 2³², broadcastable) under the two key words; four int64 tensors of 32-bit words."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for i in range(rounds):
        if i:
            k0, k1 = (k0 + _WEYL[0]) & _MASK32, (k1 + _WEYL[1]) & _MASK32
        hi0, lo0 = _mulhilo(c0, _MULTIPLIERS[0])
        hi1, lo1 = _mulhilo(c2, _MULTIPLIERS[1])
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return [c0, c1, c2, c3]


def cut_mass(values_per_copy: int, copies: int) -> float:
    """Upper bound on the probability that ``copies`` Gaussian copies of
    ``values_per_copy`` values each would put some pair beyond the device path's reach.

    Coupling the drawn copies with exact Gaussian ones, they differ only on that event,
    so a certificate computed from device noise fails with probability at most its own α
    plus this mass (docs/noise.md)."""
    return copies * math.ceil(values_per_copy / 2) * PAIR_CUT_MASS


class DeviceNoiseStream(NoiseStream):
    """The random stream of one frame with its pixel noise drawn on ``device``.

    Guarantees (docs/noise.md, "The device path"):

    * pixel normals are i.i.d. N(0, 1) by Box–Muller from Philox4x32-10 words, except that
      no pair of them lies beyond radius 9.49 (mass 2⁻⁶⁵ per pair, :func:`cut_mass`);
    * copy k (the k-th call of :meth:`normal`) is a function of (run seed, image id, k,
      position) only, whatever the batch size, device or rank;
    * the key and the counter's upper two words come from the frame's ``SeedSequence``
      (its own spawn key, apart from the host lanes): 128 bits of (run seed, image id);
    * camera-effect parameters come from the host stream's parameter lane, unchanged.
    """

    def __init__(self, run_seed: int, image_id: int | str, device="cpu") -> None:
        super().__init__(run_seed, image_id, device)
        words = np.random.SeedSequence(seed_entropy(run_seed, image_id), pool_size=8,
                                       spawn_key=(1 + LANES,)).generate_state(4)
        self._key = (int(words[0]), int(words[1]))
        self._upper = (int(words[2]), int(words[3]))
        self._copies = 0

    def standard_normal(self, shape, out: np.ndarray | None = None) -> np.ndarray:
        """The next copy's values as a float64 array (written into ``out`` when given)."""
        values = self.normal(shape, "cpu", torch.float64).numpy()
        if out is None:
            return values
        out[...] = values
        return out

    def normal64(self, shape, device=None, scratch=None) -> torch.Tensor:
        """``shape`` N(0, 1) values of the next copy as float64, computed on ``device``
        (default: the stream's); ``scratch`` is not needed here."""
        return self.normal(shape, device, torch.float64)

    def normal(self, shape, device=None, dtype=None) -> torch.Tensor:
        """``shape`` N(0, 1) values of the next copy, computed on ``device`` (default: the
        stream's) in float64 and cast once to ``dtype`` (default float32)."""
        device = torch.device(self.device if device is None else device)
        count = math.prod(shape)
        blocks = math.ceil(count / 2)
        if blocks > _MAX_BLOCKS:
            raise ValueError(f"a copy of {count} values exceeds the device stream's "
                             f"{2 * _MAX_BLOCKS} values per copy")
        copy = self._copies
        self._copies += 1
        index = torch.arange(blocks, dtype=torch.int64, device=device)
        words = philox4x32([index, torch.full_like(index, copy),
                            torch.full_like(index, self._upper[0]),
                            torch.full_like(index, self._upper[1])], self._key)
        values = _box_muller(*words).reshape(-1)[:count].reshape(tuple(shape))
        return values.to(torch.float32 if dtype is None else dtype)


def _box_muller(w0: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor,
                w3: torch.Tensor) -> torch.Tensor:
    """One pair of normals per block, interleaved: (r cos θ, r sin θ) with
    u = (w0·2³² + w1 + ½)·2⁻⁶⁴ ∈ (0, 1) and θ = 2π·(53 bits of w2, w3)·2⁻⁵³."""
    u = (w0.double() * 2.0**32 + w1.double() + 0.5) * 2.0**-64
    radius = torch.sqrt(-2.0 * torch.log(u))
    angle = ((w2 >> 6).double() * 2.0**27 + (w3 >> 5).double()) * (2.0 * math.pi * 2.0**-53)
    return torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=-1)
