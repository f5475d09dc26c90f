"""The board paper as an editable Word document (.docx), with python-docx.

Word's own styles carry the structure, so a reader can restyle, navigate and edit it: the
title in "Title", sections in "Heading 1" to "Heading 3" (kept with the next paragraph),
bullets in "List Bullet", figure and table captions in "Caption", tables in a built-in table
style with the header row repeated on every page and rows that do not split. Pages are A4; a
part holding a table too wide for portrait is a landscape A4 section (the same parts as the
PDF: :func:`sim.report.pdf.parts`). Results not fit for a board carry the banner, shaded red,
under the title.
"""

from __future__ import annotations

import io

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Emu, Pt, RGBColor

from sim.report.document import Block, fmt
from sim.report.pdf import MARGIN, needs_landscape, parts, png_aspect

A4_WIDTH, A4_HEIGHT = Cm(21.0), Cm(29.7)
WORD_MARGIN = Cm(2.0)
#: The summary page's figure is no taller than this, so the summary stays on one page.
SUMMARY_FIGURE_HEIGHT = Cm(10.5)
HEADING_STYLE = {"h1": "Title", "h2": "Heading 1", "h3": "Heading 2", "h4": "Heading 3"}
TABLE_STYLE = "Light Grid Accent 1"
BANNER_FILL = "B00020"


def _shade(paragraph, fill: str) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    ppr.append(shd)


def _row_flag(row, tag: str) -> None:
    """Set a row property (``w:tblHeader`` repeats the row on every page, ``w:cantSplit``
    keeps a row on one page)."""
    trpr = row._tr.get_or_add_trPr()
    flag = OxmlElement(tag)
    flag.set(qn("w:val"), "true")
    trpr.append(flag)


def _orient(section, landscape: bool) -> None:
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (
        (A4_HEIGHT, A4_WIDTH) if landscape else (A4_WIDTH, A4_HEIGHT)
    )
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, WORD_MARGIN)


def _table(doc, block: Block) -> None:
    caption = doc.add_paragraph(block.text, style="Caption")
    caption.paragraph_format.keep_with_next = True
    frame = block.table
    table = doc.add_table(rows=1, cols=len(frame.columns))
    table.style = doc.styles[TABLE_STYLE]
    small = Pt(8) if len(frame.columns) <= 5 else Pt(7.5)
    for cell, name in zip(table.rows[0].cells, frame.columns, strict=True):
        run = cell.paragraphs[0].add_run(str(name))
        run.bold, run.font.size = True, small
    _row_flag(table.rows[0], "w:tblHeader")
    for values in frame.itertuples(index=False):
        row = table.add_row()
        _row_flag(row, "w:cantSplit")
        for cell, v in zip(row.cells, values, strict=True):
            run = cell.paragraphs[0].add_run(fmt(v))
            run.font.size = small
    doc.add_paragraph()


def render_docx(blocks: list[Block], pngs: dict[str, bytes]) -> bytes:
    """The paper as .docx bytes: ``pngs`` holds each figure's PNG by key."""
    doc = Document()
    doc.core_properties.title = blocks[0].text if blocks else "Report"
    doc.core_properties.author = "NHS primary and urgent care capacity simulator"
    doc.core_properties.subject = "Board paper"
    doc.styles["Normal"].font.size = Pt(10)
    _orient(doc.sections[0], landscape=False)
    landscape = False
    first_figure = True
    portrait_width = A4_WIDTH.pt - 2 * MARGIN
    for part in parts(blocks):
        wide = any(b.kind == "table" and needs_landscape(b, portrait_width) for b in part)
        if wide != landscape:
            _orient(doc.add_section(WD_SECTION.NEW_PAGE), landscape=wide)
            landscape = wide
            if part[0].kind == "pagebreak":
                part = part[1:]
        width = Emu((A4_HEIGHT if landscape else A4_WIDTH) - 2 * WORD_MARGIN)
        for b in part:
            if b.kind in HEADING_STYLE:
                doc.add_paragraph(b.text, style=HEADING_STYLE[b.kind])
            elif b.kind == "p":
                p = doc.add_paragraph()
                if b.lead:
                    p.add_run(b.lead + " ").bold = True
                p.add_run(b.text)
            elif b.kind == "list":
                for item in b.items:
                    doc.add_paragraph(item, style="List Bullet")
            elif b.kind == "banner":
                p = doc.add_paragraph()
                _shade(p, BANNER_FILL)
                run = p.add_run(b.text)
                run.bold = True
                run.font.color.rgb = RGBColor(0xFF, 0xFF, 0xFF)
            elif b.kind == "pagebreak":
                doc.add_page_break()
            elif b.kind == "table":
                _table(doc, b)
            elif b.kind == "figure":
                head = doc.add_paragraph(b.figure.title, style="Heading 3")
                head.paragraph_format.keep_with_next = True
                png = pngs[b.figure.key]
                shown = width
                if first_figure:
                    shown = Emu(min(width, int(SUMMARY_FIGURE_HEIGHT / png_aspect(png))))
                    first_figure = False
                doc.add_picture(io.BytesIO(png), width=shown)
                doc.paragraphs[-1].paragraph_format.keep_with_next = True
                doc.add_paragraph(b.figure.caption, style="Caption")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
