"""The board paper as a typeset A4 PDF, with ReportLab.

- **Fonts**: DejaVu Sans, the TrueType family that ships with matplotlib (so nothing is
  downloaded and every machine has it), embedded as subsets: no Type 3 fonts.
- **Pages**: A4 portrait; a part of the paper holding a table too wide for portrait is set on
  A4 landscape pages. A part runs from one heading to the next heading that follows content,
  so a heading and the text that introduces a table always turn with it.
- **Headings are kept with what follows them**, and a figure with its title and caption
  (ReportLab's keep-with-next; a figure is never a container, which would break the chain).
- **Tables** repeat their header row on every page they run onto and split between rows.
  Column widths come from the text: no column is narrower than its longest word, so names
  are never cut or broken mid-word; a table is set smaller (down to 6 pt) before it goes
  landscape.
- Results not fit for a board carry the banner under the title and a red strip on every page.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

import matplotlib
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    Image,
    ListFlowable,
    ListItem,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from sim.report.document import Block, fmt

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONTS = {
    "Body": "DejaVuSans.ttf",
    "Body-Bold": "DejaVuSans-Bold.ttf",
    "Body-Italic": "DejaVuSans-Oblique.ttf",
    "Body-BoldItalic": "DejaVuSans-BoldOblique.ttf",
}
MARGIN = 1.8 * cm
BANNER_RED = colors.HexColor("#B00020")
HEADER_FILL = colors.HexColor("#E6ECF2")
RULE = colors.HexColor("#9AA5B1")
#: Table text sizes tried, largest first, before a table goes landscape (points).
TABLE_SIZES = (7.5, 7.0, 6.5, 6.0)
CELL_PAD = 3.0


def _register_fonts() -> None:
    if "Body" in pdfmetrics.getRegisteredFontNames():
        return
    for name, file in FONTS.items():
        pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / file)))
    from reportlab.pdfbase.pdfmetrics import registerFontFamily

    registerFontFamily(
        "Body", normal="Body", bold="Body-Bold", italic="Body-Italic", boldItalic="Body-BoldItalic"
    )


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName="Body", fontSize=9.5, leading=12.5, spaceAfter=5)
    heading = {"fontName": "Body-Bold", "keepWithNext": 1, "textColor": colors.HexColor("#1D2B3A")}
    return {
        "p": base,
        "h1": ParagraphStyle("h1", parent=base, fontSize=17, leading=21, spaceAfter=8, **heading),
        "h2": ParagraphStyle(
            "h2", parent=base, fontSize=14, leading=18, spaceBefore=10, spaceAfter=6, **heading
        ),
        "h3": ParagraphStyle(
            "h3", parent=base, fontSize=11.5, leading=15, spaceBefore=8, spaceAfter=4, **heading
        ),
        "h4": ParagraphStyle(
            "h4", parent=base, fontSize=10, leading=13, spaceBefore=6, spaceAfter=3, **heading
        ),
        "intro": ParagraphStyle("intro", parent=base, keepWithNext=1),
        "caption": ParagraphStyle(
            "caption",
            parent=base,
            fontName="Body-Bold",
            fontSize=8.5,
            leading=11,
            spaceBefore=4,
            spaceAfter=3,
            keepWithNext=1,
        ),
        "figcaption": ParagraphStyle(
            "figcaption",
            parent=base,
            fontName="Body-Italic",
            fontSize=8,
            leading=10,
            textColor=colors.HexColor("#444444"),
        ),
        "banner": ParagraphStyle(
            "banner", parent=base, fontName="Body-Bold", textColor=colors.white, spaceAfter=0
        ),
    }


def _text(s: str) -> str:
    return escape(str(s))


# ---------------------------------------------------------------- tables


def _longest_word(text: str, font: str, size: float) -> float:
    return max((pdfmetrics.stringWidth(w, font, size) for w in text.split()), default=0.0)


def column_widths(
    header: list[str], rows: list[list[str]], width: float
) -> tuple[list[float], float] | None:
    """Column widths and text size that fit ``width`` with no word broken, or None.

    Each column gets at least its longest word; the room left goes to the columns whose
    text would otherwise wrap most, up to their full length."""
    for size in TABLE_SIZES:
        least, most = [], []
        for j, head in enumerate(header):
            cells = [r[j] for r in rows]
            least.append(
                2 * CELL_PAD
                + max(
                    _longest_word(head, "Body-Bold", size),
                    *(_longest_word(c, "Body", size) for c in cells),
                    0.0,
                )
            )
            most.append(
                2 * CELL_PAD
                + max(
                    pdfmetrics.stringWidth(head, "Body-Bold", size),
                    *(pdfmetrics.stringWidth(c, "Body", size) for c in cells),
                    0.0,
                )
            )
        if sum(least) > width:
            continue
        widths = list(least)
        spare = width - sum(widths)
        wanting = [max(m - w, 0.0) for m, w in zip(most, widths, strict=True)]
        total = sum(wanting)
        if total <= spare:
            return list(most), size
        widths = [w + spare * want / total for w, want in zip(widths, wanting, strict=True)]
        return widths, size
    return None


def _table_flowable(block: Block, width: float, styles) -> Flowable:
    header = [str(c) for c in block.table.columns]
    rows = [[fmt(v) for v in row] for row in block.table.itertuples(index=False)]
    fitted = column_widths(header, rows, width)
    if fitted is None:
        raise ValueError(f"table {block.text!r} is wider than an A4 landscape page")
    widths, size = fitted
    cell = ParagraphStyle(
        "cell", fontName="Body", fontSize=size, leading=size * 1.22, splitLongWords=0
    )
    head = ParagraphStyle("head", parent=cell, fontName="Body-Bold")
    data = [[Paragraph(_text(h), head) for h in header]]
    data += [[Paragraph(_text(c), cell) for c in r] for r in rows]
    table = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), "Body"),  # not the default Helvetica
                ("GRID", (0, 0), (-1, -1), 0.4, RULE),
                ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), CELL_PAD),
                ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PAD),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def needs_landscape(block: Block, portrait_width: float) -> bool:
    _register_fonts()  # widths are measured in the paper's fonts (the Word paper asks too)
    header = [str(c) for c in block.table.columns]
    rows = [[fmt(v) for v in row] for row in block.table.itertuples(index=False)]
    return column_widths(header, rows, portrait_width) is None


# ---------------------------------------------------------------- figures


class FittedFigure(Flowable):
    """A figure with its title and caption, as wide as the frame, shrunk if need be to fit the
    room left on the page; it records that room (``room``, points), so the figure can be
    drawn again for exactly that space (fonts at full size)."""

    def __init__(
        self,
        title: Paragraph,
        png: bytes,
        caption: Paragraph,
        key: str,
        least: float = 0.0,
        images: bool = True,
    ):
        super().__init__()
        self.title, self.png, self.caption, self.key = title, png, caption, key
        self.least, self.images = least, images
        self.aspect = png_aspect(png)
        self.room: tuple[float, float] | None = None

    def wrap(self, avail_width, avail_height):
        _, th = self.title.wrap(avail_width, avail_height)
        _, ch = self.caption.wrap(avail_width, avail_height)
        self.text_height = th + ch + self.title.style.spaceAfter + 4
        room = avail_height - self.text_height - 2
        self.room = (avail_width, room)
        w = avail_width
        h = w * self.aspect
        if h > room >= self.least * h:
            w, h = room / self.aspect, room
        self.image_size = (w, h)
        self.width, self.height = avail_width, h + self.text_height
        return self.width, self.height

    def draw(self):
        w, h = self.image_size
        _, ch = self.caption.wrap(self.width, self.height)
        self.caption.drawOn(self.canv, 0, 0)
        if self.images:
            Image(io.BytesIO(self.png), width=w, height=h).drawOn(self.canv, 0, ch + 4)
        _, th = self.title.wrap(self.width, self.height)
        self.title.drawOn(self.canv, 0, self.height - th)


def png_aspect(png: bytes) -> float:
    from PIL import Image as PILImage

    with PILImage.open(io.BytesIO(png)) as im:
        return im.height / im.width


class _Room(Flowable):
    """The room an image takes, with nothing drawn in it: a paper set only to be measured
    (:func:`render_pdf`) lays out exactly as with the image, without decoding and compressing
    every figure."""

    def __init__(self, width: float, height: float, h_align: str):
        super().__init__()
        self.width, self.height, self.hAlign = width, height, h_align

    def wrap(self, avail_width, avail_height):
        return self.width, self.height

    def draw(self):
        pass


def _figure(
    block: Block,
    png: bytes,
    width: float,
    height: float,
    styles,
    least: float | None,
    images: bool = True,
) -> list:
    """Title, image and caption; the title and image are kept with what follows them.
    ``least`` makes it a :class:`FittedFigure` that shrinks to no less than that share;
    without ``images``, each image's room is left empty (:class:`_Room`)."""
    title = Paragraph(_text(block.figure.title), styles["h4"])
    caption = Paragraph(_text(block.figure.caption), styles["figcaption"])
    if least is not None:
        return [FittedFigure(title, png, caption, block.figure.key, least, images)]
    aspect = png_aspect(png)
    w = width
    room = height - 80  # title and caption
    if w * aspect > room:
        w = room / aspect
    if images:
        image = Image(io.BytesIO(png), width=w, height=w * aspect, hAlign="LEFT")
    else:
        image = _Room(w, w * aspect, "LEFT")
    image.keepWithNext = 1
    return [title, image, caption, Spacer(1, 8)]


# ---------------------------------------------------------------- layout


def parts(blocks: list[Block]) -> list[list[Block]]:
    """Blocks in parts: a new part starts at an h2 or h3 heading once the current part holds
    content (a table, figure or list), so introductions stay with what they introduce."""
    parts: list[list[Block]] = [[]]
    for b in blocks:
        if b.kind in ("h2", "h3") and any(x.kind in ("table", "figure", "list") for x in parts[-1]):
            parts.append([])
        parts[-1].append(b)
    return [p for p in parts if p]


def _story(
    blocks: list[Block], pngs: dict[str, bytes], styles, least: float | None, images: bool
) -> list[Flowable]:
    """The flowables of the paper; the first figure is fitted to its page (``least`` and
    ``images``: see :func:`_figure`)."""
    portrait_w = A4[0] - 2 * MARGIN
    portrait_h = A4[1] - 2 * MARGIN
    landscape_w = A4[1] - 2 * MARGIN
    landscape_h = A4[0] - 2 * MARGIN
    story: list[Flowable] = []
    orientation = "portrait"
    first_figure = True
    for part in parts(blocks):
        wide = any(b.kind == "table" and needs_landscape(b, portrait_w) for b in part)
        wanted = "landscape" if wide else "portrait"
        starts_page = part[0].kind == "pagebreak"
        if wanted != orientation:
            story.append(NextPageTemplate(wanted))
            if not starts_page:
                story.append(PageBreak())
            orientation = wanted
        width, height = (landscape_w, landscape_h) if wide else (portrait_w, portrait_h)
        for i, b in enumerate(part):
            following = part[i + 1].kind if i + 1 < len(part) else None
            after_heading = i > 0 and part[i - 1].kind in ("h1", "h2", "h3", "h4")
            if b.kind in ("h1", "h2", "h3", "h4"):
                story.append(Paragraph(_text(b.text), styles[b.kind]))
            elif b.kind == "p":
                lead = f"<b>{_text(b.lead)}</b> " if b.lead else ""
                # a paragraph that introduces a table, a figure or a section goes with it (not
                # the fitted figure: a keep-together group would measure it at full size)
                intro = (
                    following == "table"
                    or (following == "figure" and not first_figure)
                    or (after_heading and following in ("h3", "h4"))
                )
                style = styles["intro"] if intro else styles["p"]
                story.append(Paragraph(lead + _text(b.text), style))
            elif b.kind == "list":
                items = [ListItem(Paragraph(_text(i), styles["p"]), leftIndent=12) for i in b.items]
                story.append(
                    ListFlowable(
                        items,
                        bulletType="bullet",
                        start="•",
                        bulletFontName="Body",
                        leftIndent=12,
                    )
                )
            elif b.kind == "banner":
                box = Table([[Paragraph(_text(b.text), styles["banner"])]], colWidths=[width])
                box.setStyle(
                    TableStyle(
                        [
                            ("FONTNAME", (0, 0), (-1, -1), "Body"),
                            ("BACKGROUND", (0, 0), (-1, -1), BANNER_RED),
                            ("LEFTPADDING", (0, 0), (-1, -1), 8),
                            ("RIGHTPADDING", (0, 0), (-1, -1), 8),
                            ("TOPPADDING", (0, 0), (-1, -1), 6),
                            ("BOTTOMPADDING", (0, 0), (-1, -1), 7),
                        ]
                    )
                )
                story += [box, Spacer(1, 8)]
            elif b.kind == "pagebreak":
                story.append(PageBreak())
            elif b.kind == "table":
                story.append(Paragraph(_text(b.text), styles["caption"]))
                story += [_table_flowable(b, width, styles), Spacer(1, 8)]
            elif b.kind == "figure":
                fitted = least if first_figure else None
                story += _figure(b, pngs[b.figure.key], width, height, styles, fitted, images)
                first_figure = False
    return story


#: Without a redraw, the summary page's figure shrinks to no less than this share of its size
#: to stay on the page; smaller, it starts the next page.
LEAST_SHRINK = 0.5


def render_pdf(
    blocks: list[Block],
    pngs: dict[str, bytes],
    redraw: Callable[[float, float], bytes | None] | None = None,
) -> bytes:
    """The paper as PDF bytes: ``pngs`` holds each figure's PNG by key (print resolution).

    ``redraw(width, height)`` (inches), when given, draws the first figure again to fill the
    room the summary page leaves it (None when that is too little): the paper is set once to
    measure that room, then again with the figure drawn for it, or, when it cannot be, with
    the figure shrunk to fit (:data:`LEAST_SHRINK`). The measuring pass leaves the images
    out, keeping their room (:class:`_Room`): decoding and compressing a board paper's
    figures took about 2 s of CPU a pass."""
    _register_fonts()
    # Streams compressed only, not also written out as ASCII85 text (ReportLab's default,
    # encoded in pure Python here: about 1 s of CPU for a board paper's figures, and a fifth
    # more bytes); every PDF reader takes binary streams.
    rl_config.useA85 = 0
    styles = _styles()
    if redraw is None:
        return _typeset(blocks, pngs, styles, LEAST_SHRINK)[0]
    _, fitted = _typeset(blocks, pngs, styles, 0.0, images=False)
    if fitted is None or fitted.room is None:
        return _typeset(blocks, pngs, styles, 0.0)[0]
    png = redraw(*(v / 72 for v in fitted.room))
    if png is None:
        return _typeset(blocks, pngs, styles, LEAST_SHRINK)[0]
    return _typeset(blocks, {**pngs, fitted.key: png}, styles, 0.0)[0]


def _typeset(
    blocks, pngs, styles, least: float | None, images: bool = True
) -> tuple[bytes, FittedFigure | None]:
    title = blocks[0].text if blocks else "Report"
    warned = any(b.kind == "banner" for b in blocks)

    def decorate(canvas, doc) -> None:
        w, h = canvas._pagesize
        canvas.saveState()
        canvas.setFont("Body", 7)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(MARGIN, MARGIN / 2, title)
        canvas.drawRightString(w - MARGIN, MARGIN / 2, f"Page {doc.page}")
        if warned:
            canvas.setFillColor(BANNER_RED)
            canvas.rect(0, h - 0.55 * cm, w, 0.55 * cm, stroke=0, fill=1)
            canvas.setFillColor(colors.white)
            canvas.setFont("Body-Bold", 7.5)
            canvas.drawCentredString(
                w / 2, h - 0.38 * cm, "NOT FOR DECISIONS: see the warning on the first page"
            )
        canvas.restoreState()

    buf = io.BytesIO()
    doc = BaseDocTemplate(
        buf,
        pagesize=A4,
        title=title,
        author="NHS primary and urgent care capacity simulator",
        subject="Board paper",
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        # The canvas starts every page in Helvetica unless told otherwise: a font that is not
        # embedded, which print shops and archives refuse.
        initialFontName="Body",
    )
    templates = []
    for name, size in (("portrait", A4), ("landscape", landscape(A4))):
        frame = Frame(MARGIN, MARGIN, size[0] - 2 * MARGIN, size[1] - 2 * MARGIN, id=name)
        templates.append(PageTemplate(id=name, frames=[frame], onPage=decorate, pagesize=size))
    doc.addPageTemplates(templates)
    story = _story(blocks, pngs, styles, least, images)
    fitted = next((f for f in story if isinstance(f, FittedFigure)), None)
    doc.build(story)
    return buf.getvalue(), fitted


__all__ = ["render_pdf", "column_widths", "needs_landscape", "parts", "png_aspect"]
