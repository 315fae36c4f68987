"""Note lengths written in one unit, and melody without chord symbols: the two rewrites that
make tunes from different books read alike to a model (`corpus build`).

http://abcnotation.com/wiki/abc:standard:v2.1#note_lengths. One tune may be written in
`L:1/4` with `A3/2B/2` (the Nottingham books), another in `L:1/8` with `A3B` (O'Neill's):
the same notes, different text. `usual_unit` is the unit a transcriber picks, the length
most notes have, so most are written bare; `with_unit` rewrites every length of a tune in a
unit, each in its shortest form (`A/2` -> `A/`, `A1` -> `A`), and drops the body's `L:`
changes, which the one unit makes needless.
"""

import re
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction

from abcgen.notation.edit import BodyEdit, apply_body_edits, format_length, length_span, rebuild
from abcgen.notation.errors import AbcError
from abcgen.notation.fields import default_unit_length, parse_meter, parse_unit_length
from abcgen.notation.lexer import Token, token_field, tokenize
from abcgen.notation.model import BodyLine, Field, Tune
from abcgen.notation.score import parse_length

# The units a folk tune is written in: a quarter, an eighth (most), a sixteenth (Ryan's
# reels in 2/4). On a tie between the counts of two, the eighth wins, then the longer.
UNIT_CHOICES = (Fraction(1, 8), Fraction(1, 4), Fraction(1, 16))
_LENGTH_KINDS = frozenset({"note", "rest"})
# Characters that continue the token before them: a length, a repeat colon.
_JOINERS = frozenset("0123456789/:")
_SPACE_RUNS = re.compile(r"[ \t]{2,}")


def header_unit(tune: Tune) -> Fraction:
    """The unit length the header sets: its L:, else the 0.75 rule on its M: (1/8 when
    either can't be read; the checker reports those)."""
    unit = tune.header_field("L")
    try:
        if unit is not None:
            return parse_unit_length(unit.value)
        return default_unit_length(parse_meter(tune.get("M") or "none"))
    except AbcError:
        return Fraction(1, 8)


def _unit_change(token: Token) -> Fraction | None:
    """The unit a body `L:` line or an inline `[L:...]` sets (None for any other token)."""
    named = token_field(token)
    if named is None or named[0] != "L":
        return None
    try:
        return parse_unit_length(named[1])
    except AbcError:
        return None


@dataclass(frozen=True)
class _Length:
    """A note's or rest's written length in whole notes (None for a body `L:` change), and
    whether it may join its neighbour in a broken rhythm (a plain note, no tie, in no chord,
    grace group or tuplet, no `>` or `<` beside it)."""

    token: Token
    length: Fraction | None
    pairable: bool = False


def _written_lengths(tune: Tune) -> list[_Length]:
    """Every note and rest of the body with its length, and the body's `L:` changes, in
    order. A chord's length (`[CE]2`) multiplies its notes' and keeps no unit; multi-measure
    rests (`Z4`) count bars; grace notes keep the length they are drawn with (`{g}`), which
    plays no part in their time: all three are left out."""
    tokens = list(tokenize(tune.body))
    unit, lengths = header_unit(tune), []
    in_group, in_graces, tuplet_left = False, False, 0
    for index, token in enumerate(tokens):
        kind, _, _, match = token
        change = _unit_change(token)
        if change is not None:
            unit = change
            lengths.append(_Length(token, None))
        elif kind in ("chord_start", "grace_start", "chord_end", "grace_end"):
            in_group = kind.endswith("start")
            in_graces = kind == "grace_start"
        elif in_graces:
            continue  # graces take a share of the next note whatever their written length
        elif kind == "tuplet":
            tuplet_left = int(match["tr"] or match["tp"])
        elif kind in _LENGTH_KINDS and not (kind == "rest" and match["rkind"] in "ZX"):
            start, end = length_span(token)
            free = not in_group and tuplet_left <= 0 and kind == "note" and not match["tie"] \
                and "broken" not in (tokens[index - 1][0] if index else "",
                                     tokens[index + 1][0] if index + 1 < len(tokens) else "")
            lengths.append(_Length(token, unit * parse_length(match.string[start:end]), free))
            tuplet_left -= not in_group
    return lengths


def _dotted_pairs(lengths: list[_Length], unit: Fraction) -> dict[int, str]:
    """Indexes in `lengths` of the notes of each dotted pair written as two lengths that
    make two units (`A3/2B/` in L:1/8), mapped to the broken-rhythm text each takes
    (`A>B`): the first note's length becomes the `>` or `<`, the second's nothing."""
    marks: dict[int, str] = {}
    for index in range(len(lengths) - 1):
        first, second = lengths[index], lengths[index + 1]
        if not (first.pairable and second.pairable) or index in marks \
                or first.token[1] != second.token[1] \
                or first.token[3].end() != second.token[3].start():
            continue
        if (first.length, second.length) == (3 * unit / 2, unit / 2):
            marks.update({index: ">", index + 1: ""})
        elif (first.length, second.length) == (unit / 2, 3 * unit / 2):
            marks.update({index: "<", index + 1: ""})
    return marks


def usual_unit(tune: Tune) -> Fraction:
    """The length most of the tune's notes and rests have, among UNIT_CHOICES, a dotted pair
    (`A3/2B/`) counting as two notes of half its length; the header's unit when no note has
    any."""
    lengths = _written_lengths(tune)
    counts = Counter(item.length for item in lengths if item.length in UNIT_CHOICES)
    for unit in UNIT_CHOICES:
        counts[unit] += len(_dotted_pairs(lengths, unit))  # two notes per pair, in two keys
    if not any(counts.values()):
        return header_unit(tune)
    return max(UNIT_CHOICES, key=lambda unit: counts[unit])  # first of the tied (see above)


def with_unit(tune: Tune, unit: Fraction) -> Tune:
    """The tune with `L:` set to `unit` and every note and rest length written in it, a
    dotted pair as a broken rhythm (`A3/2B/` -> `A>B`), the body's unit changes removed. The
    notes sound the same (a length that is no multiple of a power of two over the unit stays
    exact: `3/2`, `/3`)."""
    lengths = _written_lengths(tune)
    broken = _dotted_pairs(lengths, unit)
    edits = []
    for index, item in enumerate(lengths):
        _, line, _, match = item.token
        if item.length is None:
            span = (0, len(match.string)) if item.token[0] == "field" else match.span()
            edits.append(BodyEdit(line, *span, ""))
            continue
        start, end = length_span(item.token)
        text = broken.get(index, format_length(item.length / unit))
        if match.string[start:end] != text:
            edits.append(BodyEdit(line, start, end, text))
    body = [line for line in apply_body_edits(tune.body, edits) if line.text.strip()]
    header = [f for f in tune.header if f.name != "L"]
    at = next((i for i, f in enumerate(header) if f.name not in "XTM"), len(header))
    header.insert(at, Field("L", f"{unit.numerator}/{unit.denominator}"))
    return rebuild(tune, header=header, body=body)


def in_usual_unit(tune: Tune) -> Tune:
    """`with_unit(tune, usual_unit(tune))`."""
    return with_unit(tune, usual_unit(tune))


def without_quoted_text(tune: Tune) -> Tune:
    """The tune without chord symbols and annotations (`"Am"`, `"^fine"`): the melody only,
    as folk-rnn trained. A line left empty goes."""
    edits = [BodyEdit(line, *match.span(), _gap(match)) for kind, line, _, match
             in tokenize(tune.body) if kind == "quoted"]
    lines = apply_body_edits(tune.body, edits)
    body = [BodyLine(_SPACE_RUNS.sub(" ", line.text).rstrip(), line.line) for line in lines
            if line.text.strip()]
    return rebuild(tune, body=body)


def _gap(match) -> str:
    """What replaces quoted text: nothing, or a space where the next character would
    otherwise join the token before (`B"^13"2A` must not become `B2A`)."""
    after = match.string[match.end():match.end() + 1]
    return " " if after and after in _JOINERS else ""
