"""The one sampling loop over a model: perturbed copies of a frame → predictions.

Perturbations enter after the test pipeline's resize and before the data preprocessor's
normalization (docs/design.md): the packed uint8 tensor becomes values in [0, 1], the
perturbation acts there, and the result goes back to the 0–255 float scale the data
preprocessor expects, without rounding. Radii are therefore ℓ2 norms over the resized
frame in [0, 1] units. The channel order of the packed tensor is kept (BGR for images
loaded with cv2); every perturbation adcert applies treats the channels alike, so the
order changes no certificate.

A denoiser (:mod:`adcert.models.denoiser`) enters here and nowhere else: it maps the
perturbed copies, still in [0, 1], before they are scaled back for the data preprocessor,
so the base model every certificate speaks of is the denoiser followed by the task model.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import numpy as np
import torch

from adcert.noise.gaussian import perturbed_batches

Perturbation = Callable[[torch.Tensor, torch.Generator], torch.Tensor]

#: Whether a CPU-only run draws the next batch's noise in a thread while the model runs on
#: the current one; None: only where a core is left beside torch's intra-op threads. On 2
#: cores two runs of ``benchmarks/scale.py`` disagreed on which way is faster
#: (docs/results.md, "Scale"), so the default stays ahead. On an accelerator the host is
#: otherwise idle and always draws ahead. Either way the copies are the same.
CPU_PREFETCH: bool | None = True
Denoiser = Callable[[torch.Tensor], torch.Tensor]


def cpu_prefetch() -> bool:
    """Whether a CPU-only run draws noise ahead (:data:`CPU_PREFETCH`)."""
    if CPU_PREFETCH is not None:
        return CPU_PREFETCH
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cores or 1) > torch.get_num_threads()


def frame_tensor(packed: dict, device: torch.device) -> torch.Tensor:
    """The packed (3, H, W) uint8 frame as float32 in [0, 1] on ``device``."""
    return packed["inputs"].to(device=device, dtype=torch.float32) / 255.0


def _fresh_samples(sample, count: int) -> list:
    # predict() writes its outputs into the data samples: one fresh copy per input.
    return [type(sample)(metainfo=sample.metainfo) for _ in range(count)]


def _predict(model: torch.nn.Module, inputs: torch.Tensor, sample, amp: bool,
             denoiser: Denoiser | None = None) -> list:
    if denoiser is not None:
        inputs = denoiser(inputs)
    data = {"inputs": inputs * 255.0, "data_samples": _fresh_samples(sample, len(inputs))}
    with torch.autocast(inputs.device.type, enabled=amp and inputs.device.type == "cuda"):
        data = model.data_preprocessor(data, False)
        return model(**data, mode="predict")


@torch.no_grad()
def clean_predictions(model: torch.nn.Module, packed: dict, amp: bool = False,
                      denoiser: Denoiser | None = None) -> list:
    """The base model's prediction on the unperturbed frame (a list of one data sample);
    with a denoiser, the base model is the denoiser followed by ``model``."""
    x = frame_tensor(packed, next(model.parameters()).device)
    return _predict(model, x[None], packed["data_samples"], amp, denoiser)


@torch.no_grad()
def perturbed_predictions(
    model: torch.nn.Module,
    packed: dict,
    perturbation: Perturbation,
    num: int,
    batch_size: int,
    generator: torch.Generator,
    amp: bool = False,
    denoiser: Denoiser | None = None,
) -> Iterator[list]:
    """Yield the model's predictions on ``num`` perturbed copies, one list per batch.

    All copies of the frame go through ``data_preprocessor`` and ``predict`` in batches
    of ``batch_size``; predictions are mapped back to the original image by the model
    (``rescale``), as in ``tools/test.py``. A ``denoiser`` maps each batch of perturbed
    copies (in [0, 1]) before the data preprocessor sees it.
    """
    x = frame_tensor(packed, next(model.parameters()).device)
    prefetch = x.device.type != "cpu" or cpu_prefetch()
    for batch in perturbed_batches(x, num, batch_size, perturbation, generator, prefetch):
        yield _predict(model, batch, packed["data_samples"], amp, denoiser)


def detections_array(result) -> np.ndarray:
    """A DetDataSample's ``pred_instances`` as a (k, 6) array: x1, y1, x2, y2, score, label."""
    instances = result.pred_instances
    return torch.cat(
        [instances.bboxes.float(), instances.scores.float()[:, None],
         instances.labels.float()[:, None]], dim=1,
    ).cpu().numpy().astype(np.float64)


def detections_arrays(results: list) -> list[np.ndarray]:
    """:func:`detections_array` of each result, with one device → host copy per batch."""
    parts = [torch.cat([r.pred_instances.bboxes.float(), r.pred_instances.scores.float()[:, None],
                        r.pred_instances.labels.float()[:, None]], dim=1) for r in results]
    flat = torch.cat(parts).cpu().numpy().astype(np.float64)
    return np.split(flat, np.cumsum([len(p) for p in parts])[:-1])


def label_maps(results: list) -> torch.Tensor:
    """The results' ``pred_sem_seg`` maps as one (B, H, W) int64 tensor, left where the
    model put them (so counts can be taken on its device)."""
    return torch.stack([r.pred_sem_seg.data[0] for r in results]).long()


def label_map(result) -> np.ndarray:
    """A SegDataSample's ``pred_sem_seg`` as an (H, W) int64 array of class ids."""
    return result.pred_sem_seg.data[0].cpu().numpy().astype(np.int64)
