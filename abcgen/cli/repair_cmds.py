"""`abcgen repair`: mend a tunebook into valid, titled ABC and log every edit."""

import json
from pathlib import Path

import typer

from abcgen.cli.app import app, err_console, out_console, user_errors

FILE_ARG = typer.Argument(..., help="An ABC tunebook.", show_default=False)
OUTPUT_OPT = typer.Option(None, "-o", "--output",
                          help="Write the repaired tunebook here (default, or -: stdout).")
REPORT_OPT = typer.Option(None, "--report", help="Write the per-tune edit log as JSON.")


@app.command("repair")
def repair_cmd(path: Path = FILE_ARG, output: Path | None = OUTPUT_OPT,
               report: Path | None = REPORT_OPT) -> None:
    """Repair every tune so `abcgen check` finds no errors. Exit 0: all valid; 1: some tunes
    failed (listed, left out of the output); 2: input unreadable."""
    from rich.progress import Progress

    from abcgen.fileio import atomic_write_text, atomic_writer
    from abcgen.repair import repair_file

    if output is not None and str(output) == "-":
        output = None
    with user_errors(), Progress(console=err_console, transient=True) as bar:
        task = bar.add_task("repairing", total=None)

        def progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        if output is not None:  # the book is written as it is repaired, renamed when done
            with atomic_writer(output) as handle:
                result = repair_file(path, handle.write, progress=progress)
        else:
            result = repair_file(path, lambda text: typer.echo(text, nl=False),
                                 progress=progress)
        if report is not None:
            atomic_write_text(report, json.dumps(result.to_dict(), indent=1,
                                                 ensure_ascii=False) + "\n")
    for tune in result.tunes:
        if tune.status == "failed":
            err_console.print(f"{path}:{tune.line}: X:{tune.x} failed: {tune.reason}",
                              highlight=False, soft_wrap=True)
    summary = (f"{len(result.tunes)} tune(s): {result.count('clean')} clean, "
               f"{result.count('repaired')} repaired, {result.failed} failed")
    (out_console if output is not None else err_console).print(summary, highlight=False)
    if not result.tunes:
        err_console.print(f"{path}: no tunes found (a tune starts with X: and has a K:)",
                          highlight=False)
    raise typer.Exit(1 if result.failed or not result.tunes else 0)
