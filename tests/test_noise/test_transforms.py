import numpy as np
import pytest

pytest.importorskip("mmcv")

from mmengine.registry import TRANSFORMS  # noqa: E402

from adcert.noise.transforms import RandomGaussianNoise  # noqa: E402


def test_noise_has_the_certification_scale():
    np.random.seed(0)  # noqa: NPY002 - the transform draws from the global stream
    img = np.full((64, 64, 3), 100, dtype=np.uint8)
    out = RandomGaussianNoise(sigma=0.25)(dict(img=img))["img"]
    assert out.dtype == np.float32
    assert np.std(out / 255.0) == pytest.approx(0.25, rel=0.05)
    assert out.min() < 0  # not clipped


def test_registered_for_configs_of_both_frameworks():
    pytest.importorskip("mmdet")
    from mmdet.registry import TRANSFORMS as DET_TRANSFORMS
    from mmseg.registry import TRANSFORMS as SEG_TRANSFORMS

    for registry in (TRANSFORMS, DET_TRANSFORMS, SEG_TRANSFORMS):
        assert isinstance(registry.build(dict(type="RandomGaussianNoise", prob=0.0)),
                          RandomGaussianNoise)


def test_prob_zero_keeps_the_image_and_bad_args_are_named():
    img = np.full((4, 4, 3), 7, dtype=np.uint8)
    assert RandomGaussianNoise(prob=0.0)(dict(img=img))["img"] is img
    with pytest.raises(ValueError, match="sigma"):
        RandomGaussianNoise(sigma=0)
    with pytest.raises(ValueError, match="prob"):
        RandomGaussianNoise(prob=2)
