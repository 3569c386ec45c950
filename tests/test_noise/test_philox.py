"""The device noise path: Philox4x32-10 words, Box–Muller normals, copies keyed by index."""

import math

import numpy as np
import pytest
import torch

from adcert.noise import GaussianNoise, image_generator, noise_provenance, perturbed_batches
from adcert.noise.philox import (
    DEVICE_NOISE_GENERATOR,
    PAIR_CUT_MASS,
    DeviceNoiseStream,
    _box_muller,
    cut_mass,
    philox4x32,
)
from adcert.noise.seeding import NoiseStream, resolve_noise_path

# Random123's published known-answer vectors for Philox4x32-10 (counter, key, output).
KNOWN_ANSWERS = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.parametrize(("counter", "key", "expected"), KNOWN_ANSWERS)
def test_philox_matches_the_reference_vectors(counter, key, expected):
    words = philox4x32([torch.tensor([w], dtype=torch.int64) for w in counter], key)
    assert tuple(int(w) for w in words) == expected


def test_radius_reach_and_cut_mass_are_what_the_docs_say():
    zero = torch.zeros(1, dtype=torch.int64)
    top = torch.full((1,), 0xFFFFFFFF, dtype=torch.int64)
    # The smallest radius uniform, 2^-65, gives the largest radius √(130 ln 2) ≈ 9.49.
    pair = _box_muller(zero, zero, zero, zero)[0]
    assert math.isclose(float(pair.norm()), math.sqrt(130 * math.log(2)), rel_tol=1e-12)
    assert math.isclose(math.exp(-float(pair.norm()) ** 2 / 2), PAIR_CUT_MASS, rel_tol=1e-9)
    assert float(_box_muller(top, top, top, top)[0].norm()) < 1e-8
    assert cut_mass(3 * 1024 * 2048, 10**5) == pytest.approx(10**5 * 3 * 2**20 * 2.0**-65)


def test_copies_do_not_depend_on_batch_size_and_differ_from_each_other():
    x = torch.rand(3, 8, 16)
    noise = GaussianNoise(0.5)
    batches = [torch.cat(list(perturbed_batches(x, 5, size, noise,
                                                image_generator(3, "f.png", path="device"))))
               for size in (1, 2, 5)]
    assert torch.equal(batches[0], batches[1]) and torch.equal(batches[0], batches[2])
    assert not torch.equal(batches[0][0], batches[0][1])
    host = torch.cat(list(perturbed_batches(x, 5, 5, noise, image_generator(3, "f.png"))))
    assert not torch.equal(host, batches[0])  # another generator, the same law


def test_frames_seeds_and_shapes_change_the_noise_and_odd_sizes_work():
    z = DeviceNoiseStream(1, "a.png").normal((3, 5, 7), dtype=torch.float64)
    assert z.shape == (3, 5, 7) and z.dtype == torch.float64
    assert not torch.equal(z, DeviceNoiseStream(1, "b.png").normal((3, 5, 7), dtype=torch.float64))
    assert not torch.equal(z, DeviceNoiseStream(2, "a.png").normal((3, 5, 7), dtype=torch.float64))
    again = DeviceNoiseStream(1, "a.png").standard_normal((3, 5, 7))
    assert np.array_equal(again, z.numpy())
    # Camera-effect parameters come from the host stream's lane, unchanged.
    assert np.array_equal(DeviceNoiseStream(1, "a.png").normal_scalars(3),
                          NoiseStream(1, "a.png").normal_scalars(3))


def test_paths_resolve_and_provenance_names_the_path():
    assert resolve_noise_path("auto", "cpu") == "host"
    assert resolve_noise_path("auto", torch.device("cuda", 0)) == "device"
    assert resolve_noise_path("device", "cpu") == "device"
    with pytest.raises(ValueError, match="noise path"):
        resolve_noise_path("gpu", "cpu")
    assert isinstance(image_generator(0, "a", path="device"), DeviceNoiseStream)
    record = noise_provenance("cpu", "device")
    assert record["path"] == "device" and record["generator"] == DEVICE_NOISE_GENERATOR


@CUDA
@pytest.mark.cuda
def test_cuda_draws_the_bits_the_cpu_draws():
    cpu = DeviceNoiseStream(5, "f.png", "cpu").normal((3, 64, 128), dtype=torch.float64)
    cuda = DeviceNoiseStream(5, "f.png", "cuda").normal((3, 64, 128), dtype=torch.float64)
    assert cuda.device.type == "cuda"
    # Philox words are exact integer arithmetic; log/sqrt/cos may differ in the last ulp.
    assert torch.allclose(cpu, cuda.cpu(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("path", ["host", "device"])
def test_drawing_ahead_or_in_turn_gives_the_same_copies(path):
    x = torch.rand(3, 8, 16)
    noise = GaussianNoise(0.5)
    ahead, in_turn = (torch.cat(list(perturbed_batches(
        x, 5, 2, noise, image_generator(4, "g.png", path=path), prefetch=prefetch)))
        for prefetch in (True, False))
    assert torch.equal(ahead, in_turn)
