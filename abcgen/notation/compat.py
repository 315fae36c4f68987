"""What abc2midi refuses or plays wrong although the standard allows it (or leaves it open),
and the few things music21's ABC reader raises on.

`check` is the gate before a tune is written, rendered or learned from, and abc2midi is the
reference player the project is measured against, so the rules below report what abc2midi
4.84 (the Debian package) reports as an Error or as a bar-length Warning. Each rule names the
abc2midi source it follows. music21 (9.x) is the other reader users open our tunes with: a
comma in a quoted text and an unreadable second M: or L: make it raise. The issues use the
codes of `validate.CODES`.
"""

import re
from collections.abc import Iterator
from fractions import Fraction
from itertools import chain

from abcgen.notation.errors import AbcError, MeterError, UnitLengthError
from abcgen.notation.fields import (UNSAFE_HEADER_START, default_unit_length, parse_meter,
                                    parse_unit_length, swing_unit)
from abcgen.notation.lexer import Token, token_field, tokenize
from abcgen.notation.model import Issue, Tune, tune_issue
from abcgen.notation.repeats import check_played_repeats
from abcgen.notation.score import (LENGTH_DECORATIONS, TICKS, TUPLET_Q, WrittenBar,
                                   decoration_name, parse_length, to_ticks)

# store.c setup_chordnames(): the chord types abc2midi knows (others need %%MIDI chordname).
ABC2MIDI_CHORD_TYPES = frozenset({
    "", "m", "7", "m7", "m7b5", "maj7", "M7", "6", "m6", "aug", "+", "aug7", "dim", "dim7",
    "9", "m9", "maj9", "M9", "11", "dim9", "sus", "sus4", "sus9", "sus2", "7sus2", "7sus4",
    "7sus9", "5"})
# store.c event_handle_gchord(): root, up to two accidentals, then the type up to a space,
# '(', '/' or ')'; texts starting with a digit 0-5 are fingerings.
_ABC2MIDI_CHORD = re.compile(r"^\(?(?P<root>[A-Ga-g])[#b=]{0,2}(?P<kind>[^ (/)]{0,9})")
# parseabc.c readlen(): a length's denominator must be a power of two.
_DENOMINATOR = re.compile(r"/(\d+)")
# parseabc.c parsefield(): the fields abc2midi takes in the tune body.
ABC2MIDI_BODY_FIELDS = frozenset("EIKLMPQTVdrswW+")
# Letters abc2midi reads as music at a line's start (`g:` is a note and a colon); upper-case
# note letters and Z: it reads as fields ('Field not allowed in tune body' for `G:Key: Am`).
_NOTE_LETTERS = frozenset("Yabcdefgxyz")
# Header fields every line of which abc2midi and music21 read (not only the last one).
HEADER_PARSERS = {"M": ("invalid-meter", parse_meter), "L": ("invalid-length", parse_unit_length)}
# Decorations a swung hornpipe note can't carry in abc2midi (swung-decoration).
SWING_BREAKERS = LENGTH_DECORATIONS | {"roll"}
# Kinds that may stand between a note's decorations and the note (parseabc.c parsenote()).
_NOTE_PREFIXES = frozenset({"deco", "short_deco", "quoted"})


# -- token rules (parseabc.c) ---------------------------------------------------------------

def _octave_spelling(match) -> str | None:
    """parseabc.c parsenote(): 'Bad pitch specifier' for `c,` and `C'`."""
    letter, marks = match["letter"], match["oct"]
    if letter.islower() and "," in marks:
        return f"'{letter}{marks}': abc2midi rejects a comma after a lower-case note " \
               f"(write '{letter.upper()}{marks[1:]}')"
    if letter.isupper() and "'" in marks:
        return f"'{letter}{marks}': abc2midi rejects an apostrophe after an upper-case note " \
               f"(write '{letter.lower()}{marks[1:]}')"
    return None


def _odd_denominator(length: str | None) -> str | None:
    """A length like `4/3` or `/6`: abc2midi stops with 'b is not a power of 2'."""
    for digits in _DENOMINATOR.findall(length or ""):
        value = int(digits)
        if value & (value - 1):
            return f"length '{length}': abc2midi needs a power of two after '/'"
    return None


def _chord_type(text: str) -> str | None:
    """A chord symbol whose type abc2midi doesn't know ('Unrecognized chord name')."""
    match = _ABC2MIDI_CHORD.match(text)
    if match is None or match["kind"] in ABC2MIDI_CHORD_TYPES:
        return None
    return f'"{text}": abc2midi knows no chord type "{match["kind"]}" (an annotation ' \
           f'"^{text}" keeps the text)'


def _token_rules(tune: Tune, tokens: list[Token]) -> Iterator[Issue]:
    """Rules that look at one token and its neighbours."""
    for index, (kind, line, col, match) in enumerate(tokens):
        following = tokens[index + 1][0] if index + 1 < len(tokens) else "eol"
        message, code = None, None
        if kind == "note":
            message, code = _octave_spelling(match), "octave-spelling"
            if message is None:
                message, code = _odd_denominator(match["len"]), "bad-duration"
        elif kind == "rest":
            message, code = _odd_denominator(match["rlen"]), "bad-duration"
        elif kind == "chord_end":
            message, code = _odd_denominator(match["clen"]), "bad-duration"
        elif kind == "short_deco" and following == "quoted":
            message, code = f"'{match.group(0)}' before a chord symbol: abc2midi wants the " \
                            "symbol first (\"G\"~A)", "misplaced-decoration"
        elif kind == "short_deco" and index + 1 < len(tokens) and \
                tokens[index + 1][1:3] != (line, col + len(match.group(0))):
            message, code = f"'{match.group(0)}' with a space after it (abc2midi: 'Malformed " \
                            "note')", "misplaced-decoration"
        elif kind in ("continuation", "linebreak") and following != "eol" \
                and match.group(0) in "\\!":
            message, code = f"'{match.group(0)}' in the middle of a line (abc2midi: only at " \
                            "the end of one)", "bad-character"
        elif kind == "bar" and match["btype"] == "[|]":
            message, code = f"'{match.group(0)}': abc2midi reads '[' as a chord ('Chord already " \
                            "finished')", "invisible-bar"
        elif kind == "quoted" and "," in match["qtext"]:
            message, code = f'"{match["qtext"]}": music21 fails on a comma in a quoted ' \
                            "text", "quoted-comma"
        elif kind == "quoted" and match["qtext"][:1] not in "^_<>@0123456789":
            message, code = _chord_type(match["qtext"]), "bad-chord-symbol"
        if message is not None:
            yield tune_issue(tune, code, message, line, col)


def _group_mark(kind: str, chord: bool, grace: bool, next_kind: str) -> str | None:
    """What abc2midi says about a chord or grace bracket, given what is open and the kind
    of the token after it."""
    if kind == "chord_end" and not chord:
        return "']' closes no chord ('Chord already finished')"
    if kind == "grace_end" and not grace:
        return "'}' closes no grace notes"
    if kind == "grace_start" and grace:
        return "'{' inside grace notes (abc2midi: 'nested { not allowed')"
    if kind == "grace_start" and chord:
        return "'{' inside a chord (abc2midi: 'Grace notes not allowed in chord')"
    if kind == "grace_end" and next_kind == "grace_start":
        return "two grace groups in a row (abc2midi needs a note between them)"
    return None


# What abc2midi looks at after grace notes for the note they lead to.
_GRACE_TARGETS = frozenset({"note", "rest", "chord_start", "grace_start", "bar"})


def _next_target(tokens: list[Token], index: int) -> str:
    """The kind of the first note, rest, chord, grace group or bar line after token `index`
    (`{a}(3{b}a`: the tuplet mark stands between two grace groups, no note)."""
    return next((t[0] for t in tokens[index + 1:] if t[0] in _GRACE_TARGETS), "")


def _stray_marks(tune: Tune, tokens: list[Token]) -> Iterator[Issue]:
    """A `]` or `}` that closes nothing, a `{` inside grace notes or right after them, a roll
    or trill inside a chord ('Rolls and trills not supported in chords'), a decoration inside
    grace notes, `|:1` or `|]1` (abc2midi reads no ending there), and body fields abc2midi
    refuses ('Field not allowed in tune body')."""
    chord, grace = False, False
    for index, (kind, line, col, match) in enumerate(tokens):
        message, code = None, "bad-character"
        if kind in ("chord_start", "chord_end", "grace_start", "grace_end"):
            following = _next_target(tokens, index) if kind == "grace_end" else ""
            message = _group_mark(kind, chord, grace, following)
            chord = kind == "chord_start" or (chord and kind.startswith("grace"))
            grace = kind == "grace_start" or (grace and kind.startswith("chord"))
        elif decoration_name(kind, match) in ("roll", "trill") and (
                chord or tokens[min(index + 1, len(tokens) - 1)][0] == "chord_start"):
            message, code = f"'{match.group(0)}' on or inside a chord (abc2midi plays no roll " \
                            "or trill there)", "misplaced-decoration"
        elif chord and kind in ("deco", "short_deco") and index > 1 \
                and tokens[index - 1][0] == "chord_start" \
                and tokens[index - 2][0] in ("deco", "short_deco"):
            message, code = f"'{match.group(0)}' inside a chord that has a decoration before it " \
                            "(abc2midi: 'Malformed note')", "misplaced-decoration"
        elif grace and kind in ("deco", "short_deco"):
            message, code = f"'{match.group(0)}' inside grace notes (abc2midi: 'nested {{ " \
                            "not allowed')", "misplaced-decoration"
        elif kind == "bar" and match["bnum"] and (match["rcolon"] or match["btype"] != "|"):
            message, code = f"'{match.group(0)}': abc2midi reads an ending number only after " \
                            "| or :|", "ending-outside-repeat"
        elif kind == "field" and match["name"] not in ABC2MIDI_BODY_FIELDS | _NOTE_LETTERS:
            message, code = f"{match['name']}: is not allowed in the tune body (abc2midi)", \
                "field-in-body"
        if message is not None:
            yield tune_issue(tune, code, message, line, col)


def _header_values(tune: Tune) -> Iterator[Issue]:
    """Every M: and L: line of the header readable: abc2midi reads them all ('Expecting
    fraction in form A/B', 'Missing /') and music21 raises, even when a later one is good."""
    for field in tune.header:
        if field.name not in HEADER_PARSERS:
            continue
        code, parser = HEADER_PARSERS[field.name]
        try:
            parser(field.value)
        except AbcError:
            yield tune_issue(tune, code, f"{field.name}:{field.value} can't be read (abc2midi and "
                         f"music21 read every {field.name}: line)", field.line, 1)


def _all_fields(tune: Tune, tokens: list[Token]) -> Iterator[tuple[str, str, int, int]]:
    """(name, value, line, col) of every header field, body field line and inline field."""
    for field in tune.header:
        yield field.name, field.value, field.line, 1
    for token in tokens:
        named = token_field(token)
        if named is not None:
            yield *named, token[1], token[2]


def _unit_fraction(tune: Tune, tokens: list[Token]) -> Iterator[Issue]:
    """parseabc.c parsefield(): abc2midi reads L: only as 1/X ('Missing /', 'Default length
    must be 1/X'): `L:8` or `L:1` stops it, `L:3/8` too, in the header or the body."""
    for name, value, line, col in _all_fields(tune, tokens):
        if name != "L":
            continue
        try:
            if parse_unit_length(value).numerator == 1 and "/" in value:
                continue
        except AbcError:
            continue  # unreadable: _header_values or the scorer reports it
        yield tune_issue(tune, "invalid-length", f"L:{value.strip()}: abc2midi reads a unit "
                     "length only as 1/X", line, col)


# parseabc.c: a key is a tonic, an optional # or b, then a mode read up to the next space.
_KEY_WORD = re.compile(r"[A-G][#b]?[A-Za-z]*")


def _key_word(tune: Tune, tokens: list[Token]) -> Iterator[Issue]:
    """`K:D|`, `K:E1`: abc2midi reads what follows the tonic up to a space as the mode
    ('Unknown mode')."""
    for name, value, line, col in _all_fields(tune, tokens):
        words = value.split("%")[0].split()
        if name == "K" and words and words[0][0] in "ABCDEFG" \
                and not _KEY_WORD.fullmatch(words[0]):
            yield tune_issue(tune, "invalid-key", f"K:{value.strip()}: abc2midi reads "
                             f"'{words[0][1:]}' as a mode", line, col)


def _header_bars(tune: Tune) -> Iterator[Issue]:
    """A header value starting with `|` (`T:|oulley Lasses`): music21 reads the line as music
    and raises ('no active default note length')."""
    for field in tune.header:
        if field.name != "%" and field.value.lstrip().startswith(UNSAFE_HEADER_START):
            yield tune_issue(tune, "header-bar", f"{field.name}:{field.value.strip()} starts "
                         "with '|' (music21 reads the line as music)", field.line, 1)


def _key_spelling(tune: Tune) -> Iterator[Issue]:
    """`K:gm`: abc2midi wants the key's letter in upper case ('First K: field must specify
    key signature'); `K:Dm\\` it reads as mode `m\\` ('Unknown mode')."""
    key = next((f for f in tune.header if f.name == "K"), None)
    if key is not None and key.value.strip()[:1] in tuple("abcdefg"):
        yield tune_issue(tune, "invalid-key", f"K:{key.value}: abc2midi reads a key only from an "
                     "upper-case letter", key.line, 1)
    elif key is not None and "\\" in key.value:
        yield tune_issue(tune, "invalid-key", f"K:{key.value}: abc2midi reads the backslash as "
                     "part of the mode", key.line, 1)


# Tokens a tie looks past for the note it ties to.
_TIE_PASSES = frozenset({"bar", "deco", "short_deco", "quoted", "slur_start", "slur_end", "eol",
                         "continuation", "ending", "linebreak"})


def _dangling_ties(tune: Tune, tokens: list[Token]) -> Iterator[Issue]:
    """A tie followed by a rest, by grace notes or by nothing: abc2midi finds no note to tie
    ('Could not find note to be tied'). The issue points at the tie mark, as bad-tie's do."""
    for index, (kind, line, _, match) in enumerate(tokens):
        if kind != "note" or not match["tie"]:
            continue
        following = next((t[0] for t in tokens[index + 1:] if t[0] not in _TIE_PASSES), None)
        if following in (None, "rest", "grace_start"):
            yield tune_issue(tune, "bad-tie", f"'{match.group(0)}' ties to no note (abc2midi: "
                         "'Could not find note to be tied')", line, match.start("tie") + 1)


def _written_pitch(match) -> str:
    return match["letter"] + match["oct"]


def _tie_target(tokens: list[Token], index: int) -> set[str]:
    """The written pitches (letter and octave marks) of the note or chord after token `index`."""
    following = next((i for i in range(index + 1, len(tokens))
                      if tokens[i][0] not in _TIE_PASSES), None)
    if following is None or tokens[following][0] not in ("note", "chord_start"):
        return set()
    if tokens[following][0] == "note":
        return {_written_pitch(tokens[following][3])}
    pitches = set()
    for kind, _, _, match in tokens[following + 1:]:
        if kind == "chord_end":
            break
        if kind == "note":
            pitches.add(_written_pitch(match))
    return pitches


def _chord_ties(tune: Tune, tokens: list[Token]) -> Iterator[Issue]:
    """`[GB]-[Gd]`, `[GB]-G`, `[B-d] z`: abc2midi ties each tied note of a chord (every note
    after `]-`) to the same note in the next chord or note and stops where there is none
    ('Could not find note to be tied'). The issue points at the tie mark."""
    chord: list[Token] | None = None
    for index, token in enumerate(tokens):
        kind, line, _, match = token
        if kind == "chord_start":
            chord = []
        elif kind == "note" and chord is not None:
            chord.append(token)
        elif kind == "chord_end" and chord is not None:
            target = _tie_target(tokens, index)
            tied = chord if match["ctie"] else [t for t in chord if t[3]["tie"]]
            lost = [t for t in tied if _written_pitch(t[3]) not in target]
            marks = [(line, match, "ctie")] if match["ctie"] and lost else \
                [(t[1], t[3], "tie") for t in lost]
            for mark_line, mark, group in marks:
                yield tune_issue(tune, "bad-tie", f"'{mark.group(0)}' ties a note the next chord "
                                 "or note lacks (abc2midi: 'Could not find note to be tied')",
                                 mark_line, mark.start(group) + 1)
            chord = None


def _nested_tuplets(tune: Tune, tokens: list[Token]) -> Iterator[Issue]:
    """A tuplet opened before the last one has all its notes ('nested tuples'), one whose
    notes go on past a bar line (abc2midi then finds both bars the wrong length), and broken
    rhythm between a tuplet's note and one outside it (`(3fff>d`: 'Cannot apply broken
    rhythm', the two are played at different lengths)."""
    left, in_chord, in_grace, opened, broken, in_tuplet = 0, False, False, None, None, False
    for kind, line, col, match in tokens:
        if kind in ("chord_start", "chord_end", "grace_start", "grace_end"):
            in_chord = kind == "chord_start" or (in_chord and kind.startswith("grace"))
            in_grace = kind == "grace_start"
        if kind in ("bar", "ending") and left:
            yield tune_issue(tune, "bad-tuplet", f"'{opened[2]}' still lacks {left} note(s) at "
                         "the bar line (abc2midi counts them into the next bar)", *opened[:2])
            left = 0
        if kind == "tuplet":
            if left:
                yield tune_issue(tune, "bad-tuplet", f"'{match.group(0)}' opens a tuplet inside "
                             "another (abc2midi: 'nested tuples')", line, col)
            left, opened = int(match["tr"] or match["tp"]), (line, col, match.group(0))
        elif kind == "broken":
            broken = (line, col, match.group(0), in_tuplet)  # was the note before in one?
        elif ((kind in ("note", "rest") and not in_chord) or kind == "chord_end") \
                and not in_grace:
            in_tuplet, left = left > 0, max(0, left - 1)
            if broken is not None and broken[3] != in_tuplet:
                yield tune_issue(tune, "unequal-broken-rhythm", f"'{broken[2]}' between a "
                                 "tuplet's note and a note outside it (abc2midi can't apply "
                                 "it)", *broken[:2])
            broken = None


def _chained_broken_rhythm(tune: Tune, tokens: list[Token]) -> Iterator[Issue]:
    """`A>B>C`: abc2midi has already shortened B when it reaches the second `>` and stops
    ('Cannot apply broken rhythm. Notes not equal durations', store.c brokenadjust()); `A>~B`:
    it cuts the rolled note into pieces first, and the bar comes out the wrong length."""
    broken, second, in_grace, in_chord, rolled = None, False, False, False, False
    for token in tokens:
        kind, line, col, match = token
        if kind == "grace_start" or kind == "grace_end":
            in_grace = kind == "grace_start"
        elif kind == "chord_start":
            in_chord = True
        elif in_grace:
            continue
        elif kind == "broken":
            if second:
                yield tune_issue(tune, "unequal-broken-rhythm", f"'{match.group(0)}' after a note "
                             "that broken rhythm already changed (abc2midi can't chain them)",
                             line, col)
            broken, second = token, False
        elif kind == "short_deco":
            rolled = rolled or match.group(0) == "~"
        elif (kind in ("note", "rest") and not in_chord) or kind == "chord_end":
            if broken is not None and rolled:
                yield tune_issue(tune, "unequal-broken-rhythm", "broken rhythm into a rolled note "
                             "(abc2midi plays the bar the wrong length)", broken[1], broken[2])
            in_chord, rolled = False, False
            broken, second = None, broken is not None


# -- written-bar rules (store.c) ------------------------------------------------------------

def _swing_ticks(tune: Tune) -> int | None:
    """The note length in ticks abc2midi swings in pairs (fields.swing_unit), else None."""
    try:
        meter = parse_meter(tune.get("M") or "")
    except MeterError:
        return None
    unit = swing_unit(meter, _unit_length(tune), tune.get("R"))
    return None if unit is None else to_ticks(unit)


def _unit_length(tune: Tune) -> Fraction:
    """The tune's L: (or the meter's default), in whole notes."""
    try:
        return parse_unit_length(tune.get("L") or "")
    except UnitLengthError:
        try:
            return default_unit_length(parse_meter(tune.get("M") or ""))
        except MeterError:
            return Fraction(1, 8)


class _SwingWalk:
    """store.c hornp() over the tokens: written lengths (before broken rhythm) from the bar
    line, the last plain note's length and its length marks, and whether that note's length
    was already changed by broken rhythm (as the second of a `>` pair or of a swung pair)."""

    def __init__(self, unit: int, length_unit: Fraction):
        self.unit, self.length_unit = unit, length_unit
        self.position, self.last_length, self.changed = 0, None, None
        self.previous = None  # (token, length marks) of the last plain note
        self.explicit = None  # the `>` token waiting for its second note
        self.in_group, self.tuplet_left, self.chord_note = False, 0, None
        self.tuplet_ratio = (1, 1)  # (q, p): a tuplet's notes take q/p of their length

    def tuplet(self, match) -> None:
        """`(p:q:r`: the next r notes (default p) played in the time of q (hornpipes are in
        simple meter, so q defaults as there)."""
        p = int(match["tp"])
        self.tuplet_ratio = (int(match["tq"] or TUPLET_Q.get(p, 2)), p)
        self.tuplet_left = int(match["tr"] or p)

    def length(self, text: str) -> int:
        return round(parse_length(text) * self.length_unit * TICKS)

    def group(self, kind: str, match) -> None:
        """Chords and grace groups: abc2midi swings nothing next to them; a chord takes its
        first note's length (times the length after `]`)."""
        if kind == "chord_end" and self.chord_note is not None:
            self.position += round(self.chord_note * parse_length(match["clen"]))
        self.in_group, self.chord_note = kind.endswith("start"), None
        self.last_length = self.changed = self.previous = None

    def rest(self, match) -> None:
        """A rest takes part in broken rhythm (it ends a `>` pair), not in the swing."""
        self.position += self.length(match["rlen"])
        self.changed = self.explicit = self.previous = None

    def note(self, token: Token, marks: frozenset[str]) -> tuple[Token | None, tuple | None]:
        """A plain note and its length marks: (the `>` to blame when abc2midi swings it with
        a note a `>` already changed, the (token, marks) it is swung with, if it is)."""
        length = self.length(token[3]["len"])
        in_tuplet, self.tuplet_left = self.tuplet_left > 0, max(0, self.tuplet_left - 1)
        if in_tuplet:
            length = length * self.tuplet_ratio[0] // self.tuplet_ratio[1]
        swung = not in_tuplet and self.explicit is None and self.last_length == length \
            == self.unit and self.position % (2 * self.unit) == self.unit
        blamed = self.changed if swung and isinstance(self.changed, tuple) else None
        partner = (self.previous or (None, frozenset())) if swung else None
        self.changed = self.explicit or (swung or None)
        self.last_length, self.previous = (None, None) if in_tuplet else (length, (token, marks))
        self.position += length
        self.explicit = None
        return blamed, partner


def _length_marks(tokens: list[Token], note: int) -> frozenset[str]:
    """The decorations before token `note` that abc2midi plays by changing its length."""
    return frozenset(decoration_name(tokens[i][0], tokens[i][3])
                     for i in note_prefix_tokens(tokens, note)) & LENGTH_DECORATIONS


def _played_factor(marks: frozenset[str]) -> float:
    """store.c event_note(): a fermata doubles a note, staccato halves it."""
    return (2.0 if "fermata" in marks else 1.0) * (0.5 if "staccato" in marks else 1.0)


def _hornpipe_swing(tune: Tune, tokens: list[Token]) -> Iterator[Issue]:
    """In a hornpipe abc2midi swings pairs of plain notes itself ('Cannot apply broken rhythm'
    when it can't): a `>` next to a swung pair changes a note twice (the `>` is reported),
    and staccato or fermata on one note of a pair makes the two unequal."""
    unit = _swing_ticks(tune)
    if unit is None:
        return
    walk = _SwingWalk(unit, _unit_length(tune))
    for index, token in enumerate(tokens):
        kind, line, col, match = token
        if kind in ("chord_start", "grace_start", "chord_end", "grace_end"):
            walk.group(kind, match)
        elif kind == "bar":
            walk.position = 0
        elif kind == "tuplet":
            walk.tuplet(match)
        elif walk.in_group:
            if kind == "note" and walk.chord_note is None:
                walk.chord_note = walk.length(match["len"])
        elif kind == "rest":
            walk.rest(match)
        elif kind == "broken":
            if walk.changed is True:  # after a `>` pair it is _chained_broken_rhythm's case
                yield _broken_chain(tune, line, col, match.group(0))
            walk.explicit = token
        elif kind == "note":
            marks = _length_marks(tokens, index)
            blamed, partner = walk.note(token, marks)
            if blamed is not None:
                yield _broken_chain(tune, blamed[1], blamed[2], blamed[3].group(0))
            if partner is not None:
                yield from _swung_marks(tune, [partner, (token, marks)])
                yield from _swung_roll(tune, tokens, index)


def _broken_chain(tune: Tune, line: int, col: int, text: str) -> Issue:
    return tune_issue(tune, "unequal-broken-rhythm", f"'{text}' next to a pair of notes abc2midi "
                      "swings in a hornpipe (it can't change a note's length twice)", line, col)


def _swung_marks(tune: Tune, pair: list[tuple]) -> Iterator[Issue]:
    """Staccato or fermata making a swung pair's notes unequal, reported at each marked note."""
    if _played_factor(pair[0][1]) == _played_factor(pair[1][1]):
        return
    for token, marks in pair:
        if marks:
            yield tune_issue(tune, "swung-decoration", f"{'/'.join(sorted(marks))} on a note "
                             "that abc2midi swings with its neighbour in a hornpipe (it stops: "
                             "'Cannot apply broken rhythm')", token[1], token[2])


def _late_voice(tune: Tune, tokens: list[Token]) -> Iterator[Issue]:
    """A tune whose only voice is first named after its music began (`[V:1]` mid-tune, no V:
    in the header): abc2midi 'will combine this body with this voice' and replays the
    repeats before it again ('found another |: after a |:'). Dropping it changes nothing."""
    if tune.get("V") is not None:
        return
    voices, late, sounded = set(), [], False
    for kind, line, col, match in tokens:
        sounded = sounded or kind in ("note", "rest")
        named = token_field((kind, line, col, match))
        if named is not None and named[0] == "V":
            voices.add((named[1].split() or [""])[0])
            if sounded:
                late.append((line, col))
    if len(voices) == 1:
        for line, col in late:
            yield tune_issue(tune, "late-voice", "V: after the music began, in a tune of one "
                             "voice (abc2midi joins the voices and replays earlier repeats)",
                             line, col)


def _swung_roll(tune: Tune, tokens: list[Token], note: int) -> Iterator[Issue]:
    """A roll on the second note of a swung pair: abc2midi plays the roll's notes from the
    written length and the bar comes out short (`A~B`: 34/9 quarters where 4 are due)."""
    if any(decoration_name(tokens[i][0], tokens[i][3]) == "roll"
           for i in note_prefix_tokens(tokens, note)):
        yield tune_issue(tune, "swung-decoration", "a roll on a note abc2midi swings after its "
                         "neighbour in a hornpipe (it mistimes the bar)", *tokens[note][1:3])


def _fermatas(tune: Tune, bars: list[WrittenBar]) -> Iterator[Issue]:
    """abc2midi plays a fermata note twice as long and then finds its bar too long (genmidi.c
    checkbar()); only the first bar escapes, as a possible pickup. A warning: a held note is
    music (repair mends it in model samples, where a fermata mid-tune is noise)."""
    for bar in bars[1:]:
        for note in bar.notes:
            if "fermata" in note.decorations and not note.grace:
                yield tune_issue(tune, "fermata", "a fermata: abc2midi holds the note twice as "
                             "long and reports its bar as too long", note.line, note.col,
                             severity="warning")


def _rest_fermatas(tune: Tune, tokens: list[Token]) -> Iterator[Issue]:
    """A fermata on a rest after the first bar: abc2midi doubles the rest as it does a note."""
    past_first_bar = False
    for index, (kind, line, col, _) in enumerate(tokens):
        past_first_bar = past_first_bar or kind == "bar"
        if kind == "rest" and past_first_bar and any(
                decoration_name(tokens[i][0], tokens[i][3]) == "fermata"
                for i in note_prefix_tokens(tokens, index)):
            yield tune_issue(tune, "fermata", "a fermata on a rest: abc2midi holds it twice as "
                             "long and reports its bar as too long", line, col,
                             severity="warning")


def check_compat(tune: Tune, bars: list[WrittenBar]) -> list[Issue]:
    """Every abc2midi incompatibility in `tune` (see the module docstring)."""
    tokens = list(tokenize(tune.body))
    found = chain(
        _token_rules(tune, tokens), _chained_broken_rhythm(tune, tokens),
        _stray_marks(tune, tokens), _key_spelling(tune), _header_values(tune),
        _unit_fraction(tune, tokens), _key_word(tune, tokens), _header_bars(tune),
        _late_voice(tune, tokens),
        _dangling_ties(tune, tokens), _chord_ties(tune, tokens), _nested_tuplets(tune, tokens),
        _hornpipe_swing(tune, tokens), _fermatas(tune, bars), _rest_fermatas(tune, tokens),
        check_played_repeats(tune, tokens, bars))
    return list({(i.code, i.line, i.col): i for i in found}.values())


def note_prefix_tokens(tokens: list[Token], note: int) -> range:
    """Indexes of the decorations and chord symbols written right before token `note`."""
    start = note
    while start > 0 and tokens[start - 1][0] in _NOTE_PREFIXES:
        start -= 1
    return range(start, note)
