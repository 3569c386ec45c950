"""SmoothingTrainer (adcert.models.smoothing_training): gradients reach the inner model
only; the noise is N(0, σ²) on the [0, 1] scale, independent per copy and per image, and
spares the padding; with weight 0 the trainer is noise augmentation; SmoothAdv stays within
ε; checkpoints written through the trainer load into the plain config's model. Tiny
random-weight models at 64 × 128."""

import copy
import os

import pytest
import torch

pytest.importorskip("mmdet")
pytest.importorskip("mmseg")

from mmengine.config import Config  # noqa: E402
from mmengine.registry import MODELS  # noqa: E402

from adcert.models.loading import _strip_pretrained, load_model, register_framework  # noqa: E402
from adcert.models.smoothing_losses import smoothed_nll  # noqa: E402
from adcert.models.smoothing_training import META_KEY, SmoothingTrainer  # noqa: E402

from ..helpers import REPO  # noqa: E402
from .conftest import DETECTORS, framework_config  # noqa: E402

DEMO = os.path.join(REPO, "configs", "demo")
CONSISTENCY = {"mmseg": os.path.join(DEMO, "fpn_mnv2_demo_consistency.py"),
               "mmdet": os.path.join(DEMO, "rtmdet_mnv2_demo_consistency.py")}
PLAIN = {"mmseg": os.path.join(DEMO, "fpn_mnv2_demo.py"),
         "mmdet": os.path.join(DEMO, "rtmdet_mnv2_demo.py")}
SIZE = (64, 128)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One intra-op thread: on a shared 2-core machine two threads wait on each other's
    core and a 0.05 s step can take seconds; the results do not depend on it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def inner_config(framework: str) -> dict:
    """The demo model (random weights, no download) with a 64 × 128 preprocessor."""
    cfg = Config.fromfile(PLAIN[framework])
    model = copy.deepcopy(cfg.model)
    _strip_pretrained(model)
    if framework == "mmseg":
        model["data_preprocessor"]["size"] = SIZE
    return model


def trainer(framework: str, model: dict | None = None, **settings) -> SmoothingTrainer:
    register_framework(framework)
    __import__("adcert.models.losses")
    torch.manual_seed(0)
    settings = {"sigma": 0.25, "copies": 2, **settings}
    return SmoothingTrainer(model or inner_config(framework), **settings).train()


def plain_twin(framework: str, of: SmoothingTrainer, model: dict | None = None):
    """The plain model with the trainer's weights (loaded through its state dict)."""
    plain = MODELS.build(copy.deepcopy(model or inner_config(framework)))
    plain.load_state_dict(of.state_dict(), strict=True)
    return plain.train()


def batch(framework: str, sizes=(SIZE, SIZE)) -> dict:
    """Random uint8 frames (BGR, as loaded) with labels: a band of ignored pixels for a
    segmenter, two boxes for a detector."""
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData, PixelData
    from mmseg.structures import SegDataSample

    generator = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for height, width in sizes:
        inputs.append(torch.randint(0, 256, (3, height, width), dtype=torch.uint8,
                                    generator=generator))
        meta = dict(img_shape=(height, width), ori_shape=(height, width),
                    scale_factor=(1.0, 1.0))
        if framework == "mmseg":
            sample = SegDataSample(metainfo=meta)
            labels = torch.randint(0, 19, (1, height, width), generator=generator)
            labels[:, : height // 8] = 255
            sample.gt_sem_seg = PixelData(data=labels)
        else:
            sample = DetDataSample(metainfo=meta)
            sample.gt_instances = InstanceData(
                bboxes=torch.tensor([[10.0, 8.0, 50.0, 40.0], [70.0, 20.0, 110.0, 60.0]]),
                labels=torch.tensor([0, 1]))
        samples.append(sample)
    return {"inputs": inputs, "data_samples": samples}


def total(losses: dict) -> torch.Tensor:
    return sum(value.sum() if isinstance(value, torch.Tensor) else sum(v.sum() for v in value)
               for key, value in losses.items() if "loss" in key)


def learning(model: torch.nn.Module) -> set[str]:
    return {name for name, p in model.named_parameters() if p.grad is not None}


def retinanet() -> dict:
    relative, overrides = DETECTORS["retinanet"]
    return copy.deepcopy(framework_config("mmdet", relative, **overrides).model)


@pytest.mark.parametrize("framework, model, consistency", [
    ("mmseg", None, dict(weight=5.0, entropy=0.5)),
    ("mmdet", None, dict(weight=20.0, entropy=0.5, box=0.05)),
    ("mmdet", "retinanet", dict(weight=20.0, entropy=0.5, box=0.05)),
])
def test_gradients_reach_the_inner_model_only(framework, model, consistency):
    model = retinanet() if model == "retinanet" else None
    ours = trainer(framework, model, consistency=consistency)
    assert all(name.startswith("model.") for name, _ in ours.named_parameters())
    data = ours.data_preprocessor(batch(framework), True)
    losses = ours(**data, mode="loss")
    terms = {key for key, weight in (("loss_consistency", "weight"), ("loss_entropy", "entropy"),
                                     ("loss_box_consistency", "box")) if consistency.get(weight)}
    assert terms <= set(losses) and all(torch.isfinite(losses[key]) for key in terms)
    assert not data["inputs"].requires_grad
    # The consistency terms alone reach the backbone: ḡ is not detached.
    sum(losses[key] for key in terms).backward(retain_graph=True)
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in ours.model.backbone.parameters())
    ours.zero_grad(set_to_none=True)
    total(losses).backward()
    # The same parameters learn as when the plain model trains on its own loss.
    plain = plain_twin(framework, ours, model)
    total(plain(**plain.data_preprocessor(batch(framework), True), mode="loss")).backward()
    assert learning(ours.model) == learning(plain) and learning(plain)


def test_copies_are_independent_and_on_the_unit_scale(monkeypatch):
    ours = trainer("mmseg", copies=3, consistency=dict(weight=5.0))
    data = ours.data_preprocessor(batch("mmseg", sizes=(SIZE, (48, 100))), True)
    seen = []
    forward = ours.model.forward

    def recording(inputs, data_samples=None, mode="tensor"):
        seen.append(inputs.detach().clone())
        return forward(inputs, data_samples, mode=mode)

    monkeypatch.setattr(ours.model, "forward", recording)
    torch.manual_seed(0)
    ours(**data, mode="loss")
    assert len(seen) == 3
    # What each copy adds, back on the [0, 1] scale: δ = (seen − x) · std / 255.
    std = ours.data_preprocessor.std.view(1, -1, 1, 1)
    noise = torch.stack([(x - data["inputs"]) * std / 255.0 for x in seen])
    content = noise[:, :, :, :48, :100]
    assert torch.allclose(content.std(dim=(1, 3, 4)), torch.full((3, 3), 0.25), rtol=0.03)
    assert content.mean().abs() < 0.01
    assert noise[:, 1, :, 48:].abs().max() < 1e-4 and noise[:, 1, :, :, 100:].abs().max() < 1e-4
    flat = content.flatten(2)
    copies = torch.corrcoef(flat[:, 0])  # copy against copy, first image
    images = torch.corrcoef(flat[0])  # image against image, first copy
    for matrix in (copies, images):
        off = matrix - torch.diag(torch.diag(matrix))
        assert off.abs().max() < 0.05
    assert not ours.draw_noise(data["inputs"], data["data_samples"]).requires_grad


def test_clean_prob_leaves_whole_images_clean_in_every_copy():
    from mmseg.structures import SegDataSample
    ours = trainer("mmseg", copies=2, clean_prob=0.5, consistency=dict(weight=5.0))
    inputs = torch.zeros(64, 3, 8, 8)
    samples = [SegDataSample(metainfo=dict(img_shape=(8, 8))) for _ in range(64)]
    torch.manual_seed(0)
    noise = ours.draw_noise(inputs, samples)
    clean = noise.flatten(2).abs().amax(dim=2) == 0  # (copies, images)
    assert torch.equal(clean[0], clean[1])  # an image is clean in all its copies or in none
    assert 16 <= int(clean[0].sum()) <= 48  # Binomial(64, 1/2): outside only w.p. < 1e-4
    assert ours.recipe()["clean_prob"] == 0.5


@pytest.mark.parametrize("framework", ["mmseg", "mmdet"])
def test_weight_zero_is_noise_augmentation(framework):
    ours = trainer(framework, copies=1, consistency=dict(weight=0.0, entropy=0.0))
    assert ours.recipe()["recipe"] == "gaussian_augmentation"
    plain = plain_twin(framework, ours)
    torch.manual_seed(1)
    mine = ours(**ours.data_preprocessor(batch(framework), True), mode="loss")
    # The plain model on x + σz, z drawn from the same seed, added to the 0–255 frame
    # before its preprocessor (which may swap BGR to RGB: the trainer draws in its order).
    torch.manual_seed(1)
    raw = batch(framework)
    z = 0.25 * torch.randn(len(raw["inputs"]), 3, *SIZE)
    preprocessor = plain.data_preprocessor
    if getattr(preprocessor, "channel_conversion", getattr(preprocessor, "_channel_conversion",
                                                           False)):
        z = z[:, [2, 1, 0]]
    raw["inputs"] = [x.float() + 255.0 * d for x, d in zip(raw["inputs"], z, strict=True)]
    theirs = plain(**preprocessor(raw, True), mode="loss")
    assert set(mine) == set(theirs)
    for key in theirs:
        torch.testing.assert_close(mine[key], theirs[key], rtol=1e-4, atol=1e-5)


def test_smoothadv_stays_within_eps():
    eps = 0.25
    ours = trainer("mmseg", consistency=dict(weight=5.0), smoothadv=dict(eps=eps, steps=2))
    assert ours.recipe()["recipe"] == "smoothadv+consistency"
    data = ours.data_preprocessor(batch("mmseg", sizes=(SIZE, (48, 100))), True)
    inputs, samples = data["inputs"], data["data_samples"]
    torch.manual_seed(0)
    noise = ours.draw_noise(inputs, samples)
    shift = ours.adversarial_shift(inputs, samples, noise)
    assert not shift.requires_grad and ours.model.training
    assert all(p.grad is None for p in ours.parameters())  # the attack trains nothing
    norms = shift.flatten(1).norm(dim=1)
    assert (norms <= eps * (1 + 1e-5)).all() and (norms > 0.5 * eps).all()
    assert shift[1, :, 48:].abs().max() == 0 and shift[1, :, :, 100:].abs().max() == 0
    pre = ours.data_preprocessor
    frame = (inputs * pre.std.view(1, -1, 1, 1) + pre.mean.view(1, -1, 1, 1)) / 255.0
    assert (frame + shift).min() >= -1e-5 and (frame + shift).max() <= 1 + 1e-5
    scale = 255.0 / pre.std.view(1, -1, 1, 1)
    ours.model.eval()
    with torch.no_grad():
        def smoothed_loss(x):
            logits = [ours.model(x + d * scale, samples, mode="tensor") for d in noise]
            return smoothed_nll(logits, samples, ours.model.decode_head.ignore_index)

        assert smoothed_loss(inputs + shift * scale) > smoothed_loss(inputs)
    ours.model.train()
    losses = ours(**data, mode="loss")
    assert torch.isfinite(total(losses))


def test_state_dict_is_the_plain_models():
    ours = trainer("mmseg", consistency=dict(weight=5.0))
    plain = plain_twin("mmseg", ours)
    assert list(ours.state_dict()) == list(plain.state_dict())
    assert ours.decode_head is ours.model.decode_head  # hooks reach the inner model's parts
    twin = copy.deepcopy(ours)  # what EMA hooks do
    with torch.no_grad():
        for p in plain.parameters():
            p.add_(1.0)
    twin.load_state_dict(plain.state_dict(), strict=True)
    for (name, value), (_, other) in zip(twin.state_dict().items(), plain.state_dict().items(),
                                         strict=True):
        assert torch.equal(value, other), name


def test_settings_are_checked():
    with pytest.raises(ValueError, match="sigma"):
        trainer("mmseg", sigma=0.0)
    with pytest.raises(ValueError, match="copies"):
        trainer("mmseg", copies=0)
    with pytest.raises(ValueError, match="clean_prob"):
        trainer("mmseg", clean_prob=1.0)
    with pytest.raises(ValueError, match="copies must be ≥ 2"):
        trainer("mmseg", copies=1, consistency=dict(weight=1.0))
    with pytest.raises(ValueError, match="consistency takes"):
        trainer("mmseg", consistency=dict(lam=1.0))
    with pytest.raises(ValueError, match="eps"):
        trainer("mmseg", smoothadv=dict(eps=0.0))
    with pytest.raises(ValueError, match="for detectors"):
        trainer("mmseg", consistency=dict(box=1.0))
    with pytest.raises(ValueError, match="SmoothAdv"):
        trainer("mmdet", smoothadv=dict(eps=0.5))


def test_two_stage_detectors_train_with_noise_only():
    relative, overrides = DETECTORS["faster_rcnn"]
    model = framework_config("mmdet", relative, **overrides).model
    with pytest.raises(ValueError, match="two-stage"):
        trainer("mmdet", copy.deepcopy(model), consistency=dict(weight=1.0))
    assert trainer("mmdet", copy.deepcopy(model), copies=1).recipe()["recipe"] == (
        "gaussian_augmentation")


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    from adcert.datasets import write_split

    root = tmp_path_factory.mktemp("frames")
    write_split(str(root), "train", [0, 1], height=SIZE[0], width=SIZE[1])
    return root


def tiny_run(framework: str, root, work_dir) -> str:
    """Train the demo's consistency config for one or two iterations on 64 × 128 frames;
    returns the checkpoint path."""
    from mmengine.runner import Runner

    cfg = Config.fromfile(CONSISTENCY[framework])
    _strip_pretrained(cfg.model)
    data = cfg.train_dataloader
    data.update(batch_size=2, num_workers=0, persistent_workers=False)
    data.dataset.data_root = f"{root}/"
    pipeline = data.dataset.pipeline
    pipeline[2].scale = (SIZE[1], SIZE[0])
    pipeline[3].crop_size = SIZE if framework == "mmseg" else (SIZE[1], SIZE[0])
    for key in ("val_dataloader", "val_cfg", "val_evaluator",
                "test_dataloader", "test_cfg", "test_evaluator"):
        cfg[key] = None
    cfg.default_hooks.logger.interval = 1
    if framework == "mmseg":
        cfg.model.model.data_preprocessor.size = SIZE
        cfg.train_cfg = dict(type="IterBasedTrainLoop", max_iters=2)
        cfg.default_hooks.checkpoint.interval = 2
        name = "iter_2.pth"
    else:
        cfg.train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=1)
        cfg.default_hooks.checkpoint.update(interval=1, save_best=None)
        name = "epoch_1.pth"
    cfg.work_dir = str(work_dir)
    cfg.randomness = dict(seed=0)
    Runner.from_cfg(cfg).train()
    return os.path.join(work_dir, name)


@pytest.mark.parametrize("framework", ["mmseg", "mmdet"])
def test_plain_config_loads_a_checkpoint_saved_through_the_trainer(framework, frames, tmp_path):
    path = tiny_run(framework, frames, tmp_path / "work")
    saved = torch.load(path, map_location="cpu", weights_only=False)
    recipe = saved["meta"][META_KEY]
    assert recipe["recipe"] == "consistency" and recipe["sigma"] == 0.25
    assert recipe["copies"] == 2 and recipe["consistency"]["weight"] > 0
    loaded = load_model(PLAIN[framework], path, framework, device="cpu", unsafe_load=True)
    own = loaded.model.state_dict()
    assert set(saved["state_dict"]) == set(own)
    for key, value in saved["state_dict"].items():
        assert torch.equal(own[key], value), key
    if framework == "mmdet":  # EMAHook swapped its averages in, in the same key space
        assert {key.removeprefix("module.") for key in saved["ema_state_dict"]
                if key.startswith("module.")} == set(own)
