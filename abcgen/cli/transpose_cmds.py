"""`abcgen transpose`: a tunebook moved to another key, for musicians (and for training)."""

from pathlib import Path

import typer

from abcgen.cli.app import app, err_console, fail, user_errors

FILE_ARG = typer.Argument(..., help="An ABC tunebook.", show_default=False)
TO_OPT = typer.Option(None, "--to", help="Move each tune's tonic here (D, Bb, F#m, Ador); "
                      "a mode, if given, must be of the tune's kind (major or minor).")
SEMITONES_OPT = typer.Option(None, "--semitones", "-t", help="Move every tune by N semitones "
                             "(negative: down).")
OUTPUT_OPT = typer.Option(None, "-o", "--output",
                          help="Write the transposed tunebook here ('-' or none: stdout).")


@app.command("transpose")
def transpose_cmd(path: Path = FILE_ARG, to: str | None = TO_OPT,
                  semitones: int | None = SEMITONES_OPT,
                  output: str | None = OUTPUT_OPT) -> None:
    """Transpose every tune: key signature, notes, accidentals, chord symbols; a note that
    would leave the written range (C, to c'') is written an octave over. Exit 0: all
    transposed; 1: some tunes could not be (listed, left as they were); 2: bad options or an
    unreadable file."""
    if (to is None) == (semitones is None):
        fail("give either --to KEY or --semitones N")
    from abcgen.fileio import atomic_write_text
    from abcgen.notation import read_abc
    from abcgen.notation.transpose import transpose_book

    with user_errors():
        result = transpose_book(read_abc(path), semitones, to, source=str(path))
        if output in (None, "-"):
            typer.echo(result.text, nl=False)
        else:
            atomic_write_text(output, result.text)
    for failure in result.failures:
        err_console.print(f"transpose failed: {failure}", highlight=False, soft_wrap=True,
                          markup=False)
    if not result.tunes:
        err_console.print(f"{path}: no tunes found (a tune starts with X: and has a K:)",
                          highlight=False, markup=False)
    raise typer.Exit(1 if result.failures or not result.tunes else 0)
