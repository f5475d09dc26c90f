"""Option styles (sim/report/style.py): one fixed, distinct, colour-blind-safe look per option.

That every figure of a report draws each option in this style is checked on a real sweep in
tests/test_sweeps.py.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sim.config.catalogue import catalogue, option_order, option_title
from sim.report.style import (
    BASELINE_COLOUR,
    OPTION_COLOURS,
    OPTION_MARKERS,
    option_colour,
    option_style,
)

# Machado, Oliveira & Fernandes (2009), severity 1.0, applied to linear RGB.
CVD_MATRICES = {
    "protanopia": [
        [0.152286, 1.052583, -0.204868],
        [0.114503, 0.786281, 0.099216],
        [-0.003882, -0.048116, 1.051998],
    ],
    "deuteranopia": [
        [0.367322, 0.860646, -0.227968],
        [0.280085, 0.672501, 0.047413],
        [-0.011820, 0.042940, 0.968881],
    ],
    "tritanopia": [
        [1.255528, -0.076749, -0.178779],
        [-0.078411, 0.930809, 0.147602],
        [0.004733, 0.691367, 0.303900],
    ],
}
#: Smallest CIELAB distance between any two option colours under each simulation (the palette's
#: documented guarantee; ~2.3 is a just-noticeable difference).
MIN_DISTANCE = {"protanopia": 15.0, "deuteranopia": 15.0, "tritanopia": 11.0}


def _linear_rgb(hex_colour: str) -> np.ndarray:
    c = np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(linear_rgb: np.ndarray) -> np.ndarray:
    to_xyz = np.array(
        [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
    )
    t = to_xyz @ np.clip(linear_rgb, 0, 1) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(t > 0.008856, np.cbrt(t), 7.787 * t + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_every_catalogue_option_has_its_own_colour_and_marker():
    names = catalogue()
    n = len(OPTION_COLOURS)
    assert names[0] == "baseline" and len(names) <= len(OPTION_MARKERS)
    styles = [option_style(x) for x in names]
    # The palette's first options: a colour each, solid; after them colours repeat, hollow.
    assert len({s.colour for s in styles[:n]}) == min(n, len(names))
    assert not any(s.hollow for s in styles[:n]) and all(s.hollow for s in styles[n:])
    assert len({s.marker for s in styles}) == len(names)  # a marker each, always
    assert len({(s.colour, s.marker, s.hollow) for s in styles}) == len(names)
    assert option_colour("baseline") == BASELINE_COLOUR == "#000000"


def test_style_follows_the_catalogue_order_not_the_names_in_a_plot():
    names = catalogue()
    for i, name in enumerate(names):
        assert option_style(name).colour == OPTION_COLOURS[i % len(OPTION_COLOURS)]
        assert option_style(name).marker == OPTION_MARKERS[i]
    # the same option asked for alone or among others gets the same style
    assert option_style(names[5]) == option_style(names[5])
    assert option_order(reversed(names)) == list(names)


def test_a_combination_takes_the_first_colour_and_the_second_marker_hollow():
    a, b = "extended_access_8to8", "rac_weekend"
    combo = option_style(f"{a}+{b}")
    assert combo.colour == option_style(a).colour
    assert combo.marker == option_style(b).marker
    assert combo.hollow and combo.linestyle == "--"
    assert combo != option_style(a) and combo != option_style(f"{b}+{a}")
    assert option_order([f"{a}+{b}", b, "baseline", a]) == ["baseline", a, f"{a}+{b}", b]


def test_an_option_outside_the_catalogue_never_looks_like_the_baseline():
    for name in ("my_local_option", "another", "x+y"):
        style = option_style(name)
        assert style.colour != BASELINE_COLOUR and style.hollow
        assert option_style(name) == style  # stable


def test_titles_come_from_the_scenario_files_or_the_run():
    assert option_title("baseline") == "Baseline"
    assert option_title("ic_expansion+text_reminders") == (
        "Intermediate care (IC+) capacity expansion + Text-message appointment reminders"
    )
    assert option_title("ic_expansion", {"ic_expansion": "As run"}) == "As run"
    assert option_title("not_a_file") == "not_a_file"


@pytest.mark.parametrize("vision", list(CVD_MATRICES))
def test_option_colours_stay_apart_under_colour_blindness(vision):
    matrix = np.array(CVD_MATRICES[vision])
    lab = {c: _lab(matrix @ _linear_rgb(c)) for c in OPTION_COLOURS}
    closest = min(
        (float(np.linalg.norm(lab[a] - lab[b])), a, b)
        for a, b in itertools.combinations(OPTION_COLOURS, 2)
    )
    assert closest[0] >= MIN_DISTANCE[vision], closest
