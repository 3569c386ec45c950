"""One random stream per (run seed, image id), independent of batch size, rank and resume."""

from __future__ import annotations

import hashlib
import secrets

import numpy as np


def new_run_seed() -> int:
    """A fresh 64-bit run seed from OS entropy.

    Unpredictable noise matters: an attacker who can predict the noise can defeat the
    certificate (Dahiya, Shumailov & Anderson 2023). Record the seed to reproduce a run.
    """
    return secrets.randbits(64)


def image_seed(run_seed: int, image_id: int | str) -> int:
    """A 64-bit seed derived from the run seed and a stable key of the image id."""
    if int(run_seed) < 0:
        raise ValueError(f"run_seed must be a non-negative integer, got {run_seed}")
    key = int.from_bytes(hashlib.blake2b(str(image_id).encode(), digest_size=8).digest(), "big")
    state = np.random.SeedSequence([int(run_seed), key]).generate_state(1, dtype=np.uint64)
    return int(state[0])


def image_generator(run_seed: int, image_id: int | str, device="cpu"):
    """A ``torch.Generator`` on ``device`` seeded by :func:`image_seed`."""
    import torch

    generator = torch.Generator(device=device)
    generator.manual_seed(image_seed(run_seed, image_id))
    return generator
