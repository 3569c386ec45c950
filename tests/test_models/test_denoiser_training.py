"""DenoiserTrainer (adcert.models.denoiser_training): both objectives give finite losses
whose gradients reach the denoiser only; the frozen task model stays in eval mode and out
of the checkpoint."""

import os

import pytest
import torch

from adcert.models.denoiser_training import DenoiserTrainer

from ..helpers import REPO, random_checkpoint

DENOISER = dict(type="ConvDenoiser", channels=4, fold=2, depth=1)
TASKS = {"mmseg": "fpn_mnv2_demo.py", "mmdet": "rtmdet_mnv2_demo.py"}


def batch(count: int = 2) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return [torch.randint(0, 255, (3, 64, 128), dtype=torch.uint8, generator=generator)
            for _ in range(count)]


def test_mse_objective():
    torch.manual_seed(0)
    trainer = DenoiserTrainer(DENOISER, sigma=0.25)
    losses = trainer(batch(), mode="loss")
    assert set(losses) == {"loss_mse"} and torch.isfinite(losses["loss_mse"])
    losses["loss_mse"].backward()
    assert all(p.grad is not None for p in trainer.denoiser.parameters())
    assert all(key.startswith("denoiser.") for key in trainer.state_dict())


@pytest.mark.parametrize("framework", ["mmseg", "mmdet"])
def test_stability_objective_trains_the_denoiser_only(framework, tmp_path):
    config = os.path.join(REPO, "configs", "demo", TASKS[framework])
    checkpoint = random_checkpoint(config, framework, tmp_path / "task.pth")
    torch.manual_seed(0)
    trainer = DenoiserTrainer(DENOISER, sigma=0.25, objective="stability", mse_weight=0.5,
                              task=dict(config=config, checkpoint=checkpoint,
                                        framework=framework))
    trainer.train()
    task_model = trainer._task[0]
    assert not task_model.training  # BN statistics of the frozen model never move
    losses = trainer(batch(), mode="loss")
    assert set(losses) == {"loss_mse", "loss_stability"}
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in trainer.denoiser.parameters())
    assert all(p.grad is None for p in task_model.parameters())
    assert all(key.startswith("denoiser.") for key in trainer.state_dict())


def test_bad_objectives_are_refused():
    with pytest.raises(ValueError, match="objective must be one of"):
        DenoiserTrainer(DENOISER, sigma=0.25, objective="perceptual")
    with pytest.raises(ValueError, match="needs task="):
        DenoiserTrainer(DENOISER, sigma=0.25, objective="stability")
    with pytest.raises(ValueError, match="sigma must be positive"):
        DenoiserTrainer(DENOISER, sigma=0.0)
