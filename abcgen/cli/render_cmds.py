"""`abcgen render FILE.abc --out DIR`: every tune to MIDI and audio, with DIR/manifest.json."""

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from abcgen.cli.app import app, err_console, out_console, user_errors


REDRAW_SECONDS = 0.1  # the progress bar is redrawn at most this often


def _progress_bar() -> Progress:
    # Redrawn by `on_progress`, not by rich's refresh thread: render_file forks its worker
    # processes only while this process runs a single thread.
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=err_console, transient=True,
                    auto_refresh=False)


def _print_summary(manifest: dict, out: Path) -> None:
    for warning in manifest["warnings"]:
        err_console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    entries = manifest["tunes"]
    failed = [e for e in entries if e["status"] != "ok"]
    for entry in failed:
        err_console.print(f"[red]failed:[/red] {entry['error']}", highlight=False,
                          soft_wrap=True)
    minutes = sum(e["seconds"] or 0 for e in entries) / 60
    out_console.print(f"rendered {len(entries) - len(failed)} of {len(entries)} tunes "
                      f"({minutes:.1f} min of music) to {out}; manifest: {out / 'manifest.json'}",
                      highlight=False, soft_wrap=True)


@app.command("render")
def render(
    file: Annotated[Path, typer.Argument(help="ABC file (one tune or a whole tunebook).")],
    out: Annotated[Path, typer.Option("--out", "-o",
                                      help="Folder for the files and manifest.json.")],
    formats: Annotated[str, typer.Option(help="Comma-separated: mid,wav,mp3,ogg,flac "
                                         "(mp3/ogg/flac need ffmpeg).")] = "mid,wav",
    instrument: Annotated[str | None, typer.Option(
        help="fiddle, flute, whistle, accordion, concertina, piano (default), guitar, harp, "
             "pipes, ...")] = None,
    program: Annotated[int | None, typer.Option(
        help="General MIDI program 0-127 (wins over --instrument).")] = None,
    tempo: Annotated[float | None, typer.Option(
        help="Quarter notes per minute (default: Q:, else by R: rhythm, else 120).")] = None,
    transpose: Annotated[int, typer.Option(help="Semitones up (negative: down).")] = 0,
    accompaniment: Annotated[bool, typer.Option(
        "--accompaniment/--no-accompaniment", help="Bass and chords from the chord symbols.")
    ] = True,
    plain: Annotated[bool, typer.Option(
        help="The written melody alone: no accompaniment, ornaments, grace notes or swing.")
    ] = False,
    swing: Annotated[bool, typer.Option(help="Swing eighth pairs 2:1 in R:hornpipe tunes.")
                     ] = False,
    soundfont: Annotated[Path | None, typer.Option(
        help="A .sf2/.sf3 soundfont (default: $ABCGEN_SOUNDFONT, /usr/share/sounds/sf2 and sf3, "
             "pretty_midi's TimGM6mb).")] = None,
    jobs: Annotated[int | None, typer.Option(
        "--jobs", "-j", help="Tunes rendered at once (processes; default: the CPU count, fewer "
                             "for a small book).")] = None,
) -> None:
    """Render every tune of FILE to MIDI and audio in --out, with a manifest.json.

    A tune that fails is reported and recorded in the manifest; the exit status is 1 only
    when no tune rendered."""
    from abcgen.render import MidiOptions, RenderOptions, parse_formats, render_file

    midi = MidiOptions(instrument=instrument, program=program, tempo=tempo, transpose=transpose,
                       accompaniment=accompaniment, plain=plain, swing=swing)
    with user_errors():
        options = RenderOptions(formats=parse_formats(formats), midi=midi,
                                soundfont=str(soundfont) if soundfont else None, jobs=jobs)
        with _progress_bar() as progress:
            task = progress.add_task("rendering", total=None)
            drawn_at = 0.0

            def on_progress(entry: dict, done: int, total: int) -> None:
                nonlocal drawn_at
                progress.update(task, completed=done, total=total,
                                description=(entry["title"] or "")[:30])
                if time.monotonic() - drawn_at >= REDRAW_SECONDS or done == total:
                    progress.refresh()
                    drawn_at = time.monotonic()

            manifest = render_file(file, out, options, progress=on_progress)
    _print_summary(manifest, out)
    if not any(entry["status"] == "ok" for entry in manifest["tunes"]):
        raise typer.Exit(1)
