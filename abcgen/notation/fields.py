"""Header field values: M: meter, L: unit length, K: key and mode, Q: tempo.

Each parser raises a named AbcError subclass for a value that can't be read; the caller adds
the position. Tables are constants, each with the standard's section above it.
"""

import re
from fractions import Fraction
from functools import lru_cache

from abcgen.notation.errors import KeyError_, MeterError, TempoError, UnitLengthError
from abcgen.notation.model import Key, Meter

# http://abcnotation.com/wiki/abc:standard:v2.1#information_field_definition
# Header fields in the order `clean_tune` writes them; others keep their relative order after R.
CANONICAL_ORDER = ("X", "T", "M", "L", "Q", "R", "P", "K")
# http://abcnotation.com/wiki/abc:standard:v2.1#comments_and_remarks and
# #continuation_of_input_lines — in a header value (a title, a rhythm) `%` starts a comment
# and `\` continues the line; `"` we keep out as well, as the tools quote text with it.
UNSAFE_HEADER_TEXT = frozenset('%\\"')
# music21 reads a header line whose value starts with `|` as music (compat's header-bar rule).
UNSAFE_HEADER_START = "|"


def unsafe_header_text(value: str) -> bool:
    """Text a header line can't hold as it is written (see the two rules above)."""
    return bool(UNSAFE_HEADER_TEXT.intersection(value)) or \
        value.lstrip().startswith(UNSAFE_HEADER_START)

# http://abcnotation.com/wiki/abc:standard:v2.1#mmeter
METER_SYMBOLS = {"C": (4, 4), "C|": (2, 2)}
_METER = re.compile(r"^\(?\s*(?P<num>\d+(?:\s*\+\s*\d+)*)\s*\)?\s*/\s*(?P<den>\d+)\s*$")
FREE_METER_WORDS = ("none", "")

# http://abcnotation.com/wiki/abc:standard:v2.1#llength
_UNIT = re.compile(r"^\s*(?P<num>\d+)\s*(?:/\s*(?P<den>\d+))?\s*$")
# The default unit lengths, shared by every tune (Fractions are immutable; building one costs
# a few us).
EIGHTH, SIXTEENTH = Fraction(1, 8), Fraction(1, 16)

# http://abcnotation.com/wiki/abc:standard:v2.1#kkey
# Sharps (positive) or flats (negative) of each major key, and each mode's offset from major.
# Tonics beyond 7 (G#, A#, Fb ...) only make sense with a mode that brings them back into
# range: `K:A# Phr` is F#'s 6 sharps.
MAJOR_KEY_SHARPS = {"C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5, "F#": 6, "C#": 7,
                    "G#": 8, "D#": 9, "A#": 10, "E#": 11, "B#": 12,
                    "F": -1, "Bb": -2, "Eb": -3, "Ab": -4, "Db": -5, "Gb": -6, "Cb": -7,
                    "Fb": -8}
MODE_OFFSETS = {"maj": 0, "ion": 0, "min": -3, "aeo": -3, "mix": -1, "dor": -2,
                "phr": -4, "lyd": 1, "loc": -5}
MODE_NAMES = {"": "maj", "m": "min", "maj": "maj", "min": "min", "ion": "maj", "aeo": "min",
              "mix": "mix", "dor": "dor", "phr": "phr", "lyd": "lyd", "loc": "loc"}
SHARP_ORDER = "FCGDAEB"
FLAT_ORDER = "BEADGCF"
_KEY = re.compile(r"^(?P<tonic>[A-Ga-g])(?P<acc>[#b]?)\s*(?P<mode>[A-Za-z]*)\s*(?P<rest>.*)$")
_EXPLICIT_ACC = re.compile(r"^(\^\^|\^|__|_|=)([A-Ga-g])$")
ACCIDENTAL_SEMITONES = {"^^": 2, "^": 1, "=": 0, "_": -1, "__": -2}
CLEF_WORDS = ("treble", "alto", "tenor", "bass", "perc", "none")
# K:HP is the highland pipes' 'no signature' and K:Hp gives F#, C# and G natural.
PIPE_KEYS = {"HP": (), "Hp": (("F", 1), ("C", 1), ("G", 0))}

# http://abcnotation.com/wiki/abc:standard:v2.1#qtempo
_TEMPO_BEATS = re.compile(r"(\d+)\s*/\s*(\d+)")
_TEMPO_EQ = re.compile(r"^(?P<beats>[\d/\s]*?)\s*=\s*(?P<bpm>\d+(?:\.\d+)?)")
_TEMPO_BARE = re.compile(r"^(?P<bpm>\d+(?:\.\d+)?)$")
_TEMPO_LETTER = re.compile(r"^[A-Ga-g]\s*=\s*(?P<bpm>\d+(?:\.\d+)?)$")
# Tempi a Q: may give, in quarter notes per minute; render plays at these only.
QPM_RANGE = (1.0, 1000.0)
# Every tune of a tunebook repeats the same few M:, L: and K: values, and their values (Meter,
# Key, Fraction) are immutable: each text is read once. Errors are raised anew every time.
HEADER_CACHE_SIZE = 1024


@lru_cache(maxsize=HEADER_CACHE_SIZE)
def parse_meter(text: str) -> Meter:
    """`6/8`, `C`, `C|`, `(2+3+2)/8`, `none` -> Meter. Raises MeterError."""
    value = text.split("%")[0].strip().rstrip("]").strip()  # `M:2/2]` is seen in the wild
    if value.lower() in FREE_METER_WORDS:
        return Meter(text="none", free=True)
    if value in METER_SYMBOLS:
        num, den = METER_SYMBOLS[value]
        return Meter(num, den, value)
    match = _METER.match(value)
    if not match:
        raise MeterError(f"M:{value} is not a meter (expected e.g. 6/8, C, C| or none)")
    num = sum(int(part) for part in match["num"].split("+"))
    den = int(match["den"])
    if num <= 0 or den <= 0 or num > 64 or den > 64:
        raise MeterError(f"M:{value} is out of range")
    return Meter(num, den, value.replace(" ", ""))


def default_unit_length(meter: Meter) -> Fraction:
    """The 0.75 rule: a meter below 0.75 gets L:1/16, else 1/8; free meter 1/8."""
    if meter.free:
        return EIGHTH
    below = 4 * meter.numerator < 3 * meter.denominator  # num/den < 3/4, without Fractions
    return SIXTEENTH if below else EIGHTH


# abc2midi (store.c headerprocess) swings a tune whose R: names a hornpipe and plays it only
# in these meters (numerator, denominator).
HORNPIPE_METERS = frozenset({(2, 4), (4, 4)})


def is_hornpipe(rhythm: str | None) -> bool:
    """R: names a hornpipe (`hornpipe`, `Hornpipe -- set dance`): abc2midi swings it."""
    return "hornpipe" in (rhythm or "").lower()


def hornpipe_meter_ok(meter: Meter) -> bool:
    """A meter abc2midi takes for a hornpipe (free meter has no bar to refuse)."""
    return meter.free or (meter.numerator, meter.denominator) in HORNPIPE_METERS


# The meter each rhythm (R:) is usually written in. A name is found inside R: (`Single Jig`,
# `reel -- set dance`), so longer names come first: 'slip jig' is not a 'jig'.
RHYTHM_METERS = (("slip jig", "9/8"), ("single jig", "6/8"), ("double jig", "6/8"),
                 ("slide", "12/8"), ("jig", "6/8"), ("reel", "4/4"), ("hornpipe", "4/4"),
                 ("strathspey", "4/4"), ("barndance", "4/4"), ("polka", "2/4"),
                 ("waltz", "3/4"), ("mazurka", "3/4"), ("march", "2/4"))


def rhythm_meter(rhythm: str | None) -> str | None:
    """The meter an R: value implies (`R:slip jig` -> 9/8), or None."""
    text = (rhythm or "").lower()
    return next((meter for name, meter in RHYTHM_METERS if name in text), None)


# store.c hornp(): in a hornpipe abc2midi plays each pair of these notes 2:1, eighths in 4/4
# and sixteenths in 2/4 (whole notes, by meter), but only notes written as a unit of L: or
# a fraction of one (`1/N` of it: with L:1/16 an eighth `A2` is not swung).
SWING_UNITS = {(4, 4): Fraction(1, 8), (2, 4): Fraction(1, 16)}


def swing_unit(meter: Meter, unit: Fraction, rhythm: str | None) -> Fraction | None:
    """The note length (whole notes) abc2midi swings in pairs in a tune of this meter, unit
    length L: and rhythm R:; None when it swings nothing."""
    swung = SWING_UNITS.get((meter.numerator, meter.denominator))
    if swung is None or meter.free or not is_hornpipe(rhythm) or (swung / unit).numerator != 1:
        return None
    return swung


@lru_cache(maxsize=HEADER_CACHE_SIZE)
def parse_unit_length(text: str) -> Fraction:
    """`1/8` -> Fraction(1, 8); `1` -> 1. Raises UnitLengthError (L:0, L:foo, L:1/0)."""
    value = (text.split("%")[0].split() or [""])[0]  # `L:1/8 3/8=120`: the rest is noise
    match = _UNIT.match(value)
    if not match:
        raise UnitLengthError(f"L:{value} is not a unit length (expected 1/N)")
    num, den = int(match["num"]), int(match["den"] or 1)
    if num <= 0 or den <= 0 or den > 512 or num > 16:
        raise UnitLengthError(f"L:{value} is out of range")
    return Fraction(num, den)


def _signature(tonic: str, mode: str) -> dict[str, int]:
    sharps = MAJOR_KEY_SHARPS.get(tonic)
    relative = None if sharps is None else sharps + MODE_OFFSETS[mode]
    if relative is None or abs(relative) > 7:
        raise KeyError_(f"K:{tonic}{mode} has no key signature")
    if relative >= 0:
        return {letter: 1 for letter in SHARP_ORDER[:relative]}
    return {letter: -1 for letter in FLAT_ORDER[:-relative]}


def _mode_name(word: str) -> str | None:
    """Only the first three letters of a mode count, case-insensitive (`Dmix`, `D Mixolydian`)."""
    if word in ("m", "M"):
        return "min"
    return MODE_NAMES.get(word[:3].lower())


def _key_extras(rest: str, signature: dict[str, int]) -> tuple[int, int]:
    """Apply explicit accidentals (`^f _b =c`) to `signature`; read transpose= and octave=."""
    transpose = octave = 0
    for word in rest.split():
        acc = _EXPLICIT_ACC.match(word)
        if acc:
            signature[acc[2].upper()] = ACCIDENTAL_SEMITONES[acc[1]]
        elif word.startswith("transpose="):
            transpose = _int_or_zero(word.split("=", 1)[1])
        elif word.startswith("octave="):
            octave = _int_or_zero(word.split("=", 1)[1])
    return transpose, octave


def _int_or_zero(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


@lru_cache(maxsize=HEADER_CACHE_SIZE)
def parse_key(text: str) -> Key:
    """`D`, `Ador`, `E dorian`, `F#m`, `Bb`, `D exp ^f ^c`, `none`, `HP`, `Am clef=bass` -> Key.

    Raises KeyError_ for an unknown mode (`K:Gx`) or tonic."""
    value = text.split("%")[0].strip()
    if value in PIPE_KEYS:
        return Key(tonic="A", mode="mix", accidentals=PIPE_KEYS[value], text=value)
    first = value.split()[0] if value else ""
    if first.lower() in ("none", "") or first.lower() in CLEF_WORDS or first.startswith("clef="):
        transpose, octave = _key_extras(value, sig := {})
        return Key(tonic="", mode="maj", accidentals=tuple(sorted(sig.items())), text=value,
                   transpose=transpose, octave=octave)
    match = _KEY.match(value)
    if not match:
        raise KeyError_(f"K:{value} is not a key")
    tonic = match["tonic"].upper() + match["acc"]
    mode_word, rest = match["mode"], match["rest"]
    if rest.startswith("="):  # `K:G octave=-1`: no mode, the word was a parameter's name
        mode_word, rest = "", mode_word + rest
    if mode_word.lower() == "exp":
        mode, signature, rest = "maj", {}, rest
    else:
        mode = _mode_name(mode_word)
        if mode is None:
            raise KeyError_(f"K:{value}: unknown mode '{mode_word}'")
        signature = _signature(tonic, mode)
    transpose, octave = _key_extras(rest, signature)
    return Key(tonic=tonic, mode=mode, accidentals=tuple(sorted(signature.items())),
               text=value, transpose=transpose, octave=octave)


def parse_tempo(text: str, unit: Fraction, meter: Meter | None = None) -> float | None:
    """Q: -> quarter notes per minute, or None for a text-only tempo (`Q:"Andante"`).

    `Q:1/4=120`, `Q:3/8=110` (165 qpm), `Q:1/4 3/8 1/4 3/8=40` (the beats add up),
    `Q:"Allegro" 1/4=120`, deprecated `Q:120` (in units of L:) and `Q:C=100`. Raises TempoError."""
    value = re.sub(r'"[^"]*"', " ", text.split("%")[0]).strip()
    if not value:
        return None
    bare, letter, eq = _TEMPO_BARE.match(value), _TEMPO_LETTER.match(value), _TEMPO_EQ.match(value)
    if bare:
        qpm = float(bare["bpm"]) * float(unit) * 4
    elif letter:
        qpm = float(letter["bpm"])
    elif eq:
        beats = sum(Fraction(int(n), int(d)) for n, d in _TEMPO_BEATS.findall(eq["beats"]))
        qpm = float(eq["bpm"]) * float(beats or unit) * 4
    else:
        raise TempoError(f"Q:{text.strip()} is not a tempo")
    if not QPM_RANGE[0] <= qpm <= QPM_RANGE[1]:
        raise TempoError(f"Q:{text.strip()} gives {qpm:g} quarter notes a minute")
    return qpm
