"""Training recipes for base models made for smoothing: the model ``tools/train.py`` builds.

A smoothed model g(x) = argmax_c P(f(x + δ) = c), δ ~ N(0, σ²I), is only as good as its
base model f under noise. :class:`SmoothingTrainer` wraps any MMSegmentation or
MMDetection model f of a user's config and trains it with one of three recipes:

- **Gaussian noise augmentation** (Cohen et al. 2019, *Certified adversarial robustness via
  randomized smoothing*): f's own loss on x + δ. With ``copies=1`` and no consistency
  term the trainer is exactly this (``RandomGaussianNoise`` with ``prob=1``).
- **Consistency regularization** (Jeong & Shin 2020, *Consistency regularization for
  certified robustness of smoothed classifiers*): m noisy copies x + δ_1 … x + δ_m,

      L = 1/m Σ_i L_f(x + δ_i) + λ · 1/m Σ_i KL(ḡ ‖ p_i) + η · H(ḡ),

  p_i the soft prediction of f on copy i and ḡ = 1/m Σ_i p_i. The KL term pulls the copies
  towards their common prediction, which is what g is the argmax of; the entropy term keeps
  ḡ confident, so that the top class's share — and with it the certified radius — grows.
- **SmoothAdv** (Salman et al. 2019, *Provably robust deep learning via adversarially
  trained smoothed classifiers*): k steps of ℓ2 PGD move x to x', ‖x' − x‖₂ ≤ ε, to raise
  the loss of the smoothed soft classifier, −log ḡ_y(x') with ḡ over the m noisy copies
  (the same δ_i as in training, as the paper does), and f trains on x' + δ_i. It combines
  with the consistency term (Jeong & Shin's SmoothAdv + consistency).

The noise is the certification's (docs/noise.md): δ ~ N(0, σ²) per value on the [0, 1]
scale of the resized frame, before normalization, independent per copy, per value and per
image, never clipped, over the frame's content only (not over padding the data
preprocessor adds). It is added after the inner model's data preprocessor as
255·σ·z / std_c in normalized units, which is the same law as adding 255·σ·z to the
0–255 frame before ``(x − mean_c) / std_c``; the draws are float32 ``torch.randn`` from the
run's seeded stream — the float64 tails that certification needs for soundness do not
matter for training.

Each copy is a separate forward pass of batch size B, as in noise-augmented training:
BatchNorm sees the batch statistics it sees there and f's loss is exactly f's own. mmengine
saves what ``state_dict()`` returns, and the trainer's state dict is f's, key for key
(``backbone.…``, not ``model.backbone.…``): a checkpoint written through the trainer
loads into the plain config's model for certification, and a plain checkpoint is a
``load_from`` or EMA source for the trainer. :class:`SmoothingRecipeHook` records the
recipe in ``checkpoint['meta']['adcert_training']``.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel, is_model_wrapper
from mmengine.registry import HOOKS, MODELS

from adcert.models.smoothing_losses import detection_terms, segmentation_terms, smoothed_nll
from adcert.stats._checks import check_sigma

META_KEY = "adcert_training"
_INNER = "model."  # where the wrapped model sits in the trainer's module tree
_ALIAS = "data_preprocessor."  # the trainer's own name for the inner model's preprocessor


@dataclasses.dataclass(frozen=True)
class ConsistencySettings:
    """λ (``weight``) of the mean KL(ḡ ‖ p_i), η (``entropy``) of H(ḡ), and, for dense
    detectors, the weight of the L1 distance of each copy's box regression to the copies'
    mean (``box``)."""

    weight: float = 0.0
    entropy: float = 0.0
    box: float = 0.0

    def __post_init__(self) -> None:
        for name in ("weight", "entropy", "box"):
            value = float(getattr(self, name))
            if not value >= 0.0:
                raise ValueError(f"consistency {name} must be ≥ 0, got {value}")
            object.__setattr__(self, name, value)

    @property
    def active(self) -> bool:
        return self.weight > 0 or self.entropy > 0 or self.box > 0


@dataclasses.dataclass(frozen=True)
class SmoothAdvSettings:
    """ℓ2 PGD on the [0, 1] scale: radius ``eps``, ``steps`` steps of length ``step_size``
    (default 2·eps/steps, so that the steps can reach the sphere and move along it)."""

    eps: float
    steps: int = 1
    step_size: float | None = None

    def __post_init__(self) -> None:
        if not float(self.eps) > 0.0:
            raise ValueError(f"smoothadv eps must be positive, got {self.eps}")
        if int(self.steps) != self.steps or self.steps < 1:
            raise ValueError(f"smoothadv steps must be a positive integer, got {self.steps}")
        step = 2.0 * self.eps / self.steps if self.step_size is None else float(self.step_size)
        if not step > 0.0:
            raise ValueError(f"smoothadv step_size must be positive, got {self.step_size}")
        for name, value in (("eps", float(self.eps)), ("steps", int(self.steps)),
                            ("step_size", step)):
            object.__setattr__(self, name, value)


@MODELS.register_module()
class SmoothingTrainer(BaseModel):
    """Train ``model`` (the user's mmdet / mmseg model config) for randomized smoothing.

    ``sigma``: σ of the noise on the [0, 1] scale; ``copies``: m, noisy copies per image
    and step; ``clean_prob``: the share of images that train clean in a step (all their
    copies without noise, as ``RandomGaussianNoise(prob=1 − clean_prob)`` leaves them; the
    consistency term is then 0 for them); ``consistency``: dict(weight=λ, entropy=η,
    box=…) or None; ``smoothadv``: dict(eps=ε, steps=k, step_size=…) or None (segmentors
    only). Validation, test and prediction are the inner model's, on clean inputs.

    Consistency needs the model's soft outputs: an mmseg ``EncoderDecoder`` (the decode
    head's class logits) or a one-stage mmdet detector with a dense head (RetinaNet,
    RTMDet, FCOS, …: its per-anchor classification scores). A two-stage detector is
    refused: its RoI head classifies proposals that differ from copy to copy, so there is
    no common set of outputs to compare; it can still train with noise alone.
    """

    def __init__(self, model: Mapping, sigma: float = 0.25, copies: int = 2,
                 clean_prob: float = 0.0, consistency: Mapping | None = None,
                 smoothadv: Mapping | None = None, data_preprocessor: Mapping | None = None,
                 init_cfg: Any = None) -> None:
        super().__init__(init_cfg=init_cfg)
        model = copy.deepcopy(dict(model))
        if data_preprocessor is not None:  # the Runner hands the config's top-level one
            model.setdefault("data_preprocessor", data_preprocessor)
        self.model = MODELS.build(model)
        self.data_preprocessor = self.model.data_preprocessor  # normalizes and pads
        self.sigma = check_sigma(sigma)
        if int(copies) != copies or copies < 1:
            raise ValueError(f"copies must be a positive integer, got {copies}")
        self.copies = int(copies)
        if not 0.0 <= clean_prob < 1.0:
            raise ValueError(f"clean_prob must be in [0, 1), got {clean_prob}")
        self.clean_prob = float(clean_prob)
        self.consistency = _settings(ConsistencySettings, "consistency", consistency or {})
        self.smoothadv = _settings(SmoothAdvSettings, "smoothadv", smoothadv) if smoothadv else None
        if (self.consistency.weight > 0 or self.consistency.box > 0) and self.copies < 2:
            raise ValueError("the consistency term compares noisy copies: copies must be ≥ 2")
        self.task = _task_of(self.model)
        if self.consistency.active and self.task is None:
            raise ValueError(
                f"consistency needs an mmseg EncoderDecoder or a one-stage mmdet detector "
                f"with a dense head; {type(self.model).__name__} is neither (two-stage "
                "detectors classify proposals that change between copies)")
        if self.consistency.box > 0 and self.task != "detection":
            raise ValueError("the box consistency term is for detectors")
        if self.smoothadv is not None and self.task != "segmentation":
            raise ValueError("SmoothAdv is implemented for mmseg EncoderDecoder segmentors")
        self.register_state_dict_post_hook(_save_as_inner)
        self.register_load_state_dict_pre_hook(_load_from_inner)

    # -- what the recipe is, for the checkpoint's meta --------------------------------
    def recipe(self) -> dict:
        """The recipe and its settings, as plain values (a ``weights_only`` checkpoint)."""
        names = [name for name, on in (("smoothadv", self.smoothadv is not None),
                                       ("consistency", self.consistency.active)) if on]
        return {"recipe": "+".join(names) or "gaussian_augmentation",
                "sigma": self.sigma, "copies": self.copies, "clean_prob": self.clean_prob,
                "noise": "N(0, sigma^2) per value on the [0, 1] scale after resize, before "
                         "normalization, independent per copy",
                "consistency": dataclasses.asdict(self.consistency),
                "smoothadv": dataclasses.asdict(self.smoothadv) if self.smoothadv else None,
                "trainer": f"{__name__}.{type(self).__name__}"}

    # -- mmengine's model interface ----------------------------------------------------
    def forward(self, inputs: torch.Tensor, data_samples: list | None = None,
                mode: str = "tensor") -> Any:
        """``mode="loss"``: the recipe's losses (:meth:`loss`); any other mode is the inner
        model's, on the inputs as given."""
        if mode == "loss":
            return self.loss(inputs, data_samples)
        return self.model(inputs, data_samples, mode=mode)

    def val_step(self, data: dict | tuple | list) -> list:
        return self.model.val_step(data)

    def test_step(self, data: dict | tuple | list) -> list:
        return self.model.test_step(data)

    def predict(self, inputs: torch.Tensor, data_samples: list) -> list:
        return self.model.predict(inputs, data_samples)

    def __getattr__(self, name: str) -> Any:
        # Hooks that reach into runner.model (mmdet's YOLOXModeSwitchHook sets
        # bbox_head.use_l1) find the inner model's parts through the trainer.
        try:
            return super().__getattr__(name)
        except AttributeError:
            inner = self.__dict__.get("_modules", {}).get("model")
            if inner is None or name.startswith("__"):
                raise
            return getattr(inner, name)

    # -- the recipe --------------------------------------------------------------------
    def draw_noise(self, inputs: torch.Tensor, data_samples: list) -> torch.Tensor:
        """(copies, B, C, H, W) independent N(0, σ²) draws on the [0, 1] scale, zero outside
        each image's content (``img_shape``; the padding is not part of the frame); with
        ``clean_prob`` > 0, each image is left clean in all copies with that probability."""
        noise = torch.randn((self.copies, *inputs.shape), device=inputs.device,
                            dtype=inputs.dtype)
        noise.mul_(self.sigma).mul_(_content_mask(inputs, data_samples))
        if self.clean_prob > 0:
            noisy = torch.rand(inputs.shape[0], device=inputs.device) >= self.clean_prob
            noise.mul_(noisy.to(inputs.dtype).view(1, -1, 1, 1, 1))
        return noise

    def loss(self, inputs: torch.Tensor, data_samples: list) -> dict:
        """The losses of one step, from the inner data preprocessor's normalized batch:

        - f's own losses, key by key, averaged over the m copies x + δ_i (with SmoothAdv,
          x' + δ_i, x' from :meth:`adversarial_shift`);
        - ``loss_consistency``: λ · 1/m Σ_i KL(ḡ ‖ p_i) (Jeong & Shin), ḡ = 1/m Σ_i p_i;
        - ``loss_entropy``: η · H(ḡ);
        - ``loss_box_consistency`` (detectors): the box weight · mean L1 to the copies'
          mean box regression.

        A term with weight 0 is neither computed nor reported."""
        scale = _input_scale(self.data_preprocessor, inputs)
        noise = self.draw_noise(inputs, data_samples)
        start = inputs
        if self.smoothadv is not None:
            start = inputs + self.adversarial_shift(inputs, data_samples, noise) * scale
        head = _consistency_head(self.model, self.task) if self.consistency.active else None
        per_copy, outputs = [], []
        for copy_noise in noise:
            with _recording(head) as seen:
                noisy = start + copy_noise * scale
                per_copy.append(self.model(noisy, data_samples, mode="loss"))
            outputs.extend(seen[-1:])
        losses = _mean_losses(per_copy)
        if head is not None:
            if self.task == "segmentation":
                terms = segmentation_terms(outputs, data_samples, head.ignore_index)
            else:
                terms = detection_terms(outputs, head)
            weights = {"loss_consistency": self.consistency.weight,
                       "loss_entropy": self.consistency.entropy,
                       "loss_box_consistency": self.consistency.box}
            losses.update({key: weights[key] * value for key, value in terms.items()
                           if weights[key] > 0})
        return losses

    def adversarial_shift(self, inputs: torch.Tensor, data_samples: list,
                          noise: torch.Tensor) -> torch.Tensor:
        """SmoothAdv's x' − x on the [0, 1] scale (B, C, H, W), detached: k steps of ℓ2 PGD
        ascending −log ḡ_y(x + Δ) per labelled pixel, ḡ the mean softmax of f (in eval
        mode, so BatchNorm statistics do not move) over the given noisy copies, each step
        followed by projection onto ‖Δ‖₂ ≤ ε per image and onto x + Δ ∈ [0, 1]."""
        settings = self.smoothadv
        scale = _input_scale(self.data_preprocessor, inputs)
        frame = _unit_frame(self.data_preprocessor, inputs)
        mask = _content_mask(inputs, data_samples)
        delta = torch.zeros_like(inputs)
        was_training = self.model.training
        self.model.eval()
        try:
            for _ in range(settings.steps):
                delta = delta.detach().requires_grad_(True)
                with torch.enable_grad():  # also when the caller runs without gradients
                    logits = [self.model(inputs + (delta + d) * scale, data_samples,
                                         mode="tensor") for d in noise]
                    loss = smoothed_nll(logits, data_samples,
                                         self.model.decode_head.ignore_index)
                    (grad,) = torch.autograd.grad(loss, delta)
                grad = grad * mask
                norm = grad.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
                delta = delta.detach() + settings.step_size * grad / norm
                length = delta.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
                delta = delta * (settings.eps / length.clamp_min(settings.eps))
                # Clamping towards [0, 1], which holds x, can only shorten Δ.
                delta = ((frame + delta).clamp(0.0, 1.0) - frame) * mask
        finally:
            self.model.train(was_training)
        return delta.detach()


@HOOKS.register_module()
class SmoothingRecipeHook(Hook):
    """Write the trainer's :meth:`SmoothingTrainer.recipe` into every checkpoint's
    ``meta['adcert_training']``, so that provenance can name how the base model was
    trained."""

    def before_run(self, runner) -> None:
        _trainer_of(runner)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault("meta", {})[META_KEY] = _trainer_of(runner).recipe()


def _settings(kind: type, name: str, values: Mapping) -> Any:
    fields = {field.name for field in dataclasses.fields(kind)}
    unknown = set(values) - fields
    if unknown:
        raise ValueError(f"{name} takes {sorted(fields)}, not {sorted(unknown)}")
    return kind(**values)


def _trainer_of(runner) -> SmoothingTrainer:
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    if not isinstance(model, SmoothingTrainer):
        raise TypeError(f"SmoothingRecipeHook needs model=dict(type='SmoothingTrainer', ...), "
                        f"the runner's model is a {type(model).__name__}")
    return model


# -- the state dict is the inner model's ----------------------------------------------
def _save_as_inner(module, state_dict, prefix: str, local_metadata) -> None:
    """``model.X`` → ``X``; the alias ``data_preprocessor.X`` of ``model.data_preprocessor.X``
    is dropped."""
    keys = [key for key in state_dict if key.startswith(prefix)]
    items = [(key[len(prefix):], state_dict.pop(key)) for key in keys]
    for rest, value in items:
        if rest.startswith(_INNER):
            state_dict[prefix + rest[len(_INNER):]] = value
    metadata = getattr(state_dict, "_metadata", None)
    if metadata is not None:
        for key in [k for k in metadata if k.startswith(prefix + _INNER[:-1])]:
            rest = key[len(prefix + _INNER[:-1]):]
            value = metadata.pop(key)
            if rest == "":
                metadata[prefix[:-1]] = value
            elif rest.startswith("."):
                metadata[prefix + rest[1:]] = value
            else:  # a sibling whose name merely starts with "model"
                metadata[key] = value


def _load_from_inner(module, state_dict, prefix: str, local_metadata, strict, missing_keys,
                     unexpected_keys, error_msgs) -> None:
    """``X`` → ``model.X``, and the alias ``data_preprocessor.X`` filled in."""
    keys = [key for key in state_dict if key.startswith(prefix)]
    items = [(key[len(prefix):], state_dict.pop(key)) for key in keys]
    for rest, value in items:
        state_dict[prefix + _INNER + rest] = value
        if rest.startswith(_ALIAS):
            state_dict[prefix + rest] = value
    metadata = getattr(state_dict, "_metadata", None)
    if metadata is not None:
        for key in [k for k in metadata if k == prefix[:-1] or k.startswith(prefix)]:
            rest = key[len(prefix):] if key != prefix[:-1] else ""
            metadata.setdefault(prefix + _INNER + rest if rest else prefix + _INNER[:-1],
                                metadata[key])


# -- the model's parts ----------------------------------------------------------------
def _task_of(model: torch.nn.Module) -> str | None:
    """"segmentation" for an mmseg EncoderDecoder, "detection" for a one-stage mmdet
    detector with a dense head, else None."""
    try:
        from mmseg.models.segmentors import EncoderDecoder

        if isinstance(model, EncoderDecoder) and isinstance(model.decode_head, torch.nn.Module):
            return "segmentation"
    except ImportError:
        pass
    try:
        from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
        from mmdet.models.detectors import SingleStageDetector

        if (isinstance(model, SingleStageDetector)
                and isinstance(getattr(model, "bbox_head", None), BaseDenseHead)):
            return "detection"
    except ImportError:
        pass
    return None


def _consistency_head(model: torch.nn.Module, task: str) -> torch.nn.Module:
    return model.decode_head if task == "segmentation" else model.bbox_head


@contextmanager
def _recording(head: torch.nn.Module | None) -> Iterator[list]:
    """Record what ``head.forward`` returns while f computes its own loss. mmseg's decode
    head calls ``self.forward`` directly (no module hook fires), so the instance's forward
    is wrapped for the duration."""
    seen: list = []
    if head is None:
        yield seen
        return
    own = vars(head).get("forward")
    original = head.forward

    def forward(*args, **kwargs):
        out = original(*args, **kwargs)
        seen.append(out)
        return out

    head.forward = forward
    try:
        yield seen
    finally:
        if own is None:
            del head.forward
        else:
            head.forward = own
    if not seen:
        raise RuntimeError(f"{type(head).__name__}.forward was not called by the model's loss")


def _input_scale(preprocessor, inputs: torch.Tensor) -> torch.Tensor:
    """Normalized units per unit of the [0, 1] scale: 255 / std_c (1, C, 1, 1)."""
    if getattr(preprocessor, "_enable_normalize", False):
        return (255.0 / preprocessor.std.to(inputs)).view(1, -1, 1, 1)
    return inputs.new_full((1, 1, 1, 1), 255.0)


def _unit_frame(preprocessor, inputs: torch.Tensor) -> torch.Tensor:
    """The normalized batch back on the [0, 1] scale."""
    if getattr(preprocessor, "_enable_normalize", False):
        mean = preprocessor.mean.to(inputs).view(1, -1, 1, 1)
        std = preprocessor.std.to(inputs).view(1, -1, 1, 1)
        return (inputs * std + mean) / 255.0
    return inputs / 255.0


def _content_mask(inputs: torch.Tensor, data_samples: list) -> torch.Tensor:
    """(B, 1, H, W): 1 on each image's content (top-left ``img_shape``), 0 on padding."""
    mask = inputs.new_zeros((inputs.shape[0], 1, *inputs.shape[-2:]))
    for row, sample in zip(mask, data_samples, strict=True):
        height, width = sample.metainfo.get("img_shape", inputs.shape[-2:])[:2]
        row[:, :height, :width] = 1.0
    return mask


def _mean_losses(per_copy: list[dict]) -> dict:
    """Key by key mean of the copies' loss dicts (lists, e.g. per FPN level, elementwise)."""
    count = len(per_copy)
    out = {}
    for key, first in per_copy[0].items():
        values = [losses[key] for losses in per_copy]
        if isinstance(first, list | tuple):
            out[key] = [sum(level) / count for level in zip(*values, strict=True)]
        else:
            out[key] = sum(values) / count
    return out
