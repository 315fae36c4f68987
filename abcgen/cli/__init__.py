"""The `abcgen` command line: thin typer commands, each parsing options and calling one library
function. Commands live in one module per stage; heavy imports (torch, music21) stay inside them."""

from abcgen.cli.app import app, main

__all__ = ["app", "main"]
