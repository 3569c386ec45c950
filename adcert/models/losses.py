"""A class-weighted segmentation loss for training the demo segmenter.

mmseg 1.2.2's ``CrossEntropyLoss(class_weight=...)`` looks up a weight for every label,
the ignore label (255) included, and fails on any frame with unlabelled pixels. This loss
computes what it means to compute, with torch's own weighted cross-entropy.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import nn


@MODELS.register_module()
class ClassWeightedCrossEntropyLoss(nn.Module):
    """Softmax cross-entropy averaged as Σ w_y·ℓ / Σ w_y over the labelled pixels.

    ``class_weight[c]`` scales every pixel whose label is c; pixels labelled
    ``ignore_index`` count for nothing. Per-pixel weights (a decode head's sampler) are
    not supported.
    """

    def __init__(self, class_weight: Sequence[float], loss_weight: float = 1.0,
                 loss_name: str = "loss_ce"):
        super().__init__()
        self.class_weight = [float(w) for w in class_weight]
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, cls_score: torch.Tensor, label: torch.Tensor, weight=None,
                ignore_index: int = 255, **kwargs) -> torch.Tensor:
        if weight is not None:
            raise ValueError("ClassWeightedCrossEntropyLoss takes no per-pixel weights")
        if cls_score.shape[1] != len(self.class_weight):
            raise ValueError(f"{len(self.class_weight)} class weights for "
                             f"{cls_score.shape[1]} classes")
        class_weight = cls_score.new_tensor(self.class_weight)
        return self.loss_weight * F.cross_entropy(cls_score, label, weight=class_weight,
                                                  ignore_index=ignore_index)

    @property
    def loss_name(self) -> str:
        return self._loss_name
