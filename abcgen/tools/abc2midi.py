"""The reference player: run the real abc2midi (abcMIDI, Debian 4.84) and read what it says
and plays.

Tests, benchmarks and the repair benchmark hold abcgen's notation core to this program. Two
things come back from it:

- its messages (`check`): abc2midi prints `Error in line-char L-C : msg` and
  `Warning in line-char L-C : msg` on stdout and always exits 0 (4.84), so stdout is the verdict;
- its melody (`melody_events`, `book_melodies`): the notes of the first note track of the MIDI
  file it writes, as (pitch, onset, duration) with times in quarter notes on abc2midi's tick grid
  (480 per quarter), so the tempo never matters.

abc2midi conventions undone or exposed here (see tests/fixtures/README.md for the full list):
every note starts 1 tick late (note-on delay; note-off lands on the nominal end), so one tick is
taken off each onset and added to each duration; guitar chords go to separate "gchord track"s,
which are ignored. `compare_melody` knows the remaining differences in how abc2midi *plays* what
is written (rolls and trills as several notes, staccato at half length).
"""

import bisect
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

from abcgen.errors import AbcgenError, ToolMissingError

PROGRAM = "abc2midi"
TICKS_PER_QUARTER = 480  # abc2midi's fixed MIDI division
NOTE_ON_DELAY_TICKS = 1  # abc2midi starts every note one tick after its nominal onset
TICK = Fraction(1, TICKS_PER_QUARTER)  # one tick in quarter notes: the comparison tolerance
DEFAULT_TIMEOUT_S = 120.0
# Plays the written notes and nothing else: no guitar-chord tracks, no grace notes, no fermata
# lengthening. Use these flags when comparing with build_timeline(tune, graces=False).
PLAIN_FLAGS = ("-NGUI", "-NGRA", "-NFER")

# store.c event_error / event_warning; a few messages come without a position.
MESSAGE_RE = re.compile(r"^(Error|Warning)(?: in line-char (\d+)-(\d+))?\s*:\s*(.*)$")
# genmidi.c checkbar: "Track 0 Bar 3 has 5 time units while the time signature has 4[ in repeat]"
BAR_WARNING_RE = re.compile(r"Track \d+ Bar (\d+) has (\S+) time units? while the time signature "
                            r"has (\d+)")
# `abc2midi book.abc` names each tune's file <stem><X>.mid
MIDI_NAME_RE = re.compile(r"^book(\d+)\.mid$")
NON_MELODY_TRACKS = ("gchord track", "drum track", "drone track")

# Directives that make abc2midi play what is written, inserted into each tune's header (abc2midi
# ignores them in a file header): ABC 2.1 §11.3, an accidental holds for the same note in the
# same octave (abc2midi's default is every octave); chord notes start together (abc2midi's
# default staggers them 10 ticks apart).
REFERENCE_DIRECTIVES = ("%%MIDI chordattack 0",)
# abc2midi plays these decorations as several notes inside the written note's time span
# (`~` roll: upper note then main note; `T`/`!trill!`: alternating 1/8-quarter notes).
EXPANDED_ORNAMENTS = frozenset({"roll", "trill"})
# abc2midi plays a staccato note for half its written length.
HALVED_DECORATIONS = frozenset({"staccato"})


class Abc2midiError(AbcgenError):
    """abc2midi ran but failed: it crashed, hung past the timeout or wrote no MIDI file."""


class MidiNote(NamedTuple):
    """A note abc2midi played: MIDI `pitch`, `onset` and `duration` in quarter notes (Fractions)."""

    pitch: int
    onset: Fraction
    duration: Fraction


@dataclass(frozen=True)
class Abc2midiMessage:
    """One line abc2midi printed: severity 'error' or 'warning', 1-based `line` in the file it
    was given (0 when it gave none), `col` as abc2midi counts it, and the message text."""

    severity: str
    line: int
    col: int
    message: str

    @property
    def bar_length(self) -> bool:
        """True for a `Bar N has ... time units while the time signature has M` warning."""
        return BAR_WARNING_RE.search(self.message) is not None

    @property
    def bar_number(self) -> int | None:
        """The bar number abc2midi counts (0 is the first bar) of a bar-length warning."""
        match = BAR_WARNING_RE.search(self.message)
        return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Abc2midiReport:
    """What `abc2midi FILE -c` said about a text: every error and warning, in printed order."""

    messages: tuple[Abc2midiMessage, ...]

    @property
    def errors(self) -> list[Abc2midiMessage]:
        return [m for m in self.messages if m.severity == "error"]

    @property
    def warnings(self) -> list[Abc2midiMessage]:
        return [m for m in self.messages if m.severity == "warning"]

    @property
    def bar_warnings(self) -> list[Abc2midiMessage]:
        return [m for m in self.warnings if m.bar_length]

    @property
    def complaints(self) -> list[Abc2midiMessage]:
        """What counts against a tune: errors, and bar-length warnings outside bar 0 (which
        abc2midi never checks on the first pass, as a pickup) and outside repeat passes."""
        return self.errors + [m for m in self.bar_warnings
                              if m.bar_number != 0 and "in repeat" not in m.message]

    def between(self, first_line: int, end_line: int) -> "Abc2midiReport":
        """The messages about lines `first_line` <= line < `end_line` (one tune of a book)."""
        return Abc2midiReport(tuple(m for m in self.messages if first_line <= m.line < end_line))


@dataclass(frozen=True)
class BookRun:
    """abc2midi run once over a whole tunebook: its report and each tune's melody by X: number.

    abc2midi writes every tune with the same X: number to one file name (the last one wins), so
    a caller should leave out tunes whose X: is used twice in the book.
    """

    report: Abc2midiReport
    melodies: dict[int, list[MidiNote]]


@dataclass(frozen=True)
class Mismatch:
    """Where two melodies first differ: `kind` is 'count', 'pitch', 'onset' or 'duration';
    `index` the position in time order; `ours`/`reference` the two notes there (None past an
    end)."""

    kind: str
    index: int
    ours: MidiNote | None
    reference: MidiNote | None

    def __str__(self) -> str:
        return f"{self.kind} at note {self.index}: ours {self.ours}, abc2midi {self.reference}"


def available() -> bool:
    """True when an `abc2midi` executable is on PATH."""
    return shutil.which(PROGRAM) is not None


def _executable() -> str:
    path = shutil.which(PROGRAM)
    if path is None:
        raise ToolMissingError(
            "abc2midi is not installed, so comparing with the reference player is off: "
            "install the Debian package 'abcmidi' (make setup does this as root)")
    return path


def _run(args: Sequence[str], cwd: Path, timeout: float) -> str:
    """Run abc2midi with `args` in `cwd` and return its stdout (it reports everything there)."""
    try:
        done = subprocess.run([_executable(), *args], cwd=cwd, capture_output=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise Abc2midiError(f"abc2midi ran longer than {timeout:g} s on {args[0]}") from exc
    if done.returncode < 0:
        raise Abc2midiError(f"abc2midi was killed by signal {-done.returncode} on {args[0]}")
    return done.stdout.decode("utf-8", errors="replace")


def version() -> str:
    """abc2midi's version banner without the program name, e.g. '4.84 January 20 2023'."""
    with tempfile.TemporaryDirectory(prefix="abc2midi-") as tmp:
        banner = _run(["-ver"], Path(tmp), DEFAULT_TIMEOUT_S).strip().splitlines()
    return banner[0].removesuffix(PROGRAM).strip() if banner else ""


def parse_messages(stdout: str) -> Abc2midiReport:
    """The errors and warnings in abc2midi's stdout (the banner and progress lines are skipped)."""
    messages = []
    for text in stdout.splitlines():
        match = MESSAGE_RE.match(text.strip())
        if match:
            severity, line, col, message = match.groups()
            messages.append(Abc2midiMessage(severity.lower(), int(line or 0), int(col or 0),
                                            message.strip()))
    return Abc2midiReport(tuple(messages))


def _write_book(tmp: Path, abc_text: str) -> Path:
    path = tmp / "book.abc"
    path.write_text(abc_text, encoding="utf-8", errors="surrogateescape")
    return path


def check(abc_text: str, timeout: float = DEFAULT_TIMEOUT_S) -> Abc2midiReport:
    """What `abc2midi FILE -c` (check only) reports about `abc_text`.

    Runs in a temporary directory because abc2midi writes `barloc.txt` into its working
    directory. Line numbers refer to `abc_text`'s lines.
    """
    with tempfile.TemporaryDirectory(prefix="abc2midi-") as tmp:
        book = _write_book(Path(tmp), abc_text)
        return parse_messages(_run([book.name, "-c"], Path(tmp), timeout))


def _track_notes(track: Iterable) -> list[tuple[int, int, int]]:
    """(pitch, on tick, off tick) of every note in one MIDI track, paired first-in first-out."""
    now, sounding, notes = 0, {}, []
    for msg in track:
        now += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            sounding.setdefault((msg.channel, msg.note), []).append(now)
        elif msg.type in ("note_on", "note_off") and sounding.get((msg.channel, msg.note)):
            notes.append((msg.note, sounding[(msg.channel, msg.note)].pop(0), now))
    return notes


def _in_time_order(notes: Iterable[MidiNote]) -> list[MidiNote]:
    return sorted(notes, key=lambda n: (n.onset, n.pitch, n.duration))


def _track_kind(track: Iterable) -> str:
    """The text abc2midi puts first in each track: 'note track', 'gchord track', ..."""
    return next((msg.text for msg in track if msg.type == "text"), "")


def read_melody(path: str | Path) -> list[MidiNote]:
    """The notes of the first note track (abc2midi's first voice) of a MIDI file abc2midi wrote.

    Guitar-chord, drum and drone tracks are skipped. Onsets lose abc2midi's 1-tick note-on
    delay and durations gain it back; both are in quarter notes, sorted by onset then pitch.
    """
    import mido  # pretty_midi's dependency; imported here so `import abcgen` stays light

    midi = mido.MidiFile(str(path))
    scale = Fraction(1, midi.ticks_per_beat)
    for track in midi.tracks:
        notes = _track_notes(track)
        if notes and _track_kind(track) not in NON_MELODY_TRACKS:
            return _in_time_order(MidiNote(pitch, (on - NOTE_ON_DELAY_TICKS) * scale,
                                           (off - on + NOTE_ON_DELAY_TICKS) * scale)
                                  for pitch, on, off in notes)
    return []


def melody_events(abc_text: str, x: int | str | None = None,
                  flags: Sequence[str] = ("-NGUI",),
                  timeout: float = DEFAULT_TIMEOUT_S) -> list[MidiNote]:
    """The melody abc2midi plays for one tune of `abc_text`: (pitch, onset, duration) tuples.

    Parameters
    ----------
    abc_text : ABC text (a whole book is fine; the file header applies).
    x : the tune's X: number; None plays the first tune (abc2midi's default).
    flags : extra abc2midi options; `PLAIN_FLAGS` also drops grace notes and fermatas.

    Returns notes of the first voice with onset and duration in quarter notes. Raises
    `Abc2midiError` when abc2midi writes no MIDI file (e.g. no K: or no such X:).
    """
    with tempfile.TemporaryDirectory(prefix="abc2midi-") as tmp:
        book = _write_book(Path(tmp), abc_text)
        selector = [str(x).strip()] if x is not None else []
        stdout = _run([book.name, *selector, "-o", "out.mid", *flags], Path(tmp), timeout)
        out = Path(tmp) / "out.mid"
        if not out.exists():
            errors = "; ".join(m.message for m in parse_messages(stdout).errors)
            raise Abc2midiError(f"abc2midi wrote no MIDI for X:{x}: {errors or 'no message'}")
        return read_melody(out)


def book_melodies(abc_text: str, flags: Sequence[str] = ("-NGUI",),
                  tune_starts: Sequence[int] = (),
                  timeout: float = DEFAULT_TIMEOUT_S) -> BookRun:
    """Run abc2midi once over a whole tunebook and read every tune's melody (see `BookRun`).

    One process per book is how abc2midi is fast (about 0.1 ms a tune); the report's line
    numbers refer to `abc_text`, so a caller can assign messages to tunes with
    `Abc2midiReport.between`.

    `tune_starts` (1-based lines of each tune's X: field) makes abc2midi play as the standard
    says: `REFERENCE_DIRECTIVES` are inserted after each of those lines.
    """
    text, original_line = _with_lines_after(abc_text, tune_starts, REFERENCE_DIRECTIVES)
    with tempfile.TemporaryDirectory(prefix="abc2midi-") as tmp:
        book = _write_book(Path(tmp), text)
        said = parse_messages(_run([book.name, *flags], Path(tmp), timeout))
        melodies = {}
        for path in Path(tmp).glob("book*.mid"):
            match = MIDI_NAME_RE.match(path.name)
            if match:
                melodies[int(match.group(1))] = read_melody(path)
    report = Abc2midiReport(tuple(replace(m, line=original_line(m.line)) for m in said.messages))
    return BookRun(report, melodies)


def _with_lines_after(text: str, lines: Sequence[int], extra: Sequence[str]):
    """`text` with the `extra` lines inserted after each of `lines` (1-based), and a function
    that maps a line number of the new text back to `text`'s."""
    if not lines:
        return text, lambda line: line
    wanted = sorted(set(lines))
    out = []
    for number, row in enumerate(text.splitlines(), start=1):
        out.append(row)
        if number in wanted:
            out.extend(extra)
    # the first original line after the k-th insertion point moves down by k * len(extra)
    moved = [line + 1 + rank * len(extra) for rank, line in enumerate(wanted, start=1)]

    def original_line(line: int) -> int:
        return line - len(extra) * bisect.bisect_right(moved, line)

    return "\n".join(out) + "\n", original_line


def _merge_ornaments(reference: list[MidiNote], ours: Sequence) -> list[MidiNote]:
    """Replace the notes abc2midi plays for each of our rolls/trills by one note spanning them.

    The merged note keeps the written pitch when abc2midi played it among the ornament's notes
    (a trill of odd length ends on the upper note) and runs from the first onset to the last end.
    """
    merged = list(reference)
    for event in ours:
        if not EXPANDED_ORNAMENTS.intersection(event.decorations):
            continue
        start, end = event.onset - TICK, event.onset + event.duration - TICK
        inside = [n for n in merged if start <= n.onset < end]
        if len(inside) > 1:
            merged = [n for n in merged if n not in inside]
            last = inside[-1]
            played = {n.pitch for n in inside}
            pitch = event.pitch if event.pitch in played else last.pitch
            merged = _in_time_order([*merged, MidiNote(
                pitch, inside[0].onset, last.onset + last.duration - inside[0].onset)])
    return merged


def _as_played(event) -> MidiNote:
    """Our event as abc2midi would play its length (staccato at half length)."""
    halved = HALVED_DECORATIONS.intersection(getattr(event, "decorations", ()))
    duration = event.duration / 2 if halved else event.duration
    return MidiNote(event.pitch, Fraction(event.onset), Fraction(duration))


def compare_melody(ours: Sequence, reference: Sequence[MidiNote]) -> Mismatch | None:
    """None when our note events play like abc2midi's melody, else where they first differ.

    `ours` are NoteEvent-like objects (pitch, onset, duration in quarter notes, decorations);
    grace notes must already be left out (build_timeline(tune, graces=False) against
    `PLAIN_FLAGS`). Pitches must be equal; onsets and durations may differ by one tick.
    abc2midi's rolls and trills are merged back into one note and its staccato halving is
    applied to ours before comparing.
    """
    mine = _in_time_order(_as_played(e) for e in ours)
    theirs = _merge_ornaments(_in_time_order(reference), ours)
    for index, (a, b) in enumerate(zip(mine, theirs, strict=False)):
        for kind in ("onset", "pitch", "duration"):
            if _differs(kind, a, b):
                return Mismatch(kind, index, a, b)
    if len(mine) != len(theirs):
        index = min(len(mine), len(theirs))
        return Mismatch("count", index, _at(mine, index), _at(theirs, index))
    return None


def _differs(kind: str, a: MidiNote, b: MidiNote) -> bool:
    if kind == "pitch":
        return a.pitch != b.pitch
    return abs(getattr(a, kind) - getattr(b, kind)) > TICK


def _at(notes: list[MidiNote], index: int) -> MidiNote | None:
    return notes[index] if index < len(notes) else None
