"""Tokens -> written bars: the music as written, one bar at a time, before repeats are played.

The `Scorer` walks the tokens once, keeping the state ABC needs (unit length, meter, key,
accidentals that last to the end of the bar, tuplets, broken rhythm, grace groups, chords,
dynamics) and reports problems through a `Reporter`, which either raises (strict parsing)
or records an Issue (the validator). Durations here are in whole notes.
"""

from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from itertools import chain
from operator import attrgetter
from typing import Protocol

from abcgen.notation import errors as E
from abcgen.notation.fields import (
    ACCIDENTAL_SEMITONES,
    default_unit_length,
    parse_key,
    parse_meter,
    parse_tempo,
    parse_unit_length,
)
from abcgen.notation.lexer import SHORT_DECORATIONS, tokenize
from abcgen.notation.model import Issue, Key, Meter, Tune

# http://abcnotation.com/wiki/abc:standard:v2.1#pitch — C is middle C (MIDI 60).
LETTER_SEMITONES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
# Each note letter as (upper case letter, octave above middle C's, semitones above C).
NOTE_LETTERS = {case(letter): (letter, octave, semitones)
                for letter, semitones in LETTER_SEMITONES.items()
                for case, octave in ((str.upper, 0), (str.lower, 1))}
# The groups of a lexer 'note' token that the scorer reads, fetched in one call.
NOTE_PARTS = ("acc", "letter", "oct", "len", "tie")
# http://abcnotation.com/wiki/abc:standard:v2.1#broken_rhythm — (longer, shorter) factors.
BROKEN_FACTORS = {1: ((3, 2), (1, 2)), 2: ((7, 4), (1, 4)), 3: ((15, 8), (1, 8))}
PLAIN = (1, 1)  # the length factor of a note outside broken rhythm (the scorer tests `is`)
NO_PITCHES: frozenset[int] = frozenset()
# http://abcnotation.com/wiki/abc:standard:v2.1#duplets_triplets_quadruplets_etc — q for each p
# (None: 3 in compound meter, else 2).
TUPLET_Q = {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}
# http://abcnotation.com/wiki/abc:standard:v2.1#decorations — velocities of the dynamics marks.
DYNAMICS = {"pppp": 30, "ppp": 30, "pp": 45, "p": 60, "mp": 75, "mf": 90, "f": 105, "ff": 120,
            "fff": 127, "ffff": 127}
DEFAULT_VELOCITY = 90
# http://abcnotation.com/wiki/abc:standard:v2.1#use_of_fields_within_the_tune_body — letters
# that are notes or rests cannot be body fields.
NOTE_LETTER_FIELDS = frozenset("ABCDEFGXYZabcdefgxyz")
# http://abcnotation.com/wiki/abc:standard:v2.1#annotations — placement prefixes.
ANNOTATION_PREFIXES = ("^", "_", "<", ">", "@")
# http://abcnotation.com/wiki/abc:standard:v2.1#chord_symbols — a chord starts with its root.
CHORD_ROOTS = frozenset("ABCDEFGabcdefg")
# http://abcnotation.com/wiki/abc:standard:v2.1#decorations — long forms with the same
# meaning as a shorthand get the shorthand's name.
DECORATION_ALIASES = {">": "accent", "emphasis": "accent", "tenuto": "tenuto",
                      "mordent": "lowermordent", "pralltriller": "uppermordent"}
# http://abcnotation.com/wiki/abc:standard:v2.1#order_of_abc_constructs — what may follow a
# shorthand decoration (abc2midi: 'Malformed note' for `T(FG)` or `~|`).
DECORATION_TARGETS = frozenset({"note", "rest", "chord_start", "short_deco", "deco", "quoted"})
# Decorations abc2midi plays by changing a note's length (so broken rhythm can't apply).
LENGTH_DECORATIONS = frozenset({"staccato", "fermata"})
# http://abcnotation.com/wiki/abc:standard:v2.1#pparts
PART_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
# http://abcnotation.com/wiki/abc:standard:v2.1#propagate-accidentals
PROPAGATE_MODES = ("not", "octave", "pitch")
# abc2midi's default: grace notes take a quarter of the main note (`%%MIDI grace 1/4`).
GRACE_DIVIDER = 4
# Times are integer ticks: TICKS per whole note divides by every n <= 16 and by 512, so unit
# lengths down to 1/512, tuplets up to 16 and broken rhythm stay exact. Integer arithmetic
# is what makes the scorer fast; Fractions appear only at the API's edges.
TICKS = 720720 * 32
# Lengths beyond these are absurd (A99999): 64 whole notes for one note; a tune of 8,000
# whole notes (over four hours at 120 qpm).
MAX_NOTE = 64 * TICKS
MAX_TUNE = 8000 * TICKS


# Each unit length's ticks and its note lengths in ticks by their text (`2`, `/`, `3/2`): the
# same few texts recur in every tune, and working one out costs a few Fractions. Keyed by the
# unit's (numerator, denominator), as hashing a Fraction is a Python call. A unit keeps at
# most MAX_LENGTH_TEXTS (odd texts beyond them are worked out each time).
UNIT_LENGTHS: dict[tuple[int, int], tuple[int, dict[str, int]]] = {}
MAX_LENGTH_TEXTS = 256


def to_ticks(value: Fraction) -> int:
    """Whole notes -> ticks (rounded where TICKS can't hold the value exactly)."""
    return round(value * TICKS)


@lru_cache(maxsize=1024)
def bar_ticks(numerator: int, denominator: int) -> int:
    """A meter's bar in ticks (cached: every tune has an M:, and most have the same few)."""
    return to_ticks(Fraction(numerator, denominator))


class FractionMemo(dict):
    """Ticks -> the Fraction `ticks / per`, memoised. Building a Fraction costs ~3 us and a
    tune needs hundreds, but the same onsets and lengths recur across tunes; a lookup that
    hits costs no Python call (`__missing__` runs only on a miss). Cleared when it grows big."""

    LIMIT = 1 << 18

    def __init__(self, per: int):
        super().__init__()
        self.per = per

    def __missing__(self, ticks: int) -> Fraction:
        if len(self) >= self.LIMIT:
            self.clear()
        value = self[ticks] = Fraction(ticks, self.per)
        return value


WHOLE_NOTES = FractionMemo(TICKS)


def from_ticks(ticks: int) -> Fraction:
    """Ticks -> whole notes."""
    return WHOLE_NOTES[ticks]


@dataclass(slots=True)
class WrittenNote:
    """A note (or grace note) inside a written bar; `offset`/`duration` in ticks."""

    pitch: int
    offset: int
    duration: int
    velocity: int
    grace: bool
    decorations: tuple[str, ...]
    tie: bool
    line: int
    col: int


@dataclass(slots=True)
class WrittenBar:
    """A bar as written, with the repeat and ending marks at its two ends; times in ticks
    (`expected`, the meter's bar, None in free meter)."""

    number: int
    line: int
    col: int
    notes: list[WrittenNote] = field(default_factory=list)
    chords: list[tuple[int, str]] = field(default_factory=list)
    duration: int = 0
    expected: int | None = None
    open_repeat: bool = False
    close_repeat: bool = False
    section_end: bool = False
    ending: tuple[int, ...] = ()
    part: str = ""
    end_line: int = 0
    end_col: int = 0
    closed: bool = False
    has_music: bool = False
    final: bool = False  # closed by `|]`, or by the end of the tune with no bar line


class Reporter:
    """Collects problems: `strict` raises the AbcError of a fatal one; otherwise all become Issues.

    It keeps the tune's X: and source, not the tune: the tune caches its scorer (see
    score_tune), and a reference back would make every parsed tune a cycle that only the
    garbage collector can free."""

    def __init__(self, tune: Tune, strict: bool):
        self.x, self.source, self.strict, self.issues = tune.x, tune.source, strict, []
        self.fatal = False  # a lenient run met a problem a strict one raises

    def __call__(self, code: str, message: str, line: int, col: int,
                 error: type[E.AbcError] | None = None, severity: str = "error") -> None:
        if error is not None:
            if self.strict:
                raise error(message, line=line, col=col, x=self.x, source=self.source)
            self.fatal = True
        self.issues.append(Issue(code, severity, message, self.x, line, col, self.source))


def parse_length(text: str) -> Fraction:
    """`2` -> 2, `/` -> 1/2, `//` -> 1/4, `3/2` -> 3/2, `/3` -> 1/3, `` -> 1 (units of L:)."""
    if not text:
        return Fraction(1)
    num, slashes, den = text.partition("/")
    if not slashes:
        return Fraction(int(num))
    numerator = int(num) if num else 1
    extra = den.lstrip("/")
    slash_count = 1 + len(den) - len(extra)
    if extra:
        return Fraction(numerator, int(extra) * 2 ** (slash_count - 1))
    return Fraction(numerator, 2 ** slash_count)


def decoration_name(kind: str, match) -> str | None:
    """The decoration a `deco` or `short_deco` token names (`.` and `!staccato!` ->
    'staccato', aliases resolved); None for a shorthand nothing defines or another token."""
    if kind == "short_deco":
        return SHORT_DECORATIONS.get(match.group(0))
    if kind == "deco":
        name = match["dname"] or match["pname"]
        return DECORATION_ALIASES.get(name, name)
    return None


def parse_endings(text: str) -> tuple[int, ...]:
    """`1` -> (1,), `1,3` -> (1, 3), `1-3` -> (1, 2, 3)."""
    numbers: list[int] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        if low.isdigit():
            top = int(high) if high.isdigit() else int(low)
            numbers.extend(range(int(low), min(top, int(low) + 16) + 1))
    return tuple(numbers)


class Accidentals:
    """The accidental each note letter gets: one written earlier in the bar, else the key
    signature's. An accidental lasts to the end of the bar for its letter in every octave
    (ABC 2.1 §11.3 `%%propagate-accidentals pitch`, the default and abc2midi's behaviour);
    `octave` limits it to its octave, `not` to the note itself."""

    def __init__(self):
        self.signature: dict[str, int] = {}
        self.in_bar: dict[str | tuple[str, int], int] = {}
        self.propagate = "pitch"

    def new_key(self, signature: dict[str, int]) -> None:
        self.signature = signature
        self.in_bar.clear()

    def new_bar(self) -> None:
        self.in_bar.clear()

    def semitones(self, acc: str | None, upper: str, octave: int) -> int:
        """The shift of note `upper` (a letter A-G) in `octave` written with `acc` (`^`,
        `_`, `=` ... or None), remembering a written one for the rest of the bar."""
        slot = upper if self.propagate == "pitch" else (upper, octave)
        if acc:
            shift = ACCIDENTAL_SEMITONES[acc]
            if self.propagate != "not":
                self.in_bar[slot] = shift
            return shift
        shift = self.in_bar.get(slot)
        return self.signature.get(upper, 0) if shift is None else shift


class Ties:
    """Ties written and the note groups they wait for (ABC 2.1 §4.11): a tie joins notes of
    one pitch, and the note it waits for keeps the tied note's accidental (`^c-|c`), found
    by its letter and octave. Positions are (line, col) of the tie mark."""

    def __init__(self):
        self.mark: tuple[int, int] | None = None  # a tie written since the last group
        self.open_mark: tuple[int, int] | None = None  # the tie the next group must join
        self.pitches: frozenset[int] | set[int] = NO_PITCHES  # what that tie waits for
        self.letters: dict[tuple[str, int], int] = {}  # (letter, octave) -> pitch, tied now
        self.open_letters: dict[tuple[str, int], int] = {}  # ... of the tie waiting
        # the open chord's untied notes, (letter, octave) -> pitch: a `]-` ties them all
        self.chord_letters: dict[tuple[str, int], int] = {}
        self.written = False  # whether any note has a tie (else none need joining)

    def tie(self, line: int, col: int, chord: bool = False) -> None:
        """A tie mark at `line`:`col`, after a note or (`chord`) after a chord's `]`."""
        self.mark, self.written = (line, col), True
        if chord:
            self.letters.update(self.chord_letters)  # each note keeps its accidental

    def note(self, upper: str, octave: int, pitch: int, tied: bool, in_chord: bool) -> None:
        """Remember a note's pitch for the note its tie (or its chord's) will join."""
        if tied:
            self.letters[(upper, octave)] = pitch
        elif in_chord:  # a tie after the chord (`[^CE]-`) would tie it too
            self.chord_letters[(upper, octave)] = pitch

    def pending(self) -> bool:
        """Whether a tie is written or waiting (else a group needs no joining)."""
        return bool(self.mark or self.open_mark or self.letters or self.open_letters)

    def join(self, pitches: list[tuple[int, bool, int, int]], line: int,
             col: int) -> tuple[int, int] | None:
        """Join a note group at `line`:`col`, (pitch, tied, line, col) each, not empty, to
        the tie waiting for it: where that tie's mark is when it joins different pitches,
        else None."""
        bad = None
        if self.pitches and self.pitches.isdisjoint([p[0] for p in pitches]):
            bad = self.open_mark or (line, col)
        self.pitches = {p[0] for p in pitches if p[1]} if self.mark else NO_PITCHES
        self.open_mark, self.mark = self.mark, None
        if self.letters or self.open_letters:
            self.open_letters, self.letters = self.letters, {}
        return bad


class OpenGroups:
    """The chord `[...]` or grace group `{...}` being written, and the grace notes waiting
    for their main note. Chord notes are (pitch, length, tied, line, col), grace notes
    (pitch, length, line, col); lengths in ticks."""

    def __init__(self):
        self.chord: list[tuple[int, int, bool, int, int]] | None = None
        self.graces: list[tuple[int, int, int, int]] | None = None
        self.pending_graces: list[tuple[int, int, int, int]] | None = None
        self.opened_at = (0, 0)  # where the open chord or grace group began

    def open_chord(self, line: int, col: int) -> bool:
        """Open a chord; False (and nothing changes) inside an open one."""
        if self.chord is not None:
            return False
        self.chord, self.opened_at = [], (line, col)
        return True

    def close_chord(self) -> list[tuple[int, int, bool, int, int]] | None:
        """The chord's notes (None when no chord was open)."""
        notes, self.chord = self.chord, None
        return notes

    def open_graces(self, line: int, col: int) -> None:
        self.graces, self.opened_at = [], (line, col)

    def close_graces(self) -> bool:
        """The grace notes wait for the next note; False when no group was open."""
        if self.graces is None:
            return False
        self.pending_graces, self.graces = self.graces, None
        return True

    def take_graces(self) -> list[tuple[int, int, int, int]] | None:
        """The grace notes waiting for the note being placed (None when there are none)."""
        graces, self.pending_graces = self.pending_graces, None
        return graces


class Scorer:
    """Walks a tune's tokens once and builds its written bars (see the module docstring)."""

    def __init__(self, tune: Tune, report: Reporter, graces: bool = True,
                 watcher: "ScoreWatcher | None" = None):
        # What the walk reads of the tune, not the tune itself (no cycle; see Reporter).
        self.header = tune.file_header + tune.header
        self.header_in_force = [tune.header_field(name) for name in "MLQ"]  # M:, L:, Q:
        self.body, self.start_line = tune.body, tune.start_line
        self.report, self.play_graces, self.watcher = report, graces, watcher
        self.bars: list[WrittenBar] = []
        self.tempo_qpm: float | None = None
        self.meter, self.key, self.bar_ticks = Meter(free=True, text="none"), Key(), None
        self.use_unit(default_unit_length(self.meter))
        self.accidentals, self.ties, self.groups = Accidentals(), Ties(), OpenGroups()
        self.middle_c = 60  # MIDI pitch of `C` under the key's octave= and transpose=
        self.velocity = DEFAULT_VELOCITY
        self.decorations: list[str] = []
        self.chord_symbols: list[str] = []
        self.deco_at: tuple[int, int] | None = None  # a shorthand decoration not yet used
        self.tuplet_left, self.tuplet_ratio = 0, (1, 1)
        self.next_factor = PLAIN
        self.last_group: list[WrittenNote] = []
        self.last_group_duration = 0
        self.last_group_length = 0  # written length (ticks) of the last note group
        self.broken_at: tuple | None = None  # a > or < waiting for its note: where, the note
        # before's written length and decorations
        self.open_slurs = 0
        self.voice: str | None = None
        self.skipping_voice = self.in_overlay = False
        self.overlay_span: str | None = None  # "first" after `(&`, "other" after its `&`
        self.part = ""
        self.current = WrittenBar(0, tune.start_line, 1)
        self.total = 0
        self.too_long = False

    # -- header ---------------------------------------------------------------------------

    def read_header(self) -> None:
        """Meter, unit length, key, tempo and first voice from the file and tune headers
        (the values in force, `Tune.header_field`)."""
        meter, unit, tempo = self.header_in_force
        if meter is not None:
            self.set_meter(meter.value, meter.line, 1)
        self.use_unit(default_unit_length(self.meter))
        if unit is not None:
            self.set_unit(unit.value, unit.line, 1)
        if tempo is not None:
            self.set_tempo(tempo.value, tempo.line, 1)
        for fld in self.header:
            if fld.name == "K":
                self.set_key(fld.value, fld.line, 1)
            elif fld.name == "V" and self.voice is None:
                self.voice = fld.value.split()[0] if fld.value.split() else ""
            elif fld.name in ("%", "I"):
                self.set_directive(fld.value.lstrip("%").split())
        self.current.expected = self.bar_ticks

    def set_directive(self, words: list[str]) -> None:
        """`%%propagate-accidentals not|octave|pitch` (ABC 2.1 §11.3), also as an I: field."""
        if len(words) == 2 and words[0] == "propagate-accidentals" \
                and words[1] in PROPAGATE_MODES:
            self.accidentals.propagate = words[1]

    def set_meter(self, value: str, line: int, col: int) -> None:
        try:
            self.meter = parse_meter(value)
        except E.MeterError as exc:
            self.report("invalid-meter", exc.message, line, col, E.MeterError)
        self.bar_ticks = None if self.meter.free else \
            bar_ticks(self.meter.numerator, self.meter.denominator)

    def set_unit(self, value: str, line: int, col: int) -> None:
        try:
            self.use_unit(parse_unit_length(value))
        except E.UnitLengthError as exc:
            self.report("invalid-length", exc.message, line, col, E.UnitLengthError)

    def use_unit(self, unit: Fraction) -> None:
        """Make `unit` the unit length, with its table of note lengths (see UNIT_LENGTHS)."""
        key = (unit.numerator, unit.denominator)
        entry = UNIT_LENGTHS.get(key)
        if entry is None:  # L: allows at most 16 x 512 units, so the table stays small
            entry = UNIT_LENGTHS[key] = (to_ticks(unit), {})
        self.unit, (self.unit_ticks, self.lengths) = unit, entry

    def set_key(self, value: str, line: int, col: int) -> None:
        try:
            self.key = parse_key(value)
        except E.KeyError_ as exc:
            self.report("invalid-key", exc.message, line, col, E.KeyError_)
        self.accidentals.new_key(self.key.signature)
        self.middle_c = 60 + 12 * self.key.octave + self.key.transpose

    def set_tempo(self, value: str, line: int, col: int) -> None:
        try:
            self.tempo_qpm = parse_tempo(value, self.unit, self.meter)
        except E.TempoError as exc:
            self.report("invalid-tempo", exc.message, line, col)

    # -- driving --------------------------------------------------------------------------

    def run(self) -> list[WrittenBar]:
        self.read_header()
        handlers = {kind: getattr(self, name) for kind, name in HANDLERS.items()}
        for kind, line, col, match in tokenize(self.body):
            if self.too_long:
                break
            if self.skipping_voice and kind not in ("field", "inline"):
                continue
            if self.in_overlay and kind not in ("bar", "eol", "field", "overlay"):
                continue
            if self.deco_at is not None:
                if kind not in DECORATION_TARGETS:
                    self.report("misplaced-decoration", "a decoration must stand right before "
                                "a note, rest or chord", *self.deco_at)
                if kind != "short_deco":
                    self.deco_at = None
            handler = handlers.get(kind)
            if handler is not None:
                handler(line, col, match)
        self.finish()
        return self.bars

    def finish(self) -> None:
        end_line = self.body[-1].line if self.body else self.start_line
        self.check_open_groups(end_line, 1)
        if self.current.has_music or self.current.duration:
            self.current.final = True
            self.close_bar(end_line, 1)
        if self.open_slurs > 0:
            self.report("unclosed-slur", f"{self.open_slurs} slur(s) opened with ( never closed",
                        end_line, 1)
        if self.tuplet_left > 0:
            self.report("unclosed-tuplet", f"a tuplet is missing {self.tuplet_left} note(s)",
                        end_line, 1)

    def check_open_groups(self, line: int, col: int) -> None:
        """A chord or grace group still open at a bar line or the end of the tune."""
        groups = self.groups
        if self.watcher is not None and (groups.chord is not None or groups.graces is not None):
            self.watcher.left_open(groups.chord, groups.graces is not None)
        if groups.chord is not None:
            self.report("unclosed-chord", "chord opened with [ is never closed with ]",
                        *groups.opened_at, E.UnclosedError)
            self.on_chord_end(line, col, None)
        if groups.graces is not None:
            self.report("unclosed-grace", "grace notes opened with { are never closed with }",
                        *groups.opened_at, E.UnclosedError)
            groups.graces = None

    # -- notes ----------------------------------------------------------------------------

    def pitch_of(self, acc: str | None, letter: str, marks: str, tie: str | None) -> int:
        """MIDI pitch of a note (its accidental, letter, octave marks and tie): the pitch of
        the note a tie joins it to, else by the accidentals in force (see Accidentals)."""
        upper, octave, semitone = NOTE_LETTERS[letter]
        if marks:
            octave += marks.count("'") - marks.count(",")
        ties = self.ties
        if not acc and ties.open_letters and (upper, octave) in ties.open_letters:
            pitch = ties.open_letters[(upper, octave)]  # a tie keeps its accidental
        else:
            pitch = self.middle_c + 12 * octave + semitone + \
                self.accidentals.semitones(acc, upper, octave)
        if tie or self.groups.chord is not None:  # so the note tied to it keeps this pitch
            ties.note(upper, octave, pitch, bool(tie), self.groups.chord is not None)
        return pitch

    def length_of(self, text: str, line: int, col: int) -> int:
        """A note length in ticks; absurd lengths are reported (and read as one unit).
        Sound lengths are remembered in `self.lengths`, where callers may look first."""
        ticks = self.lengths.get(text)
        if ticks is not None:
            return ticks
        try:
            ticks = to_ticks(parse_length(text) * self.unit)
        except (ZeroDivisionError, ValueError):
            ticks = 0
        if not 0 < ticks <= MAX_NOTE:
            self.report("bad-duration", f"note length '{text}' is absurd", line, col,
                        E.DurationError)
            return self.unit_ticks
        if len(self.lengths) < MAX_LENGTH_TEXTS:
            self.lengths[text] = ticks
        return ticks

    def on_note(self, line: int, col: int, match) -> None:
        acc, letter, marks, length_text, tie_text = match.group(*NOTE_PARTS)
        pitch = self.pitch_of(acc, letter, marks, tie_text)
        length = self.lengths.get(length_text) or self.length_of(length_text, line, col)
        groups = self.groups
        if groups.graces is not None:
            groups.graces.append((pitch, length, line, col))
            return
        tie = bool(tie_text)
        if tie:
            self.ties.tie(line, col + match.start("tie") - match.start())
        if groups.chord is not None:
            groups.chord.append((pitch, length, tie, line, col))
        else:
            self.place([(pitch, tie, line, col)], length, line, col)

    def on_rest(self, line: int, col: int, match) -> None:
        if self.groups.chord is not None:
            return  # abc2midi gives a rest inside a chord no time: its first note times it
        if match["rkind"] in "ZX":  # multi-measure rest: a count of whole bars
            count = int(match["rlen"]) if match["rlen"].isdigit() else 1
            length = (self.bar_ticks or TICKS) * min(count, 1000)
            if self.bar_ticks and not self.current.has_music:
                self.current.expected = length  # `Z4|` is four bars written as one
        else:
            length = self.length_of(match["rlen"], line, col)
        self.place([], length, line, col)

    def place(self, pitches: list[tuple[int, bool, int, int]], length: int,
              line: int, col: int) -> None:
        """Put a note group (one note, a chord's notes, or none for a rest) at the cursor."""
        watched = None if self.watcher is None else \
            (self.current.duration, self.tuplet_left > 0, self.next_factor is not PLAIN)
        # Most notes are plain: each rarer case is skipped by one test of its state.
        if self.broken_at is not None:
            self.check_broken_partner(length)
        duration = length
        if self.next_factor is not PLAIN:
            num, den = self.next_factor
            duration = length * num // den
            self.next_factor = PLAIN
        if self.tuplet_left > 0:
            duration = duration * self.tuplet_ratio[0] // self.tuplet_ratio[1]
            self.tuplet_left -= 1
        if pitches and self.ties.pending():
            self.check_tie(pitches, line, col)
        bar, offset = self.current, self.current.duration
        if not bar.has_music:  # a bar is where its first note is
            bar.line, bar.col = pitches[0][2:] if pitches else (line, col)
        if self.chord_symbols:
            bar.chords.extend((offset, text) for text in self.chord_symbols)
            self.chord_symbols = []
        main = duration
        if self.groups.pending_graces is not None:
            offset, main = self.place_graces(offset, duration)
        decorations = ()
        if self.decorations:
            decorations, self.decorations = tuple(self.decorations), []
        group = []  # a loop, not a comprehension: most groups are one note, and a
        for pitch, tie, ln, cl in pitches:  # comprehension's own call would cost more
            group.append(WrittenNote(pitch, offset, main, self.velocity, False, decorations,
                                     tie, ln, cl))
        bar.notes.extend(group)
        bar.duration += duration
        bar.has_music = True
        self.last_group, self.last_group_duration = group, duration
        self.last_group_length = length
        if watched is not None:
            self.watcher.placed(self, len(pitches), line, col, *watched)

    def place_graces(self, offset: int, duration: int) -> tuple[int, int]:
        """Grace notes take 1/GRACE_DIVIDER of the main note's time, from its start, shared
        in proportion to their written lengths."""
        graces = self.groups.take_graces()
        if not graces or not self.play_graces:
            return offset, duration
        share = duration // GRACE_DIVIDER
        written = sum(length for _, length, _, _ in graces)
        for pitch, length, line, col in graces:
            grace_duration = share * length // written
            self.current.notes.append(WrittenNote(pitch, offset, grace_duration, self.velocity,
                                                  True, (), False, line, col))
            offset += grace_duration
        return offset, duration - share

    def check_tie(self, pitches, line: int, col: int) -> None:
        """A tie must join notes of the same pitch (ABC 2.1 §4.11); the issue points at the
        tie mark itself, so it can be found and removed. `pitches`: a note group's, not empty."""
        bad = self.ties.join(pitches, line, col)
        if bad is not None:
            self.report("bad-tie", "tie between notes of different pitches", *bad)

    # -- groups ---------------------------------------------------------------------------

    def on_chord_start(self, line: int, col: int, match) -> None:
        if self.watcher is not None:
            self.watcher.opened("chord", line, col, nested=self.groups.chord is not None)
        if not self.groups.open_chord(line, col):
            self.report("unclosed-chord", "chord opened inside a chord", line, col,
                        E.UnclosedError)
            return
        self.ties.chord_letters = {}

    def on_chord_end(self, line: int, col: int, match) -> None:
        notes = self.groups.close_chord()
        if notes is None:
            self.report("bad-character", "] without a chord to close", line, col,
                        severity="warning")
            return
        if not notes:
            return
        multiplier = parse_length(match["clen"]) if match is not None and match["clen"] else 1
        tie_all = bool(match is not None and match["ctie"])
        if tie_all:
            self.ties.tie(line, col + match.start("ctie") - match.start(), chord=True)
        pitches = [(pitch, tie or tie_all, ln, cl) for pitch, _, tie, ln, cl in notes]
        self.place(pitches, round(notes[0][1] * multiplier), line, col)

    def on_grace_start(self, line: int, col: int, match) -> None:
        if self.watcher is not None:
            self.watcher.opened("grace", line, col)
        self.groups.open_graces(line, col)

    def on_grace_end(self, line: int, col: int, match) -> None:
        if not self.groups.close_graces():
            self.report("bad-character", "} without grace notes to close", line, col,
                        severity="warning")

    def on_tuplet(self, line: int, col: int, match) -> None:
        if self.watcher is not None:
            self.watcher.opened("tuplet", line, col)
        p = int(match["tp"])
        q = int(match["tq"]) if match["tq"] else TUPLET_Q.get(p, 3 if self.meter.compound else 2)
        r = int(match["tr"]) if match["tr"] else p
        if p < 2 or q < 1 or r < 1 or p > 64 or q > 64:
            self.report("bad-tuplet", f"tuplet ({p}:{q}:{r} is not playable", line, col)
            return
        self.tuplet_left, self.tuplet_ratio = r, (q, p)

    def on_slur_start(self, line: int, col: int, match) -> None:
        self.open_slurs += 1

    def on_slur_end(self, line: int, col: int, match) -> None:
        if self.open_slurs == 0:
            self.report("unopened-slur", ") closes a slur that was never opened", line, col,
                        severity="warning")
        self.open_slurs = max(0, self.open_slurs - 1)

    def on_broken(self, line: int, col: int, match) -> None:
        """`a>b`: the note before gets longer, the one after shorter (`<` the other way)."""
        text = match.group(0)
        longer, shorter = BROKEN_FACTORS[len(text)]
        first, second = (longer, shorter) if text[0] == ">" else (shorter, longer)
        if not self.last_group_duration:
            self.report("bad-broken-rhythm", f"{text} has no note before it", line, col)
            return
        extra = self.last_group_duration * (first[0] - first[1]) // first[1]
        for note in self.last_group:
            note.duration += extra
        self.current.duration += extra
        if self.watcher is not None and extra:
            self.watcher.lengthened(extra)
        before = self.last_group[0].decorations if self.last_group else ()
        self.broken_at = (line, col, self.last_group_length, before)
        self.last_group_duration = 0
        self.next_factor = second

    def check_broken_partner(self, length: int) -> None:
        """Broken rhythm joins notes of equal written length (abc2midi: 'Cannot apply broken
        rhythm. Notes not equal durations'; the standard calls other cases undefined). abc2midi
        plays staccato and fermata notes shorter or longer, so those can't take part either."""
        if self.broken_at is None:
            return
        line, col, before, marks = self.broken_at
        self.broken_at = None
        if before != length or LENGTH_DECORATIONS & {*marks, *self.decorations}:
            self.report("unequal-broken-rhythm", "broken rhythm between notes of different "
                        "lengths", line, col)

    # -- marks ----------------------------------------------------------------------------

    def on_deco(self, line: int, col: int, match) -> None:
        name = decoration_name("deco", match)
        if name in DYNAMICS:
            self.velocity = DYNAMICS[name]
        else:
            self.decorations.append(name)

    def on_short_deco(self, line: int, col: int, match) -> None:
        self.deco_at = (line, col)
        name = decoration_name("short_deco", match)
        if name is None:
            self.report("bad-character", f"'{match.group(0)}' is not ABC here (no U: defines it)",
                        line, col)
        else:
            self.decorations.append(name)

    def on_quoted(self, line: int, col: int, match) -> None:
        """A chord symbol, or an annotation (`"^text"`, not played). abc2midi rejects a chord
        symbol that doesn't start with a note letter (`"4"`, `" Em"`, `"(D"`)."""
        text = match["qtext"]
        if text[:1] in ANNOTATION_PREFIXES:
            return
        if text[:1] not in CHORD_ROOTS or not bass_ok(text):
            self.report("bad-chord-symbol", f'"{text}" is not a chord symbol (write an '
                        f'annotation "^{text}" instead)', line, col)
            return
        self.chord_symbols.append(text.strip())

    def on_open_quote(self, line: int, col: int, match) -> None:
        self.report("unclosed-quote", 'a " opens a chord symbol or annotation never closed',
                    line, col)

    def on_bad(self, line: int, col: int, match) -> None:
        self.report("bad-character", f"'{match.group(0)}' is not ABC", line, col)

    def on_overlay(self, line: int, col: int, match) -> None:
        """`&` starts an overlaid voice to the bar line; `(&` ... `&` ... `&)` overlays a
        span of bars, its bar lines counted once, by the first voice."""
        mark = match.group(0)
        if mark == "(&":
            self.overlay_span = "first"
            return
        if mark == "&)":
            self.overlay_span, self.in_overlay = None, False
            return
        self.report("voice-overlay", "& voice overlays are not played (first voice kept)",
                    line, col, severity="warning")
        self.in_overlay = True
        if self.overlay_span is not None:
            self.overlay_span = "other"

    # -- bars -----------------------------------------------------------------------------

    def on_bar(self, line: int, col: int, match) -> None:
        if self.overlay_span == "other":
            return  # the overlaid voice's bar lines: the first voice's were counted
        self.in_overlay = False
        self.check_open_groups(line, col)
        close = bool(match["lcolon"] or match["dcolon"])
        opens = bool(match["rcolon"] or match["dcolon"])
        section_end = match["btype"] in ("||", "|]", "[|")
        bar = self.current if self.current.has_music or self.current.duration else None
        target = bar or (self.bars[-1] if self.bars else None)
        if target is not None:
            target.close_repeat |= close
            target.section_end |= section_end
            target.final |= match["btype"] == "|]"
        if bar is not None:
            self.close_bar(line, col)
        elif close and target is None:
            self.report("bad-repeat", ":| before any music", line, col, severity="warning")
        self.current.open_repeat |= opens
        if match["bnum"]:
            self.current.ending = parse_endings(match["bnum"])

    def on_ending(self, line: int, col: int, match) -> None:
        self.current.ending = parse_endings(match["enums"])

    def close_bar(self, line: int, col: int) -> None:
        bar = self.current
        bar.end_line, bar.end_col, bar.closed, bar.part = line, col, True, self.part
        self.bars.append(bar)
        self.total += bar.duration
        if self.total > MAX_TUNE and not self.too_long:
            self.report("bad-duration", f"the tune is absurdly long (over {MAX_TUNE // TICKS} "
                        "whole notes); the rest is not read", line, col, E.DurationError)
            self.too_long = True
        self.current = WrittenBar(len(self.bars), line, col + 1, expected=self.bar_ticks)
        self.accidentals.new_bar()
        self.last_group, self.last_group_duration = [], 0

    # -- fields ---------------------------------------------------------------------------

    def on_inline(self, line: int, col: int, match) -> None:
        self.apply_field(match["iname"], match["ivalue"].strip(), line, col)

    def on_field(self, line: int, col: int, match) -> None:
        self.apply_field(match["name"], match["value"].strip(), line, col)

    def apply_field(self, name: str, value: str, line: int, col: int) -> None:
        """A field met in the body: key, meter, unit, tempo, part or voice changes."""
        if self.skipping_voice and name != "V":
            return
        if name == "K":
            self.set_key(value, line, col)
        elif name == "M":
            self.set_meter(value, line, col)
            if not (self.current.has_music or self.current.duration):
                self.current.expected = self.bar_ticks
        elif name == "L":
            self.set_unit(value, line, col)
        elif name == "Q" and self.tempo_qpm is None:
            self.set_tempo(value, line, col)
        elif name == "P":
            self.part = value.strip()[:1]
            if not (len(value.strip()) == 1 and value.strip() in PART_LETTERS):
                self.report("bad-parts", f"P:{value} is not a part label (one letter A-Z)",
                            line, col)
        elif name == "V":
            self.switch_voice(value, line, col)
        elif name in NOTE_LETTER_FIELDS:
            self.report("field-in-body", f"{name}: is not allowed in the tune body", line, col,
                        severity="warning")

    def switch_voice(self, value: str, line: int, col: int) -> None:
        """Keep the first voice; skip the others until the first comes back."""
        voice = value.split()[0] if value.split() else ""
        if self.voice is None:
            self.voice = voice
        if voice != self.voice and not self.skipping_voice:
            self.report("extra-voice", f"voice {voice} is not played (only the first voice, "
                        f"{self.voice}, is kept)", line, col, severity="warning")
        self.skipping_voice = voice != self.voice


def bass_ok(text: str) -> bool:
    """A slash in a chord symbol must be followed by its bass note (`"G/B"`, not `"D/nF"`)."""
    slash = text.find("/")
    return slash < 0 or text[slash + 1:slash + 2] in CHORD_ROOTS


def score_tune(tune: Tune, strict: bool = True, graces: bool = True, *,
               text: tuple | None = None) -> tuple[Scorer, list[Issue]]:
    """Build the written bars of `tune`. Strict: raise the first fatal AbcError.
    graces=False leaves grace notes out and their main notes whole.

    The result is cached on the tune while its text is unchanged; a run that met no fatal
    problem serves strict and lenient calls alike (both see the same), so `check` and the
    timeline after it score a tune once. `text`: the tune's content_key, from a caller that
    has just worked it out."""
    key = (graces, text if text is not None else content_key(tune))
    cached = tune.__dict__.get("_score")
    if cached is not None and cached[0] == key and (cached[1] or not strict):
        return cached[2], cached[3]
    reporter = Reporter(tune, strict)
    scorer = Scorer(tune, reporter, graces)
    scorer.run()
    tune.__dict__["_score"] = (key, not reporter.fatal, scorer, reporter.issues)
    return scorer, reporter.issues


def content_key(tune: Tune) -> tuple:
    """The tune's text as a hashable value, for caches that must drop out when it changes:
    the number of header fields, each field's name and value, then the body lines. One flat
    tuple of strings, not a tuple per field: every parsed tune keeps its keys, and the
    garbage collector walks each object kept."""
    fields = tune.file_header + tune.header
    return (len(fields), *chain.from_iterable(map(_NAME_VALUE, fields)),
            *map(_TEXT, tune.body))


_NAME_VALUE, _TEXT = attrgetter("name", "value"), attrgetter("text")


# Token kind (lexer) -> the Scorer method that handles it. The kinds not here (space, eol,
# continuation, linebreak, spacer) change nothing the scorer keeps.
HANDLERS = {
    "note": "on_note", "rest": "on_rest", "broken": "on_broken", "tuplet": "on_tuplet",
    "chord_start": "on_chord_start", "chord_end": "on_chord_end",
    "grace_start": "on_grace_start", "grace_end": "on_grace_end",
    "slur_start": "on_slur_start", "slur_end": "on_slur_end",
    "deco": "on_deco", "short_deco": "on_short_deco", "quoted": "on_quoted",
    "open_quote": "on_open_quote", "bad": "on_bad", "overlay": "on_overlay",
    "bar": "on_bar", "ending": "on_ending", "inline": "on_inline", "field": "on_field",
}


class ScoreWatcher(Protocol):
    """What a caller that follows the walk is told (`score_groups` records note groups)."""

    def placed(self, scorer: Scorer, notes: int, line: int, col: int, start: int,
               in_tuplet: bool, broken: bool) -> None:
        """A group of `notes` notes (0: a rest) was placed at `start` ticks into its bar; it
        was in a tuplet, or the second of a broken-rhythm pair."""

    def lengthened(self, extra: int) -> None:
        """Broken rhythm (`>`) lengthened the last group by `extra` ticks."""

    def opened(self, kind: str, line: int, col: int, nested: bool = False) -> None:
        """A chord, grace group or tuplet opens at `line`:`col` (`nested`: inside a chord)."""

    def left_open(self, chord: list | None, graces: bool) -> None:
        """A bar line or the tune's end finds a chord (its notes so far) or graces open."""
