"""A run's output folder: created once, never shared, resumable.

Layout of ``<work-dir>/<timestamp>/`` (``docs/design.md``, run outputs)::

    run.json            the manifest: settings, seed, hashes, versions, frames (first)
    config.py           the resolved config;  cfg_options.json  the --cfg-options given
    <timestamp>.log     the log (MMLogger)
    records/rank<r>.jsonl   per-rank journals (:mod:`adcert.pipeline.journal`)
    masks/…             segmentation label maps, named by the frame's relative path
    results.jsonl       every record in frame order (written at the end)
    summary.json        computed from the records, written last

Every JSON file is strict (no NaN or Infinity; undefined values are null) and written
under a temporary name and renamed, so a file that exists is complete. A folder is made
with ``exist_ok=False``: two runs started in the same second get ``…_2``, never one folder.
"""

from __future__ import annotations

import json
import math
import os
import time
from typing import Any

MANIFEST = "run.json"
RESULTS = "results.jsonl"
SUMMARY = "summary.json"


def strict_json(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (JSON has no NaN or ∞) and
    numpy scalars and arrays turned into Python numbers and lists."""
    if isinstance(value, dict):
        return {str(k): strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, str):
        return strict_json(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(value: Any, **kwargs) -> str:
    return json.dumps(strict_json(value), allow_nan=False, **kwargs)


def write_atomic(path: str, text: str) -> str:
    """Write ``text`` to ``path`` through a temporary name, fsync and rename."""
    partial = f"{path}.partial"
    with open(partial, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, path)
    return path


def write_json(path: str, value: Any) -> str:
    return write_atomic(path, dumps(value, indent=2) + "\n")


def read_json(path: str) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def new_run_dir(work_dir: str, timestamp: str | None = None) -> str:
    """Create ``work_dir/<timestamp>`` (``_2``, ``_3`` … if taken) and return its path."""
    stamp = timestamp or time.strftime("%Y%m%d_%H%M%S")
    os.makedirs(work_dir, exist_ok=True)
    for attempt in range(1, 1000):
        path = os.path.join(work_dir, stamp if attempt == 1 else f"{stamp}_{attempt}")
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            continue
    raise OSError(f"cannot create a new run folder under {work_dir}")


def latest_run_dir(work_dir: str) -> str:
    """The most recently started run of ``work_dir`` (the one whose manifest is newest)."""
    runs = []
    if os.path.isdir(work_dir):
        for name in os.listdir(work_dir):
            manifest = os.path.join(work_dir, name, MANIFEST)
            if os.path.isfile(manifest):
                runs.append((os.path.getmtime(manifest), name))
    if not runs:
        raise FileNotFoundError(f"--resume: no run to resume under {work_dir}")
    return os.path.join(work_dir, max(runs)[1])


def read_manifest(run_dir: str) -> dict:
    path = os.path.join(run_dir, MANIFEST)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--resume: {run_dir} is not a run folder (no {MANIFEST})")
    try:
        return read_json(path)
    except ValueError as error:
        raise ValueError(f"--resume: {path} is not valid JSON ({error})") from None


# What must be equal for a resumed run to extend, not contaminate, the original.
RESUME_KEYS = ("task", "settings", "seed", "checkpoint_sha256", "config_sha256", "amp",
               "noise_path", "denoiser", "adcert_source_sha256", "frames", "hierarchy")


def check_resumable(manifest: dict, current: dict) -> None:
    """ValueError naming the first difference between the original run and this one."""
    for key in RESUME_KEYS:
        old, new = manifest.get(key), current.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            diff = next(k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k))
            raise ValueError(f"--resume: {key}.{diff} is {new.get(diff)!r} here but "
                             f"{old.get(diff)!r} in the original run")
        if key == "frames":
            raise ValueError("--resume: the frames to certify differ from the original run's")
        if key == "adcert_source_sha256":
            raise ValueError("--resume: adcert's code changed since the original run; "
                             "finish it with the code that started it")
        raise ValueError(f"--resume: {key} is {new!r} here but {old!r} in the original run")
