"""Text and tables taken from ``docs/model.md`` for the report, so an emailed report carries the
model description it cites instead of links a reader cannot follow.

Sections are found by their GitHub anchor (``#booking-earliest-fit``), the same anchors the
documentation links to. The file is read when the report is made, from the repository in a
clone (the report says which commit that was) or from the copy shipped inside an installed
package (``sim/docs``, the package version's).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.config.locations import DOCS_DIR, SOURCE_ROOT

MODEL_DOC = DOCS_DIR / "model.md"
ASSUMPTIONS_ANCHOR = "assumptions-and-sources"
#: Longest excerpt quoted from a section (characters), cut at the end of a sentence.
EXCERPT_CHARACTERS = 700

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")


def anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to
    hyphens ("A&E" -> "ae", "Booking: earliest fit" -> "booking-earliest-fit")."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def plain(markdown: str) -> str:
    """Markdown inline markup removed: links keep their text, no backticks or emphasis."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", markdown)
    text = text.replace("`", "")
    text = re.sub(r"\*\*([^*]+)\*\*", r"\1", text)
    text = re.sub(r"(?<!\w)\*([^*]+)\*(?!\w)", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


@dataclass
class Section:
    level: int
    title: str
    lines: list[str]

    @property
    def anchor(self) -> str:
        return anchor(self.title)


def sections(text: str) -> list[Section]:
    """Every heading with the lines up to the next heading (code blocks are not headings)."""
    out: list[Section] = []
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        match = None if fenced else _HEADING.match(line)
        if match:
            out.append(Section(len(match.group(1)), match.group(2), []))
        elif out:
            out[-1].lines.append(line)
    return out


def changed_since(commit: str | None, path: Path = MODEL_DOC) -> bool | None:
    """Whether the file differs from its version at ``commit`` (None: git cannot tell, as for
    the copy in an installed package)."""
    if not commit or SOURCE_ROOT is None:
        return None
    try:
        diff = subprocess.run(
            ["git", "diff", "--quiet", commit, "--", path.name],
            cwd=path.parent,
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return {0: False, 1: True}.get(diff.returncode)


def read(path: Path = MODEL_DOC) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return None


def excerpt(text: str, section_anchor: str, limit: int = EXCERPT_CHARACTERS) -> str | None:
    """The opening prose (and bullet points) of a section, without diagrams or tables, cut at
    the last full sentence within ``limit`` characters; None if there is no such section."""
    found = sections(text)
    start = next((i for i, s in enumerate(found) if s.anchor == section_anchor), None)
    if start is None:
        return None
    lines = list(found[start].lines)
    for sub in found[start + 1 :]:  # its sub-sections too (some sections open with one)
        if sub.level <= found[start].level:
            break
        lines += [f"{sub.title}:", *sub.lines]
    parts, fenced = [], False
    for line in lines:
        if line.startswith("```"):
            fenced = not fenced
            continue
        if fenced or line.lstrip().startswith("|"):
            continue
        parts.append(line.lstrip().removeprefix(">"))  # a quoted formula reads as prose
    prose = plain("\n".join(parts))
    if len(prose) <= limit:
        return prose
    cut = prose[:limit]
    end = max(cut.rfind(". "), cut.rfind(".)"), cut.rfind(": "))
    return (cut[: end + 1] if end > 0 else cut.rstrip()) + " [...]"


def _table(lines: list[str]) -> pd.DataFrame | None:
    rows = [
        [plain(cell) for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        for line in lines
        if line.lstrip().startswith("|")
    ]
    rows = [r for r in rows if not all(set(c) <= set("-: ") for c in r)]  # the |---| rule
    if len(rows) < 2:
        return None
    width = len(rows[0])
    body = [r + [""] * (width - len(r)) if len(r) < width else r[:width] for r in rows[1:]]
    return pd.DataFrame(body, columns=rows[0])


def assumption_tables(text: str) -> list[tuple[str, pd.DataFrame]]:
    """The tables of the "Assumptions and sources" section, one per sub-section, with its
    title: every setting's value, unit, source key and confidence."""
    out, inside = [], False
    for s in sections(text):
        if s.level <= 2:
            inside = s.anchor == ASSUMPTIONS_ANCHOR
            continue
        if inside:
            table = _table(s.lines)
            if table is not None:
                out.append((plain(s.title), table))
    return out
