"""The board paper as a list of blocks, and how numbers, intervals and paths are written in it.

Every output (HTML, Markdown, Word, PDF) is rendered from the same blocks, so they say the
same thing. Text in blocks is plain text: each renderer escapes it for its format.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.config.locations import PROJECT_ROOT

#: Block kinds: headings ``h1``-``h4``; ``p`` a paragraph (``lead`` in bold before it);
#: ``list`` bullet points (``items``); ``table`` (``text`` is its caption); ``figure``;
#: ``banner`` a warning that must be seen; ``pagebreak``.
KINDS = ("h1", "h2", "h3", "h4", "p", "list", "table", "figure", "banner", "pagebreak")


@dataclass
class Block:
    kind: str
    text: str = ""
    table: pd.DataFrame | None = None
    figure: Any = None  # a sim.report.figures.ReportFigure
    items: list[str] = field(default_factory=list)
    lead: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown block kind {self.kind!r}")


# ---------------------------------------------------------------- numbers


def fmt(x: Any) -> str:
    if isinstance(x, bool) or x is None:
        return "-" if x is None else ("yes" if x else "NO")
    if isinstance(x, int | float):
        if isinstance(x, float) and not math.isfinite(x):
            return "-"
        if isinstance(x, float) and abs(x) < 5e-4:
            x = 0.0  # no "-0.000"
        ax = abs(x)
        if ax >= 1000:
            return f"{x:,.0f}"
        if ax >= 10:
            return f"{x:.1f}"
        if ax == int(ax) and isinstance(x, int):
            return str(x)
        return f"{x:.3f}"
    return str(x)


def ci(lo: float, hi: float) -> str:
    return f"{fmt(lo)} to {fmt(hi)}"


def fmt_change(x: Any) -> str:
    """A difference with its sign ("+1.2", "-0.031"); "-" when missing."""
    text = fmt(x)
    if text == "-" or text.startswith("-") or float(text.replace(",", "")) == 0:
        return text
    return f"+{text}"


def plus_minus(mean: float, lo: float, hi: float) -> str:
    """ "mean ± half-width" of a symmetric interval; "mean (lo to hi)" when the interval is
    asymmetric (intervals kept within a quantity's range are, near its ends)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return fmt(mean)
    if fmt(mean - lo) != fmt(hi - mean):
        return f"{fmt(mean)} ({ci(lo, hi)})"
    return f"{fmt(mean)} ± {fmt((hi - lo) / 2)}"


def money(x: float) -> str:
    """£ with thousands separators; "-" when missing."""
    if x is None or not math.isfinite(x):
        return "-"
    return f"-£{-x:,.0f}" if x < 0 else f"£{x:,.0f}"


def money_range(lo: float, hi: float) -> str:
    return f"{money(lo)} to {money(hi)}"


# ---------------------------------------------------------------- paths

_ABSOLUTE_PATH = re.compile(r"(?<![\w.~])(?:[A-Za-z]:)?[/\\](?:[\w.+@-]+[/\\])+[\w.+@-]*")


def shown_path(path: Path | str) -> str:
    """A folder as a report may show it: relative to the project when inside it (as
    ``outputs/sweeps/all_options``), otherwise only its last part. A report is emailed and
    printed: it must not reveal where files sat on someone's machine."""
    p = Path(path)
    try:
        return p.resolve().relative_to(PROJECT_ROOT.resolve()).as_posix()
    except (ValueError, OSError):
        return p.name or str(p)


#: Characters an XML document (Word's, and so the paper) cannot hold: control characters
#: other than tab and line breaks, surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def printable(text: str) -> str:
    """``text`` with each character no document format can hold shown as U+FFFD (a hand-edited
    title with a control character would otherwise stop the Word paper being written)."""
    return _NOT_XML.sub("\ufffd", text)


def scrub_paths(text: str) -> str:
    """``text`` with every absolute path replaced by :func:`shown_path` (commands recorded in
    manifests name folders such as ``hydra.sweep.dir=/home/...``)."""
    return _ABSOLUTE_PATH.sub(lambda m: shown_path(m.group(0)), text)
