"""Reading a board paper's files back as a reader's tools would: the PDF with poppler
(pdfinfo, pdffonts, pdftotext, pdftoppm) and the Word document with python-docx.

poppler-utils is a system package: `.ci/run` installs it on a fresh machine; where it is
missing the PDF checks are skipped with that reason.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

A4_POINTS = (595.276, 841.89)


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} not found: install poppler-utils (.ci/run does on CI)")
    return path


def run(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True, timeout=120).stdout


def page_count(pdf: Path) -> int:
    return int(re.search(r"^Pages:\s+(\d+)", run(need("pdfinfo"), str(pdf)), re.M).group(1))


def page_sizes(pdf: Path) -> list[tuple[float, float]]:
    out = run(need("pdfinfo"), "-f", "1", "-l", str(page_count(pdf)), str(pdf))
    return [
        (float(w), float(h)) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", out)
    ]


def fonts(pdf: Path) -> list[dict[str, str]]:
    """pdffonts' table: name, type, embedded."""
    lines = run(need("pdffonts"), str(pdf)).splitlines()[2:]
    rows = []
    for line in lines:
        # type names have spaces ("Type 3", "CID TrueType"): read the fixed columns
        rows.append(
            {"name": line[:37].strip(), "type": line[37:55].strip(), "emb": line[72:76].strip()}
        )
    return rows


def page_texts(pdf: Path) -> list[str]:
    """The text of each page (pdftotext separates pages with form feeds)."""
    text = run(need("pdftotext"), "-layout", str(pdf), "-")
    return text.split("\f")[: page_count(pdf)]


def docx_paragraphs_before_first_page_break(doc) -> list[str]:
    """The Word document's first page as written: every paragraph up to the first explicit
    page break."""
    out = []
    for p in doc.paragraphs:
        out.append(p.text)
        if any(
            br.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}type") == "page"
            for br in p._p.iter("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}br")
        ):
            break
    return out


def docx_text(doc) -> str:
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(c.text for c in row.cells)
    return "\n".join(parts)
