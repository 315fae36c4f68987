"""`make_songbook`: a tunebook in, a songbook out (see the package docstring for the layout).

Order of work: read and repair the input (tunes.py), write each tune's .abc, start the PDF in
a thread (abcm2ps and Ghostscript are separate processes, so it overlaps the audio), render
the tunes' MIDI/audio in `jobs` processes (skipping those already up to date), then write
index.html, manifest.json and report.md. Nothing here aborts the book for one tune.
"""

from __future__ import annotations

import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from abcgen.errors import InputError
from abcgen.fileio import atomic_write_text, make_folder
from abcgen.render import MidiOptions, RenderOptions
from abcgen.render.batch import check_formats, check_options, parse_formats
from abcgen.songbook.html import HTML_NAME, make_html
from abcgen.songbook.index_pages import PAPERS
from abcgen.songbook.pdf import PdfResult, make_pdf
from abcgen.songbook.report import manifest_entries, report_markdown
from abcgen.songbook.tunefiles import (STATE_DIR, cached_entry, make_job, remove_stale_temporaries,
                                       render_jobs)
from abcgen.songbook.tunes import BookTune, read_book

BOOK_FORMATS = ("pdf", "html", "mid", "wav", "mp3")
BOOK_FORMAT = "songbook format"  # as errors name a songbook's formats
TUNE_FORMATS = ("mid", "wav", "mp3")  # rendered per tune by the render stage
MANIFEST_NAME = "manifest.json"
REPORT_NAME = "report.md"


class SongbookProgress(Protocol):
    """Told of each tune as its files are made (cached or rendered)."""

    def __call__(self, done: int, total: int, title: str) -> None:
        """`done` of `total` tunes; `title` of the tune just done ("" at the end)."""


@dataclass(frozen=True)
class SongbookOptions:
    """What to make: `title` (None: from the input's file name), `paper` ('a4' or 'letter'),
    `formats` from BOOK_FORMATS, the `instrument` the audio is played on (None: piano),
    `jobs` worker processes and an optional `soundfont` path."""

    title: str | None = None
    paper: str = "a4"
    formats: tuple[str, ...] = BOOK_FORMATS
    instrument: str | None = None
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    soundfont: str | None = None


@dataclass
class SongbookResult:
    """What `make_songbook` made: paths (None where a format was off or failed), the number of
    tunes in the book, rendered now and found up to date, the failures (manifest entries)
    and warnings about features that were off."""

    out_dir: Path
    manifest: Path
    report: Path
    pdf: Path | None
    html: Path | None
    tunes: int
    rendered: int
    up_to_date: int
    failures: list[dict]
    warnings: list[str]


def parse_book_formats(text: str) -> tuple[str, ...]:
    """'pdf,html,mp3' -> ('pdf', 'html', 'mp3'); unknown names raise InputError."""
    return parse_formats(text, BOOK_FORMATS, BOOK_FORMAT)


def _checked(options: SongbookOptions) -> tuple[RenderOptions, list[str]]:
    """The render stage's options for the tunes' files, and warnings for features off (MP3
    without ffmpeg, instrument sounds without FluidSynth). Raises InputError for a bad paper,
    format, instrument, soundfont or job count."""
    if options.paper not in PAPERS:
        raise InputError(f"unknown paper {options.paper!r}; choose from {', '.join(PAPERS)}")
    if options.jobs < 1:
        raise InputError(f"jobs must be at least 1, got {options.jobs}")
    check_formats(options.formats, BOOK_FORMATS, BOOK_FORMAT)
    formats = tuple(f for f in TUNE_FORMATS if f in options.formats)
    warnings = []
    if "mp3" in formats and shutil.which("ffmpeg") is None:
        formats = tuple(f for f in formats if f != "mp3")
        warnings.append("MP3 off: ffmpeg is not installed (Debian package ffmpeg)")
    midi = MidiOptions(instrument=options.instrument)
    render_options = RenderOptions(formats=formats, midi=midi, soundfont=options.soundfont)
    if formats:  # check_options checks the MIDI options too, and warns of the sine fallback
        warnings += check_options(render_options)
    else:
        midi.check()
    return render_options, warnings


def _book_title(options: SongbookOptions, source: Path) -> str:
    title = (options.title or "").strip()
    return title or source.stem.replace("_", " ").replace("-", " ").strip().title() or "Songbook"


def _render(book: list[BookTune], out_dir: Path, render_options: RenderOptions,
            jobs: int, progress: SongbookProgress) -> tuple[dict[int, dict], set[int]]:
    """Each tune's files entry by number, and the numbers that were already up to date."""
    made = [(tune, make_job(tune.tune, tune.stem, out_dir, render_options)) for tune in book]
    if not render_options.formats:
        return {tune.number: {"status": "ok", "files": {}} for tune in book}, set()
    cached = {tune.number: entry for tune, job in made if (entry := cached_entry(job))}
    todo = [job for tune, job in made if tune.number not in cached]
    done = [len(cached)]

    def report(entry: dict) -> None:
        done[0] += 1
        progress(done[0], len(book), entry.get("title") or "")

    progress(done[0], len(book), "")
    by_stem = render_jobs(todo, render_options, jobs, report)
    number_of = {job.stem: tune.number for tune, job in made}
    return {**cached, **{number_of[stem]: e for stem, e in by_stem.items()}}, set(cached)


def make_songbook(input_abc: str | Path, out_dir: str | Path,
                  options: SongbookOptions | None = None,
                  progress: SongbookProgress | None = None) -> SongbookResult:
    """Make the songbook of the ABC file `input_abc` in `out_dir` (see the module docstring).

    Raises InputError for a missing or tune-less input or a bad option; a tune that can't be
    repaired or rendered, or a PDF tool that is missing or fails, is reported in
    manifest.json and report.md instead.
    """
    options = options or SongbookOptions()
    source, out_dir = Path(input_abc), Path(out_dir)
    render_options, warnings = _checked(options)
    book, rejected = read_book(source)
    make_folder(out_dir)
    remove_stale_temporaries(out_dir)
    title = _book_title(options, source)
    with ThreadPoolExecutor(max_workers=1) as pdf_thread:
        pdf_future = pdf_thread.submit(make_pdf, title, book, out_dir, out_dir / STATE_DIR,
                                       options.paper) if "pdf" in options.formats else None
        entries, up_to_date = _render(book, out_dir, render_options, options.jobs,
                                      progress or (lambda *_: None))
        pdf = pdf_future.result() if pdf_future else PdfResult("off")
    warnings += [pdf.warning] if pdf.warning else []  # a failed PDF was only in the manifest
    if "html" in options.formats:
        warning = make_html(title, book, entries, out_dir, has_pdf=pdf.status == "ok")
        warnings += [warning] if warning else []
    return _write_records(title, source, out_dir, options, book, rejected, entries,
                          up_to_date, pdf, warnings)


def _write_records(title, source, out_dir, options, book, rejected, entries, up_to_date,
                   pdf, warnings) -> SongbookResult:
    """manifest.json and report.md, and the result that sums them up."""
    tunes = manifest_entries(book, rejected, entries, up_to_date, pdf)
    manifest = {"title": title, "source": str(source), "paper": options.paper,
                "formats": list(options.formats), "warnings": warnings,
                "pdf": {"status": pdf.status, "file": pdf.path.name if pdf.path else None,
                        "pages": pdf.page_count, "error": pdf.error},
                "html": HTML_NAME if "html" in options.formats else None, "tunes": tunes}
    manifest_path = atomic_write_text(out_dir / MANIFEST_NAME,
                                      json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    report_path = atomic_write_text(out_dir / REPORT_NAME, report_markdown(manifest))
    failures = [t for t in tunes if t["status"] != "ok"]
    return SongbookResult(out_dir, manifest_path, report_path, pdf.path,
                          out_dir / HTML_NAME if "html" in options.formats else None,
                          len(book), len(book) - len(up_to_date), len(up_to_date), failures,
                          warnings)
