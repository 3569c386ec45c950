"""Slim a training checkpoint into one that ships: weights and class names only.

mmengine's checkpoints carry the optimizer, the message hub, an EMA copy and the whole
config; a published demo checkpoint keeps the (EMA-swapped) ``state_dict``, stored in
float16 to halve it, ``meta.dataset_meta.classes`` and, for a model trained with a
smoothing recipe, ``meta.adcert_training`` (how it was trained), so it loads with
``torch.load(weights_only=True)`` and is small enough to commit.
"""

from __future__ import annotations

import os

import torch

from adcert.models.loading import file_sha256, read_checkpoint


def slim_checkpoint(source: str, target: str, half: bool = True,
                    unsafe_load: bool = False) -> tuple[int, str]:
    """Write ``target`` from ``source``; returns its size in bytes and sha256.

    Floating-point tensors become float16 when ``half``; loading copies them back into
    the model's float32 parameters. Written to a temporary name first, so a failed write
    never leaves a complete-looking file.
    """
    checkpoint = read_checkpoint(source, unsafe_load=unsafe_load)
    state = checkpoint.get("state_dict", checkpoint)
    if not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{source} has no state_dict of tensors")
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    meta = checkpoint.get("meta") or {}
    classes = (meta.get("dataset_meta") or {}).get("classes")
    slim = {"state_dict": state,
            "meta": {"dataset_meta": {"classes": list(classes)} if classes else {}}}
    if meta.get("adcert_training"):  # plain values (SmoothingRecipeHook): weights_only-safe
        slim["meta"]["adcert_training"] = meta["adcert_training"]
    partial = target + ".partial"
    torch.save(slim, partial)
    os.replace(partial, target)
    return os.path.getsize(target), file_sha256(target)
