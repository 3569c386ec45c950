"""Training a denoiser on mmengine's runner: the model ``tools/train_denoiser.py`` builds.

:class:`DenoiserTrainer` wraps a denoiser D (``adcert.models.denoiser``) and, for the
stability objective, a frozen task model f. Each step draws δ ~ N(0, σ²) on the [0, 1]
scale — the noise the smoothed model will see — and takes one of (Salman et al. 2020):

- ``"mse"``: ‖D(x + δ) − x‖² per pixel;
- ``"stability"``: f's own loss on D(x + δ) against f's predictions on the clean x as
  labels: per-pixel cross-entropy for a segmenter, the detector's training loss on its
  clean boxes above ``pseudo_score_thr`` for a detector.

``mse_weight`` adds the MSE term to the stability objective. f is never trained: it stays
in eval mode, its weights frozen and outside the trainer's state_dict, so a checkpoint
holds the denoiser alone (keys ``denoiser.*``) and an MSE checkpoint is a ``load_from`` for
stability training.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from mmengine.model import BaseModel
from mmengine.registry import MODELS

from adcert.models import denoiser as _denoisers  # noqa: F401 - registers the denoiser kinds

OBJECTIVES = ("mse", "stability")


@MODELS.register_module()
class DenoiserTrainer(BaseModel):
    """``denoiser``: dict(type=...) of the denoiser to train; ``sigma``: the smoothing σ on
    the [0, 1] scale; ``task``: dict(config=..., checkpoint=..., framework="mmdet" |
    "mmseg") of the frozen task model, needed for ``objective="stability"``."""

    def __init__(self, denoiser: Mapping, sigma: float, objective: str = "mse",
                 task: Mapping | None = None, mse_weight: float = 0.0,
                 pseudo_score_thr: float = 0.3, data_preprocessor: Mapping | None = None
                 ) -> None:
        super().__init__(data_preprocessor=data_preprocessor)
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
        if not sigma > 0:
            raise ValueError(f"sigma must be positive, got {sigma!r}")
        self.denoiser = MODELS.build(dict(denoiser))
        self.sigma, self.objective = float(sigma), objective
        self.mse_weight, self.pseudo_score_thr = float(mse_weight), float(pseudo_score_thr)
        self._task = None  # a list, so the frozen model is no submodule of the trainer
        if objective == "stability":
            if not isinstance(task, Mapping):
                raise ValueError("the stability objective needs task=dict(config=..., "
                                 "checkpoint=..., framework=...)")
            from mmengine.registry import DefaultScope

            from adcert.models.loading import load_model

            scope = DefaultScope.get_current_instance()
            loaded = load_model(task["config"], task["checkpoint"], task["framework"],
                                device="cpu")
            if scope is not None:  # loading made the task's framework the default scope
                DefaultScope.get_instance(f"adcert-denoiser-{id(self)}",
                                          scope_name=scope.scope_name)
            for parameter in loaded.model.parameters():
                parameter.requires_grad_(False)
            self._task = [loaded.model.eval(), loaded.framework]

    def train(self, mode: bool = True) -> DenoiserTrainer:
        super().train(mode)
        if self._task is not None:
            self._task[0].eval()  # BN statistics of the frozen model never move
        return self

    def forward(self, inputs, data_samples=None, mode: str = "loss"):
        clean = torch.stack([image.float() for image in inputs]) / 255.0
        noisy = clean + self.sigma * torch.randn_like(clean)
        denoised = self.denoiser(noisy)
        if mode == "tensor":
            return denoised
        if mode != "loss":
            raise ValueError(f"DenoiserTrainer has no mode {mode!r} (no validation loop)")
        losses = {}
        if self.objective == "mse" or self.mse_weight > 0:
            weight = 1.0 if self.objective == "mse" else self.mse_weight
            losses["loss_mse"] = weight * torch.mean((denoised - clean) ** 2)
        if self.objective == "stability":
            model, framework = self._task
            model.to(clean.device)
            losses.update(_segmenter_stability(model, clean, denoised)
                          if framework == "mmseg"
                          else _detector_stability(model, clean, denoised,
                                                   self.pseudo_score_thr))
        return losses


def _preprocess(model, x: torch.Tensor, samples: list, training: bool = False) -> dict:
    """The task model's own data preprocessor on a [0, 1] batch (0–255 scale it expects)."""
    return model.data_preprocessor({"inputs": x * 255.0, "data_samples": samples}, training)


def _segmenter_stability(model, clean: torch.Tensor, denoised: torch.Tensor) -> dict:
    """Cross-entropy of f's logits on D(x + δ) against f's own classes on x, at the
    decode head's resolution."""
    from mmseg.structures import SegDataSample

    def logits(x: torch.Tensor) -> torch.Tensor:
        shape = tuple(x.shape[-2:])
        samples = [SegDataSample(metainfo=dict(img_shape=shape, ori_shape=shape,
                                               pad_shape=shape)) for _ in range(len(x))]
        data = _preprocess(model, x, samples)
        return model.decode_head(model.extract_feat(data["inputs"]))

    with torch.no_grad():
        target = logits(clean).argmax(dim=1)
    return {"loss_stability": torch.nn.functional.cross_entropy(logits(denoised), target)}


def _detector_stability(model, clean: torch.Tensor, denoised: torch.Tensor,
                        score_thr: float) -> dict:
    """The detector's training loss on D(x + δ) with its clean boxes above ``score_thr``
    as ground truth."""
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    shape = tuple(clean.shape[-2:])

    def samples() -> list:
        return [DetDataSample(metainfo=dict(img_shape=shape, ori_shape=shape,
                                            scale_factor=(1.0, 1.0))) for _ in range(len(clean))]

    with torch.no_grad():
        found = model(**_preprocess(model, clean, samples()), mode="predict")
    targets = samples()
    for target, result in zip(targets, found, strict=True):
        keep = result.pred_instances.scores >= score_thr
        target.gt_instances = InstanceData(bboxes=result.pred_instances.bboxes[keep],
                                           labels=result.pred_instances.labels[keep])
    losses = model(**_preprocess(model, denoised, targets, training=True), mode="loss")
    total = sum(value.sum() if isinstance(value, torch.Tensor) else sum(v.sum() for v in value)
                for key, value in losses.items() if "loss" in key)
    return {"loss_stability": total}
