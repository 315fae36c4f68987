"""The audio the page streams: each tune's WAV from the render stage, re-encoded as Opus in an
Ogg file (~1/12 of the WAV's size) by ffmpeg once the job's rendering is done, at a lower
priority.

The cards of the job just run play their WAVs at once: encoding while rendering (0.3-0.6 s an
ffmpeg on a busy 2-CPU machine) made 8 tunes playable 2-5 s later. Every later view of a tune
(a reload, its link, the songbook's page) streams the OGG, and cleanup removes WAVs that have
an OGG beside them after `WAV_LINGER_S` (a WAV is made again when asked for). Without ffmpeg
the page plays the WAV.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from abcgen.errors import AbcgenError

PAGE_FORMAT = "ogg"
WAV_LINGER_S = 15 * 60  # a just-made WAV stays while its first page plays it
NICENESS = 10
ENCODERS = 2  # ffmpeg processes at once: beside the renderer, on a machine of few CPUs
# Opus at 96 kbit/s stereo, its fastest setting: a 17 s tune in ~0.28 s, of which 0.13 s is
# ffmpeg starting (Vorbis took 0.45 s, Opus at its default setting 0.45 s); and
# every browser the page supports plays it from an Ogg file.
FFMPEG_ARGS = ("-c:a", "libopus", "-b:a", "96k", "-compression_level", "0", "-vn")


def has_encoder() -> bool:
    return shutil.which("ffmpeg") is not None


def _lower_priority() -> None:
    """In the ffmpeg child: give way to rendering and sampling, which a page is waiting for."""
    os.nice(NICENESS)


def encode(wav: Path) -> Path:
    """`wav` as NAME.ogg beside it (written under a temporary name, then renamed). Raises
    AbcgenError when ffmpeg fails."""
    out = wav.with_suffix(f".{PAGE_FORMAT}")
    partial = wav.with_name(f".{out.name}.partial")
    done = subprocess.run(["ffmpeg", "-y", "-nostdin", "-hide_banner", "-loglevel", "error",
                           "-i", str(wav), *FFMPEG_ARGS, "-f", "ogg", str(partial)],
                          capture_output=True, text=True, preexec_fn=_lower_priority)
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise AbcgenError(f"ffmpeg could not encode {wav.name}: {done.stderr.strip()[-300:]}")
    partial.replace(out)
    return out


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _shared_pool() -> ThreadPoolExecutor:
    """One pool for every job's encodings (made on first use)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=ENCODERS, thread_name_prefix="abcgen-ogg")
        return _pool


class Encoder:
    """One job's encodings, which go on after the job is done (its tunes play their WAVs at
    once); `busy` until all have ended, and cleanup leaves the job's folder alone till then."""

    def __init__(self):
        self.pending: list[Future] = []

    def submit(self, wav: Path, done: Callable[[str], None]) -> None:
        """Encode `wav`; `done(name of the OGG)` is called once it is (not when it fails:
        the tune keeps its WAV)."""
        def run():
            try:
                done(encode(wav).name)
            except (AbcgenError, OSError):
                pass

        self.pending.append(_shared_pool().submit(run))

    @property
    def busy(self) -> bool:
        return not all(future.done() for future in self.pending)

    def wait(self, timeout: float | None = None) -> None:
        for future in self.pending:
            future.result(timeout)
