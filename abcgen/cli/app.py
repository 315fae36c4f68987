"""The typer app, the shared error handling and the registration of every stage's commands."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape

from abcgen.errors import AbcgenError

app = typer.Typer(
    name="abcgen",
    help="Learn folk tunes from ABC notation, write new ones, repair, render and print them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
corpus_app = typer.Typer(help="Build training corpora from ABC tunebooks.", no_args_is_help=True)
app.add_typer(corpus_app, name="corpus")

err_console = Console(stderr=True, emoji=False)
out_console = Console(emoji=False)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a library `AbcgenError` into one red line and its exit code (1 or 2), an OSError
    (an output that can't be written) into one line naming its path and exit 1; no traceback."""
    try:
        yield
    except AbcgenError as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, markup=True,
                          soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    except OSError as exc:  # an output the library had no name for: still one line
        where = f"{exc.filename}: " if exc.filename else ""
        err_console.print(f"[red]error:[/red] {escape(where + str(exc.strerror or exc))}",
                          highlight=False, markup=True, soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err_console.print("[red]interrupted[/red]")
        raise typer.Exit(130) from None


def fail(message: str, code: int = 2) -> None:
    """Report a bad option value the way `user_errors` reports library errors."""
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _register() -> None:
    # Each stage module adds its commands to `app` when imported; the modules themselves keep
    # torch/music21 imports inside the command bodies so `abcgen --help` stays fast.
    from abcgen.cli import (corpus_cmds, evaluate_cmds, model_cmds, notation_cmds,  # noqa: F401
                            render_cmds, repair_cmds, serve_cmds, songbook_cmds, system_cmds,
                            transpose_cmds)


def main(argv: list[str] | None = None) -> None:
    _register()
    app(args=argv if argv is not None else sys.argv[1:], prog_name="abcgen")

