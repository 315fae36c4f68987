"""Each tune's own files, `DIR/tunes/NNN-slug.{abc,mid,wav,mp3}`, rendered in parallel and
skipped when already up to date.

Up to date means: the tune's stamp `DIR/.songbook/NNN-slug.json` holds the same content hash
(the tune's ABC text, the formats and the performance options) and every file it lists is
there. A stamp is written only after all of a tune's files are in place, and every file is
written to a temporary name and renamed (abcgen.fileio), so a run stopped by Ctrl-C or
`kill -9` leaves finished tunes stamped, no half-written file under a final name, and a rerun
renders only what is missing.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

from abcgen import __version__
from abcgen.fileio import atomic_write_text, inside
from abcgen.notation import Tune, dumps
from abcgen.render import RenderOptions
from abcgen.render.batch import LazySynthesizer, render_tune

TUNES_DIR = "tunes"
STATE_DIR = ".songbook"  # stamps and temporary files; hidden, not part of the book
STALE_SUFFIX = ".tmp"  # abcgen.fileio's temporary files end so; a killed run may leave some

EntryDone = Callable[[dict], None]  # told of each tune's manifest entry as it is made


@dataclass(frozen=True)
class TuneJob:
    """One tune to render: the tune, its file stem (DIR/tunes/NNN-slug) and stamp path, and
    the content hash its finished files must carry."""

    tune: Tune
    stem: Path
    stamp: Path
    digest: str


def content_hash(abc_text: str, options: RenderOptions) -> str:
    """SHA-256 of what a tune's rendered files depend on: its ABC text, the formats, the
    performance options, the soundfont choice and the abcgen version."""
    recipe = {"abc": abc_text, "formats": sorted(options.formats), "midi": asdict(options.midi),
              "soundfont": options.soundfont, "fluidsynth": options.fluidsynth,
              "version": __version__}
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def make_job(tune: Tune, stem: str, out_dir: Path, options: RenderOptions) -> TuneJob:
    """The job for one book tune; also writes its .abc file (always: it is cheap)."""
    tunes_dir = out_dir / TUNES_DIR
    text = dumps(tune)
    abc_path = inside(tunes_dir, f"{stem}.abc")
    if not abc_path.is_file() or abc_path.read_text(encoding="utf-8") != text:
        atomic_write_text(abc_path, text)
    return TuneJob(tune, inside(tunes_dir, stem), inside(out_dir / STATE_DIR, f"{stem}.json"),
                   content_hash(text, options))


def cached_entry(job: TuneJob) -> dict | None:
    """The finished entry from the job's stamp when its files are up to date, else None."""
    try:
        stamp = json.loads(job.stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = stamp.get("entry", {}).get("files", {})
    present = all((job.stem.parent / name).is_file() for name in files.values())
    return stamp["entry"] if stamp.get("digest") == job.digest and present else None


def render_job(job: TuneJob, options: RenderOptions, synth: LazySynthesizer) -> dict:
    """Render one tune's MIDI/audio files (render stage) and stamp them when all are in."""
    entry = render_tune(job.tune, job.stem, options, synth)
    if entry["status"] == "ok":
        atomic_write_text(job.stamp, json.dumps({"digest": job.digest, "entry": entry}) + "\n")
    return entry


def remove_stale_temporaries(out_dir: Path) -> None:
    """Delete temporary files a killed run left behind (never a finished file)."""
    for folder in (out_dir, out_dir / TUNES_DIR, out_dir / STATE_DIR):
        for path in folder.glob(f".*{STALE_SUFFIX}") if folder.is_dir() else ():
            path.unlink(missing_ok=True)


_worker_synth: LazySynthesizer | None = None  # one per worker process, reused for every tune
_worker_options: RenderOptions | None = None


def _start_worker(options: RenderOptions) -> None:
    # Ctrl-C goes to the whole process group: the parent alone handles it (cancelling the
    # queue), so a worker finishes the tune in hand instead of dying mid-write.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _worker_synth, _worker_options
    _worker_synth, _worker_options = LazySynthesizer(options), options


def _run_in_worker(job: TuneJob) -> dict:
    return render_job(job, _worker_options, _worker_synth)


def render_jobs(jobs: list[TuneJob], options: RenderOptions, workers: int,
                done: EntryDone) -> dict[Path, dict]:
    """Render every job (in `workers` processes when > 1); entries by stem, each passed to
    `done` as it finishes."""
    if workers <= 1 or len(jobs) <= 1:
        synth = LazySynthesizer(options)
        try:
            return {job.stem: _reported(render_job(job, options, synth), done)
                    for job in jobs}
        finally:
            synth.close()
    # spawn: no worker inherits this process's state (a FluidSynth, open files)
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_start_worker, initargs=(options,),
                               mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = {pool.submit(_run_in_worker, job): job.stem for job in jobs}
        return {futures[f]: _reported(f.result(), done) for f in as_completed(futures)}
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # on Ctrl-C: drop the queue, keep files


def _reported(entry: dict, done: EntryDone) -> dict:
    done(entry)
    return entry
