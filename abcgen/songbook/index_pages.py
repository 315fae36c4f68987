"""The songbook's index pages, as PostScript we write ourselves: by title, then by rhythm,
each entry with dot leaders to its page number, numbered on from the last tune page.

abcm2ps can't right-align a page number after a title, so the index is drawn here with the
same fonts (Times, re-encoded to ISO Latin-1 so accented titles print) and joined to the
tunes' PostScript by Ghostscript (pdf.py). Only our own code writes PostScript; titles go in
as escaped string literals.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass

from abcgen.songbook.tunes import NO_RHYTHM, BookTune

POINTS_PER_CM = 72 / 2.54


@dataclass(frozen=True)
class Paper:
    """A page size: name as Ghostscript knows it, width and height in PostScript points,
    and the same as abcm2ps lengths (given in cm or in: abcm2ps scales lengths in pt by
    %%scale)."""

    name: str
    width: float
    height: float
    abc_width: str
    abc_height: str


PAPERS = {"a4": Paper("a4", 595.0, 842.0, "21cm", "29.7cm"),
          "letter": Paper("letter", 612.0, 792.0, "8.5in", "11in")}

MARGIN = 1.8 * POINTS_PER_CM  # left/right, as the tune pages (abcm2ps leftmargin)
TOP = 2.2 * POINTS_PER_CM  # from the page top to the first baseline
BOTTOM = 2.6 * POINTS_PER_CM  # the last baseline stays above the page number
FOOTER_Y = 0.9 * POINTS_PER_CM  # page number baseline, as abcm2ps's footer
LINE = 15.0  # points between entry baselines
HEADING_LINES = 3  # a page heading takes this many entry lines
GROUP_LINES = 2  # a rhythm heading: a blank line and its own
ENTRY_CHARS = 70  # longer titles are cut (a 5,000-character title must not run off the page)
OTHER_RHYTHMS = "Other tunes"  # the group for tunes without R:

PROLOGUE = """%!PS-Adobe-3.0
%%Creator: abcgen songbook
%%Pages: {pages}
%%EndComments
/latin1 {{ findfont dup length dict begin {{ 1 index /FID ne {{ def }} {{ pop pop }} ifelse }}
  forall /Encoding ISOLatin1Encoding def currentdict end definefont pop }} def
/TR /Times-Roman latin1  /TB /Times-Bold latin1  /TI /Times-Italic latin1
/heading {{ /TB findfont 20 scalefont setfont {left} exch moveto show }} def
/group {{ /TB findfont 13 scalefont setfont {left} exch moveto show }} def
/entry {{ % (title) (page) y entry: title at left, page at right, dot leaders between
  /y exch def /pg exch def /TR findfont 11.5 scalefont setfont
  {left} y moveto show currentpoint pop 6 add 5 div ceiling 5 mul
  5 {right} pg stringwidth pop sub 6 sub {{ y moveto (.) show }} for
  {right} pg stringwidth pop sub y moveto pg show }} def
/folio {{ /TR findfont 11 scalefont setfont dup stringwidth pop 2 div {centre} exch sub
  {footer} moveto show }} def
"""


def ps_string(text: str) -> str:
    """A PostScript string literal of `text` in ISO Latin-1: characters outside it (emoji,
    CJK) become '?', control characters are dropped, and ( ) \\ and bytes >= 128 escaped."""
    text = "".join(ch for ch in unicodedata.normalize("NFC", text)
                   if unicodedata.category(ch)[0] != "C")
    out = []
    for byte in text.encode("latin-1", errors="replace"):
        char = chr(byte)
        out.append(f"\\{byte:03o}" if byte >= 128 or char in "()\\" else char)
    return "(" + "".join(out) + ")"


def _short(title: str) -> str:
    return title if len(title) <= ENTRY_CHARS else title[:ENTRY_CHARS - 3].rstrip() + "..."


def rhythm_name(rhythm: str) -> str:
    """'jig' -> 'Jig'; a tune without R: goes under OTHER_RHYTHMS."""
    return rhythm[:1].upper() + rhythm[1:] if rhythm != NO_RHYTHM else OTHER_RHYTHMS


def rhythm_groups(tunes: list[BookTune]) -> dict[str, list[BookTune]]:
    """Tunes grouped by rhythm, 'slip jig', 'Slip-Jig' and 'slipjig' together under the
    first spelling met; groups sorted by name, OTHER_RHYTHMS last."""
    names: dict[str, str] = {}
    groups: dict[str, list[BookTune]] = {}
    for tune in tunes:
        key = "".join(ch for ch in tune.rhythm.lower() if ch.isalnum())
        name = names.setdefault(key, rhythm_name(tune.rhythm.lower().strip()))
        groups.setdefault(name, []).append(tune)
    return dict(sorted(groups.items(), key=lambda item: (item[0] == OTHER_RHYTHMS, item[0])))


def index_lines(tunes: list[BookTune], pages: dict[int, int]) -> list[list[tuple]]:
    """The index as sections, each a list of ('heading'|'group', text) and ('entry', title,
    page) rows; tunes without a page (abcm2ps lost them) are left out."""
    placed = sorted((t for t in tunes if t.number in pages), key=lambda t: t.title.casefold())
    uses = Counter(t.title for t in placed)
    label = {t.number: _short(t.title) + (f" (no. {t.number})" if uses[t.title] > 1 else "")
             for t in placed}  # a repeated title is told apart by the tune's number
    by_title = [("heading", "Index of titles")]
    by_title += [("entry", label[t.number], pages[t.number]) for t in placed]
    by_rhythm = [("heading", "Index by rhythm")]
    for name, group in rhythm_groups(placed).items():
        by_rhythm.append(("group", name))
        by_rhythm += [("entry", label[t.number], pages[t.number]) for t in group]
    return [by_title, by_rhythm]


def _height(row: tuple) -> int:
    return {"heading": HEADING_LINES, "group": GROUP_LINES}.get(row[0], 1)


def paginate(sections: list[list[tuple]], lines_per_page: int) -> list[list[tuple]]:
    """Rows split into pages: each section starts a page, and a rhythm heading is never the
    last row of a page (it moves on with its first entry)."""
    pages: list[list[tuple]] = []
    for section in sections:
        page, used = [], 0
        for index, row in enumerate(section):
            need = _height(row) + (1 if row[0] == "group" and index + 1 < len(section) else 0)
            if page and used + need > lines_per_page:
                pages.append(page)
                page, used = [], 0
            page.append(row)
            used += _height(row)
        pages.append(page)
    return pages


def _page_program(rows: list[tuple], number: int, paper: Paper) -> list[str]:
    y = paper.height - TOP
    out = [f"%%Page: {number} {number}"]
    for row in rows:
        if row[0] == "group":
            y -= LINE  # the blank line above a rhythm heading
        if row[0] == "entry":
            out.append(f"{ps_string(row[1])} ({row[2]}) {y:.1f} entry")
        else:
            out.append(f"{ps_string(row[1])} {y:.1f} {row[0]}")
        y -= LINE * (HEADING_LINES if row[0] == "heading" else 1)
    out += [f"({number}) folio", "showpage"]
    return out


def index_postscript(tunes: list[BookTune], pages: dict[int, int], first_page: int,
                     paper: Paper) -> tuple[str, int]:
    """The index pages as a PostScript program, numbered from `first_page`; and their count.

    `pages` maps a tune's number to the page it starts on.
    """
    lines_per_page = int((paper.height - TOP - BOTTOM) // LINE)
    layout = paginate(index_lines(tunes, pages), lines_per_page)
    prologue = PROLOGUE.format(pages=len(layout), left=f"{MARGIN:.1f}",
                               right=f"{paper.width - MARGIN:.1f}",
                               centre=f"{paper.width / 2:.1f}", footer=f"{FOOTER_Y:.1f}")
    body = [line for offset, rows in enumerate(layout)
            for line in _page_program(rows, first_page + offset, paper)]
    return prologue + "\n".join(body) + "\n%%EOF\n", len(layout)
