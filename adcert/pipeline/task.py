"""What the engine needs to know about a task (detection, segmentation)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FrameResult:
    """One certified frame: its record (exactly as ``results.jsonl`` holds it), the sample
    for the task's metric (None without annotations) and what drawings need later (the
    clean prediction: a detection array, or a clean mask's path relative to the run)."""

    record: dict
    metric_sample: dict | None
    clean: Any = None


@dataclass(frozen=True)
class Task:
    """A certification task: its settings type, per-frame pipeline function and metric."""

    name: str  # "detection" / "segmentation"
    framework: str  # "mmdet" / "mmseg": the registry its models are built in
    settings_type: type
    # (session, frame, packed, generator) -> FrameResult
    certify: Callable[..., FrameResult]
    # (classes, hierarchy or None) -> an mmengine BaseMetric
    make_metric: Callable[[list[str], Any], Any]
    # (loaded model, classes) -> None; raises ValueError when they do not fit
    check_model: Callable[[Any, list[str]], None]
    # (settings) -> a one-line description of the run for the console
    title: Callable[[Any], str]
    headline: tuple[str, ...]  # summary keys printed at the end
    # (settings, first packed frame, class count) -> a warning when the settings cannot
    # certify anything
    preflight: Callable[[Any, dict, int], str | None] = lambda settings, packed, classes: None
    # (records in frame order) -> summary fields computed from the records alone
    summarize: Callable[[list[dict]], dict] = lambda records: {}
