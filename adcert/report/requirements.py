"""Robustness requirements: a small mmengine config, read and checked before any run is.

A requirements file (``configs/report/*.py``) sets ``title``, optionally ``system`` (what
is being argued about) and ``requirements``, a list of dicts::

    requirements = [
        dict(id="R-DET-1", task="detection", metric="certified_ap50", cls="car",
             min=0.3, transform="gaussian", eps=0.1, alpha=1e-3,
             text="Cars stay detected under sensor noise"),
    ]

- ``metric``: a key of :data:`METRICS`; ``cls`` (optional) asks for that class's figure;
- exactly one of ``min`` / ``max``: the threshold the figure must reach;
- ``transform`` and ``eps``: the threat the figure must be certified against — the attack
  set of :func:`adcert.stats.attack_range` (ℓ2 norm ≤ ε over the resized input in
  [0, 1]; |b| ≤ ε for brightness; factors in [e^−ε, e^ε] for contrast and gamma);
- ``alpha``: the largest per-box (detection) or per-frame (segmentation) failure
  probability accepted; ``confidence`` (optional, default :data:`DEFAULT_CONFIDENCE`):
  the verdict is met only when the failure bound B of every certificate it rests on
  (their sum) is ≤ 1 − confidence; since P(some certificate wrong and B ≤ b) ≤ b for
  every b, it is then met on a wrong certificate with probability ≤ 1 − confidence
  (``docs/report.md``);
- a certified figure bounds one side: ``min`` for lower bounds (certified AP, recall,
  accuracy, mIoU), ``max`` for upper ones (may-vanish and abstain rates);
- ``level`` (optional, segmentation ``certified_acc`` / ``certified_miou``): the figure at
  that level of the run's class hierarchy (``docs/certificates.md`` §9), e.g.
  ``level="category"`` reads ``certified_acc_by_level["category"]``; a run certified
  without a hierarchy, or whose hierarchy has no such level, is no evidence for it;
- ``text`` (optional): the requirement in the safety engineer's words.

A top-level ``confidence`` (default :data:`DEFAULT_CONFIDENCE`) is the same for the top
goal: every requirement together.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

TASKS = ("detection", "segmentation")
# Requirement transforms: those whose attack set does not depend on σ.
TRANSFORMS = ("gaussian", "brightness", "contrast", "gamma")
# The probability a verdict must hold with when the requirements file names none.
DEFAULT_CONFIDENCE = 0.95


@dataclass(frozen=True)
class Metric:
    """A figure a requirement can name: where it sits in a run summary."""

    task: str
    key: str
    per_class_key: str | None
    words: str
    certified: bool  # read from certificates covering the attack set (else measured)
    higher_is_better: bool
    sweep_key: str | None = None  # its value at other ε / τ' from the same samples
    # What the figure bounds under attack when it is a property of the certificate at the
    # clean frame rather than a bound on a figure of the attacked output (None: the latter).
    describes_certificate: str | None = None
    # Its figures per level of a class hierarchy (docs/certificates.md §9), keyed by level.
    level_key: str | None = None


METRICS: dict[str, Metric] = {m.key: m for m in (
    Metric("detection", "certified_ap50", "certified_ap50_per_class", "certified AP@50",
           True, True, "certified_ap50"),
    Metric("detection", "certified_recall", None, "certified recall", True, True,
           "certified_recall"),
    Metric("detection", "may_vanish_rate", None,
           "share of boxes that may vanish (boxes the certificate at the clean frame does "
           "not certify present)", True, False, "may_vanish_rate",
           describes_certificate="the share of the smoothed detector's boxes on the clean "
                                 "frames that some perturbation in the set (each frame its "
                                 "own) can remove"),
    Metric("detection", "smoothed_ap50", "smoothed_ap50_per_class",
           "AP@50 of the smoothed detector (measured, unattacked)", False, True),
    Metric("segmentation", "certified_acc", None, "certified pixel accuracy", True, True,
           "certified_acc", level_key="certified_acc_by_level"),
    Metric("segmentation", "certified_miou", "certified_iou_per_class",
           "certified mIoU (lower bound under attack)", True, True,
           level_key="certified_miou_by_level"),
    Metric("segmentation", "abstain_rate", None,
           "abstain rate (share of pixels the certificate at the clean frame leaves "
           "uncertified)", True, False, "abstain_rate",
           describes_certificate="the share of pixels whose class some perturbation in the "
                                 "set can change"),
    Metric("segmentation", "on_certified_acc", None,
           "accuracy on certified pixels (measured)", False, True),
)}


@dataclass(frozen=True)
class Requirement:
    id: str
    task: str
    metric: str
    threshold: float
    at_least: bool  # min= (True) or max= (False)
    transform: str
    eps: float
    alpha: float
    cls: str | None = None
    confidence: float = DEFAULT_CONFIDENCE
    text: str | None = None
    level: str | None = None  # a level of the run's class hierarchy (§9)

    @property
    def spec(self) -> Metric:
        return METRICS[self.metric]

    def level_words(self) -> str:
        """" at hierarchy level L" and what a pixel counts for there; "" without a level."""
        if self.level is None:
            return ""
        return (f" at hierarchy level {self.level} (a pixel counts with its certified node "
                f"at level {self.level} or finer)")

    def threat_words(self) -> str:
        """The attack set the requirement names, in words."""
        e = f"{self.eps:g}"
        return {
            "gaussian": f"any ℓ2 perturbation of norm ≤ {e} of the resized input in [0, 1]",
            "brightness": f"any brightness offset |b| ≤ {e} (on [0, 1])",
            "contrast": f"any contrast factor in [e^−{e}, e^{e}]",
            "gamma": f"any gamma exponent in [e^−{e}, e^{e}]",
        }[self.transform]

    def goal_text(self) -> str:
        """The goal in adcert's words: figure, threshold, threat, confidence."""
        figure = self.spec.words + (f" of {self.cls}" if self.cls else "") + self.level_words()
        sign = "≥" if self.at_least else "≤"
        unit = "per box" if self.task == "detection" else "per frame"
        return (f"{self.task}: {figure} {sign} {self.threshold:g} against "
                f"{self.threat_words()}, α = {self.alpha:g} {unit}, with confidence "
                f"{self.confidence:g} (met only if the failure bound of its certificates is "
                f"≤ {1.0 - self.confidence:.3g})")


def _number(item: dict, key: str, where: str, low: float = -math.inf,
            high: float = math.inf) -> float:
    value = item[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{where}: {key} must be a finite number, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{where}: {key} must lie in [{low:g}, {high:g}], got {value!r}")
    return float(value)


def _confidence(item: dict, where: str) -> float:
    """``confidence`` in (0, 1): 0 would let a claim with no probability behind it pass,
    1 no claim from finitely many samples."""
    if item.get("confidence") is None:
        return DEFAULT_CONFIDENCE
    value = _number(item, "confidence", where, 0.0, 1.0)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{where}: confidence must lie strictly between 0 and 1, "
                         f"got {value!r}")
    return value


_KEYS = {"id", "task", "metric", "cls", "min", "max", "transform", "eps", "alpha",
         "confidence", "text", "level"}


def _level(item: dict, where: str) -> str | None:
    """``level``: a hierarchy level's name, for a metric with figures per level."""
    level = item.get("level")
    if level is None:
        return None
    if not isinstance(level, str) or not level:
        raise ValueError(f"{where}: level must be a hierarchy level's name, got {level!r}")
    metric = METRICS[item["metric"]]
    if metric.level_key is None:
        known = sorted(k for k, m in METRICS.items() if m.level_key)
        raise ValueError(f"{where}: {item['metric']} has no figure per hierarchy level; "
                         f"drop level (it applies to {', '.join(known)})")
    if item.get("cls") is not None:
        raise ValueError(f"{where}: give cls or level, not both (no per-class figure per "
                         "level)")
    return level


def parse_requirement(item: dict, position: int) -> Requirement:
    """One requirement dict, checked; ValueError naming the requirement and the problem."""
    if not isinstance(item, dict):
        raise ValueError(f"requirement {position}: must be a dict, got {type(item).__name__}")
    where = f"requirement {item.get('id', position)!s}"
    unknown = sorted(set(item) - _KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r} (known: {sorted(_KEYS)})")
    for key in ("id", "metric", "eps", "alpha"):
        if key not in item:
            raise ValueError(f"{where}: {key} is missing")
    metric = item["metric"]
    if metric not in METRICS:
        raise ValueError(f"{where}: unknown metric {metric!r} (known: {sorted(METRICS)})")
    task = item.get("task", METRICS[metric].task)
    if task != METRICS[metric].task:
        raise ValueError(f"{where}: metric {metric} belongs to {METRICS[metric].task}, "
                         f"not {task}")
    if ("min" in item) == ("max" in item):
        raise ValueError(f"{where}: give exactly one of min= and max=")
    at_least = "min" in item
    spec = METRICS[metric]
    if spec.certified and at_least != spec.higher_is_better:
        # A certified figure bounds one side only: a lower bound ≤ t proves nothing about
        # the attacked figure's maximum (nor an upper bound ≥ t about its minimum).
        side, wanted = ("a lower", "min") if spec.higher_is_better else ("an upper", "max")
        raise ValueError(f"{where}: {metric} is {side} bound under attack; only {wanted}= "
                         "can be certified with it")
    transform = item.get("transform", "gaussian")
    if transform not in TRANSFORMS:
        raise ValueError(f"{where}: transform must be one of {TRANSFORMS}, got {transform!r}")
    cls = item.get("cls")
    if cls is not None and METRICS[metric].per_class_key is None:
        raise ValueError(f"{where}: {metric} has no per-class figure; drop cls")
    return Requirement(
        id=str(item["id"]), task=task, metric=metric,
        threshold=_number(item, "min" if at_least else "max", where),
        at_least=at_least, transform=transform,
        eps=_number(item, "eps", where, 0.0), alpha=_number(item, "alpha", where, 0.0, 1.0),
        cls=None if cls is None else str(cls),
        confidence=_confidence(item, where),
        text=None if item.get("text") is None else str(item["text"]),
        level=_level(item, where))


@dataclass(frozen=True)
class RequirementSet:
    path: str
    title: str
    system: str | None
    requirements: tuple[Requirement, ...]
    confidence: float = DEFAULT_CONFIDENCE  # the top goal's: every requirement at once


def load_requirements(path: str) -> RequirementSet:
    """Read a requirements config (mmengine ``Config``). Raises FileNotFoundError or
    ValueError with one line naming the problem."""
    from mmengine.config import Config

    if not os.path.isfile(path):
        raise FileNotFoundError(f"requirements file not found: {path}")
    try:
        cfg = Config.fromfile(path)
    except SystemExit as stop:  # the file runs as Python: it must not end the tool
        raise ValueError(f"{path}: tried to exit (sys.exit({stop.code!r})) while being "
                         "read") from None
    except Exception as error:  # mmengine raises many kinds on bad syntax
        raise ValueError(f"{path}: cannot read as a config ({error})") from None
    items = cfg.get("requirements")
    if not isinstance(items, list | tuple) or not items:
        raise ValueError(f"{path}: needs a non-empty list `requirements = [dict(...), ...]`")
    parsed = tuple(parse_requirement(dict(item) if hasattr(item, "keys") else item, i)
                   for i, item in enumerate(items, 1))
    ids = [r.id for r in parsed]
    duplicate = next((i for i in ids if ids.count(i) > 1), None)
    if duplicate is not None:
        raise ValueError(f"{path}: requirement id {duplicate!r} is used twice")
    return RequirementSet(path, str(cfg.get("title", "Robustness of camera perception")),
                          cfg.get("system"), parsed,
                          _confidence({"confidence": cfg.get("confidence")}, path))
