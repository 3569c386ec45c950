"""The frames a config's ``test_dataloader`` names, after its test pipeline."""

from __future__ import annotations

from mmengine.config import Config


def build_test_dataset(cfg: Config):
    """Build ``cfg.test_dataloader.dataset`` in the current default scope."""
    if "test_dataloader" not in cfg or "dataset" not in cfg.test_dataloader:
        raise ValueError("the config has no `test_dataloader.dataset` to take frames from")
    from mmengine.registry import DATASETS

    return DATASETS.build(cfg.test_dataloader.dataset)
