"""`abcgen songbook INPUT.abc --out DIR`: a printed PDF, an offline HTML page and each tune's
files, with manifest.json and report.md."""

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from abcgen.cli.app import app, err_console, fail, out_console, user_errors


def _print_summary(result) -> None:
    for warning in result.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False, soft_wrap=True)
    for entry in result.failures:
        err_console.print(f"[red]failed:[/red] line {entry['line']} {entry['title']!r}: "
                          f"{entry['reason']}", highlight=False, soft_wrap=True, markup=True)
    out_console.print(f"songbook of {result.tunes} tunes in {result.out_dir} "
                      f"({result.rendered} rendered, {result.up_to_date} already up to date, "
                      f"{len(result.failures)} failed)", highlight=False, soft_wrap=True)
    for label, path in (("PDF", result.pdf), ("open", result.html), ("report", result.report)):
        if path is not None:
            out_console.print(f"  {label}: {path}", highlight=False, soft_wrap=True)


@app.command("songbook")
def songbook(
    file: Annotated[Path, typer.Argument(help="ABC tunebook (checked and repaired first).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the songbook.")],
    title: Annotated[str | None, typer.Option(
        help="Book title (default: from the file name).")] = None,
    paper: Annotated[str, typer.Option(help="a4 or letter.")] = "a4",
    formats: Annotated[str, typer.Option(
        help="Comma-separated: pdf,html,mid,wav,mp3 (default all).")] = "pdf,html,mid,wav,mp3",
    instrument: Annotated[str | None, typer.Option(
        help="What the audio is played on: fiddle, flute, whistle, accordion, piano (default)"
             ", ...")] = None,
    jobs: Annotated[int | None, typer.Option(
        "--jobs", "-j", help="Tunes rendered at once (processes; default: CPU count).")] = None,
) -> None:
    """Make a songbook from FILE: songbook.pdf, index.html and tunes/NNN-title.* in --out.

    A rerun renders only tunes whose files are missing or out of date. The exit status is 1
    only when no tune made it into the book."""
    from abcgen.songbook import SongbookOptions, make_songbook, parse_book_formats

    jobs = jobs if jobs is not None else os.cpu_count() or 1
    if jobs < 1:
        fail(f"--jobs must be at least 1, got {jobs}")
    with user_errors():
        options = SongbookOptions(title=title, paper=paper.lower(),
                                  formats=parse_book_formats(formats), instrument=instrument,
                                  jobs=jobs)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=err_console, transient=True) as bar:
            task = bar.add_task("songbook", total=None)

            def on_progress(done: int, total: int, tune_title: str) -> None:
                bar.update(task, completed=done, total=total, description=tune_title[:30])

            result = make_songbook(file, out, options, progress=on_progress)
    _print_summary(result)
    if result.tunes == 0:
        raise typer.Exit(1)
