"""One frozen, typed settings object per task, built once and validated once.

Precedence: the dataclass defaults ← the config's ``certify = dict(...)`` ← the flags that
were given. Every value is type-checked and range-checked in ``__post_init__``; the rest of
adcert trusts a settings object and checks nothing again. ``max_images`` and ``seed`` are
run options and live here too, so that a resumed run can compare one object
(``docs/design.md``, run engine).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from adcert.stats.parameter_ranges import TRANSFORMS

DET_BINS = ("none", "label", "location", "location+label")
DET_SORTS = ("center", "score")
DET_CORRECTIONS = ("box", "image", "none")
SEG_CORRECTIONS = ("holm", "bonferroni")
# Largest σ whose samples stay finite in float32 (|z| ≤ 8 covers any n that can run): pixel
# noise and brightness add σ·z; contrast multiplies by e^{σ·z}, which overflows past e^88.
_FLOAT32_MAX = 3.4028234663852886e38
MAX_SIGMA = {"gaussian": _FLOAT32_MAX / 8, "brightness": _FLOAT32_MAX / 8,
             "contrast": 88.0 / 8, "brightness_contrast": 88.0 / 8, "gamma": _FLOAT32_MAX / 8}

S = TypeVar("S", bound="_Common")


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def _integer(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or (
            isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be ≥ {minimum}, got {value!r}")
    return int(value)


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _hierarchy_name(value: Any) -> None:
    if value is not None and not (isinstance(value, str) and value):
        raise ValueError(f"hierarchy must be a built-in name or a file path, got {value!r}")


@dataclass(frozen=True)
class _Common:
    """Fields both tasks share; see the subclasses for their meaning and defaults."""

    def __post_init__(self) -> None:
        from adcert.stats._checks import check_alpha, check_sigma

        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        set_("transform", _choice("transform", self.transform, TRANSFORMS))
        set_("sigma", _number("sigma", self.sigma))
        check_sigma(self.sigma)
        if self.sigma > MAX_SIGMA.get(self.transform, _FLOAT32_MAX / 8):
            raise ValueError(f"sigma {self.sigma:g} makes the {self.transform} noise "
                             "overflow float32")
        set_("alpha", _number("alpha", self.alpha))
        check_alpha(self.alpha)
        set_("n", _integer("n", self.n, 1))
        set_("batch_size", _integer("batch_size", self.batch_size, 1))
        if self.max_images is not None:
            set_("max_images", _integer("max_images", self.max_images, 1))
        if self.seed is not None:
            set_("seed", _integer("seed", self.seed, 0))
            if self.seed >= 2**64:
                raise ValueError(f"seed must be below 2**64, got {self.seed}")

    def to_dict(self) -> dict:
        """The settings as a JSON-ready dict (as recorded in run.json and summaries)."""
        return dataclasses.asdict(self)

    @classmethod
    def build(cls: type[S], from_config: Any = None, from_flags: Mapping | None = None) -> S:
        """Defaults ← ``from_config`` (the config's ``certify`` dict, may be None) ←
        ``from_flags`` (None values mean "not given"). Unknown keys, a ``certify`` that is
        not a dict, wrong types and values out of range are ValueErrors naming them."""
        names = {f.name for f in fields(cls)}
        if from_config is not None and not isinstance(from_config, Mapping):
            raise ValueError(f"the config's `certify` must be a dict, got {from_config!r}")
        values = dict(from_config or {})
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown key(s) in the config's certify dict for this task: "
                             f"{unknown}")
        values.update({k: v for k, v in (from_flags or {}).items()
                       if v is not None and k in names})
        return cls(**values)


@dataclass(frozen=True)
class DetSettings(_Common):
    """Median smoothing + sort-and-bin (``docs/certificates.md`` §2–§3).

    ``eps`` is the attack size: an ℓ2 radius on the [0, 1] scale over the *resized* model
    input, or a camera effect's parameter range (``docs/certificates.md`` §5). ``alpha`` is
    the failure probability per box (``correction="box"``), per frame (``"image"``) or per
    bound (``"none"``).
    """

    transform: str = "gaussian"
    sigma: float = 0.25
    eps: float = 0.36
    n: int = 2000
    alpha: float = 1e-3
    # Sort-and-bin: the best aggregation of benchmarks/det_aggregation.py on the demo val
    # split (60 frames, n = 200): class × column bins of a 1 × 8 grid, score order, boxes
    # under score 0.3 dropped — smoothed AP@50 0.535, certified AP@50 0.248 at ε = 0.1,
    # where Chiang et al.'s label bins in centre order give 0.363 / 0.076.
    bin: str = "location+label"
    sort: str = "score"
    grid: str = "1x8"  # location cells, rows x columns
    max_per_bin: int = 100
    score_thr: float = 0.3
    nms_iou: float | None = None  # greedy per-class NMS after smoothing, certified
    correction: str = "box"
    batch_size: int = 8
    max_images: int | None = None
    seed: int | None = None
    # A class hierarchy: a built-in name or a .py / .json file (§9); None is flat.
    hierarchy: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _hierarchy_name(self.hierarchy)
        object.__setattr__(self, "eps", _number("eps", self.eps))
        if not self.eps > 0:
            raise ValueError(f"eps must be positive, got {self.eps}")
        _choice("bin", self.bin, DET_BINS)
        _choice("sort", self.sort, DET_SORTS)
        self.grid_shape  # noqa: B018 - validates grid
        _choice("correction", self.correction, DET_CORRECTIONS)
        object.__setattr__(self, "max_per_bin", _integer("max_per_bin", self.max_per_bin, 1))
        object.__setattr__(self, "score_thr", _number("score_thr", self.score_thr))
        if not 0.0 <= self.score_thr <= 1.0:  # above 1 every box is dropped, silently
            raise ValueError(f"score_thr must lie in [0, 1] (a detection score's range), "
                             f"got {self.score_thr}")
        if self.nms_iou is not None:
            object.__setattr__(self, "nms_iou", _number("nms_iou", self.nms_iou))
            if not 0.0 <= self.nms_iou < 1.0:
                raise ValueError(f"nms_iou must lie in [0, 1), got {self.nms_iou}")


    @property
    def grid_shape(self) -> tuple[int, int]:
        """``grid`` "ROWSxCOLS" as (rows, columns)."""
        parts = str(self.grid).lower().split("x") if isinstance(self.grid, str) else []
        if len(parts) != 2 or not all(p.isdigit() and int(p) >= 1 for p in parts):
            raise ValueError(f"grid must be ROWSxCOLUMNS of positive integers, e.g. 1x8, "
                             f"got {self.grid!r}")
        return int(parts[0]), int(parts[1])


@dataclass(frozen=True)
class SegSettings(_Common):
    """τ-abstain smoothing of every pixel (``docs/certificates.md`` §4).

    With probability ≥ 1 − ``alpha`` (per frame, over all pixels, ``correction`` Holm or
    Bonferroni) every certified pixel keeps its class for all ℓ2 perturbations of norm
    ≤ σΦ⁻¹(τ) over the *resized* model input in [0, 1] units.
    """

    transform: str = "gaussian"
    sigma: float = 0.25
    tau: float = 0.75
    n0: int = 100
    n: int = 1000
    alpha: float = 1e-4
    correction: str = "holm"
    batch_size: int = 8
    max_images: int | None = None
    seed: int | None = None
    # A class hierarchy: a built-in name or a .py / .json file (§9); None is flat.
    hierarchy: str | None = None

    def __post_init__(self) -> None:
        from adcert.stats._checks import check_sample_sizes, check_tau

        _hierarchy_name(self.hierarchy)
        object.__setattr__(self, "tau", _number("tau", self.tau))
        check_tau(self.tau)
        object.__setattr__(self, "n0", _integer("n0", self.n0, 1))
        super().__post_init__()
        check_sample_sizes(self.n0, self.n)
        _choice("correction", self.correction, SEG_CORRECTIONS)
