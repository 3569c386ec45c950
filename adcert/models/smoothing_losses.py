"""The loss terms of adcert's smoothing recipes (:mod:`adcert.models.smoothing_training`).

Each takes the soft outputs of f on m noisy copies of a batch. ḡ = 1/m Σ_i p_i is their
mean prediction, of which the smoothed model is the argmax:

- the consistency terms of Jeong & Shin (2020, *Consistency regularization for certified
  robustness of smoothed classifiers*), 1/m Σ_i KL(ḡ ‖ p_i) and H(ḡ), per pixel of a
  segmenter (:func:`segmentation_terms`) or per anchor of a dense detector
  (:func:`detection_terms`);
- the loss of the smoothed soft segmenter, −log ḡ_y, that SmoothAdv's attack ascends
  (Salman et al. 2019, *Provably robust deep learning via adversarially trained smoothed
  classifiers*; :func:`smoothed_nll`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _labels_at(data_samples: list, size: tuple) -> torch.Tensor:
    """The batch's label maps (B, h, w), nearest-resized to the logits' size."""
    labels = torch.stack([sample.gt_sem_seg.data for sample in data_samples]).float()
    return F.interpolate(labels, size=size, mode="nearest")[:, 0].long()


def _categorical_terms(log_p: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """KL(ḡ ‖ p_i) averaged over the copies (dim 0) and H(ḡ), per position; ``log_p`` holds
    the copies' log-probabilities over classes along ``dim``."""
    mean = log_p.exp().mean(0)
    log_mean = mean.clamp_min(torch.finfo(mean.dtype).tiny).log()
    kl = (mean.unsqueeze(0) * (log_mean.unsqueeze(0) - log_p)).sum(dim).mean(0)
    return kl, -(mean * log_mean).sum(dim - 1)


def segmentation_terms(logits: list[torch.Tensor], data_samples: list,
                        ignore_index: int) -> dict:
    """Per pixel, at the decode head's resolution (the logits the certified map is
    upsampled from): KL(ḡ ‖ softmax f_i) and H(ḡ) averaged over labelled pixels; pixels
    whose (nearest-resized) label is ``ignore_index`` — padding included — count for
    nothing."""
    if logits[0].dim() != 4 or logits[0].shape[1] < 2:
        raise ValueError("segmentation consistency needs (B, classes, h, w) logits, "
                         f"got shape {tuple(logits[0].shape)}")
    log_p = torch.stack([torch.log_softmax(x.float(), dim=1) for x in logits])
    kl, entropy = _categorical_terms(log_p, dim=2)
    valid = (_labels_at(data_samples, tuple(logits[0].shape[-2:])) != ignore_index)
    valid = valid.to(kl)
    count = valid.sum().clamp_min(1.0)
    return {"loss_consistency": (kl * valid).sum() / count,
            "loss_entropy": (entropy * valid).sum() / count}


def _flat_levels(maps: list[torch.Tensor], width: int) -> torch.Tensor:
    """Per-level (B, A·width, H, W) head outputs → (B, N, width), mmdet's anchor order."""
    return torch.cat([m.permute(0, 2, 3, 1).reshape(m.shape[0], -1, width) for m in maps], 1)


def detection_terms(outputs: list, head: torch.nn.Module) -> dict:
    """Per anchor / point of the dense head:

    - with sigmoid scores (RetinaNet, RTMDet, FCOS, …) each class is its own Bernoulli
      classifier, trained so by focal / quality focal loss and thresholded so by
      detection: KL(Bern(ḡ_c) ‖ Bern(p_ic)) and H(Bern(ḡ_c)), summed over classes. A
      softmax across sigmoid logits would compare a distribution the model never outputs
      and would have no place for "no object", which is most anchors' answer;
    - with softmax scores (a background class), the categorical KL and entropy;
    - ``loss_box_consistency``: mean over copies of |r_i − r̄|₁, r the head's raw
      regression output (deltas for RetinaNet, distances in pixels for RTMDet).

    Each anchor counts with weight max_i max_c p_ic, the highest object score any copy
    gives it (not differentiated): nearly all of a frame's thousands of anchors are
    background on which every copy says ≈ 0, and a plain mean would dilute the terms by
    them; weighted, each is a mean over the anchors that yield, or nearly yield, a box in
    some copy — those that detection's score threshold sees.
    """
    classes = head.cls_out_channels
    scores = torch.stack([_flat_levels(out[0], classes).float() for out in outputs])
    tiny = torch.finfo(scores.dtype).tiny
    if getattr(head, "use_sigmoid_cls", True):
        log_p, log_q = F.logsigmoid(scores), F.logsigmoid(-scores)
        mean = log_p.exp().mean(0)
        log_mean, log_rest = mean.clamp_min(tiny).log(), (1 - mean).clamp_min(tiny).log()
        kl = (mean * (log_mean - log_p) + (1 - mean) * (log_rest - log_q)).sum(-1).mean(0)
        entropy = -(mean * log_mean + (1 - mean) * log_rest).sum(-1)
        presence = log_p.exp()
    else:
        kl, entropy = _categorical_terms(torch.log_softmax(scores, -1), dim=3)
        presence = scores.softmax(-1)[..., :-1]  # the last class is background
    weight = presence.detach().amax(dim=(0, 3))
    total = weight.sum().clamp_min(1e-6)
    boxes = torch.stack([_flat_boxes(out[1], scores.shape[2]) for out in outputs]).float()
    spread = (boxes - boxes.mean(0)).abs().sum(-1).mean(0)
    return {"loss_consistency": (kl * weight).sum() / total,
            "loss_entropy": (entropy * weight).sum() / total,
            "loss_box_consistency": (spread * weight).sum() / total}


def _flat_boxes(maps: list[torch.Tensor], anchors: int) -> torch.Tensor:
    """Per-level regression maps → (B, N, k), N the same anchors as the scores'."""
    total = sum(m.shape[1] * m.shape[2] * m.shape[3] for m in maps)
    return _flat_levels(maps, total // anchors)


def smoothed_nll(logits: list[torch.Tensor], data_samples: list,
                  ignore_index: int) -> torch.Tensor:
    """−log ḡ_y per labelled pixel, averaged: the loss of the smoothed soft segmenter
    (Salman et al.'s SmoothAdv objective), at the decode head's resolution."""
    mean = torch.stack([torch.softmax(x.float(), dim=1) for x in logits]).mean(0)
    labels = _labels_at(data_samples, tuple(mean.shape[-2:]))
    valid = labels != ignore_index
    picked = mean.gather(1, labels.masked_fill(~valid, 0)[:, None])[:, 0]
    log_picked = picked.clamp_min(torch.finfo(picked.dtype).tiny).log()
    return -(log_picked * valid).sum() / valid.sum().clamp_min(1)
