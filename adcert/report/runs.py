"""Finished (or unfinished) certification runs, read back as evidence.

A run folder (:mod:`adcert.pipeline.rundir`) is *complete* when its ``summary.json``
exists — the engine writes it last, atomically — and *incomplete* when only the manifest
and the per-rank journals exist (a killed run). Incomplete runs are listed in a report
with the frames they finished, but no requirement is argued from them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from adcert.pipeline.journal import read_run
from adcert.pipeline.rundir import MANIFEST, RESULTS, SUMMARY, read_json
from adcert.vis.render import load_records

COMPLETE, INCOMPLETE, MISSING = "complete", "incomplete", "missing"


@dataclass
class Run:
    """One run folder as the report sees it. ``label`` names it in the report (``R1``…)."""

    path: str
    label: str
    status: str
    problem: str | None = None
    manifest: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    records: list[dict] = field(default_factory=list)

    @property
    def task(self) -> str | None:
        return self.manifest.get("task") or self.summary.get("task")

    @property
    def settings(self) -> dict:
        return self.summary.get("settings") or self.manifest.get("settings") or {}

    @property
    def transform(self) -> str:
        return self.settings.get("transform", "gaussian")

    @property
    def classes(self) -> list[str]:
        return list(self.summary.get("classes") or [])

    @property
    def frames_planned(self) -> int:
        return len(self.manifest.get("frames") or [])

    @property
    def usable(self) -> bool:
        """Complete, with a summary to argue from."""
        return self.status == COMPLETE


def _newest_run(path: str) -> str | None:
    """A work dir given instead of a run folder: its newest run (by folder name)."""
    if not os.path.isdir(path):
        return None
    runs = sorted(name for name in os.listdir(path)
                  if os.path.isfile(os.path.join(path, name, MANIFEST)))
    return os.path.join(path, runs[-1]) if runs else None


def load_run(path: str, label: str) -> Run:
    """Read ``path`` (a run folder, or a work dir whose newest run is taken). Never raises
    for a missing or unfinished run: the returned :class:`Run` says what is wrong."""
    if not os.path.isfile(os.path.join(path, MANIFEST)):
        newest = _newest_run(path)
        if newest is None:
            what = "does not exist" if not os.path.exists(path) else f"has no {MANIFEST}"
            return Run(path, label, MISSING, f"{path} {what}: not a certification run")
        path = newest
    try:
        manifest = read_json(os.path.join(path, MANIFEST))
    except ValueError as error:
        return Run(path, label, MISSING, f"{MANIFEST} is not valid JSON ({error})")
    summary_path = os.path.join(path, SUMMARY)
    if not os.path.isfile(summary_path):
        records = [entry.record for _, entry in sorted(read_run(path).items())]
        problem = (f"unfinished: {len(records)} of {len(manifest.get('frames') or [])} "
                   f"frames certified, no {SUMMARY}; resume it with --resume")
        return Run(path, label, INCOMPLETE, problem, manifest, {}, records)
    try:
        summary = read_json(summary_path)
        records = load_records(os.path.join(path, RESULTS))
    except (OSError, ValueError) as error:
        return Run(path, label, INCOMPLETE, f"unreadable results ({error})", manifest)
    return Run(path, label, COMPLETE, None, manifest, summary, records)


def load_runs(paths: list[str]) -> list[Run]:
    """Runs labelled R1, R2, … in the order given."""
    return [load_run(path, f"R{i}") for i, path in enumerate(paths, 1)]
