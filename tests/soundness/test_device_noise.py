"""Soundness of the device noise path (adcert.noise.philox, docs/noise.md "The device
path"), run on the CPU with the same integer and float64 arithmetic a GPU runs.

* Law: 1000 frames pass the bulk χ² test of |z| (as the host path does), and the pooled
  4·10⁷ values show a count beyond 4.9 consistent with the Gaussian's. The device path's
  own cut, at radius 9.49 (2⁻⁶⁵ of mass per pair), lies beyond any sampling test; it is
  bounded analytically (``cut_mass``) and its reach checked exactly in
  tests/test_noise/test_philox.py. A broken variant whose radius uniform has 16 bits
  (reach 4.85) must fail the pooled tail count.
* Independence of copies: copy 0 and copy 1 of each of 1000 frames are uncorrelated
  (Pearson at level 1e-4 per frame). A broken variant that leaves the copy index out of
  the counter gives every copy the same noise and must be caught.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import norm, pearsonr, poisson

from adcert.noise.philox import DeviceNoiseStream, _box_muller, philox4x32

from .harness import CONFIDENCE, assert_caught, assert_sound
from .test_noise import ALPHA, PER_TRIAL_LEVEL, _bin_probabilities, _bulk_law_rejected

FRAMES, VALUES = 1000, 40_000
TAIL = 4.9  # beyond the 16-bit variant's reach √(34 ln 2) ≈ 4.85


def device_noise(run_seed: int, image_id: str, n: int, copy: int = 0) -> np.ndarray:
    """Copy ``copy`` of a frame's device-path noise, as float32 values a model sees."""
    stream = DeviceNoiseStream(run_seed, image_id)
    for _ in range(copy):
        stream.normal((n,))
    return stream.normal((n,)).numpy()


def short_radius_noise(run_seed: int, image_id: str, n: int, copy: int = 0) -> np.ndarray:
    """Broken: the radius uniform keeps 16 bits, so no pair reaches beyond 4.85."""
    stream = DeviceNoiseStream(run_seed, image_id)
    index = torch.arange(math.ceil(n / 2), dtype=torch.int64)
    w0, _, w2, w3 = philox4x32([index, torch.full_like(index, copy),
                                torch.full_like(index, stream._upper[0]),
                                torch.full_like(index, stream._upper[1])], stream._key)
    # u = (top 16 bits of w0 + ½)·2⁻¹⁶: the smallest radius uniform is 2⁻¹⁷.
    pairs = _box_muller(((w0 >> 16) << 16) | 0x8000, torch.zeros_like(w0), w2, w3)
    return pairs.reshape(-1)[:n].float().numpy()


def copy_blind_noise(run_seed: int, image_id: str, n: int, copy: int = 0) -> np.ndarray:
    """Broken: the copy index left out of the counter — every copy draws copy 0."""
    return device_noise(run_seed, image_id, n, 0)


def _law(sampler, values: int = VALUES) -> tuple[int, int]:
    """(frames whose bulk law is rejected, pooled count of |z| beyond TAIL)."""
    probabilities = _bin_probabilities()
    wrong = beyond = 0
    for frame in range(FRAMES):
        z = sampler(21, f"device-law-{frame}", values)
        wrong += _bulk_law_rejected(z, probabilities)
        beyond += int(np.count_nonzero(np.abs(z) > TAIL))
    return wrong, beyond


def _tail_p_value(beyond: int) -> float:
    expected = FRAMES * VALUES * 2.0 * norm.sf(TAIL)
    return min(1.0, 2.0 * min(poisson.cdf(beyond, expected), poisson.sf(beyond - 1, expected)))


def test_device_noise_law_fast():
    """The bulk law over 1000 frames × 10⁴ values (no tails: the soundness run has them)."""
    assert_sound("device noise law (bulk, fast)", _law(device_noise, 10_000)[0], FRAMES, ALPHA)


@pytest.mark.soundness
@pytest.mark.parametrize("sampler", [
    pytest.param(device_noise, id="philox-box-muller"),
    pytest.param(short_radius_noise, id="16-bit-radius", marks=pytest.mark.xfail(
        strict=True, raises=AssertionError, reason="broken on purpose: the tail is cut")),
])
def test_device_noise_law(sampler):
    wrong, beyond = _law(sampler)
    assert_sound(f"device noise law (bulk): {sampler.__name__}", wrong, FRAMES, ALPHA)
    assert _tail_p_value(beyond) > CONFIDENCE, f"tail count {beyond} is not the Gaussian's"


@pytest.mark.soundness
def test_suite_sees_the_short_radius_cut():
    _, beyond = _law(short_radius_noise)
    assert beyond == 0 and _tail_p_value(beyond) < CONFIDENCE


def _correlated_copies(sampler) -> int:
    wrong = 0
    for frame in range(FRAMES):
        first, second = (sampler(22, f"device-copies-{frame}", 1024, copy) for copy in (0, 1))
        wrong += bool(pearsonr(first, second).pvalue < PER_TRIAL_LEVEL)
    return wrong


@pytest.mark.parametrize("sampler", [
    pytest.param(device_noise, id="copy-in-counter"),
    pytest.param(copy_blind_noise, id="copy-blind", marks=pytest.mark.xfail(
        strict=True, raises=AssertionError, reason="broken on purpose: copies repeat")),
])
def test_device_copies_are_independent(sampler):
    broken = "" if sampler is device_noise else "broken: "  # read as such in the table
    assert_sound(f"{broken}device copy independence: {sampler.__name__}",
                 _correlated_copies(sampler), FRAMES, ALPHA)


def test_suite_sees_repeated_copies():
    assert_caught("broken: copy index left out of the counter",
                  _correlated_copies(copy_blind_noise), FRAMES, ALPHA)
