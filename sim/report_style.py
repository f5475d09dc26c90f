"""One look for every figure: a colour-blind-safe palette and a fixed colour per option.

Colours follow Okabe & Ito (2008). An option keeps the same colour in every figure of every
report because it is assigned from the option's name, not its position in a plot.
"""

from __future__ import annotations

import hashlib

OKABE_ITO = (
    "#000000",  # black: baseline
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
    "#999999",
)
BASELINE_COLOUR = OKABE_ITO[0]


def option_colour(name: str) -> str:
    """Stable colour for an option (baseline is always black)."""
    if name == "baseline":
        return BASELINE_COLOUR
    digest = int(hashlib.sha256(name.encode("utf-8")).hexdigest(), 16)
    return OKABE_ITO[1 + digest % (len(OKABE_ITO) - 1)]


def option_colours(names: list[str]) -> dict[str, str]:
    return {n: option_colour(n) for n in names}
