"""Caption numbers (certified quantities rounded towards the safe side, exactly) and
caption text that always fits its bar."""

from decimal import Decimal

import numpy as np
import pytest

from adcert.vis.caption import _wrap, caption_bar, font_for_width, format_value, text_size


def test_down_and_up_never_cross_the_value():
    # The old f"{value:.4g}" rounds to nearest: a radius of 0.64077578… (σ = 0.5,
    # p̲A = 0.9) read "0.6408" (about half of all floats print above their value).
    assert format_value(0.6407757827722983) == "0.6408"
    assert format_value(0.6407757827722983, "down") == "0.6407"
    assert format_value(0.6407757827722983, "up") == "0.6408"
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.uniform(0, 2, 2000), 10 ** rng.uniform(-6, 6, 2000)])
    for value in map(float, values):
        down, up = format_value(value, "down"), format_value(value, "up")
        assert Decimal(down) <= Decimal(value) <= Decimal(up), value
        nearest = format_value(value)
        assert down == nearest or up == nearest  # the same layout, four digits


def test_non_floats_and_settings_are_unchanged():
    assert format_value(None, "down") == "-" and format_value(100, "up") == "100"
    assert format_value("holm", "down") == "holm"
    assert format_value(0.25) == "0.25" and format_value(1e-3) == "0.001"
    assert format_value(0.25, "down") == "0.25"  # exact binary values stay as they are
    with pytest.raises(ValueError, match="rounding"):
        format_value(0.1, "outward")


def test_caption_words_wider_than_the_bar_are_shortened():
    scale, thickness = font_for_width(120)
    lines = _wrap("method: median_smoothing_sort_and_bin_with_a_long_tail  n: 50", 108,
                  scale, thickness)
    assert all(text_size(line, scale, thickness)[0] <= 108 for line in lines)
    assert lines == ["method:", lines[1], "n: 50"] and lines[1].endswith("...")
    swatches = [((0, 165, 255), "a very long class name indeed")] * 3
    assert caption_bar(120, ["x"], swatches).shape[1] == 120
