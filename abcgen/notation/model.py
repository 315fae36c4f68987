"""The nouns of abcgen's ABC world: Tune (text structure), Meter and Key (header values),
NoteEvent/ChordSymbolEvent/Bar/Timeline (what is played), Issue (what `check` reports).

Units: durations inside ABC are in whole notes (`Fraction(1, 8)` is an eighth note); timeline
onsets and durations are in quarter notes, as MIDI tools count them.
"""

from dataclasses import dataclass, field
from fractions import Fraction


@dataclass
class Field:
    """One information field line such as `T:The Kesh`. `line` is 1-based in the source file."""

    name: str
    value: str
    line: int = 0


@dataclass
class BodyLine:
    """One line of the tune body as written (music, a body field such as `w:` or `P:`, or a
    `%` comment)."""

    text: str
    line: int = 0


@dataclass
class Tune:
    """A tune as text structure: ordered header fields and body lines.

    `header` keeps the fields in their written order; the first K: ends it. `file_header`
    holds the tunebook's file-header fields, which are defaults for every tune.
    """

    header: list[Field] = field(default_factory=list)
    body: list[BodyLine] = field(default_factory=list)
    file_header: list[Field] = field(default_factory=list)
    source: str | None = None
    start_line: int = 0
    read_issues: list["Issue"] = field(default_factory=list)
    """What reading found before any check: control characters (removed from text fields, a
    warning; in the music, an error that makes the tune unreadable) or a tune too long."""

    def header_field(self, name: str) -> Field | None:
        """The header field `name` in force: the last one the tune's header writes, else the
        file header's last. abc2midi and the scorer read header fields in turn, so a later
        `M:` or `L:` overrides an earlier one; every stage asks here."""
        for fields in (self.header, self.file_header):
            for fld in reversed(fields):
                if fld.name == name:
                    return fld
        return None

    def get(self, name: str, default: str | None = None) -> str | None:
        """The value of header field `name` in force (see `header_field`), or `default`."""
        fld = self.header_field(name)
        return default if fld is None else fld.value

    def get_all(self, name: str) -> list[str]:
        """Every value of header field `name`, in written order."""
        return [fld.value for fld in self.header if fld.name == name]

    @property
    def x(self) -> str | None:
        value = self.get("X")
        return value.strip() if value is not None else None

    @property
    def title(self) -> str:
        """The first non-empty T: (alternative titles follow in `titles`)."""
        titles = self.titles
        return titles[0] if titles else ""

    @property
    def titles(self) -> list[str]:
        return [t.strip() for t in self.get_all("T") if t.strip()]

    def __getstate__(self) -> dict:
        """What a pickled tune carries (to a worker process): its text, without the caches
        the notation core keeps on it (`_score`, `_timeline`). They are rebuilt from the text
        on first use, and pickled they are 17 times its size and take 40 times as long."""
        return {name: value for name, value in self.__dict__.items() if not name.startswith("_")}


@dataclass(frozen=True)
class Meter:
    """A time signature. `free` is True for `M:none` or a missing M:.

    `bar` is the bar length in whole notes (`3/4` -> Fraction(3, 4)); None when free.
    """

    numerator: int = 4
    denominator: int = 4
    text: str = "4/4"
    free: bool = False

    @property
    def bar(self) -> Fraction | None:
        return None if self.free else Fraction(self.numerator, self.denominator)

    @property
    def compound(self) -> bool:
        """6/8, 9/8, 12/8 ...: the beat is a dotted note."""
        return self.numerator % 3 == 0 and self.numerator > 3 and self.denominator == 8

    @property
    def beat(self) -> Fraction:
        """The beat in whole notes: three of the lower note when the upper is a multiple of
        three above 3 (6/8, 9/8, 12/8: a dotted quarter; 6/4: a dotted half), else the lower
        note (2/2: a half); a quarter in free meter."""
        lower = Fraction(1, self.denominator)
        return 3 * lower if self.numerator % 3 == 0 and self.numerator > 3 else lower


@dataclass(frozen=True)
class Key:
    """A key signature: tonic ('D', 'F#', 'Bb'), mode ('maj', 'min', 'dor', 'mix' ...) and the
    alteration in semitones it gives each note letter (upper case 'A'..'G' -> -2..2)."""

    tonic: str = "C"
    mode: str = "maj"
    accidentals: tuple[tuple[str, int], ...] = ()
    text: str = "C"
    transpose: int = 0
    octave: int = 0

    @property
    def signature(self) -> dict[str, int]:
        return dict(self.accidentals)

    @property
    def name(self) -> str:
        """Canonical short name: 'D', 'Em', 'Ador', 'Gmix', 'none'."""
        if not self.tonic:
            return "none"
        if self.mode == "maj":
            return self.tonic
        if self.mode == "min":
            return self.tonic + "m"
        return self.tonic + self.mode


@dataclass(slots=True)
class NoteEvent:
    """A sounding note. `onset`/`duration` in quarter notes from the tune's start (repeats
    expanded); `pitch` a MIDI number; `velocity` from the dynamics marks (default !mf! = 90).
    Treat it as read-only (it is not frozen only because frozen dataclasses build 6x slower)."""

    pitch: int
    onset: Fraction
    duration: Fraction
    velocity: int = 90
    grace: bool = False
    decorations: tuple[str, ...] = ()
    bar: int = 0
    line: int = 0
    col: int = 0


@dataclass(frozen=True)
class ChordSymbolEvent:
    """A guitar chord such as "Am7" at `onset` quarter notes; `root` a pitch class 0-11,
    `bass` the pitch class of a slash bass (or None), `quality` one of CHORD_QUALITIES' keys."""

    name: str
    onset: Fraction
    root: int
    quality: str = "maj"
    bass: int | None = None


@dataclass(slots=True)
class Bar:
    """One performed bar: `number` counts written bars from 0; `onset` (from the tune's
    start), `duration` and `expected` (the meter's bar, None in free meter) in whole notes.
    Read-only in spirit (not frozen, for speed, like NoteEvent)."""

    number: int
    onset: Fraction
    duration: Fraction
    expected: Fraction | None
    line: int = 0
    col: int = 0
    repeat_pass: int = 1


@dataclass
class Timeline:
    """What a tune plays: note events in time order, chord symbols, bars, tempo."""

    events: list[NoteEvent] = field(default_factory=list)
    chord_symbols: list[ChordSymbolEvent] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    tempo_qpm: float | None = None
    meter: Meter = field(default_factory=Meter)
    unit: Fraction = Fraction(1, 8)
    key: Key = field(default_factory=Key)
    total: Fraction = Fraction(0)
    warnings: list["Issue"] = field(default_factory=list)


@dataclass(frozen=True)
class Issue:
    """A validation finding: a stable `code` (see validate.CODES), severity 'error' or
    'warning', and where: tune X:, 1-based line and column."""

    code: str
    severity: str
    message: str
    x: str | None = None
    line: int = 0
    col: int = 0
    source: str | None = None

    def to_dict(self) -> dict:
        return {"code": self.code, "severity": self.severity, "message": self.message,
                "x": self.x, "line": self.line, "col": self.col}

    def __str__(self) -> str:
        where = f"X:{self.x} " if self.x is not None else ""
        return f"{where}{self.line}:{self.col}: {self.severity} {self.code}: {self.message}"


def tune_issue(tune: "Tune", code: str, message: str, line: int = 0, col: int = 1,
               severity: str = "error") -> Issue:
    """An Issue about `tune` at `line`:`col` (line 0: the tune's first line)."""
    return Issue(code, severity, message, tune.x, line or tune.start_line, col, tune.source)
