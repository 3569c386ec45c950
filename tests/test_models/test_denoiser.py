"""The denoiser stage (adcert.models.denoiser): shapes, batch independence, determinism,
the diffusion denoiser's timestep and scaling, and one-line errors for bad specs and
checkpoints."""

import math
import os
import shutil

import pytest
import torch

from adcert.models.denoiser import (
    ConvDenoiser,
    DiffusionDenoiser,
    IdentityDenoiser,
    build_denoiser,
    diffusion_timestep,
    folder_sha256,
    load_denoiser,
)

from ..helpers import TINY_UNET, saved_diffusion_folder


def frames(count: int, height: int = 20, width: int = 36, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(count, 3, height, width, generator=generator)


def conv_denoiser() -> ConvDenoiser:
    torch.manual_seed(0)
    return ConvDenoiser(channels=8, fold=2, depth=1).eval()


@pytest.mark.parametrize("size", [(20, 36), (17, 31), (64, 128)])
def test_conv_denoiser_keeps_the_shape(size):
    x = frames(2, *size)
    with torch.no_grad():
        assert conv_denoiser()(x).shape == x.shape
        assert ConvDenoiser().eval()(x).shape == x.shape  # fold 4: sides padded to 8


def test_conv_denoiser_output_does_not_depend_on_the_batch():
    # No copy's output depends on the others in its batch; kernels may still round
    # differently with the batch's size (~1e-7), hence the tolerance, and why a
    # resumed run must keep --batch-size (docs/certificates.md §8).
    model, x = conv_denoiser(), frames(5)
    with torch.no_grad():
        together = model(x)
        alone = torch.cat([model(x[i:i + 1]) for i in range(len(x))])
        again = model(x)
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-6)
    assert torch.equal(together, again)


def test_diffusion_timestep_matches_the_noise_level():
    alphas = torch.cumprod(1 - torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64), 0)
    for sigma in (0.12, 0.25, 0.5, 1.0):
        t = diffusion_timestep(alphas, 2 * sigma)
        levels = torch.sqrt((1 - alphas) / alphas)
        best = int(torch.argmin(torch.abs(torch.log(levels) - math.log(2 * sigma))))
        assert t == best
        # σ² = (1 − ᾱ)/ᾱ within one step of the schedule
        assert levels[max(t - 1, 0)] <= 2 * sigma <= levels[min(t + 1, 999)]


def diffusion_denoiser(**overrides) -> DiffusionDenoiser:
    torch.manual_seed(0)
    spec = dict(sigma=0.25, unet=TINY_UNET, scheduler=dict(num_train_timesteps=1000))
    spec.update(overrides)
    return DiffusionDenoiser(**spec).eval()


def test_diffusion_denoiser_shape_determinism_and_batch_independence():
    model, x = diffusion_denoiser(), frames(3, 16, 16)
    with torch.no_grad():
        out = model(x)
        again = model(x)
        alone = torch.cat([model(x[i:i + 1]) for i in range(len(x))])
    assert out.shape == x.shape and torch.equal(out, again)
    torch.testing.assert_close(out, alone, rtol=1e-4, atol=1e-5)
    assert out.min() >= 0 and out.max() <= 1  # x̂₀ clipped to the model's [−1, 1]


def test_diffusion_denoiser_resizes_to_its_model_and_back():
    model, x = diffusion_denoiser(resize=(16, 16)), frames(1, 24, 40)
    with torch.no_grad():
        assert model(x).shape == x.shape


class OracleNoise(torch.nn.Module):
    """A UNet stand-in that predicts the noise exactly for a known clean frame ``y0``."""

    def __init__(self, clean: torch.Tensor, alpha_bar: torch.Tensor) -> None:
        super().__init__()
        self.clean, self.alpha_bar = clean, alpha_bar

    def forward(self, x_t, t):
        eps = (x_t - torch.sqrt(self.alpha_bar) * (2 * self.clean - 1)) / torch.sqrt(
            1 - self.alpha_bar)
        return type("Output", (), {"sample": eps})()


def test_one_step_recovers_the_frame_from_a_perfect_noise_prediction():
    """x_t* = √ᾱ·(2(x + δ) − 1); with ε̂ exact, x̂₀ maps back to x: the scaling is right."""
    model = diffusion_denoiser()
    clean = frames(2, 16, 16, seed=1) * 0.8 + 0.1
    noisy = clean + 0.25 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(2))
    model.unet = OracleNoise(clean, model.alpha_bar)
    with torch.no_grad():
        torch.testing.assert_close(model(noisy), clean, rtol=0, atol=1e-5)
    alpha_bar = float(model.alpha_bar)
    assert math.isclose((1 - alpha_bar) / alpha_bar, (2 * 0.25) ** 2, rel_tol=0.05)


def test_identity_and_checkpointless_builds():
    loaded = load_denoiser(dict(type="IdentityDenoiser"), None, torch.device("cpu"))
    x = frames(1)
    assert torch.equal(loaded(x), x)
    assert loaded.describe()["checkpoint_sha256"] is None
    assert isinstance(build_denoiser(dict(type="IdentityDenoiser")), IdentityDenoiser)


def test_conv_checkpoint_round_trip_names_its_hash(tmp_path):
    model = conv_denoiser()
    path = tmp_path / "d.pth"
    # A training checkpoint of DenoiserTrainer: keys under "denoiser.".
    torch.save({"state_dict": {f"denoiser.{k}": v for k, v in model.state_dict().items()}},
               path)
    spec = dict(type="ConvDenoiser", channels=8, fold=2, depth=1)
    loaded = load_denoiser(spec, str(path), torch.device("cpu"))
    x = frames(2)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))
    assert len(loaded.describe()["checkpoint_sha256"]) == 64


@pytest.mark.parametrize("spec, match", [
    (dict(type="NoSuchDenoiser"), "denoiser type must be one of"),
    ("ConvDenoiser", "denoiser type must be one of"),
    (dict(type="ConvDenoiser", widht=3), "cannot build the denoiser ConvDenoiser"),
    (dict(type="ConvDenoiser"), "needs its checkpoint"),
    (dict(type="DiffusionDenoiser", sigma=0.25), "exactly one of"),
])
def test_bad_specs_are_one_line_errors(spec, match):
    with pytest.raises(ValueError, match=match):
        load_denoiser(spec, None, torch.device("cpu"))


def test_bad_checkpoints_are_one_line_errors(tmp_path):
    spec = dict(type="ConvDenoiser", channels=8, fold=2, depth=1)
    with pytest.raises(FileNotFoundError, match="checkpoint file not found"):
        load_denoiser(spec, str(tmp_path / "missing.pth"), torch.device("cpu"))
    wrong = tmp_path / "wrong.pth"
    torch.save({"state_dict": ConvDenoiser(channels=4, depth=1).state_dict()}, wrong)
    with pytest.raises(ValueError, match="denoiser checkpoint .* does not match"):
        load_denoiser(spec, str(wrong), torch.device("cpu"))
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load_denoiser(spec, str(garbage), torch.device("cpu"))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_denoiser_runs_on_the_model_device():
    loaded = load_denoiser(dict(type="DiffusionDenoiser", sigma=0.25, unet=TINY_UNET),
                           None, torch.device("cuda"))
    assert loaded(frames(1, 16, 16).cuda()).device.type == "cuda"


def test_a_saved_diffusers_folder_is_recorded_with_the_hash_of_its_files(tmp_path):
    """Two weight sets at one path must not give the same record (issue 31): the denoiser
    block names the folder and one sha256 over its weight and config files."""
    folder = saved_diffusion_folder(tmp_path / "ddpm")
    loaded = load_denoiser(dict(type="DiffusionDenoiser", pretrained=folder), None,
                           torch.device("cpu"), sigma=0.25)
    block = loaded.describe()
    digest = folder_sha256(folder)
    assert block["pretrained"] == os.path.abspath(folder) and len(digest) == 64
    assert block["pretrained_sha256"] == digest and block["checkpoint_sha256"] is None
    # The same files elsewhere hash alike; files that are neither weights nor configs
    # change nothing the denoiser computes and do not count.
    moved = shutil.copytree(folder, tmp_path / "elsewhere")
    (moved / "README.md").write_text("a model card\n")
    assert folder_sha256(str(moved)) == digest
    # Other weights at the same path, a renamed weight file, a changed config: new hashes.
    other = saved_diffusion_folder(tmp_path / "other", seed=1)
    weights = next(name for name in os.listdir(moved / "unet")
                   if name.startswith("diffusion_pytorch_model"))
    (moved / "unet" / weights).rename(moved / "unet" / f"renamed_{weights}")
    renamed = folder_sha256(str(moved))
    config = moved / "scheduler" / "scheduler_config.json"
    config.write_text(config.read_text().replace('"beta_end": 0.02', '"beta_end": 0.03'))
    digests = {digest, folder_sha256(other), renamed, folder_sha256(str(moved))}
    assert len(digests) == 4


def test_a_diffusers_folder_without_weights_is_a_one_line_error(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "config.json").write_text("{}")
    with pytest.raises(ValueError, match="holds no weight file"):
        folder_sha256(str(tmp_path / "empty"))
