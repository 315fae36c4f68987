"""Render every tune of a tunebook to MIDI and audio files, with a manifest of what happened.

`render_file(path, out_dir, options)` writes `NNN-title.mid/.wav/...` per tune (NNN = the
tune's position among the file's readable tunes, so duplicate X: numbers never collide; named
by abcgen.fileio.tune_stems, as the songbook and the web app name theirs) and `manifest.json`:

    {"source": ..., "formats": [...], "warnings": [...], "options": {MidiOptions' fields},
     "tunes": [{"x", "title", "status": "ok"|"error", "files": {"mid": name, ...},
                "seconds": playing time without the tail, "error": message or null}, ...]}

A tune that fails (bad ABC, too long, an internal error) gets an "error" entry and no files;
the others still render. `jobs` > 1 renders in that many processes, each with its own
reused FluidSynth.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from abcgen.errors import AbcgenError, InputError
from abcgen.fileio import atomic_write_bytes, atomic_write_text, tune_stems
from abcgen.notation.errors import AbcError
from abcgen.notation.parse import collector_paused
from abcgen.render.audio import (
    AUDIO_FORMATS,
    Synthesizer,
    encoded_bytes,
    fallback_warning,
    find_soundfont,
    require_ffmpeg,
)
from abcgen.render.midi import MidiOptions, midi_bytes, tune_to_midi

FORMATS = ("mid", *AUDIO_FORMATS)
DEFAULT_FORMATS = ("mid", "wav")
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class RenderOptions:
    """What `render_file` writes and how: `formats` from FORMATS, the MIDI performance
    options, a soundfont path (None searches), `fluidsynth` False for the sine fallback, and
    `jobs` worker processes."""

    formats: tuple[str, ...] = DEFAULT_FORMATS
    midi: MidiOptions = field(default_factory=MidiOptions)
    soundfont: str | None = None
    fluidsynth: bool = True
    jobs: int = 1


def parse_formats(text: str, choices: tuple[str, ...] = FORMATS,
                  what: str = "format") -> tuple[str, ...]:
    """'mid,wav,mp3' -> ('mid', 'wav', 'mp3'); names not in `choices` raise InputError (the
    songbook passes its own choices)."""
    names = tuple(dict.fromkeys(n.strip().lower() for n in text.split(",") if n.strip()))
    check_formats(names, choices, what)
    return names


def check_formats(names: tuple[str, ...], choices: tuple[str, ...] = FORMATS,
                  what: str = "format") -> None:
    """Raise InputError unless `names` is a non-empty selection from `choices`."""
    unknown = [n for n in names if n not in choices]
    if unknown or not names:
        raise InputError(f"unknown {what}(s) {', '.join(unknown) or '(none)'}; "
                         f"choose from {','.join(choices)}")


def _entry(tune_or_error, status: str, files: dict | None = None, seconds: float | None = None,
           error: str | None = None) -> dict:
    title = getattr(tune_or_error, "title", None)
    return {"x": getattr(tune_or_error, "x", None), "title": title, "status": status,
            "files": files or {}, "seconds": seconds, "error": error}


class LazySynthesizer:
    """Makes the `Synthesizer` on first use, so a MIDI-only run never loads FluidSynth; one per
    process, reused for every tune."""

    def __init__(self, options: RenderOptions):
        self.options = options
        self._synth: Synthesizer | None = None

    def get(self) -> Synthesizer:
        if self._synth is None:
            with warnings.catch_warnings():  # the manifest carries the fallback warning
                warnings.simplefilter("ignore", RuntimeWarning)
                self._synth = Synthesizer(self.options.soundfont, self.options.fluidsynth)
        return self._synth

    def close(self) -> None:
        if self._synth is not None:
            self._synth.close()


_worker_synth: LazySynthesizer | None = None  # set in each worker process by _start_worker


def _start_worker(options: RenderOptions) -> None:
    global _worker_synth
    _worker_synth = LazySynthesizer(options)


def _render_job(job: tuple) -> dict:
    return render_tune(*job, _worker_synth)


def _where(tune) -> str:
    return f"{tune.source or '<text>'} X:{tune.x} (line {tune.start_line})"


def render_tune(tune, stem: Path, options: RenderOptions, synth: LazySynthesizer) -> dict:
    """Render one tune to `stem`.<format> for each format; returns its manifest entry.

    All files are made in memory first, so a tune that fails leaves none behind.
    """
    try:
        performance = tune_to_midi(tune, options.midi)
        outputs = {}
        if "mid" in options.formats:
            outputs["mid"] = midi_bytes(performance.midi)
        audio_formats = [f for f in options.formats if f in AUDIO_FORMATS]
        if audio_formats:
            audio = synth.get().render(performance.midi, performance.seconds)
            outputs.update((fmt, encoded_bytes(audio, fmt)) for fmt in audio_formats)
    except AbcError as exc:  # knows its file, tune and line already
        return _entry(tune, "error", error=str(exc))
    except AbcgenError as exc:
        return _entry(tune, "error", error=f"{_where(tune)}: {exc}")
    except Exception as exc:  # noqa: BLE001 - a bug in one tune must not stop the book
        return _entry(tune, "error",
                      error=f"{_where(tune)}: internal error ({type(exc).__name__}: {exc})")
    files = {}
    for fmt, data in outputs.items():
        path = atomic_write_bytes(stem.with_name(f"{stem.name}.{fmt}"), data, durable=False)
        files[fmt] = path.name
    return _entry(tune, "ok", files, round(performance.seconds, 3))


def check_options(options: RenderOptions) -> list[str]:
    """Raise for options that can't be rendered (an unknown format, MP3/OGG/FLAC without
    ffmpeg, bad MIDI options); the warnings for those that render less well (audio without
    FluidSynth or a soundfont plays the sine fallback)."""
    check_formats(options.formats)
    require_ffmpeg(options.formats)
    options.midi.check()
    if not any(f in AUDIO_FORMATS for f in options.formats):
        return []
    warning = fallback_warning(find_soundfont(options.soundfont), options.fluidsynth)
    return [warning] if warning else []


def _prepare(path: Path, options: RenderOptions) -> tuple[list, list, list[str]]:
    """Parse the book and check the environment: (tunes, parse failures, warnings)."""
    from abcgen.notation import parse_file

    if not path.is_file():
        raise InputError(f"{path} does not exist or is not a file")
    notes = check_options(options)
    tunes, failures = parse_file(path)
    return tunes, failures, notes


def render_file(path: str | Path, out_dir: str | Path, options: RenderOptions | None = None,
                progress: Callable[[dict, int, int], None] | None = None) -> dict:
    """Render every tune of the ABC file `path` into `out_dir` and write its manifest.json.

    `progress(entry, done, total)` is called as each tune finishes. Returns the manifest, whose
    entries follow the file's order. Raises InputError for a missing file or an unknown format,
    ToolMissingError for MP3/OGG/FLAC without ffmpeg; problems with single tunes only mark
    their entries.
    """
    options = options or RenderOptions()
    # The book's tunes stay alive until the batch ends, and so every collection the rendering
    # triggers would walk them all again (a sixth of a 2,000-tune book's time); rendering
    # makes no cycles, so reference counting frees what it drops.
    with collector_paused():
        return _render_book(Path(path), Path(out_dir), options, progress)


def _render_book(path: Path, out_dir: Path, options: RenderOptions,
                 progress: Callable[[dict, int, int], None] | None) -> dict:
    """`render_file`'s work, with the collector paused."""
    tunes, failures, notes = _prepare(path, options)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = {"source": str(path), "formats": list(options.formats), "warnings": notes,
                "options": asdict(options.midi),
                "tunes": render_tunes(tunes, failures, out_dir, options, progress)}
    # not fsynced, like the files it lists: a manifest that survives a power cut while they
    # don't would vouch for empty files
    atomic_write_text(out_dir / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                      durable=False)
    return manifest


def render_tunes(tunes: list, failures: list, out_dir: Path, options: RenderOptions,
                 progress: Callable[[dict, int, int], None] | None = None) -> list[dict]:
    """The manifest entries of a parsed book (`parse_tunebook`'s tunes and failures), in the
    book's order, each tune rendered into `out_dir` under its `tune_stems` name (so a caller
    can put files of its own beside them); call `check_options` first.

    `progress(entry, done, total)` gets the failures' entries first, then each tune's as it
    finishes, in the book's order."""
    jobs = [(tune, out_dir / stem, options)
            for tune, stem in zip(tunes, tune_stems([t.title for t in tunes]), strict=True)]
    report = _reporter(progress, len(tunes) + len(failures))
    placed = [(err.line, report(_entry(err, "error", error=str(err)))) for err in failures]
    rendered = _run_jobs(jobs, options, report)
    placed += [(tune.start_line, entry) for tune, entry in zip(tunes, rendered, strict=True)]
    return [entry for _, entry in sorted(placed, key=lambda p: p[0])]


def _reporter(progress: Callable[[dict, int, int], None] | None,
              total: int) -> Callable[[dict], dict]:
    """A pass-through for finished entries that calls `progress(entry, done, total)`."""
    done = itertools.count(1)

    def report(entry: dict) -> dict:
        if progress is not None:
            progress(entry, next(done), total)
        return entry

    return report


def _run_jobs(jobs: list[tuple], options: RenderOptions,
              report: Callable[[dict], dict]) -> list[dict]:
    """Each (tune, stem, options) job's manifest entry, in job order; `options.jobs` > 1
    renders in child processes (spawned, so none inherits this one's FluidSynth)."""
    if options.jobs <= 1 or len(jobs) <= 1:
        synth = LazySynthesizer(options)
        try:
            return [report(render_tune(*job, synth)) for job in jobs]
        finally:
            synth.close()
    chunk = max(1, len(jobs) // (8 * options.jobs))  # few round trips, smooth progress still
    with ProcessPoolExecutor(max_workers=options.jobs, initializer=_start_worker,
                             initargs=(options,),
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        return [report(entry) for entry in pool.map(_render_job, jobs, chunksize=chunk)]
