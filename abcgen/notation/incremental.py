"""An incremental ABC reader: one character at a time, it says which next characters keep a
tune valid, so a sampler can mask every other one.

It reads a sound subset of ABC 2.1, the one the corpus and the model write: the header X, T,
M, L, R, K in that order (values from fixed tables checked by the validator's own parsers;
R:hornpipe only in fields.HORNPIPE_METERS), and in the body notes and rests with a table of
lengths, accidentals, octave marks, bar lines `| || |] |: :| ::` with endings `|1` / `:|2`,
ties, slurs, `~`, grace groups `{...}`, tuplets `(2 (3 (4` of equal notes and broken rhythm
`>`/`<` between equal notes. Durations are the scorer's integer ticks (score.TICKS per whole
note), and a bar may close only when it is the meter's length, the tune's pickup, or a last
bar that adds up with that pickup and ends with `|]` or `:|` (validate.check_bars' rules,
narrowed to what abc2midi accepts too), so `check` never sees a bar of the wrong length;
repeats and endings follow validate.check_repeats. A tune that only uses this subset and
that the reader lets end passes `check`; constructs outside it (chords, chord symbols,
inline fields, other decorations) are refused, never misread.

`finishing` steers a tune to its end near a length limit: no new repeats or groups, notes
that fill the bar in the fewest, bar lines that close what is open, then the end.

States are immutable (`ReaderState`, a NamedTuple) so callers can cache the allowed set
and each transition by state.
"""

from fractions import Fraction
from functools import lru_cache
from typing import NamedTuple

from abcgen.notation.errors import AbcError
from abcgen.notation.fields import (CANONICAL_ORDER, MAJOR_KEY_SHARPS, UNSAFE_HEADER_START,
                                    UNSAFE_HEADER_TEXT, default_unit_length, hornpipe_meter_ok,
                                    is_hornpipe, parse_key, parse_meter, parse_unit_length,
                                    swing_unit)
from abcgen.notation.model import Meter
from abcgen.notation.score import BROKEN_FACTORS, TICKS, TUPLET_Q, parse_length, to_ticks

# http://abcnotation.com/wiki/abc:standard:v2.1#tune_header — the canonical order the corpus
# writes (fields.CANONICAL_ORDER), less Q: and P:, which the reader leaves out; the letters a
# tune must have (check_header) can't be skipped.
HEADER_ORDER = "".join(name for name in CANONICAL_ORDER if name not in "QP")
REQUIRED_FIELDS = frozenset("XTMK")
# Field values the reader lets the model write (kept below to those the validator reads).
METER_VALUES = frozenset(["C", "C|"] + [f"{n}/{d}" for n in range(1, 13) for d in (2, 4, 8, 16)])
UNIT_VALUES = frozenset(["1/4", "1/8", "1/16"])
KEY_WORDS = ("", "m", "maj", "min", "mix", "dor", "phr", "lyd", "loc", "Mix", "Dor", "Min")
MAX_TEXT = 60
"""Characters of an X:, T: or R: value the model may write (longer lines must end)."""
# Title and rhythm text: no comment (%), continuation (\) or quote characters.
TEXT_BANNED = UNSAFE_HEADER_TEXT | frozenset("\n\r\t")
# Body tokens of the subset.
NOTE_LETTERS = frozenset("ABCDEFGabcdefg")
ACCIDENTALS = frozenset("^_=")
OCTAVE_MARK = {True: ",", False: "'"}  # upper case letters go down, lower case up
MAX_OCTAVE_MARKS = 2
MAX_GRACE_NOTES = 4
LENGTHS = ("", "2", "3", "4", "5", "6", "7", "8", "12", "16", "/", "/2", "//", "/4", "3/2",
           "3/4")
"""Note lengths (in units of L:) the reader lets the model write."""
LENGTH_CHARS = frozenset("0123456789/")
TUPLETS = {"2", "3", "4"}
BODY_ALPHABET = frozenset(NOTE_LETTERS | ACCIDENTALS | LENGTH_CHARS | set("z|:]',-()~{}<> \n"))
"""Every character the reader may allow in a tune's body."""
BAR_TOKENS = ("|", "||", "|]", "|:", ":|", "::", "|1", ":|2")
BAR_CHARS = frozenset("|:]12")
FINAL_BARS = ("|]", ":|")
"""Bar lines that may close a short last bar (abc2midi warns after `|` or `||`)."""


def _parses(parser, text: str) -> bool:
    try:
        parser(text)
    except AbcError:
        return False
    return True


KEY_VALUES = frozenset(tonic + mode for tonic in MAJOR_KEY_SHARPS for mode in KEY_WORDS)
FIELD_PARSERS = {"M": parse_meter, "L": parse_unit_length, "K": parse_key}
FIELD_VALUES = {name: frozenset(value for value in values if _parses(FIELD_PARSERS[name], value))
                for name, values in (("M", METER_VALUES), ("L", UNIT_VALUES), ("K", KEY_VALUES))}
"""The values of M:, L: and K: the reader offers: those the validator's parsers read."""
PRIMED_OK = frozenset("MK")
"""Fields whose value may also be any the validator reads (a primed `--meter none` or
`--key "E minor"`): the model can only type table values, and M: and K: values keep every
bar of the subset fillable (an odd L: could leave a bar no length fits)."""


def _prefixes(values) -> frozenset[str]:
    return frozenset(v[:i] for v in values for i in range(len(v) + 1))


FIELD_PREFIXES = {name: _prefixes(values) for name, values in FIELD_VALUES.items()}
HORNPIPE_PREFIXES = _prefixes(v for v in FIELD_VALUES["M"] if hornpipe_meter_ok(parse_meter(v)))
"""M: values once R: has said hornpipe (validate's hornpipe-meter rule)."""
LENGTH_PREFIXES = _prefixes(LENGTHS)


class ReaderState(NamedTuple):
    """Everything the next character's validity depends on. Ticks are score.TICKS units."""

    phase: str = "head"          # head, body, end, or lost (text the reader can't follow)
    line_start: bool = True
    finishing: bool = False      # near the length limit: only moves that end the tune
    # header
    last_field: str = ""
    seen: str = ""               # the header fields written so far
    rhythm: str = ""             # R: as written (a hornpipe's M: must be 2/4 or 4/4)
    meter: Meter | None = None   # M: once written
    hornpipe_ok: bool | None = None  # M: allows a hornpipe (None: no M: yet)
    field: str = ""              # the field whose line is being written
    value: str = ""              # its value so far (X, T: "1" per character written)
    bar_ticks: int | None = None
    unit_ticks: int = 0
    swing_ticks: int | None = None  # the note length abc2midi swings in pairs (R:hornpipe)
    # the token being written: "" (between tokens), acc, note, rest, bar, paren, tilde,
    # grace (inside {}), graced (after }), broken (after > or <)
    token: str = ""
    text: str = ""               # note: octave marks; bar: the bar token so far
    letter: str = ""
    length: str = ""
    greedy: bool = False         # the note was begun while finishing: longest length only
    # the bar and the tune
    used: int = 0
    bars: int = 0                # closed bars, counted up to 2
    pickup: int = 0
    has_note: bool = False
    must_end: bool = False
    after_bar: bool = False
    # groups
    tuplet_left: int = 0
    tuplet_ratio: tuple[int, int] = (1, 1)
    tuplet_length: str | None = None
    factor: tuple[int, int] = (1, 1)
    broken_length: str | None = None
    last_note: tuple[str, int] | None = None   # (length, ticks) of a note just ended
    last_swung: bool = False     # that note ends a pair abc2midi swings (R:hornpipe)
    pair_waiting: bool = False   # that note is a swing unit on the beat: the next may pair
    tie: tuple[str, str] | None = None          # (letter, octave marks) the next note must be
    slurs: int = 0
    grace_notes: int = 0
    # repeats (validate.check_repeats)
    repeat_open: bool = False
    closed_before: bool = False
    ending_open: bool = False
    ending_bar: bool = False     # the bar just begun carries an ending number (|1, :|2)
    # abc2midi's own repeat bookkeeping (repeats.py): whether it expects a :| ("start" until
    # the first repeat mark, where an opening |: is implied if that mark closes), and
    # whether an ending has been met
    played_expect: str = "start"
    played_ending: bool = False
    # form (FORM_START only): a part closes after a multiple of PART_BARS_MULTIPLE bars, and
    # the tune ends with two parts, or one of WHOLE_TUNE_BARS or more
    form: bool = False
    part_bars: int = 0           # bars of the current part's first pass (pickup: none)
    parts: int = 0               # parts closed, up to MAX_PARTS (a long one counts 2)
    second_ending: bool = False  # in a second ending: its bars replace the first's


START = ReaderState()
FORM_START = ReaderState(form=True)
"""The start of a tune that must also keep to the form rule (the sampler's, not `check`'s)."""
LOST = ReaderState(phase="lost")
END = ReaderState(phase="end")
_FIELD_INDEX = {name: index for index, name in enumerate(ReaderState._fields)}


def _with(state: ReaderState, **changes) -> ReaderState:
    """`state._replace(**changes)` at a third of its cost (a fresh mask tests some 20 moves,
    each a new state; NamedTuple._replace maps all of its fields through the changes)."""
    values = list(state)
    for name, value in changes.items():
        values[_FIELD_INDEX[name]] = value
    return tuple.__new__(ReaderState, values)


def step(state: ReaderState, char: str) -> ReaderState | None:
    """The state after one more character, or None when it would make the tune invalid."""
    if state.phase == "lost":
        return state
    if state.phase == "end":
        return None
    if char == "\n" and state.line_start:  # a blank line ends the tune
        return END if can_end(state) else None
    if state.finishing and can_end(state):
        return _with(state, line_start=True) if char == "\n" else None
    if state.phase == "head":
        return _header_step(state, char)
    return _body_step(state, char)


def step_primed(state: ReaderState, char: str) -> ReaderState | None:
    """`step` for text the user primed (not the model): its fields come in the template's
    order (R: may precede M:), and an M: or K: value may be any the validator reads
    (`M:none`, `K:E minor`), checked when its line ends; primed music that breaks the form
    rule (a 7-bar part) is taken, and the tune goes on free of it."""
    if state.phase != "head" or char == "\n":
        after = step(state, char)
        if after is None and state.form:
            after = step(_with(state, form=False), char)
        return after
    if state.line_start and char in HEADER_ORDER and char not in state.seen:
        return _with(state, line_start=False, field=char, value=":")
    if state.field in PRIMED_OK and state.value != ":" and not state.line_start:
        return _with(state, value=state.value + char)
    return step(state, char)


def can_end(state: ReaderState) -> bool:
    """Whether the tune may end here (end marker or blank line) and pass `check`."""
    if state.phase == "lost":
        return True
    if state.phase != "body":
        return False
    done = _close_token(state)
    return done is not None and done.token == "" and done.used == 0 and done.bars > 0 \
        and done.has_note and not (done.repeat_open or done.ending_open or done.slurs
                                   or done.tuplet_left or done.tie) and _whole_form(done)


def finishing(state: ReaderState) -> ReaderState:
    """The same state, steered to end: no new repeats, groups or spaces, greedy note lengths
    (for notes begun from now on). A bar line, a `(`, a grace group or a note's marks half
    written are left to finish first (the caller asks again at the next character)."""
    if state.phase == "head" or (state.phase == "body" and state.token in ("", "note", "rest")):
        return _with(state, finishing=True)
    return state


def unsteered(state: ReaderState) -> ReaderState:
    """The state without `finishing`'s steering: for a sampler whose vocabulary can't write
    the one length steering allows (a tiny corpus without `7`)."""
    return _with(state, finishing=False, greedy=False)


# -- header ------------------------------------------------------------------------------

def next_fields(last: str, seen: str = "") -> str:
    """Field letters that may start the next header line after field `last`, `seen` the
    fields written (a primed R: before M: still gets its M:)."""
    letters = "T" if last == "T" else ""
    for letter in HEADER_ORDER[HEADER_ORDER.index(last) + 1 if last else 0:]:
        if letter not in seen:
            letters += letter
        if letter in REQUIRED_FIELDS:
            break
    missing = "".join(letter for letter in "TM" if letter not in seen + letters)
    return letters.replace("K", "") + missing if missing and "K" in letters else letters


def _header_step(state: ReaderState, char: str) -> ReaderState | None:
    if state.line_start:
        letters = next_fields(state.last_field, state.seen)
        if state.finishing:  # only the fields a tune needs
            letters = "".join(letter for letter in letters
                              if letter in REQUIRED_FIELDS and letter != state.last_field)
        return _with(state, line_start=False, field=char, value=":") \
            if char in letters else None
    if state.value == ":":  # right after the field letter
        return _with(state, value="") if char == ":" else None
    if char == "\n":
        return _end_field(state)
    if state.field in FIELD_PREFIXES:
        value = state.value + char
        prefixes = HORNPIPE_PREFIXES if state.field == "M" and is_hornpipe(state.rhythm) \
            else FIELD_PREFIXES[state.field]
        return _with(state, value=value) if value in prefixes else None
    return _text_step(state, char)


def _text_step(state: ReaderState, char: str) -> ReaderState | None:
    """A character of an X:, T: or R: value (R: kept as text, for the hornpipe rule)."""
    count = len(state.value) + 1
    if count > MAX_TEXT or (state.finishing and state.value):
        return None
    if state.field == "X":
        return _with(state, value="1" * count) if char.isdigit() and (state.value or char != "0") \
            else None
    if char in TEXT_BANNED or (not state.value and char in (" ", UNSAFE_HEADER_START)) \
            or not char.isprintable():
        return None
    if state.field != "R":
        return _with(state, value="1" * count)
    value = state.value + char
    if is_hornpipe(value) and state.hornpipe_ok is False:
        return None
    return _with(state, value=value)


def _end_field(state: ReaderState) -> ReaderState | None:
    """A header line is complete: its value must be one of the reader's (M, L, K) and is
    read with the validator's parsers."""
    field, value = state.field, state.value
    if not value.strip() or (value not in FIELD_VALUES.get(field, {value}) and not (
            field in PRIMED_OK and _parses(FIELD_PARSERS[field], value))):
        return None
    done = _with(state, line_start=True, last_field=field, field="", value="",
                          seen=state.seen + field)
    if field == "R":
        return _with(done, rhythm=value)
    if field == "M":
        meter = parse_meter(value)
        if is_hornpipe(state.rhythm) and not hornpipe_meter_ok(meter):
            return None
        return _with(done, meter=meter, bar_ticks=None if meter.free else to_ticks(meter.bar),
                             unit_ticks=to_ticks(default_unit_length(meter)),
                             hornpipe_ok=hornpipe_meter_ok(meter))
    if field == "L":
        return _with(done, unit_ticks=to_ticks(parse_unit_length(value)))
    if field == "K":  # the body needs only the meter, unit and whether abc2midi swings it
        return _with(START, phase="body", bar_ticks=done.bar_ticks, unit_ticks=done.unit_ticks,
                     swing_ticks=_swing_ticks(done), form=done.form)
    return done


# -- body --------------------------------------------------------------------------------

def _body_step(state: ReaderState, char: str) -> ReaderState | None:
    extended = _extend_token(state, char)
    if extended is not None:
        return extended if extended is not LOST else None
    closed = _close_token(state)
    return None if closed is None else _start_token(_cleared(closed), char, closed)


def _body_allowed(state: ReaderState, chars) -> set[str]:
    """`_body_step`'s verdict for each of `chars`, closing the current token only once."""
    closed = _close_token(state)
    cleared = None if closed is None else _cleared(closed)
    allowed = set()
    for char in chars:
        extended = _extend_token(state, char)
        if extended is not None:
            ok = extended is not LOST
        else:
            ok = closed is not None and _start_token(cleared, char, closed) is not None
        if ok:
            allowed.add(char)
    return allowed


def _extend_token(state: ReaderState, char: str) -> ReaderState | None:
    """The state with `char` added to the token being written; None when `char` starts a new
    token instead, LOST when it can do neither."""
    token = state.token
    if token in ("note", "rest"):
        return _extend_note(state, char)
    if token == "bar":
        if char not in BAR_CHARS:
            return None
        text = state.text + char
        return _with(state, text=text) if _bar_viable(state, text) else LOST
    if token == "paren":
        return _open_tuplet(state, int(char)) if char in TUPLETS else None
    if token in ("acc", "tilde", "graced", "broken"):
        return _start_note(state, char) or LOST
    if token == "grace":
        return _grace_step(state, char) or LOST
    return None


def _close_token(state: ReaderState) -> ReaderState | None:
    """The state once the token being written is complete; None when it can't end here."""
    token = state.token
    if token in ("note", "rest"):
        return _end_note(state)
    if token == "bar":
        return _end_bar(state, state.text)
    if token == "paren":  # `(` not followed by a tuplet number opens a slur
        return None if state.slurs or state.finishing else \
            _with(state, token="", slurs=state.slurs + 1)
    if token == "":
        return state
    return None


def _cleared(state: ReaderState) -> ReaderState:
    """A complete token's state as the next token starts (marks that last one token dropped)."""
    return _with(state, last_note=None, after_bar=False, line_start=False)


def _start_token(state: ReaderState, char: str, before: ReaderState) -> ReaderState | None:
    """`char` begins a new token; `state` is `before` (the complete token's state) cleared."""
    if char in " \n":
        return _space(state, char, before.line_start)
    if state.must_end:
        return None
    if char in ACCIDENTALS or char in NOTE_LETTERS or char == "z":
        return _start_note(state, char)
    if char in "|:":
        if before.after_bar or state.tuplet_left or (state.finishing and state.slurs):
            return None
        return _with(state, token="bar", text=char) if _bar_viable(state, char) else None
    if char in "><":
        return _broken(state, char, before.last_note)
    return _open_group(state, char, before)


def _space(state: ReaderState, char: str, line_start: bool) -> ReaderState | None:
    """A space, or a line break; a line of spaces alone would be a blank line (end of tune)."""
    if state.finishing or (state.tie and char == "\n") or (char == " " and line_start):
        return None
    return _with(state, line_start=char == "\n" or line_start)


def _open_group(state: ReaderState, char: str, before: ReaderState) -> ReaderState | None:
    if char == ")":
        return _with(state, slurs=state.slurs - 1) if state.slurs else None
    if state.finishing or state.tie:
        return None
    if char == "(":
        return _with(state, token="paren") if (_slur_ok(state) or _tuplet_ok(state)) \
            else None
    if char == "~":  # no roll on a note abc2midi may swing after its neighbour (compat)
        return _with(state, token="tilde") if feasible_lengths(state) \
            and not before.pair_waiting else None
    if char == "{":
        return _with(state, token="grace", grace_notes=0, text="", pair_waiting=False) \
            if feasible_lengths(state) else None
    return None


def _slur_ok(state: ReaderState) -> bool:
    return not state.slurs and not state.tuplet_left


def _tuplet_ok(state: ReaderState) -> bool:
    return not state.tuplet_left and any(_open_tuplet(state, int(p)) for p in TUPLETS)


def _open_tuplet(state: ReaderState, p: int) -> ReaderState | None:
    """`(p`: the next p notes take the time of q (score.TUPLET_Q); all p must fit the bar."""
    if state.finishing or state.tuplet_left:
        return None
    q = TUPLET_Q.get(p, 2)
    opened = _with(state, token="", tuplet_left=p, tuplet_ratio=(q, p), tuplet_length=None)
    return opened if feasible_lengths(opened) else None


def _broken(state: ReaderState, char: str, last_note) -> ReaderState | None:
    """`a>b` right after a note: it gains half its length and the next equal note loses it
    (score.BROKEN_FACTORS); both must fit the bar."""
    if last_note is None or state.finishing or state.tuplet_left or state.tie:
        return None
    length, ticks = last_note
    if state.last_swung or _offbeat(state, ticks):
        return None  # abc2midi would change a note's length twice (compat._hornpipe_chains)
    first, second = BROKEN_FACTORS[1] if char == ">" else BROKEN_FACTORS[1][::-1]
    extra = ticks * (first[0] - first[1]) // first[1]
    following = _ticks(length, state.unit_ticks) * second[0] // second[1]
    if state.bar_ticks is not None and state.used + extra + following > state.bar_ticks:
        return None
    return _with(state, token="broken", used=state.used + extra, factor=second,
                          broken_length=length)


def _swing_ticks(header: ReaderState) -> int | None:
    """The note length in ticks abc2midi swings in pairs (fields.swing_unit), from a
    complete header's meter, unit length and rhythm."""
    if header.meter is None:
        return None
    unit = swing_unit(header.meter, Fraction(header.unit_ticks, TICKS), header.rhythm)
    return None if unit is None else to_ticks(unit)


def _offbeat(state: ReaderState, ticks: int) -> bool:
    """The note just ended is a swing unit starting off the beat: a `>` after it would make
    the next such note swing with a note `>` already shortened."""
    unit = state.swing_ticks
    return unit is not None and ticks == unit and (state.used - ticks) % (2 * unit) == unit


def _plain_unit(state: ReaderState, ticks: int) -> bool:
    """The note being placed is a plain swing unit: abc2midi may swing it (store.c hornp())."""
    return state.token == "note" and ticks == state.swing_ticks and not state.tuplet_left \
        and state.broken_length is None


def _swung(state: ReaderState, ticks: int) -> bool:
    """abc2midi swings the note being placed with the one before (a slur between them or
    not; a rest, a chord, grace notes or a bar line end the wait)."""
    return state.pair_waiting and _plain_unit(state, ticks)


def _pair_opens(state: ReaderState, ticks: int) -> bool:
    """The note being placed is a plain swing unit on the beat: the next one may pair with it."""
    return _plain_unit(state, ticks) and state.used % (2 * ticks) == 0


# -- notes -------------------------------------------------------------------------------

@lru_cache(maxsize=4096)
def _ticks(length: str, unit_ticks: int) -> int:
    return round(parse_length(length) * unit_ticks)


def note_ticks(state: ReaderState, length: str) -> int:
    """A note's ticks as Scorer.place counts them: broken-rhythm factor, then tuplet ratio."""
    ticks = _ticks(length, state.unit_ticks) * state.factor[0] // state.factor[1]
    if state.tuplet_left:
        ticks = ticks * state.tuplet_ratio[0] // state.tuplet_ratio[1]
    return ticks


def feasible_lengths(state: ReaderState) -> tuple[str, ...]:
    """The lengths the next note may have: it (and a new tuplet's other notes) fits the bar,
    it matches its tuplet's or broken pair's first note, and near the end it is the longest
    that fits."""
    return _feasible(state.unit_ticks, state.bar_ticks, state.used, state.factor,
                     state.tuplet_left, state.tuplet_ratio, state.tuplet_length,
                     state.broken_length,
                     state.finishing and (state.greedy or state.token not in ("note", "rest")))


@lru_cache(maxsize=65536)
def _feasible(unit_ticks, bar_ticks, used, factor, tuplet_left, ratio, tuplet_length,
              broken_length, finish) -> tuple[str, ...]:
    state = ReaderState(unit_ticks=unit_ticks, factor=factor, tuplet_left=tuplet_left,
                        tuplet_ratio=ratio)
    fixed = broken_length if broken_length is not None else tuplet_length
    lengths = (fixed,) if fixed is not None else LENGTHS
    room = None if bar_ticks is None else bar_ticks - used
    group = tuplet_left if tuplet_left and tuplet_length is None else 1
    fits = [length for length in lengths
            if room is None or note_ticks(state, length) * group <= room]
    if finish and fixed is None and room is None and used and not tuplet_left:
        return ()  # free meter: one note and then the bar line, near the end
    if finish and fixed is None and fits:
        longest = max(note_ticks(state, length) for length in fits)
        fits = [length for length in fits if note_ticks(state, length) == longest]
    return tuple(fits)


def _start_note(state: ReaderState, char: str) -> ReaderState | None:
    """An accidental, a note letter or `z` begins a note (after `~`, `}`, `>` too)."""
    if not feasible_lengths(state):
        return None
    if char in ACCIDENTALS:
        ok = state.token != "acc" and not state.tie and not state.finishing
        return _with(state, token="acc") if ok else None
    if char == "z":
        ok = state.token in ("", "broken") and not state.tie
        return _with(state, token="rest", letter="z", text="", length="",
                              greedy=state.finishing) if ok else None
    if char not in NOTE_LETTERS or (state.tie and char != state.tie[0]):
        return None
    return _with(state, token="note", letter=char, text="", length="", greedy=state.finishing)


def _extend_note(state: ReaderState, char: str) -> ReaderState | None:
    if state.tie and state.token == "note" and state.text != state.tie[1]:
        want = state.tie[1][len(state.text):len(state.text) + 1]
        return _with(state, text=state.text + char) if char == want else LOST
    mark = OCTAVE_MARK[state.letter.isupper()]
    if char == mark and state.token == "note" and not state.length:
        ok = len(state.text) < MAX_OCTAVE_MARKS and not state.tie and not state.finishing
        return _with(state, text=state.text + char) if ok else LOST
    if char in LENGTH_CHARS:
        length = state.length + char
        ok = length in LENGTH_PREFIXES and any(f.startswith(length)
                                               for f in feasible_lengths(state))
        return _with(state, length=length) if ok else LOST
    if char == "-":
        ended = _end_note(state)
        if ended is None or state.token == "rest" or ended.tuplet_left or state.finishing:
            return LOST
        return _with(ended, tie=(state.letter, state.text), last_note=None)
    return None


def _end_note(state: ReaderState) -> ReaderState | None:
    """Place the note or rest just written: it must have a feasible length."""
    if state.length not in feasible_lengths(state):
        return None
    ticks = note_ticks(state, state.length)
    tuplet_left = max(state.tuplet_left - 1, 0)
    return _with(state,
        token="", text="", letter="", length="", greedy=False, used=state.used + ticks,
        has_note=state.has_note or state.token == "note", factor=(1, 1), broken_length=None,
        tuplet_left=tuplet_left, tuplet_length=state.length if tuplet_left else None,
        tuplet_ratio=state.tuplet_ratio if tuplet_left else (1, 1),
        tie=None, last_note=(state.length, ticks) if not state.tuplet_left
        and state.broken_length is None else None, last_swung=_swung(state, ticks),
        pair_waiting=_pair_opens(state, ticks))


def _grace_step(state: ReaderState, char: str) -> ReaderState | None:
    """Inside `{...}`: plain grace notes (letters, octave marks), then `}` and a main note."""
    if char in NOTE_LETTERS and state.grace_notes < MAX_GRACE_NOTES:
        return _with(state, grace_notes=state.grace_notes + 1, letter=char, text="")
    if state.grace_notes and char == OCTAVE_MARK[state.letter.isupper()] \
            and len(state.text) < MAX_OCTAVE_MARKS:
        return _with(state, text=state.text + char)
    if char == "}" and state.grace_notes:
        return _with(state, token="graced", letter="", text="", grace_notes=0)
    return None


# -- bar lines ---------------------------------------------------------------------------

def _bar_viable(state: ReaderState, text: str) -> bool:
    return any(_end_bar(state, token) is not None for token in BAR_TOKENS
               if token.startswith(text))


def _end_bar(state: ReaderState, token: str) -> ReaderState | None:
    """Close the bar with bar token `token`: its length (validate.check_bars) and the
    repeat structure (validate.check_repeats) must stay valid."""
    if token not in BAR_TOKENS:
        return None
    must_end = _bar_length_ok(state, token) if state.used else False
    repeats = _repeats_after(state, token)
    if must_end is None or repeats is None:
        return None
    form = _form_after(state, token, must_end)
    if form is None:
        return None
    ends = form.pop("ends", False)
    must_end = must_end or ends
    closed = _with(state, token="", text="", used=0, bars=min(state.bars + (state.used > 0), 2),
                   pickup=state.pickup if state.bars else state.used,
                   must_end=must_end, after_bar=True, last_note=None,
                   pair_waiting=False, **repeats, **form)
    if must_end and not can_end(closed):
        return None
    return closed


def _bar_length_ok(state: ReaderState, token: str) -> bool | None:
    """Whether the bar may close with `token` (validate.check_bars): None when not, True
    when only as the tune's last bar. A short bar is the tune's pickup or its last bar,
    adding up with the pickup and closed by `|]` or `:|`. (`check` also takes short bars
    at section ends that add up with a neighbour, and a last bar closed by `|`; abc2midi
    warns about those, so the reader keeps to the cases both accept.)"""
    if state.bar_ticks is None or state.used == state.bar_ticks or state.bars == 0:
        return False
    return True if state.used + state.pickup == state.bar_ticks and token in FINAL_BARS \
        else None


def _repeats_after(state: ReaderState, token: str) -> dict | None:
    """The repeat flags after `token`, or None when it would unbalance them."""
    close, opens = token[0] == ":", token.endswith(":")
    ending = token[-1] if token[-1].isdigit() else ""
    flags = dict(repeat_open=state.repeat_open, closed_before=state.closed_before,
                 ending_open=state.ending_open)
    if state.used == 0 and (token != "|:" or state.ending_bar):
        return None  # (|: on an ending's bar would reopen before check sees the ending)
    if state.finishing and (opens or ending):
        return None
    if close:
        if ending == "2" and not state.ending_open:
            return None
        flags.update(repeat_open=False, closed_before=True, ending_open=False)
    elif token in ("||", "|]"):
        flags["closed_before"] = False
    if opens:
        if flags["repeat_open"] or flags["ending_open"]:
            return None
        flags.update(repeat_open=True)
    if ending == "1":
        if flags["ending_open"] or (flags["closed_before"] and not flags["repeat_open"]):
            return None
        flags["ending_open"] = True
    if state.finishing and (flags["repeat_open"] or flags["ending_open"]):
        return None  # near the end every bar line must close what is open
    played = _played_repeats_after(state, close, opens, ending)
    if played is None:
        return None
    flags.update(played, ending_bar=bool(ending))
    return flags


def _played_repeats_after(state: ReaderState, close: bool, opens: bool,
                          ending: str) -> dict | None:
    """abc2midi's repeat flags after a bar line (store.c fixreps(), see repeats.py), or None
    when it would report an error: `::` with no repeat to close, `|:` while one is open, the
    first ending outside a repeat it knows of."""
    expect = state.played_expect
    if close and opens:
        if expect == "no":
            return None
        expect = "yes"
    elif close:
        expect = "no"
    elif opens:
        if expect == "yes":
            return None
        expect = "yes"
    if ending and not state.played_ending and expect != "yes":
        return None
    return dict(played_expect=expect, played_ending=state.played_ending or bool(ending))


# -- form ----------------------------------------------------------------------------------
# A sampler's rule, not ABC's: folk dance tunes are built of parts of 8 bars (4, 12 or 16 in
# some), mostly two, each repeated (the test split: 65 % of parts are 8 bars, AABB 40 %). A
# model left alone closed parts after 7 or 9 bars and ended a quarter of its tunes after one
# short strain.

PART_BARS_MULTIPLE = 4
WHOLE_TUNE_BARS = 16
"""A single part this long is a whole tune (an air, a march); a shorter one is half of one."""
MAX_PART_BARS = 16
"""A part closes by its 16th bar: left alone, a model lost count and wrote on for 100 bars."""
MAX_PARTS = 4
"""The tune ends after its fourth part (or second long one), and at a `|]`: a model that
went on after `|]` wrote up to seven parts (the test split: 3 % have three or more)."""


def _form_applies(state: ReaderState) -> bool:
    return state.form and state.bar_ticks is not None and not state.finishing


def _form_after(state: ReaderState, token: str, must_end: bool) -> dict | None:
    """The form fields after `token` closes a bar; None when it would close a part whose
    length `_part_length_ok` refuses, or run one past MAX_PART_BARS. A part closes at `:|`,
    `::`, at `|:` after bars of its own, at `||` and `|]` outside a repeat, and played once
    at its 16th bar. A second ending's bar replaces the first ending's (which counted) and
    the part after it starts at its bar line. `ends`: the tune must end here (`|]`, or the
    MAX_PARTS-th part)."""
    if not _form_applies(state):
        return {}
    if state.second_ending:  # its bar replaced the first ending's; the next part begins
        return dict(part_bars=0, second_ending=False)
    if token == "|]" and state.repeat_open:
        return None  # the final bar line, where the tune can't end: a repeat is still open
    whole_bar = state.used == state.bar_ticks or (must_end and state.used > 0)
    bars = state.part_bars + (whole_bar and not state.second_ending)
    closes = token[0] == ":" or (token in ("||", "|]") and not state.repeat_open) \
        or (token == "|:" and bars > 0)
    if not closes and bars == MAX_PART_BARS and not state.repeat_open:
        closes = True  # a part played once ends by its 16th bar whatever the bar line
    if not closes:
        return dict(part_bars=bars) if bars < MAX_PART_BARS else None
    if not _part_length_ok(bars):
        return None
    parts = _parts_with(state.parts, bars)
    return dict(part_bars=0, parts=parts, second_ending=token.endswith("2"),
                ends=token == "|]" or parts == MAX_PARTS)


def _part_length_ok(bars: int) -> bool:
    """A part is a multiple of PART_BARS_MULTIPLE bars."""
    return bars > 0 and bars % PART_BARS_MULTIPLE == 0


def _parts_with(parts: int, bars: int) -> int:
    return min(parts + (2 if bars >= WHOLE_TUNE_BARS else 1), MAX_PARTS)


def forced_by_form(state: ReaderState) -> bool:
    """Whether the form rule, not the writer, ends the tune (or will): it closed its
    MAX_PARTS-th part unit, or went on into another after MAX_PARTS - 1 (its bar line after
    `state` may still be open)."""
    if not state.form:
        return False
    done = (_close_token(state) if state.token == "bar" else None) or state
    return done.parts >= MAX_PARTS or (done.parts == MAX_PARTS - 1 and done.part_bars > 0)


def _whole_form(state: ReaderState) -> bool:
    """Whether a tune may end after `state` (a complete bar) as far as the form goes: two
    parts, or one of WHOLE_TUNE_BARS; a part still open counts when its length is right."""
    if not _form_applies(state):
        return True
    parts = state.parts
    if state.part_bars and not state.second_ending:
        if not _part_length_ok(state.part_bars):
            return False
        parts = _parts_with(parts, state.part_bars)
    return parts >= 2


def mask_key(state: ReaderState) -> ReaderState:
    """A state with the same allowed characters as `state`, shared by more states (so masks
    can be cached by it): a note letter being written matters only by its case (which
    octave mark follows it); the letter itself only shapes the state after a tie."""
    if state.token in ("note", "grace") and state.letter:
        return _with(state, letter="A" if state.letter.isupper() else "a")
    return state


def allowed_chars(state: ReaderState, alphabet) -> set[str]:
    """The characters of `alphabet` that may come next. In the body only BODY_ALPHABET can
    be, and (no tie waiting) the note letters of one case all behave alike, so one letter
    of each case is asked for them all."""
    if state.phase != "body" or state.finishing and can_end(state):
        return {char for char in alphabet if step(state, char) is not None}
    chars = BODY_ALPHABET.intersection(alphabet)
    if state.tie is None:
        chars = (chars - NOTE_LETTERS) | {"A", "a"}
    allowed = _body_allowed(state, chars - {"\n"} if state.line_start else chars)
    if state.line_start and can_end(state):
        allowed.add("\n")
    for letter, letters in (("A", "ABCDEFG"), ("a", "abcdefg")):
        if letter in allowed and state.tie is None:
            allowed.update(letters)
    return allowed & set(alphabet)
