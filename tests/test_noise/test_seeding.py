"""Per-frame streams: full-entropy seeds, reproducible, independent of how they are used."""

import hashlib

import numpy as np
import pytest
import torch

from adcert.noise import (
    NOISE_GENERATOR,
    GaussianNoise,
    NoiseStream,
    image_generator,
    new_run_seed,
    noise_provenance,
    perturbed_batches,
    seed_entropy,
)
from adcert.noise.seeding import _PARALLEL_MIN, LANES

# Two ids from tests/soundness/low32_seed_collisions.txt: under the former per-image seed
# (64 bits, handed to torch.manual_seed) they agree in the low 32 bits that torch keeps.
COLLIDING_IDS = ("0002979.png", "2944014.png")


def _former_image_seed(run_seed: int, image_id: str) -> int:
    """The 64-bit seed adcert used to give torch.manual_seed (kept here as evidence)."""
    key = int.from_bytes(hashlib.blake2b(image_id.encode(), digest_size=8).digest(), "big")
    return int(np.random.SeedSequence([run_seed, key]).generate_state(1, dtype=np.uint64)[0])


def _noise(run_seed, image_id, shape=(3, 16, 16), device="cpu"):
    return GaussianNoise(1.0)(torch.zeros(shape), image_generator(run_seed, image_id, device))


def test_run_seeds_come_from_entropy():
    seeds = {new_run_seed() for _ in range(8)}
    assert len(seeds) == 8 and all(0 <= s < 2**64 for s in seeds)


def test_ids_that_shared_torch_seeds_get_independent_noise():
    a, b = (_former_image_seed(0, i) for i in COLLIDING_IDS)
    assert a != b and a % 2**32 == b % 2**32
    # What that meant: identical noise for two different frames.
    assert torch.equal(torch.randn(64, generator=torch.Generator().manual_seed(a)),
                       torch.randn(64, generator=torch.Generator().manual_seed(b)))
    first, second = (_noise(0, i, (4096,)) for i in COLLIDING_IDS)
    assert abs(np.corrcoef(first.numpy(), second.numpy())[0, 1]) < 4 / 64


def test_every_bit_of_the_run_seed_and_id_enters():
    base = 0x0123456789ABCDEF
    flipped = [base ^ (1 << bit) for bit in (0, 31, 32, 63)]
    noises = [_noise(s, "frame.png") for s in [base, *flipped]]
    assert all(not torch.equal(noises[0], n) for n in noises[1:])
    words = seed_entropy(base, "frame.png")
    assert words.dtype == np.uint32 and words.size == 8
    assert (int(words[1]) << 32 | int(words[0])) == base
    # Ids that share a long prefix (or only differ in type spelling) still differ.
    assert not torch.equal(_noise(1, "a" * 200 + "x"), _noise(1, "a" * 200 + "y"))
    assert torch.equal(_noise(1, 3), _noise(1, "3"))  # ids are keyed by str(image_id)


def test_same_frame_same_noise_whatever_the_batch_size_or_device_spelling():
    x = torch.rand(3, 5, 7)
    noise = GaussianNoise(0.5)
    copies = [torch.cat(list(perturbed_batches(x, 10, size, noise, image_generator(9, "a", dev))))
              for size, dev in [(1, "cpu"), (3, torch.device("cpu")), (10, "cpu:0"), (64, "cpu")]]
    assert copies[0].shape == (10, 3, 5, 7)
    assert all(torch.equal(copies[0], c) for c in copies[1:])
    assert (copies[0] - x).std().item() == pytest.approx(0.5, rel=0.15)


def test_parallel_lanes_draw_what_one_thread_draws():
    n = 3 * _PARALLEL_MIN + 5  # large enough to go to the thread pool, not a multiple of 8
    parallel = NoiseStream(4, "f").standard_normal((n,))
    lanes = NoiseStream(4, "f")._lanes
    serial = np.concatenate([lane.standard_normal(len(run))
                             for lane, run in zip(lanes, np.array_split(np.empty(n), LANES),
                                                  strict=True)])
    assert np.array_equal(parallel, serial)
    # A stream continues where it stopped; small draws (one thread) follow the same rule.
    stream, fresh = NoiseStream(4, "g"), NoiseStream(4, "g")
    stream.standard_normal((LANES * 3,))
    fresh_first = fresh.standard_normal((LANES * 3,))
    assert not np.array_equal(stream.standard_normal((LANES * 3,)), fresh_first)


def test_normal_casts_once_and_lands_on_the_device():
    stream, again = NoiseStream(2, "x", "cpu"), NoiseStream(2, "x")
    z32 = stream.normal((2, 3))
    assert z32.dtype == torch.float32 and z32.device.type == "cpu"
    assert torch.equal(z32, torch.from_numpy(again.standard_normal((2, 3))).float())
    assert stream.normal((4,), dtype=torch.float64).dtype == torch.float64


def test_provenance_names_generator_device_and_versions():
    record = noise_provenance(torch.device("cpu"))
    assert record == {"path": "host", "generator": NOISE_GENERATOR, "device": "cpu",
                      "torch": torch.__version__, "numpy": np.__version__}
    assert "PCG64" in NOISE_GENERATOR and "float64" in NOISE_GENERATOR


@pytest.mark.parametrize("seed", [-1, 2**64, 1.5, "7"])
def test_bad_sigma_and_seed_are_named(seed):
    with pytest.raises(ValueError, match="sigma"):
        GaussianNoise(0.0)
    with pytest.raises(ValueError, match="run_seed"):
        image_generator(seed, 0)
