"""`abcgen inspect` and `abcgen check`: what abcgen hears in a tunebook, and what is wrong.

Both read the book one tune at a time and print as they go, so a book of any size starts
printing at once and holds one tune in memory. `--json` is a JSON array written one element
per line: `json.load` reads it whole, and a reader that wants each tune (or issue) as it comes
takes each line between the `[` and `]` lines, less its trailing comma.
"""

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import typer

from abcgen.cli.app import app, out_console, user_errors

FILE_ARG = typer.Argument(..., help="An ABC tunebook.", show_default=False)


def _compact(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _echo_json_lines(items: Iterable[dict]) -> None:
    """A JSON array, one element per line, each printed as soon as it is made (nothing when
    reading fails before the first)."""
    first = True
    for item in items:
        typer.echo(("[\n" if first else ",\n") + _compact(item), nl=False)
        first = False
    typer.echo("[]" if first else "\n]")


@app.command("inspect")
def inspect_cmd(path: Path = FILE_ARG,
                as_json: bool = typer.Option(False, "--json", help="Print JSON: an array of "
                                             "one compact object per tune, one per line.")
                ) -> None:
    """Show each tune's header values, bars and note events (repeats expanded); exit 2 when
    the file can't be read. The JSON fields: see abcgen.notation.describe_tune."""
    from abcgen.notation import describe_file

    with user_errors():
        tunes = describe_file(path)
        if as_json:
            _echo_json_lines(tunes)
        else:
            for tune in tunes:
                _print_tune_summary(tune)


def _print_tune_summary(tune: dict) -> None:
    out_console.print(f"[bold]X:{tune['x']}[/bold] {tune['title'] or '(no title)'}", highlight=False)
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
              summary: bool = typer.Option(False, "--summary", help="Counts by code only.")) -> None:
    """Validate a tunebook. Exit 0: no errors; 1: errors found; 2: input unreadable."""
    from abcgen.notation import check_file

    counts: Counter = Counter()
    with user_errors():
        issues = _counted(check_file(path), counts)
        if as_json:
            _echo_json_lines(dict(i.to_dict(), file=str(path)) for i in issues)
        elif summary:
            for _ in issues:
                pass
        else:
            for issue in issues:
                out_console.print(f"{path}:{issue}", highlight=False, soft_wrap=True)
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
