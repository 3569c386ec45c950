import pytest

pytest.importorskip("mmengine")

from adcert.pipeline.detection import preflight, smallest_useful_n  # noqa: E402
from adcert.pipeline.settings import DetSettings  # noqa: E402


def test_the_per_frame_family_needs_more_samples_than_a_box():
    box = DetSettings(eps=0.36, correction="box")
    image = DetSettings(eps=0.36, correction="image")
    per_box, per_frame = smallest_useful_n(box, 4), smallest_useful_n(image, 4)
    assert per_frame > per_box
    # Without the class count the family of label bins is unknown: per box at least.
    assert smallest_useful_n(image, None) == per_box


def test_the_warning_names_the_smallest_useful_n():
    settings = DetSettings(eps=0.36, n=20, correction="image")
    needed = smallest_useful_n(settings, 4)
    assert f"n ≥ {needed}" in preflight(settings, {}, 4)
    assert preflight(DetSettings(eps=0.36, n=needed, correction="image"), {}, 4) is None
    assert preflight(DetSettings(eps=0.36, n=needed - 1, correction="image"), {}, 4)
