"""The frames a config's ``test_dataloader`` names, after its test pipeline."""

from __future__ import annotations

from mmengine.config import Config


def build_test_dataset(cfg: Config):
    """Build ``cfg.test_dataloader.dataset`` in the current default scope."""
    if "test_dataloader" not in cfg or "dataset" not in cfg.test_dataloader:
        raise ValueError("the config has no `test_dataloader.dataset` to take frames from")
    from mmengine.registry import DATASETS

    return DATASETS.build(cfg.test_dataloader.dataset)


def load_frame(dataset, index: int) -> dict:
    """``dataset[index]`` through the test pipeline; a frame that cannot be read or
    transformed is a ValueError naming it (mmcv signals unreadable images by assert)."""
    try:
        return dataset[index]
    except Exception as error:  # noqa: BLE001 - any pipeline failure is bad input here
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"cannot load frame {index} of the test set: {detail}") from error
