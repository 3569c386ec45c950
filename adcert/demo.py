"""The embedded demo behind ``make demo``: certify a generated driving frame, offline.

Until the noise-trained OpenMMLab demo models land, the segmenter is built in: linear
discriminant analysis on box-filtered colours and row position per pixel, fitted on three
other generated frames under the certification noise.
It is certified with τ-abstain smoothing (CERTIFICATION_MATH.md §4): with probability
≥ 1 − α every certified pixel keeps its class under any ℓ2 perturbation of the whole
RGB frame (values in [0, 1]) of norm ≤ σΦ⁻¹(τ). Certificates are about the smoothed
segmenter, not the built-in classifier's raw output.
"""

from __future__ import annotations

import json
import os
import time

import cv2
import numpy as np
import torch

from adcert.certify.segmentation import (
    ABSTAIN_PIXEL,
    ClassCounter,
    HitCounter,
    certify_segmentation,
)
from adcert.datasets import generate_scene
from adcert.noise import GaussianNoise, image_generator, new_run_seed, perturbed_batches

NUM_CLASSES = 19  # Cityscapes trainIds


class PixelLDASegmenter(torch.nn.Module):
    """Per pixel: features = the RGB frame box-filtered over 9×9 and 25×25 windows plus the
    row position; class = linear discriminant analysis over them (shared covariance).
    Maps (B, 3, H, W) in [0, 1] to (B, H, W) class ids."""

    windows = (9, 25)

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, class_ids: torch.Tensor):
        super().__init__()
        self.register_buffer("weight", weight)  # (K, F)
        self.register_buffer("bias", bias)  # (K,)
        self.register_buffer("class_ids", class_ids)  # (K,)

    @classmethod
    def features(cls, batch: torch.Tensor) -> torch.Tensor:
        b, _, h, w = batch.shape
        pooled = [torch.nn.functional.avg_pool2d(batch, k, 1, k // 2, count_include_pad=False)
                  for k in cls.windows]
        row = torch.linspace(0, 1, h, dtype=batch.dtype).view(1, 1, h, 1).expand(b, 1, h, w)
        return torch.cat([*pooled, row], dim=1)

    @classmethod
    def fit(cls, frames: list[np.ndarray], labels: list[np.ndarray], sigma: float, seed: int = 0):
        """Fit on RGB uint8 frames seen under the certification noise σ (noise training)."""
        generator = torch.Generator().manual_seed(seed)
        feats, targets = [], []
        for frame, label in zip(frames, labels, strict=True):
            x = torch.from_numpy(frame).permute(2, 0, 1)[None].double() / 255.0
            x = x + sigma * torch.randn(x.shape, generator=generator, dtype=x.dtype)
            feats.append(cls.features(x)[0].flatten(1).T.numpy())
            targets.append(label.ravel())
        x, y = np.concatenate(feats), np.concatenate(targets)
        x, y = x[y != ABSTAIN_PIXEL], y[y != ABSTAIN_PIXEL]
        ids = np.unique(y)
        means = np.stack([x[y == c].mean(axis=0) for c in ids])
        within = x - means[np.searchsorted(ids, y)]
        precision = np.linalg.inv(np.cov(within.T) + 1e-6 * np.eye(x.shape[1]))
        weight = means @ precision
        log_prior = np.log(np.bincount(np.searchsorted(ids, y)) / y.size)
        bias = -0.5 * np.einsum("kf,kf->k", weight, means) + log_prior
        as_tensor = lambda a: torch.from_numpy(a).float()  # noqa: E731
        return cls(as_tensor(weight), as_tensor(bias), torch.from_numpy(ids).long())

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        scores = torch.einsum("bfhw,kf->bkhw", self.features(batch), self.weight)
        return self.class_ids[(scores + self.bias[:, None, None]).argmax(dim=1)]


def _count(model, x, sigma, num, batch_size, generator, counter) -> None:
    with torch.no_grad():
        for batch in perturbed_batches(x, num, batch_size, GaussianNoise(sigma), generator):
            counter.update(model(batch).numpy())


def run_demo(
    work_dir: str,
    sigma: float = 0.25,
    tau: float = 0.75,
    n0: int = 32,
    n: int = 200,
    alpha: float = 1e-3,
    batch_size: int = 16,
    seed: int | None = None,
    size: tuple[int, int] = (128, 256),
) -> dict:
    """Certify one generated frame; write ``results.jsonl`` and the certified map PNG."""
    seed = new_run_seed() if seed is None else int(seed)
    train = [generate_scene(i, *size) for i in (1, 2, 3)]
    test = generate_scene(4, *size)
    model = PixelLDASegmenter.fit([s.image[..., ::-1].copy() for s in train],
                                  [s.semantic for s in train], sigma)
    x = torch.from_numpy(test.image[..., ::-1].copy()).permute(2, 0, 1).float() / 255.0
    image_id = "demo_frame_4"
    start = time.perf_counter()
    generator = image_generator(seed, image_id)
    selection = ClassCounter(NUM_CLASSES, size)
    _count(model, x, sigma, n0, batch_size, generator, selection)
    hits = HitCounter(selection.top_class())
    _count(model, x, sigma, n, batch_size, generator, hits)
    cert = certify_segmentation(hits.target, hits.hits, n, sigma, tau, alpha, n0=n0)
    elapsed = time.perf_counter() - start

    labelled = test.semantic != ABSTAIN_PIXEL
    certified = ~cert.abstain_mask
    with torch.no_grad():
        clean = model(x[None])[0].numpy()
    record = {
        **cert.to_record(),
        "image_id": image_id,
        "seed": seed,
        "model": {"name": "builtin-pixel-lda", "fitted_on": "generate_scene(1..3)"},
        "clean_acc": float(np.mean(clean[labelled] == test.semantic[labelled])),
        "certified_acc": float(np.mean((cert.labels == test.semantic)[labelled])),
        "certified_acc_on_certified": float(
            np.mean((cert.labels == test.semantic)[labelled & certified])
        ) if np.any(labelled & certified) else None,
        "time_s": round(elapsed, 3),
    }
    run_dir = os.path.join(work_dir, time.strftime("%Y%m%d_%H%M%S"))
    os.makedirs(run_dir, exist_ok=True)
    record["mask_path"] = os.path.join(run_dir, f"{image_id}_certified.png")
    if not cv2.imwrite(record["mask_path"], cert.labels):
        raise OSError(f"could not write {record['mask_path']}")
    with open(os.path.join(run_dir, "results.jsonl"), "w") as f:
        f.write(json.dumps(record) + "\n")
    record["run_dir"] = run_dir
    return record
