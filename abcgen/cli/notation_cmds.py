"""`abcgen inspect` and `abcgen check`: what abcgen hears in a tunebook, and what is wrong."""

import json
from collections import Counter
from pathlib import Path

import typer

from abcgen.cli.app import app, out_console, user_errors

FILE_ARG = typer.Argument(..., help="An ABC tunebook.", show_default=False)


@app.command("inspect")
def inspect_cmd(path: Path = FILE_ARG,
                as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show each tune's header values, bars and note events (repeats expanded)."""
    from abcgen.notation import describe_file

    with user_errors():
        tunes = describe_file(path)
    if as_json:
        typer.echo(json.dumps(tunes, indent=1, ensure_ascii=False))
        return
    for tune in tunes:
        _print_tune_summary(tune)


def _print_tune_summary(tune: dict) -> None:
    tempo = f"{tune['tempo_qpm']:g} qpm" if tune["tempo_qpm"] else "no Q:"
    out_console.print(f"[bold]X:{tune['x']}[/bold] {tune['title'] or '(no title)'}",
                      highlight=False)
    out_console.print(f"  M:{tune['meter']}  L:{tune['unit']}  K:{tune['key']}  {tempo}  "
                      f"{len(tune['bars'])} bar(s) played, {len(tune['events'])} note(s), "
                      f"{tune['length_quarters']} quarter notes", highlight=False)
    for problem in tune["errors"] + tune["warnings"]:
        out_console.print(f"  {problem['line']}:{problem['col']} {problem['severity']} "
                          f"{problem['code']}: {problem['message']}", highlight=False)


@app.command("check")
def check_cmd(path: Path = FILE_ARG,
              as_json: bool = typer.Option(False, "--json", help="Print JSON."),
              summary: bool = typer.Option(False, "--summary",
                                           help="Counts by code only.")) -> None:
    """Validate a tunebook. Exit 0: no errors; 1: errors found; 2: input unreadable."""
    from abcgen.notation import check_file

    with user_errors():
        issues = check_file(path)
    errors = sum(1 for issue in issues if issue.severity == "error")
    if as_json:
        typer.echo(json.dumps([dict(i.to_dict(), file=str(path)) for i in issues], indent=1,
                              ensure_ascii=False))
    elif summary:
        counts = Counter((i.severity, i.code) for i in issues)
        for (severity, code), count in counts.most_common():
            out_console.print(f"{count:6d}  {severity:7s} {code}", highlight=False)
        out_console.print(f"{errors} error(s), {len(issues) - errors} warning(s)")
    else:
        for issue in issues:
            out_console.print(f"{path}:{issue}", highlight=False, soft_wrap=True)
        out_console.print(f"{errors} error(s), {len(issues) - errors} warning(s)")
    raise typer.Exit(1 if errors else 0)
