"""Settings objects: defaults ← config ← flags, validated once, typed, frozen."""

import dataclasses

import pytest

from adcert.pipeline.settings import DetSettings, SegSettings


def test_precedence_defaults_config_flags():
    s = DetSettings.build({"sigma": 0.5, "n": 10}, {"n": 20, "eps": None})
    assert (s.sigma, s.n, s.eps) == (0.5, 20, DetSettings().eps)
    assert isinstance(s.sigma, float) and isinstance(s.n, int)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.n = 3  # type: ignore[misc]


@pytest.mark.parametrize("certify, message", [
    (3, "`certify` must be a dict"),
    ({"sigma": "x"}, "sigma must be a number, got 'x'"),
    ({"n0": 5}, "unknown key(s) in the config's certify dict for this task: ['n0']"),
    ({"n": 2.5}, "n must be an integer"),
    ({"n": True}, "n must be an integer"),
    ({"eps": float("inf")}, "eps must be finite"),
    ({"eps": 0}, "eps must be positive"),
    ({"max_images": 0}, "max_images must be ≥ 1"),
    ({"max_images": -3}, "max_images must be ≥ 1"),
    ({"bin": "grid"}, "bin must be one of"),
    ({"sigma": 1e38}, "overflow float32"),
    ({"transform": "contrast", "sigma": 20.0}, "overflow float32"),
    ({"alpha": 1.5}, "alpha must lie in (0, 1)"),
    ({"seed": -1}, "seed must be ≥ 0"),
])
def test_detection_settings_reject_bad_values(certify, message):
    with pytest.raises(ValueError) as error:
        DetSettings.build(certify, {})
    assert message in str(error.value)


@pytest.mark.parametrize("flags, message", [
    ({"tau": 0.5}, "tau must lie in (0.5, 1)"),
    ({"n0": 10, "n": 5}, "n0 (10) must not exceed n (5)"),
    ({"correction": "box"}, "correction must be one of holm, bonferroni"),
])
def test_segmentation_settings_reject_bad_values(flags, message):
    with pytest.raises(ValueError) as error:
        SegSettings.build(None, flags)
    assert message in str(error.value)


def test_flags_of_the_other_task_are_not_settings():
    # build() takes the task's own fields only; the CLIs reject foreign flags in argparse.
    assert not hasattr(DetSettings.build(None, {"tau": 0.9}), "tau")
    assert SegSettings().to_dict()["n0"] == 100


def test_grid_is_rows_by_columns():
    from adcert.pipeline.settings import DetSettings

    assert DetSettings().grid_shape == (1, 8)  # the default aggregation's grid
    assert DetSettings.build({"grid": "1x8"}, {}).grid_shape == (1, 8)
    for bad in ("8", "0x3", "ax2", (1, 8)):
        with pytest.raises(ValueError, match="grid"):
            DetSettings(grid=bad)
