"""Figures from certification records (matplotlib, no display needed)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

# What the x axis measures, per transform: the size of the range a τ' certifies.
RANGE_AXIS = {
    "gaussian": ("l2 radius on the [0,1] scale", lambda r: r["high"]),
    "brightness": ("brightness offset |b|", lambda r: r["high"]),
    "contrast": ("contrast factor upper end e^r", lambda r: r["high"]),
    "gamma": ("gamma interval upper end", lambda r: r["high"]),
    "brightness_contrast": ("log-contrast semi-axis of the ellipse", lambda r: r["k_radius"]),
}


def certified_fraction_curve(records: Sequence[dict]) -> tuple[str, np.ndarray, np.ndarray]:
    """Mean certified pixel fraction over frames against the size of the certified range,
    one point per τ' of the records' ``tau_sweep``. Returns (transform, x, y)."""
    transforms = {r.get("transform", "gaussian") for r in records}
    if len(transforms) != 1:
        raise ValueError(f"records mix transforms {sorted(transforms)}; plot one run at a time")
    transform = transforms.pop()
    fractions: dict[float, list[float]] = defaultdict(list)
    sizes: dict[float, float] = {}
    for record in records:
        if "tau_sweep" not in record:
            raise ValueError("records have no tau_sweep (segmentation records from certify_seg)")
        for point in record["tau_sweep"]:
            fractions[point["tau"]].append(point["certified_fraction"])
            sizes[point["tau"]] = RANGE_AXIS[transform][1](point["certified_range"])
    taus = sorted(fractions)
    x = np.array([sizes[t] for t in taus])
    y = np.array([np.mean(fractions[t]) for t in taus])
    return transform, x, y


def plot_certified_fraction(runs: dict[str, Sequence[dict]], path: str) -> str:
    """One panel per run: certified fraction of pixels against the certified range (each
    point a certificate at the runs' α on its own). Writes a PNG and returns its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(runs), figsize=(4.2 * len(runs), 3.4), squeeze=False)
    for ax, (name, records) in zip(axes[0], runs.items(), strict=True):
        transform, x, y = certified_fraction_curve(records)
        ax.plot(x, y, marker="o")
        ax.set(title=name, xlabel=f"{transform}: {RANGE_AXIS[transform][0]}",
               ylabel="certified fraction of pixels", ylim=(0, 1.02))
        ax.grid(alpha=0.3)
    fig.suptitle("certified pixels of the smoothed segmenter vs certified range", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# --- report figures: each takes the numbers of report.json["figures"], returns PNG bytes.

def _figure(width: float = 5.6, height: float = 3.6):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt, *plt.subplots(figsize=(width, height))


def _png(plt, fig, bottom: float = 0.0) -> bytes:
    """The figure as PNG bytes; ``bottom`` (a share of the height) is kept for a footnote."""
    import io

    fig.tight_layout(rect=(0, bottom, 1, 1))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def _xy(points: Sequence[dict], x: str, y: str) -> tuple[list, list]:
    pairs = [(p[x], p[y]) for p in points if p.get(x) is not None and p.get(y) is not None]
    return [a for a, _ in pairs], [b for _, b in pairs]


EPS_AXIS = {"gaussian": "ε: ℓ2 norm over the resized input in [0, 1]",
            "brightness": "ε: brightness offset |b| on [0, 1]",
            "contrast": "ε: contrast factors in [e^−ε, e^ε]",
            "gamma": "ε: gamma exponents in [e^−ε, e^ε]",
            "brightness_contrast": "ε: brightness∘contrast attack size"}


def _curves(curves: Sequence[dict], x: str, series: Sequence[tuple[str, str]],
            labels: dict) -> bytes:
    """One line per run and series (first solid, the rest dashed in the run's colour),
    shares in [0, 1] on the y axis; ``labels`` are the axes' texts."""
    plt, fig, ax = _figure()
    for curve in curves:
        colour = None
        for i, (key, words) in enumerate(series):
            xs, ys = _xy(curve["points"], x, key)
            line, = ax.plot(xs, ys, marker="x" if i else "o", linestyle="--" if i else "-",
                            color=colour, label=f"{curve['run']} {words}")
            colour = line.get_color()
    ax.set(ylim=(0, 1.02), **labels)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _png(plt, fig)


def plot_ap_vs_eps(curves: Sequence[dict], transform: str = "gaussian") -> bytes:
    """Certified AP@50 (a bound) and Chiang et al.'s reading (not a bound) against ε, for
    runs of one ``transform``."""
    return _curves(curves, "eps", [("certified_ap50", "certified AP@50 (bound)"),
                                   ("chiang_certified_ap50", "Chiang's reading (not a bound)")],
                   {"xlabel": EPS_AXIS.get(transform, "ε"), "ylabel": "AP@50",
                    "title": f"detection ({transform}): certified AP@50 vs ε"})


def plot_accuracy_vs_radius(curves: Sequence[dict]) -> bytes:
    """Certified pixel accuracy and certified fraction against the certified range."""
    transforms = sorted({c["transform"] for c in curves})
    axis = RANGE_AXIS[transforms[0]][0] if len(transforms) == 1 else "size of certified range"
    return _curves(curves, "size", [("certified_acc", "certified accuracy"),
                                    ("certified_fraction", "certified fraction")],
                   {"xlabel": axis, "ylabel": "share of pixels",
                    "title": "segmentation: certified accuracy vs radius"})


def plot_abstain_vs_tau(curves: Sequence[dict]) -> bytes:
    """Abstain rate of the smoothed segmenter against τ'."""
    return _curves(curves, "tau", [("abstain_rate", "")],
                   {"xlabel": "τ (share of noisy copies the class must win)",
                    "ylabel": "abstain rate", "title": "segmentation: abstain rate vs τ"})


def plot_camera_ranges(effects: Sequence[dict]) -> bytes:
    """Certified parameter ranges of the camera-effect runs: one row per run, each on its
    own axis around the neutral value (offset 0, factor or exponent 1)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(effects), 1, figsize=(5.6, 0.4 + 1.1 * len(effects)),
                             squeeze=False)
    neutral = {"brightness": 0.0, "contrast": 1.0, "gamma": 1.0, "brightness_contrast": 0.0}
    for ax, e in zip(axes[:, 0], effects, strict=True):
        low, high = e.get("low"), e.get("high")
        if e["transform"] == "brightness_contrast":  # the ellipse's brightness semi-axis
            low, high = -(e.get("b_radius") or 0.0), e.get("b_radius") or 0.0
        centre = neutral.get(e["transform"], 0.0)
        if low is not None and high is not None:
            ax.barh(0, high - low, left=low, height=0.5, color="tab:green")
            span = max(high - centre, centre - low, 1e-3)
            ax.set_xlim(centre - 1.6 * span, centre + 1.6 * span)
        ax.axvline(centre, color="grey", linewidth=0.8)
        ax.set_yticks([])
        ax.set_title(f"{e['run']} {e['task']}: {e.get('text') or e['transform']}", fontsize=8)
        ax.tick_params(labelsize=7)
    return _png(plt, fig)


NO_SMOOTHED_NOTE = ("n/a: this run's summary predates the measured smoothed figures "
                    "(rerun it to get one)")


def plot_readings(readings: Sequence[dict]) -> bytes:
    """Clean (base model), smoothed and certified reading of each run's main figure; a run
    without a smoothed figure (an older segmentation summary) shows "n/a" in its place and
    a footnote why."""
    plt, fig, ax = _figure(5.6, 3.2)
    width = 0.26
    for j, (key, label) in enumerate((("clean", "clean (base model)"),
                                      ("smoothed", "smoothed, unattacked"),
                                      ("certified", "certified (bound)"))):
        values = [r.get(key) for r in readings]
        xs = [i + (j - 1) * width for i, v in enumerate(values) if v is not None]
        ax.bar(xs, [v for v in values if v is not None], width, label=label)
    missing = [i for i, r in enumerate(readings) if r.get("smoothed") is None]
    for i in missing:
        ax.text(i, 0.02, "n/a", ha="center", va="bottom", fontsize=7, color="dimgrey")
    ax.set_xticks(range(len(readings)),
                  [f"{r['run']} {r['task']}\n{r['figure']}" for r in readings], fontsize=8)
    ax.set(ylim=(0, 1.02), title="clean vs smoothed vs certified")
    ax.legend(fontsize=7)
    if missing:
        fig.text(0.01, 0.01, NO_SMOOTHED_NOTE, fontsize=6, color="dimgrey", va="bottom")
    return _png(plt, fig, bottom=0.1 if missing else 0.0)
