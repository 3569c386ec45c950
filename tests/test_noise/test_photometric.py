"""Camera-effect samplers: one parameter per copy, the right law with its tails, resolvable,
seeded, applied with one rounding."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import kstest, norm, rayleigh

from adcert.noise import Brightness, Contrast, Gamma, image_generator, make_perturbation
from adcert.noise.gaussian import GaussianNoise, perturbed_batches

# Inverse-CDF Rayleigh from float32 uniforms (torch.rand) stops at σ·√(48 ln 2) ≈ 5.768σ.
INVERSE_CDF_FLOAT32_LIMIT = math.sqrt(48 * math.log(2))
# A frame (run seed 0) whose Gamma(σ = 1) draws exceed 5.8 within the first 3142 copies:
# found by trying ids "tail-0", "tail-1", … (the law puts 4.9e-8 beyond 5.8 per draw).
GAMMA_TAIL_FRAME, GAMMA_TAIL_COPIES = "tail-7644", 3142


def _generator(seed=0):
    return image_generator(seed, "frame.png", torch.device("cpu"))


@pytest.mark.parametrize(
    "family, law",
    [(Brightness(0.2), norm(scale=0.2)), (Contrast(0.3), norm(scale=0.3)),
     (Gamma(0.8), rayleigh(scale=0.8))],
)
def test_parameters_follow_the_smoothing_law(family, law):
    generator = _generator()
    draws = [family.draw(generator) for _ in range(3000)]
    assert kstest(draws, law.cdf).pvalue > 1e-3
    # A wrong law is rejected by the same test (it has power).
    assert kstest(draws, norm(scale=law.std() * 2).cdf).pvalue < 1e-3


def test_one_parameter_moves_the_whole_frame():
    x = torch.rand(3, 4, 5)
    generator = _generator()
    brighter = Brightness(0.2)(x, generator)
    assert torch.allclose(brighter - x, (brighter - x).flatten()[0].expand_as(x))
    scaled = Contrast(0.2)(x, generator) / x
    assert torch.allclose(scaled, scaled.flatten()[0].expand_as(x))


def test_transforms_are_resolvable_without_clipping():
    x = torch.rand(3, 8, 8)
    b, c, g = Brightness(0.1), Contrast(0.1), Gamma(0.8)
    assert torch.allclose(b.apply(b.apply(x, 0.7), -0.2), b.apply(x, 0.5))
    assert torch.allclose(c.apply(c.apply(x, 0.3), 0.4), c.apply(x, 0.7))
    assert torch.allclose(g.apply(g.apply(x, 1.3), 0.6), g.apply(x, 1.3 * 0.6), atol=1e-6)
    assert b.apply(torch.ones(1), 0.5).item() == 1.5  # no clipping at 1
    with pytest.raises(ValueError, match="gamma must be positive"):
        g.apply(x, 0.0)


def test_apply_works_on_numpy_frames_too():
    x = np.linspace(0, 1, 6)
    assert np.allclose(Contrast(0.1).apply(x, math.log(2)), 2 * x)
    assert np.allclose(Gamma(0.8).apply(x, 2.0), x**2)


def test_copies_do_not_depend_on_batch_size():
    x = torch.rand(3, 4, 4)
    family = make_perturbation("gamma", 0.8)
    one = torch.cat(list(perturbed_batches(x, 7, 1, family, _generator(5))))
    three = torch.cat(list(perturbed_batches(x, 7, 3, family, _generator(5))))
    assert torch.equal(one, three)
    assert not torch.equal(one[0], one[1])


def test_make_perturbation_names_the_families():
    assert isinstance(make_perturbation("gaussian", 0.25), GaussianNoise)
    assert isinstance(make_perturbation("contrast", 0.25), Contrast)
    with pytest.raises(ValueError, match="transform must be one of"):
        make_perturbation("fog", 0.25)
    with pytest.raises(ValueError, match="sigma"):
        make_perturbation("brightness", 0.0)


def test_brightness_contrast_draws_two_independent_normals():
    family = make_perturbation("brightness_contrast", 0.3)
    generator = _generator(2)
    draws = np.array([family.draw(generator) for _ in range(3000)])
    for column in draws.T:
        assert kstest(column, norm(scale=0.3).cdf).pvalue > 1e-3
    assert abs(np.corrcoef(draws.T)[0, 1]) < 0.08
    x = torch.rand(3, 2, 2)
    assert torch.allclose(family.apply(x, (math.log(2), 0.1)), 2 * x + 0.1)


def test_gamma_draws_reach_beyond_the_float32_inverse_cdf():
    stream = image_generator(0, GAMMA_TAIL_FRAME)
    largest = max(Gamma(1.0).draw(stream) for _ in range(GAMMA_TAIL_COPIES))
    assert largest > 5.8 > INVERSE_CDF_FLOAT32_LIMIT


@pytest.mark.parametrize("transform", ["brightness", "contrast", "gamma",
                                       "brightness_contrast"])
def test_transforms_are_applied_in_float64_and_rounded_once(transform):
    x = torch.rand(3, 16, 16)
    family = make_perturbation(transform, 0.5)
    noisy = family(x, _generator(4))
    theta = family.draw(_generator(4))
    assert noisy.dtype == torch.float32
    assert torch.equal(noisy, family.apply(x.double(), theta).float())
