"""Gaussian pixel noise: the Gaussian's own tails, one rounding of x + δ, the sampling loop."""

import math

import pytest
import torch
from scipy.stats import kstest, norm

from adcert.noise import GaussianNoise, image_generator, perturbed_batches

# float32 Box–Muller (torch.randn on CPU) never goes beyond √(48 ln 2) ≈ 5.768.
BOX_MULLER_FLOAT32_LIMIT = math.sqrt(48 * math.log(2))
# A frame whose first 3×256×512 copy (run seed 0) has a value beyond 5.8: found by trying
# ids "tail-0", "tail-1", … (about 1 in 300 frames of this size has one).
TAIL_FRAME = "tail-158"


def test_noise_reaches_beyond_the_float32_box_muller_limit():
    z = GaussianNoise(1.0)(torch.zeros(3, 256, 512), image_generator(0, TAIL_FRAME))
    assert z.abs().max().item() > 5.8 > BOX_MULLER_FLOAT32_LIMIT


def test_noise_follows_the_normal_law():
    z = GaussianNoise(0.3)(torch.zeros(20000), image_generator(1, "law")).double().numpy()
    assert kstest(z, norm(scale=0.3).cdf).pvalue > 1e-3
    assert kstest(z, norm(scale=0.33).cdf).pvalue < 1e-3  # the test has power


def test_x_plus_delta_is_rounded_once():
    x = torch.rand(3, 32, 32) * 5 - 2
    sigma = 0.37
    noisy = GaussianNoise(sigma)(x, image_generator(2, "f"))
    z = image_generator(2, "f").normal(x.shape, "cpu", torch.float64)
    exact = x.double() + sigma * z
    assert noisy.dtype == torch.float32
    assert torch.equal(noisy, exact.float())
    assert ((noisy.double() - exact).abs() <= 2.0**-24 * exact.abs()).all()
    # float64 inputs keep float64 noise, no rounding to float32 anywhere.
    noisy64 = GaussianNoise(sigma)(x.double(), image_generator(2, "f"))
    assert noisy64.dtype == torch.float64 and torch.allclose(noisy64, exact, rtol=1e-15)


def test_batches_cover_num_copies_and_keep_grad_mode():
    x = torch.zeros(2, 3)
    noise = GaussianNoise(1.0)
    assert [len(b) for b in perturbed_batches(x, 7, 3, noise, image_generator(0, 0))] == [3, 3, 1]
    assert list(perturbed_batches(x, 0, 3, noise, image_generator(0, 0))) == []
    with pytest.raises(ValueError, match="batch_size"):
        next(perturbed_batches(x, 3, 0, noise, image_generator(0, 0)))
    leaf = torch.zeros(2, 3, requires_grad=True)
    with torch.no_grad():
        batch = next(perturbed_batches(leaf, 2, 2, noise, image_generator(0, 0)))
    assert not batch.requires_grad
    assert next(perturbed_batches(leaf, 2, 2, noise, image_generator(0, 0))).requires_grad


def test_stopping_early_leaves_the_stream_at_most_one_batch_on():
    x = torch.zeros(4)
    noise = GaussianNoise(1.0)
    stream, reference = image_generator(3, "early"), image_generator(3, "early")
    batches = perturbed_batches(x, 12, 2, noise, stream)
    first = next(batches)
    batches.close()
    expected = torch.stack([noise(x, reference) for _ in range(5)])
    assert torch.equal(first, expected[:2])
    # The second batch was already drawn in the background when the caller stopped.
    assert torch.equal(noise(x, stream), expected[4])
