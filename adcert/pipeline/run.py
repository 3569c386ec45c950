"""What every certification run shares: settings, sharding, seeds and its output folder.

Outputs go to ``<work-dir>/<timestamp>/``. ``results.jsonl`` is written as
``results.jsonl.partial`` and renamed only when the run completes, and ``summary.json``
comes last, so an interrupted run never looks complete.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from typing import Any


def merge_settings(defaults: Mapping, from_config: Mapping | None, from_cli: Mapping) -> dict:
    """Defaults, overridden by the config's ``certify = dict(...)``, overridden by CLI flags
    that were given (None means not given)."""
    settings = dict(defaults)
    unknown = set(from_config or {}) - set(defaults)
    if unknown:
        raise ValueError(f"unknown key(s) in the config's certify dict: {sorted(unknown)}")
    settings.update(from_config or {})
    settings.update({k: v for k, v in from_cli.items() if v is not None})
    return settings


def shard(num_items: int, rank: int, world_size: int, max_items: int | None = None) -> range:
    """Indices this rank certifies: every image exactly once over all ranks, no padding."""
    total = num_items if max_items is None else min(num_items, max_items)
    return range(rank, total, world_size)


class RunDir:
    """A timestamped output folder with an append-only results file."""

    def __init__(self, work_dir: str, timestamp: str | None = None) -> None:
        self.path = os.path.join(work_dir, timestamp or time.strftime("%Y%m%d_%H%M%S"))
        os.makedirs(self.path, exist_ok=True)
        self.results_path = os.path.join(self.path, "results.jsonl")
        self._partial = self.results_path + ".partial"

    def subdir(self, name: str) -> str:
        path = os.path.join(self.path, name)
        os.makedirs(path, exist_ok=True)
        return path

    def write_results(self, records: list[dict]) -> None:
        with open(self._partial, "w") as f:
            for record in records:
                f.write(json.dumps(record) + "\n")
        os.replace(self._partial, self.results_path)

    def write_summary(self, summary: dict[str, Any]) -> str:
        path = os.path.join(self.path, "summary.json")
        with open(path, "w") as f:
            json.dump(summary, f, indent=2)
        return path
