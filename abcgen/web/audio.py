"""The audio the page streams: each tune's WAV from the render stage, re-encoded as Opus in an
Ogg file (~1/12 of the WAV's size) by ffmpeg as soon as the WAV is written, while the job's
next tunes render (~0.1 s a tune, half of it ffmpeg starting; 0.4-1.1 s on a 2-CPU machine
that a training run keeps busy). At the renderer's priority: a card waits for its OGG.

Every card plays the OGG, the job just run's too: a tune's card gets its audio once its OGG is
made. Cleanup removes WAVs that have an OGG beside them after `WAV_LINGER_S` (a WAV is made
again when asked for: the "WAV" download). Without ffmpeg, or where it fails, the page plays
the WAV.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from abcgen.errors import AbcgenError

PAGE_FORMAT = "ogg"
WAV_LINGER_S = 15 * 60  # a just-made WAV stays while its first page plays it
ENCODERS = 2  # ffmpeg processes at once: beside the renderer, on a machine of few CPUs
# Opus at 96 kbit/s stereo, its fastest setting: a 17 s tune in ~0.28 s, of which 0.13 s is
# ffmpeg starting (Vorbis took 0.45 s, Opus at its default setting 0.45 s); and
# every browser the page supports plays it from an Ogg file.
FFMPEG_ARGS = ("-c:a", "libopus", "-b:a", "96k", "-compression_level", "0", "-vn")


def has_encoder() -> bool:
    return shutil.which("ffmpeg") is not None


def encode(wav: Path) -> Path:
    """`wav` as NAME.ogg beside it (written under a temporary name, then renamed). Raises
    AbcgenError when ffmpeg fails."""
    out = wav.with_suffix(f".{PAGE_FORMAT}")
    partial = wav.with_name(f".{out.name}.partial")
    done = subprocess.run(["ffmpeg", "-y", "-nostdin", "-hide_banner", "-loglevel", "error",
                           "-i", str(wav), *FFMPEG_ARGS, "-f", "ogg", str(partial)],
                          capture_output=True, text=True)
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
    """One job's encodings, on a pool shared by every job; `busy` until all have ended, and
    cleanup leaves the job's folder alone till then."""

    def __init__(self):
        self.pending: list[Future] = []

    def submit(self, wav: Path, done: Callable[[str], None],
               failed: Callable[[], None] = lambda: None) -> None:
        """Encode `wav`; `done(name of the OGG)` is called once it is, `failed()` when
        ffmpeg fails (the tune keeps its WAV)."""
        def run():
            try:
                name = encode(wav).name
            except (AbcgenError, OSError):
                failed()
            else:
                done(name)

        self.pending.append(_shared_pool().submit(run))

    @property
    def busy(self) -> bool:
        return not all(future.done() for future in self.pending)

    def wait(self, timeout: float | None = None) -> None:
        for future in self.pending:
            future.result(timeout)
