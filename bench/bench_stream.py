"""Big tunebooks: the commands' peak memory and time on synthetic books of growing size.

A book is music21's whole ABC corpus in one file (its 1,146 files joined by blank lines),
repeated with X: renumbered 1, 2, 3 ... until it reaches the size asked for (4.4 MB a copy).
Each command runs as a user runs it (`python -m abcgen ...`, output to /dev/null) in a child
process; its peak RSS and CPU time come from GNU time, its wall time from the clock.
Figures: per size, wall and CPU seconds, MB/s and peak RSS; `linearity`: seconds per MB of the
largest book over seconds per MB of the smallest (1.0 is linear), by wall and by CPU time (CPU
time holds still when other work shares the cores; wall time doesn't).
Targets (issue 17): peak RSS under 500 MB on a 100 MB book; time linear in the size.
"""

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES_MB, QUICK_SIZES_MB = (10, 100), (4, 16)
# One process each (--jobs 1), so that the peak RSS is the whole command's.
COMMANDS = {"check": ["check", "--summary", "--jobs", "1"],
            "inspect --json": ["inspect", "--json", "--jobs", "1"]}
ON_LARGEST = {"check", "inspect --json"}  # the commands also run on the largest book
_X_LINE = re.compile(r"^X:[^\n]*", re.MULTILINE)
GNU_TIME = "/usr/bin/time"  # Debian package time


def corpus_text() -> str:
    """music21's ABC files in one text, in path order."""
    from music21 import corpus

    from abcgen.notation import read_abc

    paths = sorted(str(p) for p in corpus.getPaths(fileExtensions=("abc",)))
    return "\n\n".join(read_abc(path).strip("\n") for path in paths) + "\n\n"


def write_book(path: Path, copies_of: str, size_mb: float) -> int:
    """Write `copies_of` again and again into `path` up to `size_mb` MB, X: numbered from 1
    across the book; returns the tunes written."""
    count, size, target = 0, 0, size_mb * 2**20

    def renumber(_match: re.Match) -> str:
        nonlocal count
        count += 1
        return f"X:{count}"

    with path.open("w", encoding="utf-8") as out:
        while size < target:
            text = _X_LINE.sub(renumber, copies_of)
            out.write(text)
            size += len(text.encode("utf-8"))
    return count


def measure(args: list[str]) -> dict:
    """Wall and CPU seconds and peak RSS (MB) of `python -m abcgen ARGS`, output discarded.

    GNU time reads the peak: wait4's ru_maxrss in this process would count the pages the
    child shared with this one (music21 and the corpus text) before it ran the command."""
    with tempfile.NamedTemporaryFile("r") as report:
        started = time.perf_counter()
        done = subprocess.run([GNU_TIME, "-f", "%M %U %S", "-o", report.name, sys.executable,
                               "-m", "abcgen", *args], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, check=False)
        wall = time.perf_counter() - started
        peak_kb, user, system = report.read().split()[-3:]
    return {"seconds": round(wall, 2), "peak_rss_mb": round(int(peak_kb) / 1024, 1),
            "cpu_s": round(float(user) + float(system), 2), "exit": done.returncode}


def run(quick: bool = False) -> dict:
    text = corpus_text()
    sizes = QUICK_SIZES_MB if quick else SIZES_MB
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            book = Path(folder) / f"book-{size}mb.abc"
            tunes = write_book(book, text, size)
            mb = book.stat().st_size / 2**20
            for name, args in COMMANDS.items():
                if size == sizes[-1] and name not in ON_LARGEST:
                    continue
                figure = measure([args[0], str(book), *args[1:]])
                print(name, size, figure, file=sys.stderr, flush=True)
                figure.update(mb=round(mb, 1), tunes=tunes,
                              mb_per_s=round(mb / figure["seconds"], 3))
                results.setdefault(name, []).append(figure)
            book.unlink()
    for figures in results.values():
        small, large = figures[0], figures[-1]
        if small is large:
            continue
        figures.append({f"linearity_{clock}": round((large[key] / large["mb"])
                                                    / (small[key] / small["mb"]), 2)
                        for clock, key in (("wall", "seconds"), ("cpu", "cpu_s"))})
    return {"copy": {"mb": round(len(text.encode()) / 2**20, 2),
                     "tunes": len(_X_LINE.findall(text))},
            "commands": results, "targets": {"peak_rss_mb": "< 500 at 100 MB",
                                             "linearity": "about 1"}}
