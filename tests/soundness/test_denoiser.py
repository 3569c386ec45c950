"""Soundness of denoised smoothing (docs/certificates.md §8): the denoiser is part of the
base model, so the segmentation certificate run through the real sampling loop
(adcert.pipeline.segmentation.certify_frame, adcert.models.forward) stays sound with a
denoiser in front of an analytic segmenter.

The segmenter labels a pixel 1 where channel 0 exceeds 0.5 on the [0, 1] scale. Under
N(0, σ²) noise a pixel of value v is labelled 1 with probability Φ((v − 0.5)/σ), exactly;
the denoisers used (identity, and a contrast stretch about 0.5) leave that threshold where
it is, so the smoothed model's true per-pixel probabilities are known. A certified pixel is
wrong when its class has true probability < τ. The broken variant hands the segmenter the
clean frame instead of the noisy one — a "denoiser" that is not a function of x + δ — and
certifies pixels no deployable smoothed model keeps.
"""

from functools import cache

import numpy as np
import pytest
import torch
from scipy.stats import norm

from adcert.models.denoiser import IdentityDenoiser
from adcert.noise import image_generator
from adcert.pipeline.segmentation import certify_frame
from adcert.pipeline.settings import SegSettings

from .harness import MIN_TRIALS, assert_caught, assert_sound

pytest.importorskip("mmseg")

SIGMA, TAU, ALPHA = 0.25, 0.75, 0.1
ORACLE = "broken: segmentation behind a denoiser that sees the clean frame"
# Pixel values whose class-1 probabilities straddle τ = 0.75 (and its mirror for class 0).
VALUES = np.array([[150, 160, 170, 175], [180, 200, 230, 90]], dtype=np.uint8)


class ThresholdSegmenter(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(()))  # the loop reads the device here

    def data_preprocessor(self, data: dict, training: bool) -> dict:
        return data

    def forward(self, inputs, data_samples, mode):
        from mmengine.structures import PixelData

        above = (inputs[:, 0] / 255.0 > 0.5).long()
        for sample, labels in zip(data_samples, above, strict=True):
            sample.pred_sem_seg = PixelData(data=labels[None])
        return data_samples


class Stretch(torch.nn.Module):
    """A deterministic non-trivial denoiser that keeps the threshold: 0.5 + 1.5 (x − 0.5)."""

    def forward(self, x):
        return 0.5 + 1.5 * (x - 0.5)


def packed_frame() -> dict:
    from mmseg.structures import SegDataSample

    inputs = torch.from_numpy(np.repeat(VALUES[None], 3, axis=0))
    shape = VALUES.shape
    sample = SegDataSample(metainfo=dict(img_shape=shape, ori_shape=shape, pad_shape=shape))
    return {"inputs": inputs, "data_samples": sample}


def true_probability_of(labels: np.ndarray) -> np.ndarray:
    p_one = norm.cdf((VALUES / 255.0 - 0.5) / SIGMA)
    return np.where(labels == 1, p_one, 1.0 - p_one)


@cache
def wrong_frames(denoiser_for, trials: int) -> int:
    model, packed = ThresholdSegmenter(), packed_frame()
    settings = SegSettings(sigma=SIGMA, tau=TAU, n0=10, n=100, alpha=ALPHA,
                           correction="holm", batch_size=128)
    wrong = 0
    for trial in range(trials):
        generator = image_generator(trial, "denoised-frame")
        cert = certify_frame(model, packed, 2, settings, generator,
                             denoiser=denoiser_for(packed)).certificate
        labels = np.asarray(cert.labels)
        certified = labels != 255
        wrong += bool(np.any(true_probability_of(labels)[certified] <= TAU))
    return wrong


def identity(packed):
    return IdentityDenoiser()


def stretch(packed):
    return Stretch()


def oracle(packed):
    clean = packed["inputs"].float()[None] / 255.0
    return lambda noisy: clean.expand(len(noisy), -1, -1, -1)


@pytest.mark.parametrize("denoiser_for", [
    identity, pytest.param(stretch, marks=pytest.mark.soundness)], ids=["identity", "stretch"])
def test_denoised_segmentation_is_sound(denoiser_for):
    wrong = wrong_frames(denoiser_for, MIN_TRIALS)
    assert_sound(f"segmentation with the {denoiser_for.__name__} denoiser", wrong,
                 MIN_TRIALS, ALPHA)


@pytest.mark.xfail(strict=True, reason="a denoiser that sees the clean frame is unsound")
def test_broken_denoiser_that_sees_the_clean_frame_is_unsound():
    assert_sound(ORACLE, wrong_frames(oracle, MIN_TRIALS), MIN_TRIALS, ALPHA)


def test_suite_sees_the_clean_frame_oracle():
    assert_caught(ORACLE, wrong_frames(oracle, MIN_TRIALS), MIN_TRIALS, ALPHA)
