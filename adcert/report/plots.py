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
