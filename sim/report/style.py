"""One look for every figure: colour-blind-safe palettes and a fixed style per option.

Options
-------
Every option keeps the same colour, marker and name in every figure of every report and
notebook, because its style comes from its place in the scenario catalogue, never from its
position in a plot:

- The catalogue is ``scenarios/*.yaml`` sorted by file name, with ``baseline`` first. Option
  *i* of the catalogue gets ``OPTION_COLOURS[i]`` and ``OPTION_MARKERS[i]``: the baseline is
  always black with a round marker. Adding a scenario file shifts the options sorted after it.
- A combination ``a+b`` (options in the order they were chosen) is drawn in the colour of
  ``a`` with the marker of ``b``, hollow, with dashed lines, so it reads as "a, combined".
- An option not in the catalogue (its file removed or renamed since the run) gets a colour
  and marker from a hash of its name, hollow.

``OPTION_COLOURS`` holds thirteen colours: black for the baseline, then Paul Tol's "muted"
qualitative scheme (nine colours, colour-blind safe: Tol 2021, *Colour Schemes*, SRON
technical note SRON/EPS/TN/09-002 issue 3.2), then blue and orange from Petroff's accessible
ten-colour sequence (Petroff 2021, "Accessible Color Sequences for Data Visualization",
arXiv:2107.02270; matplotlib's ``petroff10``), then a violet. No vetted palette has this many
colours every reader can tell apart, so the additions were chosen to keep the palette
furthest apart under simulated colour blindness (Machado et al. 2009): the blue and orange as
the best pair, the violet as the colour of mid lightness furthest from the twelve before it
(a search over the RGB cube): every pair of the thirteen is at least 15 CIELAB units apart
under protanopia and deuteranopia and 11 under tritanopia (``tests/test_report_style.py``
checks this). Markers are distinct for sixteen options, so no reader has to rely on colour
alone; from the fourteenth option on, colours repeat from the start of the palette with
hollow markers.

Other series
------------
Lines that are not options (needs, requests, slots, flows) use ``OKABE_ITO`` (Okabe & Ito
2008) or the neutral greys below.
"""

from __future__ import annotations

import hashlib
import textwrap
from dataclasses import dataclass
from pathlib import Path

from sim.config.catalogue import COMBINATION_SEPARATOR, catalogue
from sim.config.locations import SCENARIO_DIR

OKABE_ITO = (
    "#000000",  # black
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
    "#999999",
)
BASELINE_COLOUR = "#000000"
TOL_MUTED = (
    "#CC6677",  # rose
    "#332288",  # indigo
    "#DDCC77",  # sand
    "#117733",  # green
    "#88CCEE",  # cyan
    "#882255",  # wine
    "#44AA99",  # teal
    "#999933",  # olive
    "#AA4499",  # purple
)
PETROFF_ADDITIONS = ("#3F90DA", "#FFA90E")  # blue, orange
VIOLET = "#7B2FF7"
OPTION_COLOURS = (BASELINE_COLOUR, *TOL_MUTED, *PETROFF_ADDITIONS, VIOLET)
OPTION_MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*", "h", "<", ">", "p", "d", "H", "8", "+")
#: Neutral colours for what is not an option (reference lines, context series).
GREY, LIGHT_GREY = "#777777", "#BBBBBB"
#: Highlight for demand that was not met where it first arose (flow diagram).
UNMET_COLOUR = OKABE_ITO[6]  # vermillion


@dataclass(frozen=True)
class OptionStyle:
    """How an option is drawn: ``plot_kwargs`` for lines, ``marker_kwargs`` for points."""

    colour: str
    marker: str
    hollow: bool = False  # combinations and options outside the catalogue

    @property
    def linestyle(self) -> str:
        return "--" if self.hollow else "-"

    def marker_kwargs(self) -> dict[str, object]:
        """Keyword arguments for ``plot``/``errorbar`` points in this style."""
        face = "white" if self.hollow else self.colour
        return {
            "color": self.colour,
            "marker": self.marker,
            "markerfacecolor": face,
            "markeredgecolor": self.colour,
        }


def _hashed(name: str) -> int:
    return int(hashlib.sha256(name.encode("utf-8")).hexdigest(), 16)


def option_style(name: str, folder: Path = SCENARIO_DIR) -> OptionStyle:
    """The fixed style of an option or combination (rules in the module docstring)."""
    names = catalogue(folder)
    n = len(OPTION_COLOURS)
    if name in names:
        i = names.index(name)
        # Beyond the palette's options colours repeat, hollow, with markers of their own.
        marker = OPTION_MARKERS[i % len(OPTION_MARKERS)]
        return OptionStyle(OPTION_COLOURS[i % n], marker, hollow=i >= n)
    parts = name.split(COMBINATION_SEPARATOR)
    if len(parts) > 1 and all(p in names for p in parts):
        first, second = option_style(parts[0], folder), option_style(parts[1], folder)
        return OptionStyle(first.colour, second.marker, hollow=True)
    h = _hashed(name)
    # not the baseline's black: an unknown option must not look like the baseline
    marker = OPTION_MARKERS[h % len(OPTION_MARKERS)]
    return OptionStyle(OPTION_COLOURS[1 + h % (n - 1)], marker, hollow=True)


def option_colour(name: str) -> str:
    """The option's colour (baseline always black); see :func:`option_style`."""
    return option_style(name).colour


#: Matplotlib settings under which every report figure is made and drawn. Users' text (option
#: titles, site names) reaches titles, labels and the PDF's pages, and matplotlib would read
#: "$...$" in it as mathematics (failing on "$\\frac{$"); the figures use no mathematics, so
#: all text is drawn exactly as written.
PLAIN_TEXT = {"text.parse_math": False}


def wrap_label(text: str, width: int = 30) -> str:
    """A long option title on several lines, for axis labels and legends."""
    return "\n".join(textwrap.wrap(text, width)) or text
