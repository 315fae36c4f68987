"""Rendering benchmark: speed against the reference tools, and agreement with abc2midi.

Three ratios, on one sample of music21's ABC corpus (files shuffled with a fixed seed, tunes
renumbered X:1..N into one book so both tools read the same file):

1. ABC -> MIDI: `render_file(book, formats=mid)` (parse, timeline, MIDI, write, manifest) as
   a user runs it (worker processes on every CPU) and in one process (`jobs=1`), and
   `abcgen render` as a command, against `abc2midi book.abc` (one process) writing the same
   files, each run into a fresh folder, five times back to back. Target: our wall time within
   5x abc2midi's. User and system CPU time are reported beside wall time: abc2midi's wall
   time is mostly system time spent creating files, which swings with other programs' disk
   traffic on this shared machine, so the one-process user CPU ratio is the steady one.
   `abc_to_midi_stages` splits one process's CPU time per tune.
2. MIDI -> WAV real-time factor (wall seconds per second of audio): our Synthesizer (one
   reused FluidSynth, normalising, WAV writing) against the bare `fluidsynth -ni -F` command
   on the same MIDI files with the same soundfont. Target: ratio <= 1.0.
3. `--plain` melody agreement with `abc2midi -NGUI -NGRA -NFER` (no chords, grace notes or
   fermatas), on the tunes `abcgen.tools.golden.compare_book` compares: tunes abc2midi reports
   an error on, hornpipes (abc2midi swings them), parts and voices are set aside with their
   reasons, as in the notation benchmark. A tune agrees when every note has the same pitch,
   onset and length within one tick (480 per quarter), abc2midi's known differences undone
   (`abc2midi.compare_melody`; its chord stagger is switched off by `%%MIDI chordattack 0`).
   Each disagreement gets a cause: `timeline` when our timeline already differs from
   abc2midi's notes (the notation core), `render-<kind>` when only the MIDI does (this code).
"""

import collections
import functools
import gc
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

from abcgen.notation import Field, Tune, build_timeline, dumps_book, parse_file
from abcgen.render import MidiOptions, RenderOptions, Synthesizer, find_soundfont, render_file
from abcgen.render.batch import worker_count
from abcgen.render.audio import SAMPLE_RATE, wav_bytes
from abcgen.render.midi import midi_bytes, tune_to_midi
from abcgen.tools import abc2midi, golden
from bench.cpu import cpu_seconds, cpu_times

SEED = 0
FOLK_COLLECTIONS = ("oneills1850", "ryansMammoth", "airdsAirs", "miscFolk", "essenFolksong")
TUNES = {True: 300, False: 2000}  # quick, full
WAV_FILES = {True: 10, False: 40}
REPEATS = 5  # ABC -> MIDI runs of ours and abc2midi, back to back: medians of this many
INHERITED_FIELDS = ("L", "M", "Q", "R", "K")  # file-header defaults that change the music
EXAMPLES = 12  # disagreements listed with their first difference


class Played(NamedTuple):
    """One of our notes in abc2midi.compare_melody's terms (quarters; decorations only for the
    ornaments abc2midi expands)."""

    pitch: int
    onset: Fraction
    duration: Fraction
    decorations: tuple[str, ...]


def corpus_tunes(count: int) -> list[Tune]:
    """`count` tunes from music21's folk collections (shuffled files, SEED), numbered X:1.."""
    import music21

    paths = [p for p in music21.corpus.getPaths(fileExtensions=("abc",))
             if p.parent.name in FOLK_COLLECTIONS]
    random.Random(SEED).shuffle(paths)
    tunes = []
    for path in paths:
        tunes += parse_file(path)[0]
        if len(tunes) >= count:
            break
    return [_standalone(tune, index) for index, tune in enumerate(tunes[:count], start=1)]


def _standalone(tune: Tune, x: int) -> Tune:
    """The tune renumbered X:x with its file header's defaults copied in before K:."""
    named = {f.name for f in tune.header}
    inherited = [f for f in tune.file_header if f.name in INHERITED_FIELDS and f.name not in named]
    body_start = next((i for i, f in enumerate(tune.header) if f.name == "K"), len(tune.header))
    header = [f for f in tune.header[:body_start] if f.name != "X"]
    return Tune(header=[Field("X", str(x)), *header, *inherited, *tune.header[body_start:]],
                body=tune.body, source=tune.source)


class Timing(NamedTuple):
    """One run's seconds: wall clock, user CPU (computing) and system CPU (mostly the file
    system), this process and the children it waited for together."""

    wall: float
    user: float
    system: float


def _timed(action: Callable[[], object]) -> Timing:
    """The Timing of one call of `action`."""
    (user, system), started = cpu_times(), time.perf_counter()
    action()
    wall, (user_after, system_after) = time.perf_counter() - started, cpu_times()
    return Timing(wall, user_after - user, system_after - system)


def _abc2midi_book(book: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "book.abc"
        shutil.copy(book, copy)
        subprocess.run(["abc2midi", copy.name, "-silent"], cwd=tmp, capture_output=True,
                       check=False)


def midi_speed(book: Path, tunes: int, work: Path) -> dict:
    """ABC -> MIDI files: our library (on every CPU, and in one process) against abc2midi, run
    back to back REPEATS times so all meet the same load (medians of the times and of each
    round's ratio), and our command once. Every run writes into a fresh folder, as abc2midi
    does: replacing files costs more.

    abc2midi computes a tune in about 15 us of user CPU, so its wall time is mostly the file
    system's (system CPU) creating 2,000 files, which other programs' disk traffic can slow
    several times over: the wall ratio swings with it, the user CPU ratio does not."""
    options = RenderOptions(formats=("mid",), jobs=None)  # worker processes, as the CLI runs
    one_process = RenderOptions(formats=("mid",), jobs=1)
    ours, single, reference = [], [], []
    for index in range(REPEATS):
        ours.append(_timed(functools.partial(render_file, book, work / f"lib{index}", options)))
        single.append(_timed(functools.partial(render_file, book, work / f"one{index}",
                                               one_process)))
        reference.append(_timed(functools.partial(_abc2midi_book, book)))
    command = [str(Path(sys.executable).with_name("abcgen")), "render", str(book),
               "--out", str(work / "cli"), "--formats", "mid"]
    cli = _timed(functools.partial(subprocess.run, command, capture_output=True, check=True))
    medians = {f"{name}_{field}_s": round(statistics.median(getattr(run, field) for run in runs), 4)
               for name, runs in (("abcgen", ours), ("abcgen_one_process", single),
                                  ("abc2midi", reference))
               for field in Timing._fields}
    return {"tunes": tunes, "abcgen_processes": worker_count(options, tunes), **medians,
            "abcgen_cli_wall_s": round(cli.wall, 3),
            "abcgen_tunes_per_s": round(tunes / medians["abcgen_wall_s"], 1),
            "abc2midi_tunes_per_s": round(tunes / medians["abc2midi_wall_s"], 1),
            "ratio_vs_abc2midi": _pair_ratio(ours, reference, "wall"),
            "one_process_ratio_vs_abc2midi": _pair_ratio(single, reference, "wall"),
            "one_process_user_cpu_ratio_vs_abc2midi": _total_ratio(single, reference, "user"),
            "cli_ratio_vs_abc2midi": round(cli.wall / medians["abc2midi_wall_s"], 2),
            "target_ratio": 5.0,
            "abcgen_runs_wall_s": [round(run.wall, 3) for run in ours],
            "abcgen_one_process_runs_wall_s": [round(run.wall, 3) for run in single],
            "abc2midi_runs_wall_s": [round(run.wall, 4) for run in reference]}


def _total_ratio(ours: list[Timing], reference: list[Timing], field: str) -> float | None:
    """Our total time over abc2midi's (one Timing field; totals, as the kernel counts CPU time
    in ticks of a few ms, a good part of one abc2midi run); None when abc2midi's is 0."""
    theirs = sum(getattr(run, field) for run in reference)
    return round(sum(getattr(run, field) for run in ours) / theirs, 1) if theirs else None


def _pair_ratio(ours: list[Timing], reference: list[Timing], field: str) -> float:
    """The median over back-to-back runs of our time over abc2midi's (one Timing field)."""
    ratios = [getattr(a, field) / getattr(b, field) for a, b in zip(ours, reference, strict=True)]
    return round(statistics.median(ratios), 2)


STAGES = ("read_ms", "timeline_ms", "perform_ms", "midi_bytes_ms", "write_ms", "free_ms")
STAGE_ROUNDS = 3  # stage splits and render_file runs alternated: medians of this many


def stage_split(book: Path, tunes: int, work: Path) -> dict:
    """User CPU milliseconds per tune in each stage of `render_file(book, formats=mid)`, run
    one after another on the whole book with the garbage collector paused as render_file
    pauses it, then render_file itself, STAGE_ROUNDS times alternated (medians). User time,
    as the system time of creating files swings several times over between two runs with the
    disk's other traffic: `system_ms` (the stages') and `render_file_system_ms` show it
    apart. `free_ms` is freeing the book, its timelines and performances, which render_file
    does as it goes; `other_ms` is the rest of render_file's user time (each tune's structure
    check, file names, the manifest)."""
    text, options = book.read_text(encoding="utf-8"), RenderOptions(formats=("mid",), jobs=1)
    rounds, wholes = [], []
    for index in range(STAGE_ROUNDS):
        rounds.append(_stage_seconds(text, work / f"stages{index}"))
        wholes.append(_timed(functools.partial(render_file, book, work / f"stages-render{index}",
                                               options)))
    *stages, system = [statistics.median(seconds) for seconds in zip(*rounds, strict=True)]
    whole = statistics.median(run.user for run in wholes)
    split = {name: seconds * 1000 / tunes for name, seconds in zip(STAGES, stages, strict=True)}
    split.update(other_ms=(whole - sum(stages)) * 1000 / tunes, render_file_ms=whole * 1000 / tunes,
                 system_ms=system * 1000 / tunes,
                 render_file_system_ms=statistics.median(run.system for run in wholes) * 1000
                 / tunes)
    return {name: round(ms, 3) for name, ms in split.items()}


def _stage_seconds(text: str, out: Path) -> list[float]:
    """User CPU seconds of each of STAGES over the book `text`, writing MIDI files into `out`,
    then the system CPU seconds of them all."""
    from abcgen.fileio import atomic_write_bytes
    from abcgen.notation.parse import read_tunes
    from abcgen.render.midi import timeline_to_midi

    marks = [cpu_times()]
    gc.disable()
    try:
        parsed = read_tunes(text)
        marks.append(cpu_times())
        timelines = [(build_timeline(tune), tune.get("R")) for tune in parsed]
        marks.append(cpu_times())
        performances = [timeline_to_midi(timeline, rhythm=rhythm) for timeline, rhythm in timelines]
        marks.append(cpu_times())
        files = [midi_bytes(performance.midi) for performance in performances]
        marks.append(cpu_times())
        for index, data in enumerate(files):
            atomic_write_bytes(out / f"{index}.mid", data, durable=False)
        marks.append(cpu_times())
        del parsed, timelines, performances, files
        marks.append(cpu_times())
    finally:
        gc.enable()
    users = [end[0] - start[0] for start, end in zip(marks, marks[1:], strict=False)]
    return [*users, marks[-1][1] - marks[0][1]]


def wav_speed(tunes: list[Tune], work: Path) -> dict:
    """MIDI -> WAV real-time factors: our Synthesizer against the fluidsynth command."""
    soundfont = find_soundfont()
    performances = []
    for tune in tunes:
        try:
            performances.append(tune_to_midi(tune))
        except Exception:  # noqa: BLE001 - a tune the renderer refuses is not timed
            continue
    paths = []
    for index, performance in enumerate(performances):
        path = work / f"wav{index}.mid"
        path.write_bytes(midi_bytes(performance.midi))
        paths.append(path)
    if not paths:
        return {"files": 0}
    started = cpu_seconds()
    ours_wall, ours_audio = _our_wav(performances, work)
    between = cpu_seconds()
    cli_wall, cli_audio = _cli_wav(paths, soundfont, work)
    ours_cpu, cli_cpu = between - started, cpu_seconds() - between
    ours_rtf, cli_rtf = ours_wall / ours_audio, cli_wall / cli_audio
    return {"files": len(paths), "soundfont": str(soundfont), "audio_s": round(ours_audio, 1),
            "abcgen_wall_s": round(ours_wall, 3), "fluidsynth_cli_wall_s": round(cli_wall, 3),
            "abcgen_cpu_s": round(ours_cpu, 3), "fluidsynth_cli_cpu_s": round(cli_cpu, 3),
            "abcgen_rtf": round(ours_rtf, 4), "fluidsynth_cli_rtf": round(cli_rtf, 4),
            "ratio_vs_fluidsynth_cli": round(ours_rtf / cli_rtf, 2),
            "cpu_ratio_vs_fluidsynth_cli": round(ours_cpu / ours_audio / (cli_cpu / cli_audio), 2),
            "target_ratio": 1.0}


def _our_wav(performances, work: Path) -> tuple[float, float]:
    started = time.perf_counter()
    synth = Synthesizer()  # the soundfont load counts, as it does for the command
    audio_seconds = 0.0
    for index, performance in enumerate(performances):
        audio = synth.render(performance.midi, performance.seconds)
        (work / f"ours{index}.wav").write_bytes(wav_bytes(audio))
        audio_seconds += len(audio) / SAMPLE_RATE
    synth.close()
    return time.perf_counter() - started, audio_seconds


def _cli_wav(paths: list[Path], soundfont: Path, work: Path) -> tuple[float, float]:
    import wave

    started = time.perf_counter()
    for path in paths:
        subprocess.run(["fluidsynth", "-ni", "-q", "-F", str(path.with_suffix(".wav")), "-r",
                        str(SAMPLE_RATE), str(soundfont), str(path)], capture_output=True,
                       check=True)
    wall = time.perf_counter() - started
    audio_seconds = 0.0
    for path in paths:
        with wave.open(str(path.with_suffix(".wav"))) as wav:
            audio_seconds += wav.getnframes() / wav.getframerate()
    return wall, audio_seconds


def _our_plain_melody(tune: Tune) -> list[Played]:
    """Our --plain MIDI read back as notes in quarters, with roll/trill marks attached."""
    import io

    import pretty_midi

    midi = pretty_midi.PrettyMIDI(io.BytesIO(midi_bytes(
        tune_to_midi(tune, MidiOptions(plain=True)).midi)))
    # keyed by written onsets, as plain plays them: a note after grace notes starts where
    # they did (its onset in the timeline with graces is later)
    ornaments = {(e.pitch, e.onset): tuple(d for d in e.decorations
                                           if d in abc2midi.EXPANDED_ORNAMENTS)
                 for e in build_timeline(tune, graces=False).events}
    played = []
    for note in midi.instruments[0].notes:
        on, off = midi.time_to_tick(note.start), midi.time_to_tick(note.end)
        onset = Fraction(on, midi.resolution)
        played.append(Played(note.pitch, onset, Fraction(off - on, midi.resolution),
                             ornaments.get((note.pitch, onset), ())))
    return played


def _note_f1(ours: list[Played], reference: list) -> tuple[int, int, int]:
    """(matching notes, our notes, reference notes): exact pitch, onset and length (abc2midi's
    roll and trill notes count as misses here)."""
    mine = collections.Counter((n.pitch, n.onset, n.duration) for n in ours)
    theirs = collections.Counter((n.pitch, n.onset, n.duration) for n in reference)
    return sum((mine & theirs).values()), len(ours), len(reference)


def _set_aside_reason(verdict: golden.TuneVerdict, reference: list | None) -> str:
    """Why a tune is not compared ('' when it is)."""
    if verdict.status == "reference-error":
        return f"abc2midi error: {verdict.detail}"
    if not verdict.compared:
        return verdict.detail
    return "" if reference is not None else "abc2midi wrote no MIDI"


def melody_agreement(book_text: str) -> dict:
    """Our plain melody against abc2midi's, tune by tune (see the module docstring)."""
    comparison = golden.book_comparison(book_text)
    set_aside, causes, counts = collections.Counter(), collections.Counter(), collections.Counter()
    examples, matched, ours_total, ref_total = [], 0, 0, 0
    for tune, verdict in zip(comparison.tunes, comparison.verdicts, strict=False):
        reference = comparison.run.melodies.get(golden.x_number(tune.x))
        reason = _set_aside_reason(verdict, reference)
        if reason:
            set_aside[reason] += 1
            continue
        counts["compared"] += 1
        try:
            ours = _our_plain_melody(tune)
        except Exception as exc:  # noqa: BLE001 - counted, not fatal: this is a measurement
            causes[f"abcgen failed: {type(exc).__name__}"] += 1
            continue
        mismatch = abc2midi.compare_melody(ours, reference)
        hits, mine, theirs = _note_f1(ours, reference)
        matched, ours_total, ref_total = matched + hits, ours_total + mine, ref_total + theirs
        if mismatch is None:
            counts["agree"] += 1
            continue
        cause = "timeline" if verdict.status == "differs" else f"render-{mismatch.kind}"
        causes[cause] += 1
        if len(examples) < EXAMPLES:
            examples.append(f"X:{tune.x} {tune.title}: {cause}: {mismatch}")
    return {**counts, "agree_share": round(counts["agree"] / max(counts["compared"], 1), 4),
            "note_f1": round(2 * matched / max(ours_total + ref_total, 1), 4),
            "disagreement_causes": dict(causes.most_common()),
            "disagreement_examples": examples,
            "set_aside": sum(set_aside.values()),
            "set_aside_reasons": dict(set_aside.most_common()),
            "abc2midi_flags": list(abc2midi.PLAIN_FLAGS), "abc2midi_version": abc2midi.version()}


def run(quick: bool = False) -> dict:
    tunes = corpus_tunes(TUNES[quick])
    book_text = dumps_book(tunes)
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        work = Path(tmp)
        book = work / "book.abc"
        book.write_text(book_text, encoding="utf-8")
        return {"sample": {"collections": list(FOLK_COLLECTIONS), "seed": SEED,
                           "tunes": len(tunes)},
                "abc_to_midi": midi_speed(book, len(tunes), work),
                "abc_to_midi_stages": stage_split(book, len(tunes), work),
                "midi_to_wav": wav_speed(tunes[:WAV_FILES[quick]], work),
                "plain_melody_vs_abc2midi": melody_agreement(book_text)}
