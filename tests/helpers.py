"""Helpers shared by tests that need an OpenMMLab model or generated frames on disk."""

import copy
import os

import torch

REPO = os.path.join(os.path.dirname(__file__), "..")


def random_checkpoint(config, framework: str, path) -> str:
    """Build ``config``'s model (a path or a Config) with seed 0 and save its random weights."""
    from mmengine.config import Config
    from mmengine.registry import MODELS

    if framework == "mmdet":
        from mmdet.utils import register_all_modules
    else:
        from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg.model))
    torch.save({"state_dict": model.state_dict(),
                "meta": {"dataset_meta": {"classes": ["a"]}}}, str(path))
    return str(path)


def tiny_demo_run(root, config: str, framework: str, seeds: list[int]):
    """Generated 64×128 frames under ``root/data`` (test split), a random-weight checkpoint
    of ``config`` and the ``--cfg-options`` pointing the config's test set at them."""
    from adcert.datasets import write_split

    write_split(str(root / "data"), "test", seeds, height=64, width=128)
    checkpoint = random_checkpoint(config, framework, root / "random.pth")
    options = [f"test_dataloader.dataset.data_root={root / 'data'}",
               "test_dataloader.dataset.pipeline.1.scale=(128,64)"]
    return root, checkpoint, options


# A UNet2DModel small enough for a test to build, save and run on CPU in a second.
TINY_UNET = dict(sample_size=16, in_channels=3, out_channels=3, layers_per_block=1,
                 block_out_channels=(8, 16), norm_num_groups=4,
                 down_block_types=("DownBlock2D", "DownBlock2D"),
                 up_block_types=("UpBlock2D", "UpBlock2D"))


def saved_diffusion_folder(path, seed: int = 0) -> str:
    """A saved diffusers folder as ``DiffusionDenoiser(pretrained=...)`` reads it: random
    tiny UNet weights (seed ``seed``) under ``unet/``, a DDPM schedule under ``scheduler/``."""
    from diffusers import DDPMScheduler, UNet2DModel

    torch.manual_seed(seed)
    UNet2DModel(**TINY_UNET).save_pretrained(str(path / "unet"))
    DDPMScheduler(num_train_timesteps=1000).save_pretrained(str(path / "scheduler"))
    return str(path)
