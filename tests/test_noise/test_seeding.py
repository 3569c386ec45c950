import pytest
import torch

from adcert.noise import GaussianNoise, image_generator, image_seed, new_run_seed, perturbed_batches


def test_image_seed_is_stable_and_distinct():
    assert image_seed(7, "frame_0001.png") == image_seed(7, "frame_0001.png")
    assert image_seed(7, "frame_0001.png") != image_seed(7, "frame_0002.png")
    assert image_seed(7, 3) != image_seed(8, 3)
    assert 0 <= image_seed(2**64 - 1, 0) < 2**64


def test_run_seeds_come_from_entropy():
    assert len({new_run_seed() for _ in range(8)}) == 8


def test_noise_is_independent_of_batch_size():
    x = torch.zeros(3, 4, 5)
    noise = GaussianNoise(0.5)
    small = torch.cat(list(perturbed_batches(x, 10, 3, noise, image_generator(1, "a"))))
    large = torch.cat(list(perturbed_batches(x, 10, 10, noise, image_generator(1, "a"))))
    assert small.shape == (10, 3, 4, 5)
    torch.testing.assert_close(small, large)
    assert small.std().item() == pytest.approx(0.5, rel=0.15)


def test_bad_sigma_and_seed_are_named():
    with pytest.raises(ValueError, match="sigma"):
        GaussianNoise(0.0)
    with pytest.raises(ValueError, match="run_seed"):
        image_seed(-1, 0)
