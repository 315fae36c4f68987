"""Notation core speed and agreement with abc2midi over music21's whole ABC corpus.

Figures (one run of `python -m bench.run notation`):
- ours: tunes/s of parse_tunebook -> build_timeline over the corpus (12,977 tunes; quick: the
  first files up to 1,000 tunes), median of several runs;
- music21: tunes/s of `converter.parse(text, format='abc')` on a fixed 200-tune sample (quick: 20);
- abc2midi: wall time of `abc2midi FILE -c` per file over the same files (its parse, bar checks
  and MIDI generation without writing files);
- agreement: the share of compared tunes whose melody equals abc2midi's (abcgen.tools.golden:
  tunes abc2midi errs on and known abc2midi differences left out), with the commonest causes
  of disagreement and a few example tunes for each.
- commands: what users get. The same books in one file (ALL.abc: the files joined by blank lines)
  run through `abcgen check` and `abcgen inspect --json` as a user runs them (`python -m
  abcgen`, output to /dev/null; worker processes on every CPU, and `--jobs 1` beside them),
  `abc2midi ALL.abc -c` once over the file, and the library's parse -> timeline over the same
  file read a tune at a time (stream_tunes); medians of several runs, wall and CPU seconds.
Targets (issue 2): >= 50x music21's tunes/s, within 3x abc2midi's wall time, >= 98 % identical.
Targets (issue 17), over the one file: inspect --json >= 50x music21's tunes/s and <= 5x
abc2midi's wall time; check <= 2x the library's parse -> timeline.
"""

import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from abcgen.notation import (AbcError, build_timeline, parse_tunebook, parse_tunes, read_abc,
                             stream_tunes)
from abcgen.tools import abc2midi
from abcgen.tools.golden import compare_book, tune_texts
from bench.cpu import cpu_seconds

QUICK_TUNES, MUSIC21_SAMPLE, MUSIC21_QUICK = 1000, 200, 20
RUNS, QUICK_RUNS, SEED, EXAMPLES = 3, 3, 2026, 3


def corpus_books(limit: int | None) -> list[tuple[str, str]]:
    """(path, text) of music21's ABC files in a fixed shuffled order (so a quick run spans the
    collections), stopping after about `limit` tunes."""
    from music21 import corpus

    paths = sorted(str(p) for p in corpus.getPaths(fileExtensions=("abc",)))
    random.Random(SEED).shuffle(paths)
    books, tunes = [], 0
    for path in paths:
        text = read_abc(path)
        books.append((path, text))
        tunes += text.count("\nX:") + text.startswith("X:")
        if limit is not None and tunes >= limit:
            break
    return books


class Clock:
    """Wall and CPU seconds of a block, our process's and its children's (abc2midi) together.
    CPU seconds hold still when other work shares the 2 cores; wall seconds don't."""

    def __enter__(self) -> "Clock":
        self.wall, self.cpu = time.perf_counter(), cpu_seconds()
        return self

    def __exit__(self, *exc) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, cpu_seconds() - self.cpu


def our_pass(books: list[tuple[str, str]]) -> tuple[Clock, int, int]:
    """Time to parse and build the timeline of every tune; tunes read; tunes failed."""
    done, failed = 0, 0
    with Clock() as clock:
        done, failed = _parse_all(books)
    return clock, done, failed


def _parse_all(books: list[tuple[str, str]]) -> tuple[int, int]:
    done, failed = 0, 0
    for path, text in books:
        tunes, failures = parse_tunebook(text, source=path)
        failed += len(failures)
        for tune in tunes:
            try:
                build_timeline(tune)
                done += 1
            except AbcError:
                failed += 1
    return done, failed


def music21_rate(books: list[tuple[str, str]], size: int) -> dict:
    """music21's tunes/s on a fixed sample of single-tune texts."""
    from music21 import converter

    pieces = [piece for _, text in books for piece in tune_texts(text)]
    sample = random.Random(SEED).sample(pieces, min(size, len(pieces)))
    failed = 0
    with Clock() as clock:
        for piece in sample:
            try:
                converter.parse(f"X:1\n{piece}\n", format="abc")
            except Exception:  # noqa: BLE001 - music21 raises many kinds; a failure costs time
                failed += 1
    return {"tunes": len(sample), "seconds": round(clock.wall, 3), "cpu_s": round(clock.cpu, 3),
            "tunes_per_s": round(len(sample) / clock.wall, 2),
            "tunes_per_cpu_s": round(len(sample) / clock.cpu, 2), "failed": failed}


def abc2midi_clock(books: list[tuple[str, str]]) -> Clock:
    with Clock() as clock:
        for _, text in books:
            abc2midi.check(text)
    return clock


def child_clock(args: list[str]) -> Clock:
    """Wall and CPU seconds of a command run as a user runs it, output to /dev/null."""
    with Clock() as clock:
        subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return clock


def _median(clocks: list[Clock]) -> dict:
    return {"seconds": round(statistics.median(c.wall for c in clocks), 3),
            "cpu_s": round(statistics.median(c.cpu for c in clocks), 3)}


def commands(books: list[tuple[str, str]], runs: int, music21: dict) -> dict:
    """The commands users run over the books in one file, beside abc2midi and the library
    (see the module docstring)."""
    abcgen = [sys.executable, "-m", "abcgen"]
    with tempfile.TemporaryDirectory() as folder:
        book = os.path.join(folder, "ALL.abc")
        with open(book, "w", encoding="utf-8") as out:
            out.write("\n\n".join(text.strip("\n") for _, text in books) + "\n")
        tunes = sum(1 for _ in stream_tunes(book))
        timed = {
            "library parse -> timeline": [_library_clock(book) for _ in range(runs)],
            "abc2midi -c": [child_clock([shutil.which("abc2midi"), book, "-c"])
                            for _ in range(runs)],
            "check": [child_clock([*abcgen, "check", book]) for _ in range(runs)],
            "check --jobs 1": [child_clock([*abcgen, "check", book, "--jobs", "1"])
                               for _ in range(runs)],
            "inspect --json": [child_clock([*abcgen, "inspect", book, "--json"])
                               for _ in range(runs)],
            "inspect --json --jobs 1": [child_clock([*abcgen, "inspect", book, "--json",
                                                     "--jobs", "1"]) for _ in range(runs)],
        }
    figures = {name: _median(clocks) for name, clocks in timed.items()}
    for figure in figures.values():
        figure["tunes_per_s"] = round(tunes / figure["seconds"], 1)
    return {"file_mb": round(sum(len(t.encode()) for _, t in books) / 2**20, 2), "tunes": tunes,
            "runs": runs, "figures": figures,
            "ratios": _command_ratios({**figures, "tunes": tunes}, music21)}


def _library_clock(book: str) -> Clock:
    with Clock() as clock:
        parse_tunes(stream_tunes(book))
    return clock


def _command_ratios(figures: dict, music21: dict) -> dict:
    """The issue-17 ratios by wall time, and by CPU time (which holds still when other work
    shares the cores; a command's worker processes count in its CPU time)."""
    ratios = {}
    for clock, key, rate in (("wall", "seconds", "tunes_per_s"),
                             ("cpu", "cpu_s", "tunes_per_cpu_s")):
        for name in ("inspect --json", "inspect --json --jobs 1"):
            per_s = figures["tunes"] / figures[name][key]
            ratios[f"{name} vs music21 tunes/s ({clock})"] = round(per_s / music21[rate], 1)
            ratios[f"{name} vs abc2midi ({clock})"] = round(
                figures[name][key] / figures["abc2midi -c"][key], 2)
        for name in ("check", "check --jobs 1"):
            ratios[f"{name} vs library parse -> timeline ({clock})"] = round(
                figures[name][key] / figures["library parse -> timeline"][key], 2)
    return ratios


def cause(verdict) -> str:
    """A rough label for why a tune differs, from its first differing note."""
    if verdict.status == "ours-failed":
        return f"we reject the tune: {verdict.kind}"
    ours, theirs = verdict.mismatch.ours, verdict.mismatch.reference
    if verdict.kind != "pitch" or ours is None or theirs is None:
        return "timing: repeats, endings or lengths"
    semitones = abs(ours.pitch - theirs.pitch)
    if semitones % 12 == 0:
        return "pitch: an octave apart (%%MIDI transpose, or repeats)"
    if semitones <= 2:
        return "pitch: accidental (how far an accidental holds)"
    return "pitch: another note (repeats or endings)"


def agreement(books: list[tuple[str, str]]) -> dict:
    """How many compared tunes play like abc2midi, and why the others don't."""
    statuses, causes, examples = Counter(), Counter(), defaultdict(list)
    for path, text in books:
        for verdict in compare_book(text, source=path):
            statuses[verdict.status] += 1
            if verdict.status in ("differs", "ours-failed"):
                label = cause(verdict)
                causes[label] += 1
                if len(examples[label]) < EXAMPLES:
                    where = f"{Path(path).parent.name}/{Path(path).name} X:{verdict.x}"
                    examples[label].append(f"{where} {verdict.detail}"[:300])
    compared = statuses["same"] + statuses["differs"] + statuses["ours-failed"]
    return {"statuses": dict(statuses), "compared": compared,
            "identical_share": round(statuses["same"] / compared, 4) if compared else None,
            "causes": [{"cause": c, "tunes": n, "examples": examples[c]}
                       for c, n in causes.most_common()]}


def run(quick: bool = False) -> dict:
    books = corpus_books(QUICK_TUNES if quick else None)
    passes = [our_pass(books) for _ in range(QUICK_RUNS if quick else RUNS)]
    ours_s = statistics.median(p[0].wall for p in passes)
    ours_cpu = statistics.median(p[0].cpu for p in passes)
    tunes = passes[0][1] + passes[0][2]
    reference = [abc2midi_clock(books) for _ in range(3)]
    reference_s = statistics.median(c.wall for c in reference)
    reference_cpu = statistics.median(c.cpu for c in reference)
    theirs = music21_rate(books, MUSIC21_QUICK if quick else MUSIC21_SAMPLE)
    ours_rate, ours_cpu_rate = passes[0][1] / ours_s, passes[0][1] / ours_cpu
    return {
        "files": len(books), "tunes": tunes, "abc2midi_version": abc2midi.version(),
        "ours": {"seconds": round(ours_s, 3), "cpu_s": round(ours_cpu, 3),
                 "tunes_per_s": round(ours_rate, 1), "tunes_per_cpu_s": round(ours_cpu_rate, 1),
                 "timelines": passes[0][1], "failed": passes[0][2]},
        "music21": theirs,
        "abc2midi": {"seconds": round(reference_s, 3), "cpu_s": round(reference_cpu, 3)},
        "ratios": {"ours_vs_music21_tunes_per_s": round(ours_rate / theirs["tunes_per_s"], 1),
                   "ours_vs_music21_tunes_per_cpu_s":
                       round(ours_cpu_rate / theirs["tunes_per_cpu_s"], 1),
                   "ours_vs_abc2midi_wall_time": round(ours_s / reference_s, 2),
                   "ours_vs_abc2midi_cpu_time": round(ours_cpu / reference_cpu, 2)},
        "targets": {"ours_vs_music21": ">= 50", "ours_vs_abc2midi_wall_time": "<= 3",
                    "identical_share": ">= 0.98",
                    "inspect --json vs music21 tunes/s": ">= 50",
                    "inspect --json vs abc2midi wall time": "<= 5",
                    "check vs library parse -> timeline": "<= 2"},
        "commands": commands(books, 1 if quick else RUNS, theirs),
        "agreement": agreement(books),
    }
