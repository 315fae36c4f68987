"""One tonic for training, the corpus's keys for output (folk-rnn's scheme).

A model trained on tunes as written must remember the `K:` line hundreds of characters later
to end a tune at home; one whose every tune has the tonic C (K:C, K:Cm, K:Cdor, K:Cmix ...)
learns "end on C" once for all keys. `KeyTable` remembers which keys the training tunes were
written in, per mode, so a sampled tune is moved from C to a key drawn from them: the keys
of the output follow the corpus's, and a tune in G major stays as likely as in the books.
"""

import random
from collections import Counter
from collections.abc import Iterable

from abcgen.notation import AbcError, Key, Tune, build_timeline, dumps, parse_key, parse_tune
from abcgen.notation.chords import pitch_class
from abcgen.notation.parse import field_line
from abcgen.notation.transpose import key_text, semitones_to_key, transpose_tune

TONIC = "C"
KeyTable = tuple[tuple[str, int, int], ...]
"""(mode, semitones from C to the written tonic, how many training tunes) rows."""


def to_tonic(text: str) -> tuple[str, str, int]:
    """(the tune moved to the tonic C, its mode, the shift from C back to its own key); a
    tune that can't be moved (K:none, a pipe key, an unreadable K:) comes back as written
    with mode '' and shift 0."""
    try:
        tune = parse_tune(text)
        shift = semitones_to_key(tune, TONIC)
        mode = parse_key(tune.get("K")).mode
        return dumps(transpose_tune(tune, shift)), mode, -shift
    except AbcError:
        return text, "", 0


def tonic_texts(texts: Iterable[str]) -> list[str]:
    """Each tune moved to the tonic C (see `to_tonic`)."""
    return [to_tonic(text)[0] for text in texts]


def key_table(moved: Iterable[tuple[str, str, int]]) -> KeyTable:
    """How often each (mode, shift from C) occurs among tunes moved by `to_tonic`, most
    common first."""
    counts = Counter((mode, shift) for _, mode, shift in moved)
    counts.pop(("", 0), None)
    return tuple((mode, shift, count) for (mode, shift), count in counts.most_common())


def draw_shift(table: KeyTable, mode: str, rng: random.Random) -> int:
    """A shift from C to a key of `mode`, drawn as often as the training tunes had it (any
    mode's keys when the table has none of this mode)."""
    rows = [row for row in table if row[0] == mode] or list(table)
    shifts, weights = zip(*((shift, count) for _, shift, count in rows), strict=True)
    return rng.choices(shifts, weights)[0]


def from_tonic(text: str, table: KeyTable, rng: random.Random) -> str:
    """A sampled tune (tonic C) moved to a key drawn from `table`; as it is when it can't be
    read (a tune cut off mid-way is left in C, still valid)."""
    try:
        tune = parse_tune(text)
        mode = parse_key(tune.get("K") or TONIC).mode
    except AbcError:
        return text
    return _moved(tune, draw_shift(table, mode, rng), text)


def primed_in_tonic(text: str) -> tuple[str, int | None]:
    """A priming header moved to the tonic C, and the shift back to the key it gave (None
    when it gives no K:, or one that can't be moved): "X:1\nK:D\n" -> ("X:1\nK:C\n", 2)."""
    lines, shift = text.split("\n"), None
    for index, line in enumerate(lines):
        found = field_line(line)
        if found is None or found[0] != "K":
            continue
        try:
            key = parse_key(found[1])
            if not key.tonic:  # K:none: nothing to move
                return text, None
            to_c = _shift_to_tonic(key)
            lines[index] = "K:" + key_text(found[1], to_c)[0]
        except AbcError:
            return text, None
        shift = -to_c
    return "\n".join(lines), shift


def _shift_to_tonic(key: Key) -> int:
    """Semitones from `key`'s tonic to C, the nearest way (-5..+6)."""
    shift = -pitch_class(key.tonic) % 12
    return shift - 12 if shift > 6 else shift


def to_written_keys(texts: list[str], table: KeyTable, seed: int,
                    shift: int | None = None) -> list[str]:
    """Sampled tunes (tonic C) moved to the primed key (`shift` from C), or each to a key
    drawn from `table` (seeded by `seed` and the tune's place, so a seed gives the same keys)."""
    moved = []
    for index, text in enumerate(texts):
        if shift is not None:
            moved.append(_moved_text(text, shift))
        else:
            moved.append(from_tonic(text, table, random.Random(seed * 1_000_003 + index)))
    return moved


FIDDLE_RANGE = (55, 88)
"""MIDI pitches a fiddle, flute or whistle player reads without strain: G below middle C to
the E two octaves above it (written pitch)."""


def _moved_text(text: str, shift: int) -> str:
    try:
        return _moved(parse_tune(text), shift, text)
    except AbcError:
        return text


def _moved(tune: Tune, shift: int, text: str) -> str:
    """The tune (read from `text`, returned when it can't be moved) moved by `shift` or an
    octave either way, whichever leaves the fewest notes outside FIDDLE_RANGE: a melody
    written around C and moved down to A lands under the fiddle's G string, where abcm2ps
    even switches to the bass clef."""
    try:
        pitches = [event.pitch for event in build_timeline(tune, strict=False).events]
        best = min((shift, shift - 12, shift + 12), key=lambda s: _outside(pitches, s))
        return dumps(transpose_tune(tune, best))
    except AbcError:
        return text


def _outside(pitches: list[int], shift: int) -> int:
    low, high = FIDDLE_RANGE
    return sum(not low <= pitch + shift <= high for pitch in pitches)
