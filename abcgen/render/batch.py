"""Render every tune of a tunebook to MIDI and audio files, with a manifest of what happened.

`render_file(path, out_dir, options)` writes `NNN-title.mid/.wav/...` per tune (NNN = the
tune's position among the file's readable tunes, so duplicate X: numbers never collide; named
by abcgen.fileio.tune_stems, as the songbook and the web app name theirs) and `manifest.json`:

    {"source": ..., "formats": [...], "warnings": [...], "options": {MidiOptions' fields},
     "tunes": [{"x", "title", "status": "ok"|"error", "files": {"mid": name, ...},
                "seconds": playing time without the tail, "error": message or null}, ...]}

A tune that fails (bad ABC, too long, an internal error) gets an "error" entry and no files;
the others still render. Tunes are parsed where they are rendered, so with `jobs` > 1 worker
processes (each with its own reused FluidSynth) share all of the work: each writes its tunes'
files under temporary names, and the parent gives them their numbered names in book order.
"""

from __future__ import annotations

import gc
import itertools
import json
import multiprocessing
import os
import secrets
import sys
import threading
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple, Protocol

from abcgen.cpus import usable_cores
from abcgen.errors import AbcgenError, InputError
from abcgen.fileio import (StemNamer, atomic_write_bytes, atomic_write_text, make_folder,
                           write_temporary)
from abcgen.notation.errors import AbcError
from abcgen.notation.model import Tune
from abcgen.notation.parse import collector_paused, stream_tunes, tune_failure
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
# With `jobs` unset, a MIDI-only batch takes one more process per this many tunes: a tune costs
# about 1 ms, a worker's start (forked) ~20 ms and its share of sending the tunes over.
MIDI_TUNES_PER_JOB = 100
MAX_AUTO_JOBS = 8  # processes `jobs=None` starts at most
MAX_CHUNK = 64  # tunes sent to a worker at once, at most
WINDOW_PER_JOB = 4  # chunks in flight per worker: enough to keep each busy, few in memory


class RenderProgress(Protocol):
    """Told of each tune as it is done, in the book's order."""

    def __call__(self, entry: dict, done: int, total: int) -> None:
        """`entry`: the tune's manifest entry; `done` of `total` tunes rendered."""


@dataclass(frozen=True)
class RenderOptions:
    """What `render_file` writes and how: `formats` from FORMATS, the MIDI performance
    options, a soundfont path (None searches), `fluidsynth` False for the sine fallback, and
    `jobs` worker processes (1: this process; None: one per CPU, fewer for a small book, see
    `worker_count`, as `abcgen render` does; a script that renders with more than one from a
    threaded program needs the `if __name__ == "__main__":` guard that spawning asks for)."""

    formats: tuple[str, ...] = DEFAULT_FORMATS
    midi: MidiOptions = field(default_factory=MidiOptions)
    soundfont: str | None = None
    fluidsynth: bool = True
    jobs: int | None = 1


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


def _entry(tune: Tune, status: str, files: dict | None = None, seconds: float | None = None,
           error: str | None = None) -> dict:
    return {"x": tune.x, "title": tune.title, "status": status, "files": files or {},
            "seconds": seconds, "error": error}


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


class Rendered(NamedTuple):
    """A tune's files made in memory (format -> bytes) and its playing time in seconds."""

    outputs: dict[str, bytes]
    seconds: float


class Written(NamedTuple):
    """A tune's files written under temporary names (format -> name), to be renamed when the
    book's numbering reaches the tune, and its playing time in seconds."""

    temporaries: dict[str, str]
    seconds: float


def _file_path(stem: Path, fmt: str) -> Path:
    """`stem`.<fmt> (a stem such as `003-the-kesh` may hold dots of its own: no with_suffix)."""
    return stem.with_name(f"{stem.name}.{fmt}")


def _where(tune) -> str:
    return f"{tune.source or '<text>'} X:{tune.x} (line {tune.start_line})"


def _render_in_memory(tune, options: RenderOptions, synth: LazySynthesizer) -> Rendered | dict:
    """A tune that parses, as files in memory; or its error entry."""
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
        return _internal_error(tune, exc)
    return Rendered(outputs, round(performance.seconds, 3))


def _internal_error(tune, exc: Exception) -> dict:
    return _entry(tune, "error",
                  error=f"{_where(tune)}: internal error ({type(exc).__name__}: {exc})")


def render_tune(tune, stem: Path, options: RenderOptions, synth: LazySynthesizer) -> dict:
    """Render one parsed tune to `stem`.<format> for each format; returns its manifest entry.

    All files are made in memory first, so a tune that fails leaves none behind.
    """
    result = _render_in_memory(tune, options, synth)
    if isinstance(result, dict):
        return result
    files = {fmt: atomic_write_bytes(_file_path(stem, fmt), data, durable=False).name
             for fmt, data in result.outputs.items()}
    return _entry(tune, "ok", files, result.seconds)


def _render_unparsed(tune, options: RenderOptions, synth: LazySynthesizer,
                     scratch: Path) -> tuple[bool, Written | dict]:
    """A tune as `read_tunes` gives it: (whether it parses, and so takes a file number; its
    files, written under temporary names beside `scratch`, or its error entry)."""
    try:
        failure = tune_failure(tune)
    except Exception as exc:  # noqa: BLE001 - a bug in one tune must not stop the book
        return False, _internal_error(tune, exc)
    if failure is not None:
        return False, _entry(tune, "error", error=str(failure))
    result = _render_in_memory(tune, options, synth)
    if isinstance(result, dict):
        return True, result
    return True, Written({fmt: write_temporary(_file_path(scratch, fmt), data, durable=False)
                          for fmt, data in result.outputs.items()}, result.seconds)


def _place_files(tune, written: Written, stem: Path) -> dict:
    """Rename a tune's temporary files to `stem`.<format>; its manifest entry."""
    files = {}
    for fmt, temporary in written.temporaries.items():
        path = _file_path(stem, fmt)
        os.replace(temporary, path)
        files[fmt] = path.name
    return _entry(tune, "ok", files, written.seconds)


# (options, synthesizer, scratch) in each worker process, set by _start_worker
_worker_state: tuple[RenderOptions, LazySynthesizer, Path] | None = None


def _start_worker(options: RenderOptions, scratch: Path) -> None:
    global _worker_state
    _worker_state = (options, LazySynthesizer(options), scratch)
    gc.disable()  # as render_file does in its own process (a forked worker inherits that)


def _render_job(tune) -> tuple[bool, Written | dict]:
    options, synth, scratch = _worker_state
    return _render_unparsed(tune, options, synth, scratch)


def _has_audio(options: RenderOptions) -> bool:
    return any(f in AUDIO_FORMATS for f in options.formats)


def check_options(options: RenderOptions) -> list[str]:
    """Raise for options that can't be rendered (an unknown format, MP3/OGG/FLAC without
    ffmpeg, bad MIDI options, `jobs` < 1); the warnings for those that render less well
    (audio without FluidSynth or a soundfont plays the sine fallback)."""
    check_formats(options.formats)
    require_ffmpeg(options.formats)
    options.midi.check()
    if options.jobs is not None and options.jobs < 1:
        raise InputError(f"jobs must be at least 1, got {options.jobs}")
    if not _has_audio(options):
        return []
    warning = fallback_warning(find_soundfont(options.soundfont), options.fluidsynth)
    return [warning] if warning else []


def render_file(path: str | Path, out_dir: str | Path, options: RenderOptions | None = None,
                progress: RenderProgress | None = None) -> dict:
    """Render every tune of the ABC file `path` into `out_dir` and write its manifest.json.

    `progress(entry, done, total)` is called as each tune finishes, in the file's order.
    Returns the manifest, whose entries follow the file's order. Raises InputError for a
    missing file or an unknown format, ToolMissingError for MP3/OGG/FLAC without ffmpeg;
    problems with single tunes only mark their entries.
    """
    options = options or RenderOptions()
    # The book's tunes stay alive until the batch ends, and so every collection the rendering
    # triggers would walk them all again (a sixth of a 2,000-tune book's time); rendering
    # makes no cycles, so reference counting frees what it drops.
    with collector_paused():
        return _render_book(Path(path), Path(out_dir), options, progress)


def _render_book(path: Path, out_dir: Path, options: RenderOptions,
                 progress: RenderProgress | None) -> dict:
    """`render_file`'s work, with the collector paused: the book is read twice a tune at a
    time (to count its tunes, then to render them), so memory holds a few tunes, not the file."""
    if not path.is_file():
        raise InputError(f"{path} does not exist or is not a file")
    notes = check_options(options)
    total = sum(1 for _ in stream_tunes(path))
    make_folder(out_dir)
    manifest = {"source": str(path), "formats": list(options.formats), "warnings": notes,
                "options": asdict(options.midi),
                "tunes": render_tunes(stream_tunes(path), out_dir, options, progress, total)}
    # not fsynced, like the files it lists: a manifest that survives a power cut while they
    # don't would vouch for empty files
    atomic_write_text(out_dir / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                      durable=False)
    return manifest


def render_tunes(tunes: Iterable, out_dir: Path, options: RenderOptions,
                 progress: RenderProgress | None = None,
                 total: int | None = None) -> list[dict]:
    """The manifest entries of a book's tunes as `read_tunes` or `stream_tunes` gives them
    (parsed or not), in order; each tune that parses is rendered into `out_dir` under its
    `tune_stems` name among the tunes that parse (so a caller can put files of its own beside
    them), the others get their parse error. Call `check_options` first. `total`: the number
    of tunes, for progress and the worker count (default: len(tunes)).

    `progress(entry, done, total)` gets each entry as it is done, in the book's order."""
    total = len(tunes) if total is None else total
    report = _reporter(progress, total)
    name_stem = StemNamer()
    # each tune's files are written as .render-<token>.<format>.<pid>-<n>.tmp, then renamed
    scratch = out_dir / f"render-{secrets.token_hex(6)}"
    results = _rendered(tunes, options, scratch, total)
    entries = []
    try:
        with closing(results):  # a failure here stops the workers at once
            for tune, (parses, result) in results:
                if parses:
                    stem = out_dir / name_stem(tune.title)
                    if isinstance(result, Written):
                        result = _place_files(tune, result, stem)
                entries.append(report(result))
    except BaseException:
        for leftover in out_dir.glob(f".{scratch.name}.*"):  # made but never renamed
            leftover.unlink(missing_ok=True)
        raise
    return entries


def _reporter(progress: RenderProgress | None,
              total: int) -> Callable[[dict], dict]:
    """A pass-through for finished entries that calls `progress(entry, done, total)`."""
    done = itertools.count(1)

    def report(entry: dict) -> dict:
        if progress is not None:
            progress(entry, next(done), total)
        return entry

    return report


def worker_count(options: RenderOptions, tunes: int) -> int:
    """The processes that render a book of `tunes` tunes: `options.jobs` when set, else one
    per CPU up to MAX_AUTO_JOBS (each with audio loads its own soundfont), fewer for a small
    book (a process per tune with audio, which costs about a second a tune; one per
    MIDI_TUNES_PER_JOB tunes without)."""
    if options.jobs is not None:
        return max(1, min(options.jobs, tunes))
    share = tunes if _has_audio(options) else tunes // MIDI_TUNES_PER_JOB
    return max(1, min(usable_cores(), MAX_AUTO_JOBS, share))


def _worker_context() -> multiprocessing.context.BaseContext:
    """Forked workers where that is safe: they start at once, abcgen already imported. Spawned
    ones when this process runs other threads (a web server): fork would copy the locks they
    hold; and off Linux (macOS's system libraries don't survive a fork). Either way a worker
    makes its own FluidSynth and never touches this process's."""
    if sys.platform == "linux" and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _rendered(tunes: Iterable, options: RenderOptions, scratch: Path,
              total: int) -> Iterator[tuple[object, tuple[bool, Written | dict]]]:
    """(tune, `_render_unparsed` of it) for each tune, in order: in this process, or in
    `worker_count` child processes, a bounded window of tunes at a time (so a book of any
    size holds a few chunks in memory). Closing it early stops the workers (those running
    finish their tune)."""
    jobs = worker_count(options, total)
    if jobs == 1:
        synth = LazySynthesizer(options)
        try:
            yield from ((tune, _render_unparsed(tune, options, synth, scratch)) for tune in tunes)
        finally:
            synth.close()
        return
    # a tune with audio takes a second: one at a time; MIDI: few round trips, smooth progress
    chunk = 1 if _has_audio(options) else max(1, min(MAX_CHUNK, total // (8 * jobs)))
    pool = ProcessPoolExecutor(max_workers=jobs, initializer=_start_worker,
                               initargs=(options, scratch), mp_context=_worker_context())
    try:
        in_flight: deque = deque()
        for batch in _batches(tunes, chunk):
            in_flight.append((batch, pool.submit(_render_jobs, batch)))
            if len(in_flight) >= WINDOW_PER_JOB * jobs:
                yield from _done(in_flight.popleft())
        while in_flight:
            yield from _done(in_flight.popleft())
    finally:
        pool.shutdown(cancel_futures=True)


def _batches(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _render_jobs(tunes: list) -> list[tuple[bool, Written | dict]]:
    return [_render_job(tune) for tune in tunes]


def _done(submitted) -> Iterator[tuple[object, tuple[bool, Written | dict]]]:
    batch, future = submitted
    return zip(batch, future.result(), strict=True)
