"""One random stream per (run seed, image id), independent of batch size, rank and resume.

The stream is numpy's PCG64 seeded through a ``SeedSequence`` that takes the whole 64-bit
run seed and a 192-bit BLAKE2b digest of the image id, so no two frames share noise unless
their ids collide in BLAKE2b, and an attacker has the full run seed to guess
(docs/noise.md). Normals and Rayleigh variates are drawn in float64 by numpy's ziggurat,
whose tails are the law's own (|z| reaches ≈ 13.7, not the 5.77 of float32 Box–Muller),
and only then cast or added in the caller's precision.

``seeding`` needs no torch at import time; :meth:`NoiseStream.normal` loads it.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

#: What every record names as the source of its noise.
NOISE_GENERATOR = (
    "numpy PCG64 from SeedSequence(64-bit run seed, BLAKE2b-192 of the image id), 8 lanes; "
    "float64 ziggurat normals and Rayleigh variates; x + δ rounded once to the input dtype"
)

#: Fixed number of independent sub-streams a pixel-noise draw is split over. Part of the
#: noise's definition (changing it changes every draw), not a tuning knob: the layout must
#: not depend on the machine's core count.
LANES = 8

_RUN_SEED_LIMIT = 2**64
_PERSON = b"adcert.noise.v1"  # BLAKE2b personalisation: these digests mean nothing else
_PARALLEL_MIN = 1 << 16  # below this many values a thread hand-off costs more than it saves

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def new_run_seed() -> int:
    """A fresh 64-bit run seed from OS entropy.

    Unpredictable noise matters: an attacker who can predict the noise can defeat the
    certificate (Dahiya, Shumailov & Anderson 2023). Record the seed to reproduce a run.
    """
    return secrets.randbits(64)


def seed_entropy(run_seed: int, image_id: int | str) -> np.ndarray:
    """The eight uint32 words a frame's stream is seeded with: the run seed's two words
    (low first) and the six words of BLAKE2b-192 of ``str(image_id)`` in UTF-8.

    Eight words fill ``SeedSequence``'s 256-bit pool exactly; its mixing is invertible
    (odd multiplies and xor-shifts), so distinct (run seed, digest) pairs give distinct
    pools in every lane, and the PCG64 states they expand to collide only by chance.
    """
    if not isinstance(run_seed, int | np.integer) or not 0 <= int(run_seed) < _RUN_SEED_LIMIT:
        raise ValueError(f"run_seed must be an integer in [0, 2**64), got {run_seed!r}")
    seed = int(run_seed)
    digest = hashlib.blake2b(str(image_id).encode(), digest_size=24, person=_PERSON).digest()
    words = [seed & 0xFFFFFFFF, seed >> 32, *np.frombuffer(digest, dtype="<u4").tolist()]
    return np.array(words, dtype=np.uint32)


class NoiseStream:
    """The random stream of one frame: every perturbation of that frame draws from it.

    Guarantees (docs/noise.md):

    * the stream is a function of (run seed, image id) only, with all 64 bits of the run
      seed and 192 bits of the id's digest entering the PCG64 state — no 32-bit bottleneck;
    * pixel normals are float64 standard normals from numpy's ziggurat (tails to ≈ 13.7σ),
      photometric parameters likewise (:meth:`normal_scalars`, :meth:`rayleigh`);
    * a draw of ``n`` values is split into ``LANES`` contiguous runs, run ``j`` coming from
      lane ``j``; lanes may run in parallel threads, which changes no value;
    * draws are consumed in call order, so callers that draw one copy at a time get the
      same copies whatever their batch size, device or number of ranks.
    """

    def __init__(self, run_seed: int, image_id: int | str, device="cpu") -> None:
        self.device = device
        root = np.random.SeedSequence(seed_entropy(run_seed, image_id), pool_size=8)
        # Child 0 draws the photometric parameters, children 1..LANES the pixel noise.
        children = root.spawn(1 + LANES)
        self._scalars = np.random.Generator(np.random.PCG64(children[0]))
        self._lanes = [np.random.Generator(np.random.PCG64(c)) for c in children[1:]]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(device={self.device!r})"

    def standard_normal(self, shape, out: np.ndarray | None = None) -> np.ndarray:
        """``shape`` i.i.d. N(0, 1) values as a C-contiguous float64 array: ``out`` (of that
        shape, overwritten) when given, else a fresh one."""
        if out is None:
            out = np.empty(shape, dtype=np.float64)
        elif out.shape != tuple(shape) or out.dtype != np.float64 or not out.flags.c_contiguous:
            raise ValueError(f"out must be a C-contiguous float64 array of shape {tuple(shape)}")
        runs = np.array_split(out.reshape(-1), LANES)
        if out.size < _PARALLEL_MIN:
            for lane, run in zip(self._lanes, runs, strict=True):
                lane.standard_normal(out=run)
        else:
            # numpy releases the GIL while filling, so the lanes really run in parallel.
            list(_lane_pool().map(lambda pair: pair[0].standard_normal(out=pair[1]),
                                  zip(self._lanes, runs, strict=True)))
        return out

    def normal(self, shape, device=None, dtype=None):
        """``shape`` i.i.d. N(0, 1) values as a torch tensor on ``device`` (default: the
        stream's) in ``dtype`` (default float32), drawn in float64 and cast once.

        For the sum x + σz with a single rounding, ask for float64 and add in float64, as
        :class:`adcert.noise.gaussian.GaussianNoise` does.
        """
        import torch

        return self.normal64(shape, device).to(torch.float32 if dtype is None else dtype)

    def normal64(self, shape, device=None, scratch: np.ndarray | None = None):
        """The next ``shape`` N(0, 1) values as a float64 tensor on ``device``; drawn into
        ``scratch`` when given (the tensor then shares its memory on the CPU)."""
        import torch

        values = torch.from_numpy(self.standard_normal(tuple(shape), scratch))
        return values.to(device=self.device if device is None else device)

    def normal_scalars(self, k: int) -> np.ndarray:
        """``k`` i.i.d. N(0, 1) float64 values from the parameter lane."""
        return self._scalars.standard_normal(int(k))

    def rayleigh(self, scale: float, size=None):
        """Rayleigh(``scale``) variates (a float, or an array of ``size``) from the parameter
        lane: scale·√(2E) with E a float64 ziggurat exponential, so tails are not cut at
        the 5.77·scale of an inverse CDF fed 24-bit uniforms."""
        return self._scalars.rayleigh(scale, size)


#: Where pixel noise is drawn: ``host`` (numpy on the CPU, then copied) or ``device``
#: (Philox on the model's device, :mod:`adcert.noise.philox`); ``auto`` picks ``device``
#: on CUDA and ``host`` elsewhere.
NOISE_PATHS = ("auto", "host", "device")


def resolve_noise_path(path: str, device) -> str:
    """``host`` or ``device`` for the choice ``path`` on ``device`` (ValueError if unknown)."""
    if path not in NOISE_PATHS:
        raise ValueError(f"noise path must be one of {', '.join(NOISE_PATHS)}, got {path!r}")
    if path != "auto":
        return path
    return "device" if str(device).startswith("cuda") else "host"


def image_generator(run_seed: int, image_id: int | str, device="cpu",
                    path: str = "host") -> NoiseStream:
    """The stream of frame ``image_id`` in the run ``run_seed``; tensors it draws land on
    ``device``. ``path="device"`` draws the pixel noise there
    (:class:`adcert.noise.philox.DeviceNoiseStream`); the two paths draw different values
    from the same law (docs/noise.md)."""
    if resolve_noise_path(path, device) == "device":
        from adcert.noise.philox import DeviceNoiseStream

        return DeviceNoiseStream(run_seed, image_id, device)
    return NoiseStream(run_seed, image_id, device)


def noise_provenance(device, path: str = "host") -> dict:
    """What a record needs to say where its noise came from: the path and generator with
    its law (:data:`NOISE_GENERATOR` or the device path's), the device the noisy copies
    lived on, torch and numpy versions (numpy does not promise the same streams across
    versions)."""
    import torch

    path = resolve_noise_path(path, device)
    if path == "device":
        from adcert.noise.philox import DEVICE_NOISE_GENERATOR as generator
    else:
        generator = NOISE_GENERATOR
    return {"path": path, "generator": generator, "device": str(device),
            "torch": torch.__version__, "numpy": np.__version__}


def _lane_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=min(LANES, os.cpu_count() or 1),
                                       thread_name_prefix="adcert-noise-lane")
        return _pool
