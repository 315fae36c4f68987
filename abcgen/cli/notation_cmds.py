"""`abcgen inspect` and `abcgen check`: what abcgen hears in a tunebook, and what is wrong.

Both read the book one tune at a time and print as they go, so a book of any size starts
printing at once and holds one tune in memory. `--json` is a JSON array written one element
per line: `json.load` reads it whole, and a reader that wants each tune (or issue) as it comes
takes each line between the `[` and `]` lines, less its trailing comma. Tunes are worked on in
a worker process per CPU (`--jobs`), and printed in book order.
"""

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import typer

from abcgen.cli.app import app, out_console, user_errors

FILE_ARG = typer.Argument(..., help="An ABC tunebook.", show_default=False)
JOBS_OPT = typer.Option(None, "--jobs", "-j", help="Worker processes (default: one per CPU, "
                        "one for a small book).", show_default=False)
SMALL_BOOK_BYTES = 128 * 1024  # a book smaller than this is read in this process


def _jobs(path: Path, jobs: int | None) -> int:
    from abcgen.parallel import job_count

    if jobs is None and path.is_file() and path.stat().st_size < SMALL_BOOK_BYTES:
        return 1
    return job_count(jobs)


def _echo_json_lines(lines: Iterable[str]) -> None:
    """A JSON array of one element (already JSON) per line, each printed as soon as it is
    made (nothing when reading fails before the first)."""
    first = True
    for line in lines:
        typer.echo(("[\n" if first else ",\n") + line, nl=False)
        first = False
    typer.echo("[]" if first else "\n]")


@app.command("inspect")
def inspect_cmd(path: Path = FILE_ARG,
                as_json: bool = typer.Option(False, "--json", help="Print JSON: an array of "
                                             "one compact object per tune, one per line."),
                jobs: int | None = JOBS_OPT) -> None:
    """Show each tune's header values, bars and note events (repeats expanded); exit 2 when
    the file can't be read. The JSON fields: see abcgen.notation.describe_tune."""
    from abcgen.notation import describe_json, describe_tune, stream_tunes
    from abcgen.parallel import ordered_map

    with user_errors():
        tunes = stream_tunes(path)
        if as_json:
            _echo_json_lines(ordered_map(describe_json, tunes, _jobs(path, jobs)))
        else:
            for tune in ordered_map(describe_tune, tunes, _jobs(path, jobs)):
                _print_tune_summary(tune)


def _print_tune_summary(tune: dict) -> None:
    out_console.print(f"[bold]X:{tune['x']}[/bold] {tune['title'] or '(no title)'}",
                      highlight=False)
    if "events" in tune:
        tempo = f"{tune['tempo_qpm']:g} qpm" if tune["tempo_qpm"] else "no Q:"
        out_console.print(f"  M:{tune['meter']}  L:{tune['unit']}  K:{tune['key']}  {tempo}  "
                          f"{len(tune['bars'])} bar(s) played, {len(tune['events'])} note(s), "
                          f"{tune['length_quarters']} quarter notes", highlight=False)
    for problem in tune["errors"] + tune["warnings"]:
        out_console.print(f"  {problem['line']}:{problem['col']} {problem['severity']} "
                          f"{problem['code']}: {problem['message']}", highlight=False)


@app.command("check")
def check_cmd(path: Path = FILE_ARG,
              as_json: bool = typer.Option(False, "--json", help="Print JSON: an array of "
                                           "issues, one per line."),
              summary: bool = typer.Option(False, "--summary",
                                           help="Counts by code only."),
              jobs: int | None = JOBS_OPT) -> None:
    """Validate a tunebook. Exit 0: no errors; 1: errors found; 2: input unreadable."""
    from abcgen.notation import book_issues, checked_tune, stream_tunes
    from abcgen.parallel import ordered_map

    counts: Counter = Counter()
    with user_errors():
        checked = ordered_map(checked_tune, stream_tunes(path), _jobs(path, jobs))
        issues = _counted(book_issues(checked, str(path)), counts)
        if as_json:
            _echo_json_lines(json.dumps(dict(i.to_dict(), file=str(path)), ensure_ascii=False,
                                        separators=(",", ":")) for i in issues)
        elif summary:
            for _ in issues:
                pass
        else:
            for issue in issues:  # plain lines: rich's rendering cost more than the check
                typer.echo(f"{path}:{issue}")
    errors = sum(n for (severity, _), n in counts.items() if severity == "error")
    if summary:
        for (severity, code), count in counts.most_common():
            out_console.print(f"{count:6d}  {severity:7s} {code}", highlight=False)
    if not as_json:
        out_console.print(f"{errors} error(s), {counts.total() - errors} warning(s)")
    raise typer.Exit(1 if errors else 0)


def _counted(issues: Iterable, counts: Counter) -> Iterator:
    for issue in issues:
        counts[issue.severity, issue.code] += 1
        yield issue
