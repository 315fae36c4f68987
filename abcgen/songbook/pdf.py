"""`DIR/songbook.pdf`: a title page, the tunes in order, an index by title and by rhythm.

abcm2ps typesets the title page and the tunes, always with `-S` (secure mode: no file
inclusion, no PostScript injection) on input already stripped of directives (tunes.py). Each
tune is headed '7. The Kesh' with a line 'Jig · G major · 6/8' under its title; abcm2ps moves a
tune that doesn't fit on the rest of a page to the next one (`splittune 0`) and numbers the
pages in the footer (not the title page). Which page a tune starts on is read back from the
PostScript abcm2ps writes: it marks each page (`%%Page: n n`, DSC) and each tune
(`% --- xref N`). The index pages (index_pages.py) then go after the last tune page, and
Ghostscript's pdfwrite (what `ps2pdf` runs) joins both into the PDF.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path

from abcgen.errors import AbcgenError
from abcgen.notation import BodyLine, dumps
from abcgen.songbook.index_pages import PAPERS, Paper, index_postscript, rhythm_name
from abcgen.songbook.tunes import NO_RHYTHM, BookTune

PDF_NAME = "songbook.pdf"
TOOLS = ("abcm2ps", "gs")
TITLE_CHARS = 100  # a longer book title is cut on the title page
SECONDS_PER_TUNE = 2.0  # tool time-outs: generous, only there to stop a hang
MIN_TIMEOUT = 60.0
PAGE_MARK = re.compile(r"^%%Page: \S+ (\d+)")  # DSC page comment: label, ordinal
TUNE_MARK = re.compile(r"^% --- xref (\d+)")  # abcm2ps's comment at the start of each tune
MESSAGE = re.compile(r"^[^:]*:(\d+):\d+: error: (.*)$")  # abcm2ps: file:line:col: error: text

# Layout for the whole book (our own directives, never the input's): Times like the index,
# a 0.75 scale so a reel fits in about a third of a page, page numbers centred in the footer
# ('-' leaves the title page unnumbered), tune numbers before titles, PDF bookmarks.
LAYOUT = """%%pagewidth {width}
%%pageheight {height}
%%topmargin 1.4cm
%%botmargin 1.6cm
%%leftmargin 1.8cm
%%rightmargin 1.8cm
%%scale 0.75
%%titlefont Times-Bold 19
%%subtitlefont Times-Italic 14
%%composerfont Times-Italic 13
%%footerfont Times-Roman 15
%%footer "-\t$P\t"
%%withxrefs 1
%%splittune 0
%%pdfmark 1
%%musicspace 4
%%titlespace 14
%%textspace 8
"""
TITLE_PAGE = """%%vskip 7cm
%%textfont Times-Bold 48
%%center {title}
%%vskip 1cm
%%textfont Times-Italic 20
%%center {count}
%%vskip 12cm
%%textfont Times-Roman 14
%%center {date}
%%center made with abcgen
%%newpage
%%textfont Times-Italic 14
"""


@dataclass
class PdfResult:
    """What the PDF step did: `status` 'ok', 'skipped' (a tool missing) or 'error';
    `pages` (tune number -> page it starts on), page count, and per-tune typesetting
    errors from abcm2ps (tune number -> messages)."""

    status: str
    path: Path | None = None
    pages: dict[int, int] = field(default_factory=dict)
    page_count: int = 0
    tune_errors: dict[int, list[str]] = field(default_factory=dict)
    error: str | None = None

    @property
    def warning(self) -> str | None:
        """What the book's warnings say of the PDF: why it is off or failed; None when it
        was made or not asked for."""
        return f"PDF failed: {self.error}" if self.status == "error" else self.error


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def info_line(tune: BookTune) -> str:
    """'Jig · G major · 6/8' (parts that are unknown are left out)."""
    rhythm = rhythm_name(tune.rhythm.lower()) if tune.rhythm != NO_RHYTHM else ""
    return " · ".join(part for part in (rhythm, tune.key, tune.meter) if part)


def _one_line(text: str, limit: int) -> str:
    """User text made safe for a directive line: printable characters only, cut to `limit`."""
    return "".join(ch for ch in text if ch.isprintable()).strip()[:limit]


def book_abc(title: str, tunes: list[BookTune], paper: Paper) -> tuple[str, list[int]]:
    """The book as one ABC text for abcm2ps, and the line each tune starts on (1-based)."""
    count = f"{len(tunes)} tune{'s' if len(tunes) != 1 else ''}"
    text = LAYOUT.format(width=paper.abc_width, height=paper.abc_height) + TITLE_PAGE.format(
        title=_one_line(title, TITLE_CHARS), count=count,
        date=datetime.date.today().strftime("%B %Y")) + "\n"
    starts = []
    for tune in tunes:
        starts.append(text.count("\n") + 1)
        info = BodyLine(f"%%center {info_line(tune)}", 0)
        text += dumps(replace(tune.tune, body=[info, *tune.tune.body])) + "\n"
    return text, starts


def pages_of(postscript: str) -> tuple[dict[int, int], int]:
    """(tune number -> page it starts on, page count) from abcm2ps's PostScript comments."""
    pages, page = {}, 0
    for line in postscript.splitlines():
        if (mark := PAGE_MARK.match(line)) is not None:
            page = int(mark[1])
        elif (mark := TUNE_MARK.match(line)) is not None:
            pages.setdefault(int(mark[1]), page)
    return pages, page


def tune_errors(stderr: str, starts: list[int], tunes: list[BookTune]) -> dict[int, list[str]]:
    """abcm2ps's error messages, each given to the tune whose lines it names."""
    found: dict[int, list[str]] = {}
    for line in stderr.splitlines():
        if (message := MESSAGE.match(line)) is None:
            continue
        index = sum(1 for start in starts if start <= int(message[1])) - 1
        if index >= 0:
            found.setdefault(tunes[index].number, []).append(message[2].strip())
    return found


def _run(command: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                              timeout=timeout, errors="replace")
    except subprocess.TimeoutExpired as exc:
        raise AbcgenError(f"{command[0]} took over {timeout:.0f} s and was stopped") from exc


def _typeset(book: str, work: Path, timeout: float) -> tuple[str, str]:
    """abcm2ps -S on the book text: (PostScript, stderr). rc 1 only means some tune had an
    error (it is typeset anyway); no PostScript at all is a failure."""
    (work / "book.abc").write_text(book, encoding="utf-8")
    (work / "tunes.ps").unlink(missing_ok=True)
    done = _run(["abcm2ps", "-S", "book.abc", "-O", "tunes.ps"], work, timeout)
    postscript = work / "tunes.ps"
    if done.returncode > 1 or not postscript.is_file():
        raise AbcgenError(f"abcm2ps failed (exit {done.returncode}): {done.stderr.strip()[-300:]}")
    return postscript.read_text(encoding="latin-1"), done.stderr


def _to_pdf(parts: list[str], target: Path, paper: Paper, work: Path, timeout: float) -> None:
    """Ghostscript's pdfwrite (as ps2pdf) on the PostScript files `parts`, in order, written
    to a temporary name in `target`'s folder and renamed onto it."""
    partial = work.resolve() / f".{target.name}.{os.getpid()}.tmp"
    command = ["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pdfwrite",
               f"-sPAPERSIZE={paper.name}", "-dFIXEDMEDIA", f"-sOutputFile={partial}", *parts]
    done = _run(command, work, timeout)
    if done.returncode != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        raise AbcgenError(f"ghostscript failed (exit {done.returncode}): "
                          f"{(done.stderr or done.stdout).strip()[-300:]}")
    os.replace(partial, target)


def make_pdf(title: str, tunes: list[BookTune], out_dir: Path, work: Path,
             paper_name: str = "a4") -> PdfResult:
    """Typeset `tunes` into `out_dir`/songbook.pdf (temporary files in `work`).

    Never raises for a tool problem: a missing abcm2ps/Ghostscript gives status 'skipped',
    a failing one 'error', each with the reason, so the rest of the book still gets made.
    """
    if missing := missing_tools():
        return PdfResult("skipped", error=f"PDF off: {', '.join(missing)} not installed "
                         "(Debian packages abcm2ps, ghostscript)")
    paper = PAPERS[paper_name]
    timeout = max(MIN_TIMEOUT, SECONDS_PER_TUNE * len(tunes))
    work.mkdir(parents=True, exist_ok=True)
    try:
        book, starts = book_abc(title, tunes, paper)
        postscript, stderr = _typeset(book, work, timeout)
        pages, page_count = pages_of(postscript)
        index, index_count = index_postscript(tunes, pages, page_count + 1, paper)
        (work / "index.ps").write_text(index, encoding="latin-1")
        _to_pdf(["tunes.ps", "index.ps"], out_dir / PDF_NAME, paper, work, timeout)
    except AbcgenError as exc:
        return PdfResult("error", error=str(exc))
    return PdfResult("ok", out_dir / PDF_NAME, pages, page_count + index_count,
                     tune_errors(stderr, starts, tunes))
