"""Transposition: a tune or a whole tunebook moved by a number of semitones, written as a
musician would write it in the new key.

http://abcnotation.com/wiki/abc:standard:v2.1#kkey and #accidentals. The rules:

- The new key is the tonic moved by N semitones, spelled with the fewest sharps or flats for
  the tune's mode (a tie, 6 against 6, keeps the side of the old key); K: keeps its mode word
  and every other word (`clef=`, `transpose=` ...).
- Every note moves by the same number of letter steps as the tonic, so the bar's accidentals
  still belong to the same notes; an explicit accidental is written again for the new pitch
  (it may become `=`, `^^` or `__`), a note without one keeps none (checked: where the new
  key, bar or tie would not give the right pitch, the accidental is written).
- A note that would leave WRITTEN_RANGE is written an octave (or more) back inside it.
- Chord symbols (`"Am"`, `"D7"`, `"G/B"`) move by the same letter steps, respelled with at most
  one sharp or flat; annotations (`"^text"`) and quoted text that is no chord name stay.
- Grace notes, chords, decorations, ties, tuplets, lengths and everything else stay as written.
- A K: with explicit accidentals (`K:D exp ^f`, `K:G ^c`) moves its accidentals too; `K:none`,
  percussion and the highland pipes' `K:HP`/`K:Hp` are refused (UntransposableKeyError).

Written pitches are MIDI numbers of the notes as written (`C` = 60), before any K: octave= or
transpose= and whatever clef.
"""

import re
from dataclasses import dataclass, field

from abcgen.notation.chords import parse_chord_symbol, pitch_class
from abcgen.notation.errors import AbcError, MissingKeyError
from abcgen.notation.fields import (ACCIDENTAL_SEMITONES, MAJOR_KEY_SHARPS, MODE_OFFSETS,
                                    PIPE_KEYS, parse_key)
from abcgen.notation.lexer import Token, strip_comment, token_field, tokenize
from abcgen.notation.model import Key, Tune
from abcgen.notation.parse import read_tunes, tune_from_lines

from abcgen.notation.writer import dumps

LETTERS = "CDEFGAB"
NATURAL_SEMITONES = (0, 2, 4, 5, 7, 9, 11)  # each letter above C
MIDDLE_C = 60
# The written range, MIDI pitches of the notes as written: C, (48) to c'' (96), five or six
# ledger lines below and above the treble staff. music21's folk books (4,400 tunes, 550,000
# notes) write G, (55) to a' (93), all but 0.02 % of them within A, to e' (57-88): a tune
# moved by up to a fifth either way stays inside. A note the transposition takes out of it
# is written an octave (or more) back inside; a note already outside moves with the rest.

WRITTEN_RANGE = (48, 96)
# http://abcnotation.com/wiki/abc:standard:v2.1#accidentals
ACCIDENTAL_TEXT = {v: k for k, v in ACCIDENTAL_SEMITONES.items()}
MAX_ALTERATION = 2
# Chord symbols' accidentals (http://abcnotation.com/wiki/abc:standard:v2.1#chord_symbols).
CHORD_ACCIDENTAL_TEXT = {-1: "b", 0: "", 1: "#"}
# A note name inside a chord symbol: its root, a slash bass, an alternative in parentheses.
_CHORD_NOTE = re.compile(r"(?:^|(?<=[/(]))(?P<letter>[A-Ga-g])(?P<acc>[#b]?)")
# Modes grouped by their third: a target key's mode must be of the tune's group.
MODE_FAMILIES = {"maj": "major", "ion": "major", "mix": "major", "lyd": "major",
                 "min": "minor", "aeo": "minor", "dor": "minor", "phr": "minor", "loc": "minor"}
SEMITONES_LIMIT = 48  # four octaves: anything more is a typo


class TransposeError(AbcError):
    """A tune that can't be transposed as asked."""


class UntransposableKeyError(TransposeError):
    """K:none, a percussion clef or the highland pipes' K:HP: no key to move."""


class TargetKeyError(TransposeError):
    """What to transpose to is no key with a tonic (`--to X`), or no whole number of
    semitones in range."""

    exit_code = 2


class ModeMismatchError(TransposeError):
    """The target key names a mode of another family than the tune's (`--to Am` for a tune
    in G major)."""


# -- pitches as diatonic steps ---------------------------------------------------------------

def natural_pitch(step: int) -> int:
    """MIDI pitch of the natural note `step` letter steps above middle C (0 = `C`, 7 = `c`)."""
    octave, letter = divmod(step, 7)
    return MIDDLE_C + 12 * octave + NATURAL_SEMITONES[letter]


def note_step(letter: str, marks: str) -> int:
    """Letter steps above middle C of a written note: `C` 0, `c` 7, `c'` 14, `C,` -7."""
    step = LETTERS.index(letter.upper()) + (7 if letter.islower() else 0)
    return step + 7 * (marks.count("'") - marks.count(","))


def note_text(step: int, alteration: int | None) -> str:
    """The ABC of a note `step` letter steps above middle C with an explicit accidental
    (`alteration` semitones; None writes none): (3, 1) -> '^F', (8, None) -> 'd', (-6, -1)
    -> '_D,'."""
    octave, letter = divmod(step, 7)
    name = LETTERS[letter] if octave <= 0 else LETTERS[letter].lower()
    marks = "," * -octave if octave <= 0 else "'" * (octave - 1)
    return ("" if alteration is None else ACCIDENTAL_TEXT[alteration]) + name + marks


def _in_range(pitch: int) -> bool:
    return WRITTEN_RANGE[0] <= pitch <= WRITTEN_RANGE[1]


# -- keys --------------------------------------------------------------------------------

@dataclass(frozen=True)
class KeyMove:
    """How one K: moves: the new tonic ('Bb'), the letter steps every note moves by (signed,
    e.g. +1 for G -> A, -4 for G -> C), and the old and new key signatures
    (letter -> semitones)."""

    tonic: str
    steps: int
    old_signature: dict[str, int]
    new_signature: dict[str, int]


def _tonic_step(tonic: str) -> int:
    return LETTERS.index(tonic[0].upper())


def _tonic_alteration(tonic: str) -> int:
    return {"#": 1, "b": -1}.get(tonic[1:2], 0)


def _key_sharps(tonic: str, mode: str) -> int | None:
    sharps = MAJOR_KEY_SHARPS.get(tonic)
    return None if sharps is None else sharps + MODE_OFFSETS[mode]


def spell_tonic(key: Key, semitones: int) -> str:
    """The tonic `semitones` above `key`'s, spelled with the fewest sharps or flats for its
    mode: ('G', maj) +2 -> 'A', ('D', maj) -4 -> 'Bb', ('E', min) +2 -> 'F#'. A tie (six
    sharps or six flats) keeps the side of the old key (flats for a key with flats)."""
    target = (pitch_class(key.tonic) + semitones) % 12
    old = _key_sharps(key.tonic, key.mode) or 0
    best = None
    for tonic in MAJOR_KEY_SHARPS:
        sharps = _key_sharps(tonic, key.mode)
        if pitch_class(tonic) != target or sharps is None or abs(sharps) > 7:
            continue
        rank = (abs(sharps), (sharps < 0) != (old < 0))
        if best is None or rank < best[0]:
            best = (rank, tonic)
    return best[1]


def key_move(key: Key, semitones: int) -> KeyMove:
    """How a key (and the notes under it) moves by `semitones`. Raises
    UntransposableKeyError for a key with no tonic (K:none, percussion) or a pipe key."""
    first = key.text.split()[0] if key.text.split() else ""
    if not key.tonic or first in PIPE_KEYS:
        raise UntransposableKeyError(f"K:{key.text} has no tonic to transpose")
    if any(word in ("clef=perc", "perc") for word in key.text.lower().split()):
        raise UntransposableKeyError(f"K:{key.text} is percussion: there is nothing to transpose")
    tonic = spell_tonic(key, semitones)
    old_step, new_step = _tonic_step(key.tonic), _tonic_step(tonic)
    interval = semitones + _tonic_alteration(key.tonic) - _tonic_alteration(tonic)
    steps = (new_step - old_step) % 7
    # the tonic's natural letter moves `interval` semitones: choose the octave of the steps
    steps += 7 * round((interval - (natural_pitch(old_step + steps) - natural_pitch(old_step)))
                       / 12)
    old_signature = key.signature
    new_signature = {}
    for index, letter in enumerate(LETTERS):
        moved = index + steps
        alteration = (old_signature.get(letter, 0) + semitones
                      - (natural_pitch(moved) - natural_pitch(index)))
        if abs(alteration) > MAX_ALTERATION:
            raise TransposeError(f"K:{key.text} moved by {semitones} would need a triple "
                                 "sharp or flat in its signature")
        if alteration:
            new_signature[LETTERS[moved % 7]] = alteration
    return KeyMove(tonic, steps, old_signature, new_signature)


def _standard_signature(tonic: str, mode: str) -> dict[str, int]:
    return parse_key(tonic + ("m" if mode == "min" else mode if mode != "maj" else "")).signature


def _split_comment(value: str) -> tuple[str, str]:
    """(value, comment with its `%`) of a field value as written."""
    kept = strip_comment(value)
    return kept, value[len(kept):]


def key_text(value: str, semitones: int) -> tuple[str, KeyMove | None]:
    """A K: value as written (spaces and a `%` comment kept) moved by `semitones`, and its
    KeyMove; a K: that only sets a clef (`K:clef=bass`) comes back unchanged with None.
    Raises KeyError_ for a K: that is no key, UntransposableKeyError for K:none."""
    body, comment = _split_comment(value)
    key = parse_key(body)
    words = body.split()
    clef_only = words and words[0].lower() != "none" and \
        not any(word.lower() in ("perc", "clef=perc") for word in words)
    if not key.tonic and clef_only and words[0] not in PIPE_KEYS:
        return value, None  # `K:clef=bass` in the body: the key stays
    move = key_move(key, semitones)
    lead = body[:len(body) - len(body.lstrip())]
    first = words[0]
    tonic_length = 2 if len(first) > 1 and first[1] in "#b" else 1
    out = [move.tonic + first[tonic_length:]]
    explicit = _explicit_accidentals(key, move)
    placed = False
    for word in words[1:]:
        if re.fullmatch(r"(\^\^|\^|__|_|=)[A-Ga-g]", word):  # the standard's K: accidentals
            if not placed:
                out += explicit
                placed = True
            continue
        out.append(word)
    if not placed and explicit:
        out += explicit
    trail = body[len(body.rstrip()):]
    return lead + " ".join(out) + trail + comment, move


def _explicit_accidentals(key: Key, move: KeyMove) -> list[str]:
    """The accidentals the new K: must list: every one for `exp`, else those that differ from
    the new key's own signature."""
    is_exp = "exp" in key.text.lower().split()
    standard = {} if is_exp else _standard_signature(move.tonic, key.mode)
    words = []
    for letter in LETTERS:
        wanted = move.new_signature.get(letter, 0)
        if wanted != standard.get(letter, 0):
            words.append(ACCIDENTAL_TEXT[wanted] + letter.lower())
    return words


def _tune_key(tune: Tune) -> Key:
    value = tune.get("K")
    if value is None:
        raise MissingKeyError("no K: field, so the tune has no key", x=tune.x,
                              line=tune.start_line, col=1, source=tune.source)
    return parse_key(value)


def semitones_to_key(tune: Tune, key: str) -> int:
    """The shift in semitones that takes the tune's K: tonic to `key`'s: 'D', 'Bb', 'F#m',
    'Ador'. The nearest way, -5..+6 (a tritone goes up).

    A key without a mode word gives the tonic alone (`D` for a tune in E dorian means D
    dorian); a mode word must be of the tune's family, major-like (maj, ion, mix, lyd) or
    minor-like (min, aeo, dor, phr, loc), so `Am` takes a tune in E dorian to A dorian, and
    for a tune in G major raises ModeMismatchError. Raises KeyError_ for a `key` that is no
    key, UntransposableKeyError for a tune in K:none."""
    own = _tune_key(tune)
    if not own.tonic:
        raise UntransposableKeyError(f"K:{own.text} has no tonic to transpose", x=tune.x,
                                     source=tune.source)
    target = _target_key(key)
    mode_given = bool(key.strip()[len(target.tonic):].strip())
    if mode_given and MODE_FAMILIES[target.mode] != MODE_FAMILIES[own.mode]:
        raise ModeMismatchError(f"the tune is in {own.name} ({MODE_FAMILIES[own.mode]}), "
                                f"{key} is {MODE_FAMILIES[target.mode]}: give the tonic alone "
                                f"or a {MODE_FAMILIES[own.mode]} key", x=tune.x,
                                source=tune.source)
    shift = (pitch_class(target.tonic) - pitch_class(own.tonic)) % 12
    return shift - 12 if shift > 6 else shift


def _target_key(key: str) -> Key:
    try:
        target = parse_key(key.strip())
    except AbcError as exc:
        raise TargetKeyError(f"{key!r} is not a key: {exc.message}") from None
    if not target.tonic or key.strip().split()[0] in PIPE_KEYS:
        raise TargetKeyError(f"{key!r} names no tonic to transpose to (e.g. D, Bb, F#m, Ador)")
    return target


# -- chord symbols ---------------------------------------------------------------------------

def chord_symbol_text(text: str, semitones: int, steps: int) -> str:
    """A chord symbol moved by `semitones`, each note name by `steps` letter steps and
    respelled if it would need two sharps or flats: ('G/B', 2, 1) -> 'A/C#'. Text that is no
    chord name (`"D.C."`, `"^fine"`, `"Animated"`) comes back as it is; an alternative chord
    in parentheses (`"(E7)"`) moves too."""
    if parse_chord_symbol(text) is None and parse_chord_symbol(text.strip("()")) is None:
        return text

    def move(match: re.Match) -> str:
        name = match["letter"]
        index = LETTERS.index(name.upper())
        pitch = NATURAL_SEMITONES[index] + {"#": 1, "b": -1}.get(match["acc"], 0) + semitones
        moved = index + steps
        alteration = (pitch - NATURAL_SEMITONES[moved % 7]) % 12
        alteration = alteration - 12 if alteration > 6 else alteration
        if abs(alteration) > 1:  # e.g. F## -> G: a chord symbol carries no bar accidentals
            moved += 1 if alteration > 0 else -1
            alteration = (pitch - NATURAL_SEMITONES[moved % 7]) % 12
            alteration = alteration - 12 if alteration > 6 else alteration
        letter = LETTERS[moved % 7]
        return (letter if name.isupper() else letter.lower()) + CHORD_ACCIDENTAL_TEXT[alteration]

    return _CHORD_NOTE.sub(move, text)


# -- the body --------------------------------------------------------------------------------

@dataclass
class _Reading:
    """What a note with no accidental means where it stands, read two ways: abc2midi's (a
    bar's accidental holds for its letter in every octave, ABC 2.1 §11.3
    propagate-accidentals pitch) and the standard's (in its octave only). A tied note keeps
    its tie's accidental. Alterations in semitones."""

    signature: dict[str, int] = field(default_factory=dict)
    by_letter: dict[str, int] = field(default_factory=dict)
    by_octave: dict[tuple[str, int], int] = field(default_factory=dict)
    ties_open: dict[tuple[str, int], int] = field(default_factory=dict)
    ties_new: dict[tuple[str, int], int] = field(default_factory=dict)
    chord_notes: dict[tuple[str, int], int] = field(default_factory=dict)

    def implied(self, letter: str, octave: int) -> tuple[int, int]:
        """(abc2midi's, the standard's) alteration of an unmarked note."""
        tied = self.ties_open.get((letter, octave))
        if tied is not None:
            return tied, tied
        default = self.signature.get(letter, 0)
        return self.by_letter.get(letter, default), self.by_octave.get((letter, octave), default)

    def note(self, letter: str, octave: int, written: int | None, tie: bool,
             in_chord: bool) -> tuple[int, int]:
        """Read one note (`written` its explicit accidental, None for none) and remember what
        it leaves for the bar and its ties; returns its two readings."""
        reading = self.implied(letter, octave) if written is None else (written, written)
        if written is not None:
            self.by_letter[letter] = self.by_octave[(letter, octave)] = written
        if tie:
            self.ties_new[(letter, octave)] = reading[0]
        elif in_chord:
            self.chord_notes[(letter, octave)] = reading[0]
        return reading

    def group_end(self, tie_all: bool = False) -> None:
        if tie_all:
            self.ties_new.update(self.chord_notes)
        self.ties_open, self.ties_new, self.chord_notes = self.ties_new, {}, {}

    def bar(self) -> None:
        self.by_letter.clear()
        self.by_octave.clear()

    def key(self, signature: dict[str, int]) -> None:
        self.signature = dict(signature)
        self.bar()


class _Walk:
    """One pass over a tune's body tokens, collecting the edits that transpose it."""

    def __init__(self, semitones: int, move: KeyMove):
        self.semitones, self.move = semitones, move
        self.old, self.new = _Reading(), _Reading()
        self.old.key(move.old_signature)
        self.new.key(move.new_signature)
        self.edits: list[tuple[int, int, int, str]] = []  # (file line, start, end, text)
        self.in_chord = self.in_grace = False

    def token(self, token: Token) -> None:
        kind, line, _, match = token
        if kind == "note":
            self.note(line, match)
        elif kind == "bar":
            self.old.bar()
            self.new.bar()
        elif kind == "chord_start":
            self.in_chord = True
        elif kind == "chord_end":
            self.in_chord = False
            tie_all = bool(match["ctie"])
            self.old.group_end(tie_all)
            self.new.group_end(tie_all)
        elif kind == "grace_start":
            self.in_grace = True
        elif kind == "grace_end":
            self.in_grace = False
        elif kind == "quoted":
            text = chord_symbol_text(match["qtext"], self.semitones, self.move.steps)
            if text != match["qtext"]:
                self.edits.append((line, match.start("qtext"), match.end("qtext"), text))
        elif kind in ("field", "inline"):
            self.field(token)

    def field(self, token: Token) -> None:
        name, value = token_field(token)
        if name != "K":
            return
        kind, line, _, match = token
        group = "value" if kind == "field" else "ivalue"
        text, move = key_text(value, self.semitones)
        if move is None:
            return
        self.move = move
        self.old.key(move.old_signature)
        self.new.key(move.new_signature)
        if text != value:
            self.edits.append((line, match.start(group), match.end(group), text))

    def note(self, line: int, match: re.Match) -> None:
        acc, letter, marks, tie = match["acc"], match["letter"], match["oct"], match["tie"]
        step = note_step(letter, marks)
        written = ACCIDENTAL_SEMITONES[acc] if acc else None
        grouped = self.in_chord and not self.in_grace
        old = self.old.note(letter.upper(), step // 7, written, bool(tie) and not self.in_grace,
                            grouped)
        pitch = natural_pitch(step) + old[0]
        target, new_step = pitch + self.semitones, step + self.move.steps
        if _in_range(pitch):
            while target < WRITTEN_RANGE[0]:
                target, new_step = target + 12, new_step + 7
            while target > WRITTEN_RANGE[1]:
                target, new_step = target - 12, new_step - 7
        alteration = target - natural_pitch(new_step)
        if abs(alteration) > MAX_ALTERATION:  # a triple sharp or flat: the next letter
            new_step += 1 if alteration > 0 else -1
            alteration = target - natural_pitch(new_step)
        new_letter, new_octave = LETTERS[new_step % 7], new_step // 7
        moved = target - pitch - (natural_pitch(new_step) - natural_pitch(step))
        expected = (old[0] + moved, old[1] + moved)
        if written is None and self.new.implied(new_letter, new_octave) == expected:
            new_written = None
        else:
            new_written = alteration
        self.new.note(new_letter, new_octave, new_written, bool(tie) and not self.in_grace,
                      grouped)
        if not self.in_chord and not self.in_grace:
            self.old.group_end()
            self.new.group_end()
        text = note_text(new_step, new_written)
        if text != match.group(0)[:match.end("oct") - match.start()]:
            self.edits.append((line, match.start(), match.end("oct"), text))


def _transpose_lines(tune: Tune, lines: list[str], first_line: int, semitones: int) -> None:
    """Move the tune read from `lines` by `semitones`, in place: `lines[0]` is line
    `first_line` of the text the tune's line numbers count. Only the header K:, body K:
    fields, notes and chord symbols change; nothing changes when the tune can't be moved."""
    header_key = next((f for f in reversed(tune.header) if f.name == "K"), None)
    if header_key is None:
        raise MissingKeyError("no K: field, so the tune has no key", x=tune.x,
                              line=tune.start_line, col=1, source=tune.source)
    raw = lines[header_key.line - first_line]
    new_value, move = key_text(raw[2:] if raw.startswith("K:") else raw, semitones)
    if move is None:
        raise UntransposableKeyError(f"K:{header_key.value} has no tonic to transpose")
    walk = _Walk(semitones, move)
    for token in tokenize(tune.body):
        walk.token(token)
    lines[header_key.line - first_line] = "K:" + new_value
    by_line: dict[int, list[tuple[int, int, str]]] = {}
    for line, start, end, text in walk.edits:
        by_line.setdefault(line - first_line, []).append((start, end, text))
    for index, edits in by_line.items():
        text = lines[index]
        for start, end, new in sorted(edits, reverse=True):  # from the right: spans stay true
            text = text[:start] + new + text[end:]
        lines[index] = text


def _check_semitones(semitones: int) -> None:
    if not isinstance(semitones, int) or abs(semitones) > SEMITONES_LIMIT:
        raise TargetKeyError(f"{semitones!r} semitones: give a whole number from "
                             f"-{SEMITONES_LIMIT} to {SEMITONES_LIMIT}")


def _located(error: AbcError, tune: Tune) -> AbcError:
    error.x = error.x if error.x is not None else tune.x
    error.source = error.source or tune.source
    error.line = error.line or tune.start_line
    error.col = error.col or 1
    return error


def transpose_tune(tune: Tune, semitones: int) -> Tune:
    """A new Tune, read back from its text, moved by `semitones` (see the module's rules).

    Raises TransposeError (UntransposableKeyError for K:none or percussion), KeyError_ for a
    K: that is no key, MissingKeyError for a tune without K:."""
    _check_semitones(semitones)
    lines = dumps(tune).rstrip("\n").split("\n")
    source = tune_from_lines(lines, tune.start_line, tune.file_header, tune.source)
    if semitones == 0:
        return source
    try:
        _transpose_lines(source, lines, tune.start_line, semitones)
    except AbcError as exc:
        raise _located(exc, tune) from None
    return tune_from_lines(lines, tune.start_line, tune.file_header, tune.source)


@dataclass
class BookTransposition:
    """A tunebook transposed: its text (tunes that failed left as they were), the number of
    tunes, each transposed tune's shift in semitones by its X:, and the failures."""

    text: str
    tunes: int = 0
    shifts: list[tuple[str | None, int]] = field(default_factory=list)
    failures: list[AbcError] = field(default_factory=list)


def transpose_book(text: str, semitones: int | None = None, key: str | None = None,
                   source: str | None = None) -> BookTransposition:
    """Transpose every tune of a tunebook by `semitones`, or each to `key` (see
    `semitones_to_key`). Free text, comments and line layout stay; a tune that can't be
    transposed stays as it was and is listed in `failures`."""
    if (semitones is None) == (key is None):
        raise TargetKeyError("give either a number of semitones or a key")
    if semitones is not None:
        _check_semitones(semitones)
    else:
        _target_key(key)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")  # the lines the tunes' line numbers count, from 1
    result = BookTransposition(text="")
    for tune in read_tunes(text, source):
        result.tunes += 1
        try:
            shift = semitones if key is None else semitones_to_key(tune, key)
            if shift:
                _transpose_lines(tune, lines, 1, shift)
            result.shifts.append((tune.x, shift))
        except AbcError as exc:
            result.failures.append(_located(exc, tune))
    result.text = "\n".join(lines)
    return result


def transpose_text(text: str, semitones: int) -> str:
    """A whole tunebook with every tune moved by `semitones`; tunes that can't be are left as
    they were (`transpose_book` also says which and why)."""
    return transpose_book(text, semitones).text


__all__ = ["BookTransposition", "KeyMove", "ModeMismatchError", "TargetKeyError",
           "TransposeError",
           "UntransposableKeyError", "WRITTEN_RANGE", "chord_symbol_text", "key_move",
           "key_text", "semitones_to_key", "spell_tonic", "transpose_book", "transpose_text",
           "transpose_tune"]
