"""`abcgen corpus build`: read, clean, deduplicate and split ABC tunebooks into a training corpus."""

import time
from pathlib import Path

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from abcgen.cli.app import corpus_app, err_console, fail, out_console, user_errors


def _parse_split(text: str) -> tuple[float, float, float]:
    """'0.9,0.05,0.05' or '90,5,5' -> shares (build_corpus normalises them by their sum)."""
    try:
        shares = tuple(float(part) for part in text.split(","))
    except ValueError:
        shares = ()
    if len(shares) != 3 or min(shares) < 0 or sum(shares) <= 0:
        fail(f"--split wants three non-negative numbers such as 0.9,0.05,0.05, got {text!r}")
    return shares


def _summary(stats, out: Path, seconds: float) -> Table:
    table = Table(title=f"corpus in {out} ({seconds:.1f} s)", show_header=False)
    table.add_row("kept", str(stats.kept))
    table.add_row("duplicates", str(stats.duplicates))
    for reason, count in sorted(stats.rejected.items()):
        table.add_row(f"rejected: {reason}", str(count))
    for name, size in stats.splits.items():
        table.add_row(f"{name}.abc", f"{size.tunes} tunes, {size.chars:,} characters")
    return table


@corpus_app.command("build")
def build(
    sources: list[str] = typer.Argument(
        None, metavar="[SOURCE ...]",
        help="`music21` (its folk dance collections; the default), `music21:NAME` "
             "(e.g. music21:essenFolksong), an .abc file or a folder (searched recursively)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for train.abc, val.abc, test.abc "
                             "and stats.json."),
    seed: int = typer.Option(0, help="Changes which tunes land in which split."),
    split: str = typer.Option("0.9,0.05,0.05", help="Train,val,test shares."),
    min_chars: int = typer.Option(None, help="Shortest cleaned tune kept, in characters."),
    max_chars: int = typer.Option(None, help="Longest cleaned tune kept, in characters."),
    max_bar_errors: int = typer.Option(None, help="Most bars of the wrong length a kept tune "
                                       "may have."),
) -> None:
    """Build a train/val/test corpus from ABC sources; prints what was kept and rejected."""
    from abcgen import corpus

    limits = {"min_chars": corpus.DEFAULT_MIN_CHARS if min_chars is None else min_chars,
              "max_chars": corpus.DEFAULT_MAX_CHARS if max_chars is None else max_chars,
              "max_bar_errors": (corpus.DEFAULT_MAX_BAR_ERRORS if max_bar_errors is None
                                 else max_bar_errors)}
    started = time.perf_counter()
    with user_errors(), _progress_bar() as progress:
        task = progress.add_task("reading", total=None)

        def on_progress(done: int, total: int, label: str) -> None:
            progress.update(task, completed=done, total=total, description=label)

        stats = corpus.build_corpus(sources or [], out, seed=seed, split=_parse_split(split),
                                    on_progress=on_progress, **limits)
    out_console.print(_summary(stats, out, time.perf_counter() - started))


def _progress_bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                    TimeRemainingColumn(), console=err_console, transient=True)
