"""`abcgen render FILE.abc --out DIR`: every tune to MIDI and audio, with DIR/manifest.json."""

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from abcgen.cli.app import app, err_console, fail, out_console, user_errors


def _progress_bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=err_console, transient=True)


def _print_summary(manifest: dict, out: Path) -> None:
    for warning in manifest["warnings"]:
        err_console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    entries = manifest["tunes"]
    failed = [e for e in entries if e["status"] != "ok"]
    for entry in failed:
        err_console.print(f"[red]X:{entry['x']}[/red] {entry['title'] or ''}: {entry['error']}",
                          highlight=False, markup=True, soft_wrap=True)
    minutes = sum(e["seconds"] or 0 for e in entries) / 60
    out_console.print(f"rendered {len(entries) - len(failed)} of {len(entries)} tunes "
                      f"({minutes:.1f} min of music) to {out}; manifest: {out / 'manifest.json'}",
                      highlight=False)


@app.command("render")
def render(
    file: Path = typer.Argument(..., help="ABC file (one tune or a whole tunebook)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the files and manifest.json."),
    formats: str = typer.Option("mid,wav", help="Comma-separated: mid,wav,mp3,ogg,flac "
                                "(mp3/ogg/flac need ffmpeg)."),
    instrument: str = typer.Option(None, help="fiddle, flute, whistle, accordion, concertina, "
                                   "piano (default), guitar, harp, pipes, ..."),
    program: int = typer.Option(None, help="General MIDI program 0-127 (wins over "
                                "--instrument)."),
    tempo: float = typer.Option(None, help="Quarter notes per minute (default: Q:, else by "
                                "R: rhythm, else 120)."),
    transpose: int = typer.Option(0, help="Semitones up (negative: down)."),
    accompaniment: bool = typer.Option(True, "--accompaniment/--no-accompaniment",
                                       help="Bass and chords from the chord symbols."),
    plain: bool = typer.Option(False, help="The written melody alone: no accompaniment, "
                               "ornaments, grace notes or swing."),
    swing: bool = typer.Option(False, help="Swing eighth pairs 2:1 in R:hornpipe tunes."),
    soundfont: Path = typer.Option(None, help="A .sf2/.sf3 soundfont (default: "
                                   "$ABCGEN_SOUNDFONT, /usr/share/sounds/sf2, sf3, pretty_midi's)."),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Tunes rendered at once (processes)."),
) -> None:
    """Render every tune of FILE to MIDI and audio in --out, with a manifest.json."""
    from abcgen.render import MidiOptions, RenderOptions, parse_formats, render_file

    if jobs < 1:
        fail(f"--jobs must be at least 1, got {jobs}")
    midi = MidiOptions(instrument=instrument, program=program, tempo=tempo, transpose=transpose,
                       accompaniment=accompaniment, plain=plain, swing=swing)
    with user_errors():
        options = RenderOptions(formats=parse_formats(formats), midi=midi,
                                soundfont=str(soundfont) if soundfont else None, jobs=jobs)
        with _progress_bar() as progress:
            task = progress.add_task("rendering", total=None)

            def on_progress(entry: dict, done: int, total: int) -> None:
                progress.update(task, completed=done, total=total,
                                description=(entry["title"] or "")[:30])

            manifest = render_file(file, out, options, progress=on_progress)
    _print_summary(manifest, out)
