"""Turn a tune's timeline (abcgen.notation) into a General MIDI performance with pretty_midi.

What is played on top of the written notes, and why:

- **beat accents**: the first note of a bar is strong, notes on the other beats medium, the
  rest weak (offsets from the `!p!`..`!ff!` velocity; with the default `!mf!` = 90 they give
  abc2midi's `%%MIDI beat 105 95 80`). The beat is the dotted quarter in 6/8, 9/8, 12/8 and
  the meter's denominator otherwise.
- **grace notes** are played as the timeline places them (a quarter of the main note's time,
  from its start, as abc2midi), a little lighter; **`~` rolls** become main-upper-main-
  lower-main with short cuts (`ROLL_CUT_QUARTERS`); **staccato** notes sound for half their
  length (as abc2midi).
- **swing** (an option, for `R:hornpipe` only): pairs of the notes abc2midi swings (eighths
  in 4/4, sixteenths in 2/4: `notation.fields.swing_unit`) play 2:1, as abc2midi plays them.
- **accompaniment** from chord symbols: a bass track and a chord track following a pattern per
  meter like abc2midi's gchord defaults (`GCHORD_PATTERNS`).
- `plain` plays the written melody alone: no accompaniment, ornaments, grace notes or swing.

Units: timeline times are quarter notes (Fractions). The performance works in *grid units*
instead: whole numbers, `units` of them to a quarter note, where `units` is the least common
denominator of every time the timeline holds (`grid_times`). Integer arithmetic is exact like
Fractions and about ten times faster, which matters at a hundred notes a tune and thousands
of tunes a book. Times made by dividing a note (staccato halves, roll cuts, swing) may be
Fractions of a unit, so they stay exact too. pretty_midi wants seconds, converted once at the
tune's tempo in `_to_instrument`.
"""

from __future__ import annotations

import bisect
import math
import operator
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, NamedTuple

from abcgen.errors import AbcgenError
from abcgen.notation.fields import QPM_RANGE, swing_unit

if TYPE_CHECKING:  # pretty_midi is imported inside functions: `abcgen --help` stays light
    import pretty_midi

    from abcgen.notation.model import ChordSymbolEvent, Key, NoteEvent, Timeline, Tune

# General MIDI programs (0-based, as pretty_midi counts) for the instruments folk tunes are
# played on. GM has no concertina, bouzouki or mandolin: the nearest sound stands in.
INSTRUMENT_PROGRAMS = {
    "piano": 0, "harpsichord": 6, "dulcimer": 15, "organ": 19,
    "accordion": 21, "melodeon": 21, "harmonica": 22, "concertina": 23, "bandoneon": 23,
    "guitar": 24, "steel-guitar": 25, "mandolin": 25, "bouzouki": 25,
    "harp": 46, "strings": 48,
    "fiddle": 40, "violin": 40, "viola": 41, "cello": 42, "bass": 32,
    "trumpet": 56, "clarinet": 71, "oboe": 68, "bassoon": 70,
    "flute": 73, "recorder": 74, "whistle": 78, "tin-whistle": 78, "ocarina": 79,
    "banjo": 105, "pipes": 109, "bagpipe": 109, "uilleann-pipes": 109,
}
DEFAULT_INSTRUMENT = "piano"
BASS_PROGRAM = 32  # Acoustic Bass
CHORD_PROGRAM = 24  # Acoustic Guitar (nylon)

# Tempo (quarter notes per minute) when the tune has no Q:, by the first of these words found
# in R:. Moderate session speeds: reel half = 100, jig dotted quarter = 110, slip jig dotted
# quarter = 100, hornpipe half = 80, polka quarter = 140, waltz bar = 50 ... "slip jig" and
# "slow air" come before "jig" and "air" so the longer name wins.
RHYTHM_TEMPOS = (
    ("slip jig", 150.0), ("slide", 180.0), ("jig", 165.0), ("reel", 200.0),
    ("hornpipe", 160.0), ("strathspey", 130.0), ("polka", 140.0), ("waltz", 150.0),
    ("mazurka", 130.0), ("schottische", 140.0), ("barndance", 150.0), ("fling", 140.0),
    ("march", 110.0), ("polska", 110.0), ("slow air", 70.0), ("air", 80.0), ("song", 90.0),
)
DEFAULT_TEMPO = 120.0  # abc2midi's default when neither Q: nor a known R: says otherwise

# Longest performance we render (seconds): a runaway tune (`A99999`, endless repeats of a
# generated tune) would otherwise make a MIDI file pretty_midi refuses and hours of audio.
MAX_SECONDS = 15 * 60

# Velocity offsets by metric position; 90 (!mf!) + these = abc2midi's 105/95/80.
ACCENT_OFFSETS = {"strong": 15, "medium": 5, "weak": -10}
ROLL_CUT_QUARTERS = Fraction(1, 8)  # longest cut/tap note inside a roll
ORNAMENT_VELOCITY_DROP = 15  # grace, cut and tap notes are lighter than the main note
BASS_VELOCITY = 80
CHORD_VELOCITY = 62
BASS_BASE = 36  # C2: bass notes lie in C2..B2
CHORD_BASE = 48  # C3: chords are voiced upwards from the root in C3..B3
MIDI_RESOLUTION = 480  # ticks per quarter, as abc2midi, so triplets land on whole ticks

# abcMIDI genmidi.c default gchord strings by the meter's numerator: one character per equal
# slot of the bar; f = bass note, c = chord, b = both, z = rest.
GCHORD_PATTERNS = {
    1: "c", 2: "fc", 3: "fzczcz", 4: "fzczfzcz", 5: "fzzcz", 6: "fzcfzc", 7: "fzfzczz",
    8: "fzzzczfz", 9: "fzcfzcfzc", 12: "fzcfzcfzcfzc",
}
FREE_METER_PATTERN = "fzcz"

NATURAL_PITCH_CLASSES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


class RenderError(AbcgenError):
    """A tune that can't be performed as asked (no notes, too long, pitches out of range)."""


class TooLongError(RenderError):
    """The performance would last longer than `MAX_SECONDS`."""


@dataclass(frozen=True)
class MidiOptions:
    """How to perform a tune.

    instrument : name from INSTRUMENT_PROGRAMS (None: piano), or `program` (GM 0-127) wins.
    tempo : quarter notes per minute; None takes Q:, then RHYTHM_TEMPOS by R:, then 120.
    transpose : semitones added to every note.
    accompaniment : add bass and chord tracks from chord symbols.
    plain : the written melody only (no accompaniment, ornaments, grace notes or swing).
    swing : play pairs of swing units 2:1 in tunes abc2midi swings (R:hornpipe in 2/4 or 4/4).
    """

    instrument: str | None = None
    program: int | None = None
    tempo: float | None = None
    transpose: int = 0
    accompaniment: bool = True
    plain: bool = False
    swing: bool = False

    def check(self) -> None:
        """Raise RenderError for an unknown instrument, a program or tempo out of range."""
        resolve_program(self.instrument, self.program)
        if self.tempo is not None:
            check_tempo(self.tempo)


class PlayedNote(NamedTuple):
    """A note as performed: MIDI `pitch`, `start`/`end` in grid units (ints, or Fractions for
    times made by dividing a note), `velocity` 1-127. A NamedTuple: a book makes hundreds of
    thousands of these, and a frozen dataclass builds several times slower."""

    pitch: int
    start: int | Fraction
    end: int | Fraction
    velocity: int


START_THEN_PITCH = operator.itemgetter(1, 0)  # sorts PlayedNotes by (start, pitch)


@dataclass
class Performance:
    """A rendered tune: the MIDI data, the tempo it was played at (quarter notes per minute)
    and its length in seconds (the timeline's end, trailing rests included)."""

    midi: pretty_midi.PrettyMIDI
    tempo_qpm: float
    seconds: float


def resolve_program(instrument: str | None, program: int | None) -> int:
    """The GM program (0-127) for an instrument name or an explicit program number."""
    if program is not None:
        if not 0 <= program <= 127:
            raise RenderError(f"MIDI program {program} is outside 0-127")
        return program
    name = (instrument or DEFAULT_INSTRUMENT).strip().lower().replace(" ", "-").replace("_", "-")
    if name not in INSTRUMENT_PROGRAMS:
        known = ", ".join(sorted(INSTRUMENT_PROGRAMS))
        raise RenderError(f"unknown instrument {instrument!r}; known: {known} (or use a program)")
    return INSTRUMENT_PROGRAMS[name]


def rhythm_tempo(rhythm: str | None) -> float:
    """The default tempo (quarter notes per minute) for an R: value such as 'Reel' or 'slip jig'."""
    text = (rhythm or "").lower()
    return next((qpm for word, qpm in RHYTHM_TEMPOS if word in text), DEFAULT_TEMPO)


def choose_tempo(timeline: Timeline, rhythm: str | None, override: float | None) -> float:
    """The tempo in quarter notes per minute: the override, else Q:, else by R:, else 120."""
    tempo = override or timeline.tempo_qpm or rhythm_tempo(rhythm)
    check_tempo(tempo)
    return float(tempo)


def check_tempo(tempo: float) -> None:
    """Refuse a tempo (quarter notes per minute) outside the range a Q: may give."""
    low, high = QPM_RANGE
    if not low <= tempo <= high:
        raise RenderError(f"tempo {tempo:g} quarter notes per minute is outside {low:g}-{high:g}")


def grid_times(timeline: Timeline) -> tuple[int, list[tuple[int, int]]]:
    """(units, times): grid units per quarter note for `timeline`, the least common multiple
    of the denominators of its note onsets and lengths, bar starts and lengths, chord symbol
    onsets and the beat, so every one of them is a whole number of units; and each event's
    (onset, length) in those units."""
    # each Fraction read once, as a pair: its numerator and denominator are Python-level
    # properties, and this runs for every note of a book
    ratios = [(event.onset.as_integer_ratio(), event.duration.as_integer_ratio())
              for event in timeline.events]
    denominators = {d for (_, onset), (_, length) in ratios for d in (onset, length)}
    # bars are in whole notes: a length's denominator is a multiple of the same time's in
    # quarters, so it serves; an onset is taken in quarters
    denominators.update(time.denominator for bar in timeline.bars
                        for time in (4 * bar.onset, bar.duration, bar.expected or 0))
    denominators.update(symbol.onset.denominator for symbol in timeline.chord_symbols)
    denominators.add((4 * timeline.meter.beat).denominator)
    units = math.lcm(*denominators)
    return units, [(a * (units // b), c * (units // d)) for (a, b), (c, d) in ratios]


def to_units(quarters: Fraction | int, units: int) -> int:
    """A time in quarter notes as whole grid units (`units` must be a multiple of its
    denominator, as `grid_times` makes it)."""
    return quarters.numerator * (units // quarters.denominator)




class MetricGrid:
    """Where each performed bar starts, to tell strong, medium and weak beats apart; times in
    grid units (`units` a quarter note).

    A short first bar is a pickup: its beats are counted back from its end.
    """

    def __init__(self, timeline: Timeline, units: int):
        self.meter = timeline.meter
        self.bars = timeline.bars
        self.units = units
        self.onsets = [to_units(4 * bar.onset, units) for bar in self.bars]
        self.origins = [self._bar_origin(index) for index in range(len(self.bars))]
        self.beat = to_units(4 * self.meter.beat, units)

    def _bar_origin(self, index: int) -> int:
        bar, onset = self.bars[index], self.onsets[index]
        if index == 0 and bar.expected and bar.duration < bar.expected:
            return onset + to_units(4 * (bar.duration - bar.expected), self.units)
        return onset

    def origin(self, onset: int | Fraction, bar: int | None = None) -> int | Fraction:
        """The time the bar holding `onset` starts, as if it were full length; `bar`, the
        performed bar's index when known, saves the search."""
        if bar is None or not 0 <= bar < len(self.bars) or self.onsets[bar] > onset:
            bar = bisect.bisect_right(self.onsets, onset) - 1
        if bar >= 0:
            return self.origins[bar]
        bar_units = 4 * self.meter.bar * self.units if self.meter.bar else None
        return onset - onset % bar_units if bar_units else 0

    def stress(self, onset: int | Fraction, bar: int | None = None) -> str:
        """'strong' on the bar's first beat, 'medium' on its other beats, 'weak' between them."""
        if self.meter.free and not self.bars:
            return "medium"
        position = onset - self.origin(onset, bar)
        if position == 0:
            return "strong"
        return "medium" if position % self.beat == 0 else "weak"


def key_scale(key: Key) -> frozenset[int]:
    """The pitch classes of the key signature (C major's when the key has no signature)."""
    alterations = key.signature
    return frozenset((pc + alterations.get(letter, 0)) % 12
                     for letter, pc in NATURAL_PITCH_CLASSES.items())


def scale_neighbour(pitch: int, scale: frozenset[int], step: int) -> int:
    """The nearest pitch above (`step` = 1) or below (-1) `pitch` that lies in `scale`."""
    candidate = pitch + step
    while candidate % 12 not in scale:
        candidate += step
    return candidate


def roll_notes(note: PlayedNote, scale: frozenset[int], units: int) -> list[PlayedNote]:
    """An Irish roll on `note`: main, upper cut, main, lower tap, main, in the note's span
    (grid units, `units` a quarter note)."""
    length = Fraction(note.end - note.start)
    third, cut = length / 3, min(ROLL_CUT_QUARTERS * units, length / 12)
    light = max(1, note.velocity - ORNAMENT_VELOCITY_DROP)
    upper = scale_neighbour(note.pitch, scale, 1)
    lower = scale_neighbour(note.pitch, scale, -1)
    t0 = note.start
    figure = [(note.pitch, 0, third, note.velocity),
              (upper, third, third + cut, light),
              (note.pitch, third + cut, 2 * third, light),
              (lower, 2 * third, 2 * third + cut, light),
              (note.pitch, 2 * third + cut, length, light)]
    return [PlayedNote(p, t0 + a, t0 + b, v) for p, a, b, v in figure]


def _played(event: NoteEvent, onset: int, length: int, velocity: int) -> PlayedNote:
    """A timeline note as played from `onset` for `length` grid units: staccato at half
    length, grace notes lighter."""
    if "staccato" in event.decorations:
        length = Fraction(length, 2)
    velocity -= ORNAMENT_VELOCITY_DROP if event.grace else 0
    return PlayedNote(event.pitch, onset, onset + length, max(1, velocity))


def _written_onsets(events: list[NoteEvent], times: list[tuple[int, int]]) -> list[int]:
    """Each event's onset as written: grace notes and the note(s) they lead into count from the
    start of the grace group (the timeline moves the main note later by the graces' time).
    `times` holds each event's (onset, length) in grid units, and so does the result."""
    written, group_start, group_end = [], None, None
    for event, (onset, length) in zip(events, times, strict=True):
        if event.grace:
            if onset != group_end:  # a new grace group
                group_start = onset
            group_end = onset + length
            written.append(group_start)
        elif onset == group_end:  # the main note (or chord) after the graces
            written.append(group_start)
        else:
            group_start = group_end = None
            written.append(onset)
    return written


def melody_notes(timeline: Timeline, options: MidiOptions, rhythm: str | None,
                 grid: MetricGrid, times: list[tuple[int, int]]) -> list[PlayedNote]:
    """The melody as performed (see the module docstring) in grid units (`grid.units` a
    quarter note; `times` the events' (onset, length) from `grid_times`), sorted by start then
    pitch. Notes are accented by where they are written (a note after grace notes by where
    its graces start)."""
    ornaments = not options.plain
    scale = key_scale(timeline.key)
    notes = []
    events, stress = timeline.events, grid.stress  # locals: this loop runs for every note
    for event, (onset, length), written in zip(events, times, _written_onsets(events, times),
                                               strict=True):
        grace, decorations = event.grace, event.decorations
        if not ornaments:
            if grace:
                continue
            onset, length = written, length + onset - written  # give back the graces' time
        accent = ACCENT_OFFSETS["strong" if "accent" in decorations else stress(written, event.bar)]
        velocity = max(1, min(127, event.velocity + accent))
        if not (grace or decorations):  # most notes: as written (what _played does to them)
            notes.append(PlayedNote(event.pitch, onset, onset + length, velocity))
        elif ornaments and "roll" in decorations:
            notes.extend(roll_notes(_played(event, onset, length, velocity), scale, grid.units))
        else:
            notes.append(_played(event, onset, length, velocity))
    swing = swing_unit(timeline.meter, timeline.unit, rhythm) if options.swing else None
    if ornaments and swing is not None:
        pair = 8 * swing * grid.units  # grid units in two swing units (4 quarters a whole note)
        notes = [swung(note, grid, pair) for note in notes]
    return sorted(notes, key=START_THEN_PITCH)


def _swing_time(time: int | Fraction, origin: int, pair: Fraction) -> Fraction:
    """Map a time (grid units) so the first note of each pair from `origin` (`pair` grid
    units long) lasts 2/3 of the pair and the second 1/3."""
    pairs = (time - origin) / Fraction(pair)
    whole = math.floor(pairs)
    inside = pairs - whole
    if inside <= Fraction(1, 2):
        warped = inside * Fraction(4, 3)
    else:
        warped = Fraction(2, 3) + (inside - Fraction(1, 2)) * Fraction(2, 3)
    return origin + (whole + warped) * pair


def swung(note: PlayedNote, grid: MetricGrid, pair: Fraction) -> PlayedNote:
    """`note` with its start and end moved onto the 2:1 swing grid of its bar (`pair`: the
    grid units of two swing units)."""
    origin = grid.origin(note.start)
    return note._replace(start=_swing_time(note.start, origin, pair),
                         end=_swing_time(note.end, origin, pair))


def chord_intervals(quality: str) -> tuple[int, ...]:
    """Semitones above the root for one of the notation core's chord qualities (a major
    triad for a quality it does not know)."""
    from abcgen.notation.chords import CHORD_QUALITIES

    return CHORD_QUALITIES.get(quality, CHORD_QUALITIES["maj"])


def _pattern_slots(bar, onset: int, grid: MetricGrid) -> list[tuple[str, Fraction, Fraction]]:
    """(pattern letter, start, end) in grid units for each gchord slot inside one bar that
    starts at `onset`."""
    meter = grid.meter
    length = to_units(4 * (bar.expected or bar.duration), grid.units)
    pattern = FREE_METER_PATTERN if meter.free else GCHORD_PATTERNS.get(meter.numerator, "fzcz")
    slot = Fraction(length, len(pattern))
    origin = grid.origin(onset)
    bar_end = onset + to_units(4 * bar.duration, grid.units)
    slots = []
    for index, letter in enumerate(pattern):
        start = origin + index * slot
        if letter != "z" and onset <= start < bar_end:
            slots.append((letter, start, min(start + slot, bar_end)))
    return slots


def _slot_notes(letter: str, chord: ChordSymbolEvent, start: Fraction,
                end: Fraction) -> tuple[list[PlayedNote], list[PlayedNote]]:
    """The (bass, chord) notes one gchord slot plays for `chord`."""
    bass_pc = chord.root if chord.bass is None else chord.bass
    bass = [PlayedNote(BASS_BASE + bass_pc, start, end, BASS_VELOCITY)] if letter in "fb" else []
    chord_notes = [PlayedNote(CHORD_BASE + chord.root + step, start, end, CHORD_VELOCITY)
                   for step in chord_intervals(chord.quality)] if letter in "cb" else []
    return bass, chord_notes


def accompaniment_notes(timeline: Timeline,
                        grid: MetricGrid) -> tuple[list[PlayedNote], list[PlayedNote]]:
    """(bass, chord) notes for the chord symbols, one gchord pattern per performed bar, in
    grid units (`grid.units` a quarter note).

    Each slot plays the latest chord symbol at or before it; bars before the first symbol
    stay silent.
    """
    symbols = sorted(timeline.chord_symbols, key=lambda c: c.onset)
    onsets = [to_units(c.onset, grid.units) for c in symbols]
    bass, chords = [], []
    for bar, bar_onset in zip(timeline.bars, grid.onsets, strict=True):
        for letter, start, end in _pattern_slots(bar, bar_onset, grid):
            index = bisect.bisect_right(onsets, start) - 1
            if index >= 0:
                slot_bass, slot_chord = _slot_notes(letter, symbols[index], start, end)
                bass.extend(slot_bass)
                chords.extend(slot_chord)
    return bass, chords


def _to_instrument(notes: list[PlayedNote], program: int, name: str, seconds_per_unit: float,
                   transpose: int) -> pretty_midi.Instrument:
    import pretty_midi

    pitches = [note.pitch + transpose for note in notes]
    if pitches and not (0 <= min(pitches) and max(pitches) <= 127):
        note, pitch = next((n, p) for n, p in zip(notes, pitches, strict=True)
                           if not 0 <= p <= 127)
        raise RenderError(f"transposing by {transpose} puts MIDI note {note.pitch} at "
                          f"{pitch}, outside 0-127")
    instrument = pretty_midi.Instrument(program=program, name=name)
    make = pretty_midi.Note
    instrument.notes = [make(velocity, pitch, start * seconds_per_unit, end * seconds_per_unit)
                        for (_, start, end, velocity), pitch in zip(notes, pitches, strict=True)]
    return instrument


def check_length(seconds: float, what: str = "the tune") -> None:
    """Refuse a performance longer than MAX_SECONDS (raises TooLongError)."""
    if seconds > MAX_SECONDS:
        raise TooLongError(f"{what} would play for {seconds / 60:.1f} minutes, over the "
                           f"{MAX_SECONDS // 60}-minute limit for rendering")


def timeline_to_midi(timeline: Timeline, options: MidiOptions | None = None,
                     rhythm: str | None = None) -> Performance:
    """Perform a timeline: a `melody` track, plus `bass` and `chords` tracks from its chord
    symbols unless `options.plain` or not `options.accompaniment`.

    `rhythm` is the tune's R: value (default tempo, swing). Raises RenderError for a timeline
    with no notes, TooLongError past MAX_SECONDS.
    """
    import pretty_midi

    options = options or MidiOptions()
    if not timeline.events:
        raise RenderError("the tune has no notes to play")
    tempo = choose_tempo(timeline, rhythm, options.tempo)
    units, times = grid_times(timeline)
    seconds_per_unit = 60.0 / tempo / units
    last_end = max(onset + length for onset, length in times)
    seconds = float(max(timeline.total, Fraction(last_end, units))) * (60.0 / tempo)
    check_length(seconds)
    program = resolve_program(options.instrument, options.program)
    midi = pretty_midi.PrettyMIDI(resolution=MIDI_RESOLUTION, initial_tempo=tempo)
    if not timeline.meter.free:
        midi.time_signature_changes.append(pretty_midi.TimeSignature(
            timeline.meter.numerator, timeline.meter.denominator, 0.0))
    grid = MetricGrid(timeline, units)  # one for the melody's accents and the gchord bars
    tracks = [(melody_notes(timeline, options, rhythm, grid, times), program, "melody")]
    if options.accompaniment and not options.plain and timeline.chord_symbols:
        bass, chords = accompaniment_notes(timeline, grid)
        tracks += [(bass, BASS_PROGRAM, "bass"), (chords, CHORD_PROGRAM, "chords")]
    for notes, track_program, name in tracks:
        midi.instruments.append(_to_instrument(notes, track_program, name, seconds_per_unit,
                                               options.transpose))
    return Performance(midi, tempo, seconds)


def tune_to_midi(tune: Tune, options: MidiOptions | None = None) -> Performance:
    """Perform a parsed tune (repeats expanded by the notation core's timeline)."""
    from abcgen.notation import build_timeline

    options = options or MidiOptions()
    # One timeline (with graces) serves every mode: it is the one parse_tunebook already
    # built and cached, and melody_notes drops the graces for `plain`.
    timeline = build_timeline(tune)
    return timeline_to_midi(timeline, options, rhythm=tune.get("R"))


def midi_bytes(midi: pretty_midi.PrettyMIDI) -> bytes:
    """A standard MIDI file's bytes (format 1: a conductor track, one track per instrument)."""
    from abcgen.render.smf import smf_bytes

    return smf_bytes(midi)
