"""Rendering benchmark: speed against the reference tools, and agreement with abc2midi.

Three ratios, on one sample of music21's ABC corpus (files shuffled with a fixed seed, tunes
renumbered X:1..N into one book so both tools read the same file):

1. ABC -> MIDI: `render_file(book, formats=mid)` (parse, timeline, MIDI, write, manifest) and
   `abcgen render` as a command, against `abc2midi book.abc` writing the same files.
   Target: our wall time within 5x abc2midi's.
2. MIDI -> WAV real-time factor (wall seconds per second of audio): our Synthesizer (one
   reused FluidSynth, normalising, WAV writing) against the bare `fluidsynth -ni -F` command
   on the same MIDI files with the same soundfont. Target: ratio <= 1.0.
3. `--plain` melody agreement with `abc2midi -NGUI -NGRA -NFER` (no chords, grace notes or
   fermatas): a tune agrees when every note has the same pitch, onset and length within one
   tick (480 per quarter). Known differences are undone before comparing: abc2midi's 1-tick
   note-on delay (abcgen.tools.abc2midi), its rolls/trills played as several notes (merged
   back), and the 10-tick stagger it gives the notes of a chord; hornpipes are reported
   apart because abc2midi always swings R:hornpipe and plain never does.
"""

import collections
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

from abcgen.notation import Field, Tune, build_timeline, dumps_book, parse_file, parse_tunebook
from abcgen.render import MidiOptions, RenderOptions, Synthesizer, find_soundfont, render_file
from abcgen.render.audio import SAMPLE_RATE, wav_bytes
from abcgen.render.midi import midi_bytes, tune_to_midi
from abcgen.tools import abc2midi

SEED = 0
FOLK_COLLECTIONS = ("oneills1850", "ryansMammoth", "airdsAirs", "miscFolk", "essenFolksong")
TUNES = {True: 300, False: 2000}  # quick, full
WAV_FILES = {True: 10, False: 40}
REPEATS = 3  # timings are medians of this many runs
INHERITED_FIELDS = ("L", "M", "Q", "R", "K")  # file-header defaults that change the music
CHORD_STAGGER_TICKS = 60  # abc2midi starts chord notes 10 ticks apart; 6 notes at most


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


def _median_wall(action, repeats: int = REPEATS) -> float:
    walls = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        walls.append(time.perf_counter() - started)
    return statistics.median(walls)


def _abc2midi_book(book: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "book.abc"
        shutil.copy(book, copy)
        subprocess.run(["abc2midi", copy.name, "-silent"], cwd=tmp, capture_output=True,
                       check=False)


def midi_speed(book: Path, tunes: int, work: Path) -> dict:
    """ABC -> MIDI files: our library and command against abc2midi (medians, seconds)."""
    ours = _median_wall(lambda: render_file(book, work / "lib", RenderOptions(formats=("mid",))))
    command = [str(Path(sys.executable).with_name("abcgen")), "render", str(book),
               "--out", str(work / "cli"), "--formats", "mid"]
    cli = _median_wall(lambda: subprocess.run(command, capture_output=True, check=True), 1)
    reference = _median_wall(lambda: _abc2midi_book(book))
    return {"tunes": tunes, "abcgen_s": round(ours, 3), "abcgen_cli_s": round(cli, 3),
            "abc2midi_s": round(reference, 4), "abcgen_tunes_per_s": round(tunes / ours, 1),
            "abc2midi_tunes_per_s": round(tunes / reference, 1),
            "ratio_vs_abc2midi": round(ours / reference, 2),
            "cli_ratio_vs_abc2midi": round(cli / reference, 2), "target_ratio": 5.0}


def stage_split(book_text: str, tunes: int) -> dict:
    """Milliseconds per tune in each in-memory stage of ABC -> MIDI (no files written)."""
    from abcgen.render.midi import timeline_to_midi

    started = time.perf_counter()
    parsed, _ = parse_tunebook(book_text)
    parsed_at = time.perf_counter()
    timelines = [(build_timeline(tune), tune.get("R")) for tune in parsed]
    timed_at = time.perf_counter()
    performances = [timeline_to_midi(timeline, rhythm=rhythm) for timeline, rhythm in timelines]
    performed_at = time.perf_counter()
    for performance in performances:
        midi_bytes(performance.midi)
    written_at = time.perf_counter()
    per_tune = 1000 / tunes
    return {"parse_ms": round((parsed_at - started) * per_tune, 3),
            "timeline_ms": round((timed_at - parsed_at) * per_tune, 3),
            "perform_ms": round((performed_at - timed_at) * per_tune, 3),
            "midi_bytes_ms": round((written_at - performed_at) * per_tune, 3)}


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
    ours_wall, ours_audio = _our_wav(performances, work)
    cli_wall, cli_audio = _cli_wav(paths, soundfont, work)
    ours_rtf, cli_rtf = ours_wall / ours_audio, cli_wall / cli_audio
    return {"files": len(paths), "soundfont": str(soundfont), "audio_s": round(ours_audio, 1),
            "abcgen_wall_s": round(ours_wall, 3), "fluidsynth_cli_wall_s": round(cli_wall, 3),
            "abcgen_rtf": round(ours_rtf, 4), "fluidsynth_cli_rtf": round(cli_rtf, 4),
            "ratio_vs_fluidsynth_cli": round(ours_rtf / cli_rtf, 2), "target_ratio": 1.0}


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


def _unstaggered(notes: list) -> list[abc2midi.MidiNote]:
    """abc2midi's chord notes moved back to the chord's onset (they share its end)."""
    by_end = collections.defaultdict(list)
    for note in notes:
        by_end[note.onset + note.duration].append(note)
    result = []
    for end, group in by_end.items():
        first = min(n.onset for n in group)
        for note in group:
            close = (note.onset - first) * abc2midi.TICKS_PER_QUARTER <= CHORD_STAGGER_TICKS
            onset = first if close else note.onset
            result.append(abc2midi.MidiNote(note.pitch, onset, end - onset))
    return sorted(result)


def _our_plain_melody(tune: Tune) -> list[Played]:
    """Our --plain MIDI read back as notes in quarters, with roll/trill marks attached."""
    import io

    import pretty_midi

    midi = pretty_midi.PrettyMIDI(io.BytesIO(midi_bytes(
        tune_to_midi(tune, MidiOptions(plain=True)).midi)))
    ornaments = {(e.pitch, e.onset): tuple(d for d in e.decorations
                                           if d in abc2midi.EXPANDED_ORNAMENTS)
                 for e in build_timeline(tune).events}
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


def melody_agreement(book_text: str) -> dict:
    """Our plain melody against abc2midi's, tune by tune (see the module docstring)."""
    run = abc2midi.book_melodies(book_text, flags=abc2midi.PLAIN_FLAGS)
    tunes, _ = parse_tunebook(book_text)
    kinds, counts = collections.Counter(), collections.Counter()
    matched = ours_total = ref_total = 0
    for tune in tunes:
        reference = run.melodies.get(int(tune.x))
        if not reference:
            counts["abc2midi_no_midi"] += 1
            continue
        try:
            ours = _our_plain_melody(tune)
        except Exception:  # noqa: BLE001 - counted, not fatal: this is a measurement
            counts["abcgen_failed"] += 1
            continue
        reference = _unstaggered(reference)
        mismatch = abc2midi.compare_melody(ours, reference)
        hornpipe = "hornpipe" in (tune.get("R") or "").lower()
        counts["compared"] += 1
        counts["hornpipes"] += hornpipe
        counts["agree"] += mismatch is None
        counts["agree_non_hornpipe"] += mismatch is None and not hornpipe
        kinds[mismatch.kind if mismatch else "none"] += 1
        hits, mine, theirs = _note_f1(ours, reference)
        matched, ours_total, ref_total = matched + hits, ours_total + mine, ref_total + theirs
    compared = max(counts["compared"], 1)
    return {**counts, "agree_share": round(counts["agree"] / compared, 4),
            "agree_share_non_hornpipe": round(counts["agree_non_hornpipe"]
                                              / max(compared - counts["hornpipes"], 1), 4),
            "note_f1": round(2 * matched / max(ours_total + ref_total, 1), 4),
            "first_mismatch_kinds": dict(kinds), "abc2midi_flags": list(abc2midi.PLAIN_FLAGS),
            "abc2midi_version": abc2midi.version()}


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
                "abc_to_midi_stages": stage_split(book_text, len(tunes)),
                "midi_to_wav": wav_speed(tunes[:WAV_FILES[quick]], work),
                "plain_melody_vs_abc2midi": melody_agreement(book_text)}
