"""Songbook benchmark: a 100-tune book (quick: 10) with every format, against the bare tools.

1. Overhead: `make_songbook` wall time with --jobs = the CPU count, against the sum of the
   bare tool times for the same tunes divided by that job count: `fluidsynth -ni -F` on each
   tune's MIDI, `ffmpeg -i x.wav -b:a 128k x.mp3` on each WAV, `abcm2ps -S` on the book's
   ABC and `ps2pdf` on its PostScript (the files the songbook itself wrote). Target <= 1.25.
2. Scaling: the same book made from scratch with --jobs 1 and with --jobs 2.

Tunes come from data/corpus/test.abc (`abcgen corpus build music21 --out data/corpus`) when
it exists, else from the Nottingham collection's cleaned jigs.
"""

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from abcgen.notation import dumps, read_abc, read_tunes
from abcgen.render import find_soundfont
from abcgen.songbook import SongbookOptions, make_songbook
from bench.cpu import cpu_seconds

REPO = Path(__file__).resolve().parents[1]
SOURCES = (REPO / "data" / "corpus" / "test.abc",
           REPO.parent / "shared" / "corpora" / "nottingham_jukedeck" / "ABC_cleaned" / "jigs.abc")
TUNES = {True: 10, False: 100}  # quick, full
TARGET_RATIO = 1.25


def _book(count: int, folder: Path) -> Path:
    """The first `count` tunes of the first source that exists, as one file."""
    source = next(path for path in SOURCES if path.is_file())
    tunes = read_tunes(read_abc(source), str(source))[:count]
    book = folder / "bench.abc"
    book.write_text("\n".join(dumps(tune) for tune in tunes))
    return book


def _timed(command: list[str], cwd: Path | None = None, check: bool = True) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=check, capture_output=True)
    return time.perf_counter() - started


def _make(book: Path, out: Path, jobs: int) -> tuple[float, float, object]:
    """(wall s, CPU s, result) of making the book from scratch."""
    shutil.rmtree(out, ignore_errors=True)
    started, cpu = time.perf_counter(), cpu_seconds()
    result = make_songbook(book, out, SongbookOptions(title="Bench", jobs=jobs))
    return time.perf_counter() - started, cpu_seconds() - cpu, result


def bare_tool_seconds(out: Path, scratch: Path) -> dict:
    """Each bare tool's total time on the files the songbook in `out` was made from."""
    soundfont = str(find_soundfont())
    times = {"fluidsynth": 0.0, "ffmpeg": 0.0}
    for midi in sorted((out / "tunes").glob("*.mid")):
        wav, mp3 = scratch / f"{midi.stem}.wav", scratch / f"{midi.stem}.mp3"
        times["fluidsynth"] += _timed(["fluidsynth", "-ni", "-q", "-F", str(wav), "-r", "44100",
                                       soundfont, str(midi)])
        times["ffmpeg"] += _timed(["ffmpeg", "-loglevel", "error", "-y", "-i", str(wav),
                                   "-b:a", "128k", str(mp3)])
    # abcm2ps exits 1 when a tune has an error but still writes the PostScript
    times["abcm2ps"] = _timed(["abcm2ps", "-S", "book.abc", "-O", str(scratch / "b.ps")],
                              out / ".songbook", check=False)
    times["ps2pdf"] = _timed(["ps2pdf", str(scratch / "b.ps"), str(scratch / "b.pdf")])
    return {name: round(seconds, 3) for name, seconds in times.items()}


def run(quick: bool = False) -> dict:
    jobs = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="bench-songbook-") as tmp:
        folder = Path(tmp)
        book = _book(TUNES[quick], folder)
        walls, cpus = {}, {}
        for count in sorted({1, 2, jobs}):
            walls[count], cpus[count], result = _make(book, folder / f"jobs{count}", count)
        cpu = cpu_seconds()
        tools = bare_tool_seconds(folder / f"jobs{jobs}", folder)
        tools_cpu = cpu_seconds() - cpu
    ideal = sum(tools.values()) / jobs
    return {"tunes_in": TUNES[quick], "tunes_in_book": result.tunes,
            "failed": len(result.failures), "jobs": jobs,
            "wall_s_by_jobs": {str(k): round(v, 2) for k, v in walls.items()},
            "bare_tool_s": tools, "bare_sum_over_jobs_s": round(ideal, 2),
            "ratio_vs_bare_tools": round(walls[jobs] / ideal, 3), "target_ratio": TARGET_RATIO,
            "meets_target": walls[jobs] / ideal <= TARGET_RATIO,
            "speedup_jobs2_vs_jobs1": round(walls[1] / walls[2], 2),
            "cpu_s_by_jobs": {str(k): round(v, 2) for k, v in cpus.items()},
            "bare_tool_cpu_s": round(tools_cpu, 2),
            "cpu_ratio_vs_bare_tools": round(cpus[jobs] / tools_cpu, 3),
            "load_average_1min": round(os.getloadavg()[0], 2)}
