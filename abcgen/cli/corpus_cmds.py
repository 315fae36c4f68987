"""`abcgen corpus build`: read, clean, deduplicate and split ABC tunebooks into a training corpus."""

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from abcgen import corpus  # light: music21 is imported only when a music21 source is read
from abcgen.cli.app import corpus_app, err_console, fail, out_console, user_errors

SourcesArg = Annotated[list[str] | None, typer.Argument(
    metavar="SOURCE", show_default=False,
    help="`music21` (its folk dance collections; the default), `music21:NAME` "
         "(e.g. music21:essenFolksong), an .abc file, or a folder (searched recursively).")]
OutOption = Annotated[Path, typer.Option(
    "--out", "-o", show_default=False,
    help="Folder for train.abc, val.abc, test.abc and stats.json.")]


def _parse_split(text: str) -> tuple[float, float, float]:
    """'0.9,0.05,0.05' or '90,5,5' -> shares (build_corpus normalises them by their sum)."""
    try:
        shares = tuple(float(part) for part in text.split(","))
    except ValueError:
        shares = ()
    if len(shares) != 3 or min(shares) < 0 or sum(shares) <= 0:
        fail(f"--split wants three non-negative numbers such as 0.9,0.05,0.05, got {text!r}")
    return shares


@corpus_app.command("build")
def build(
    sources: SourcesArg = None,
    out: OutOption = ...,
    seed: Annotated[int, typer.Option(help="Changes which tunes land in which split.")] = 0,
    split: Annotated[str, typer.Option(help="Train,val,test shares.")] = "0.9,0.05,0.05",
    min_chars: Annotated[int, typer.Option(
        help="Shortest cleaned tune kept, in characters.")] = corpus.DEFAULT_MIN_CHARS,
    max_chars: Annotated[int, typer.Option(
        help="Longest cleaned tune kept, in characters.")] = corpus.DEFAULT_MAX_CHARS,
    max_repair_share: Annotated[float, typer.Option(
        help="A tune `check` flags is kept when repair rewrites at most this share of its "
             "bars (at least one); 0 keeps flagged tunes out.")] = corpus.DEFAULT_MAX_REPAIR_SHARE,
    keep_chords: Annotated[bool, typer.Option(
        help="Keep chord symbols and annotations (by default a tune keeps its melody only, "
             "as the bundled model learns).")] = False,
    keep_unit: Annotated[bool, typer.Option(
        help="Keep each tune's L: (by default note lengths are rewritten in the unit most "
             "of a tune's notes have: L:1/4 with A3/2B/2 becomes L:1/8 with A3B).")] = False,
    title_source: Annotated[list[str] | None, typer.Option(
        help="More sources whose titles' words a sampled title may use (repeatable); "
             "their tunes stay out of the splits.")] = None,
) -> None:
    """Build a train/val/test corpus from ABC sources; prints what was kept and rejected."""
    shares = _parse_split(split)
    started = time.perf_counter()
    with user_errors(), _progress_bar() as progress:
        task = progress.add_task("reading", total=None)

        def on_progress(done: int, total: int, label: str) -> None:
            progress.update(task, completed=done, total=total, description=label)

        stats = corpus.build_corpus(sources or [], out, seed=seed, split=shares,
                                    min_chars=min_chars, max_chars=max_chars,
                                    max_repair_share=max_repair_share,
                                    keep_chords=keep_chords, keep_unit=keep_unit,
                                    title_sources=title_source or [], on_progress=on_progress)
    out_console.print(_summary(stats, out, time.perf_counter() - started))


def _progress_bar() -> Progress:
    # Counts bytes of source files read; on stderr so stdout keeps only the summary, and only on
    # a terminal so logs and pipes get no stray lines.
    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                    TimeRemainingColumn(), console=err_console, transient=True,
                    disable=not err_console.is_terminal)


def _summary(stats: corpus.CorpusStats, out: Path, seconds: float) -> Table:
    table = Table(title=f"corpus in {out} ({seconds:.1f} s)", show_header=False)
    table.add_row("kept", str(stats.kept), f"{stats.kept_as_written} as written, "
                  f"{stats.kept_after_repair} after repair")
    table.add_row("duplicates", str(stats.duplicates), "same body as a tune kept before")
    for reason, count in sorted(stats.rejected.items()):
        table.add_row(f"rejected: {reason}", str(count), corpus.REJECTION_REASONS[reason])
    for name, size in stats.splits.items():
        table.add_row(f"{name}.abc", f"{size.tunes} tunes", f"{size.chars:,} characters")
    return table
