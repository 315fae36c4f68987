"""ABC-syntax operations for editing a tune in place: token spans, note groups on the bar's
time line, note-length and bar-line text, and rewriting body lines.

The repair stage (abcgen.repair) decides *what* to change; this module knows *how* the change
is written in ABC, so no other module needs the syntax. Times are integer ticks of the scorer
(`score.TICKS` per whole note); token columns are 1-based as the lexer gives them, span
offsets 0-based in the body line's text.
"""

from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction

from abcgen.notation.fields import default_unit_length, parse_meter
from abcgen.notation.lexer import Token, tokenize
from abcgen.notation.model import BodyLine, Field, Tune
from abcgen.notation.parse import tune_from_lines
from abcgen.notation.score import TICKS, Reporter, Scorer, WrittenBar
from abcgen.notation.writer import dumps

# Tokens that sound or shape a note group; deleting a bar's tail deletes these and keeps the
# rest (fields, inline fields, line ends, continuations, bar lines and ending marks).
MUSIC_TOKEN_KINDS = frozenset({
    "note", "rest", "chord_start", "chord_end", "grace_start", "grace_end", "tuplet",
    "slur_start", "slur_end", "broken", "deco", "short_deco", "quoted", "open_quote", "bad",
    "spacer", "overlay", "linebreak"})
# http://abcnotation.com/wiki/abc:standard:v2.1#mmeter — meters a folk tune's bars are tried
# against, most common first (the order breaks ties).
METER_CANDIDATES = ("4/4", "6/8", "3/4", "2/4", "9/8", "12/8", "2/2", "3/8", "5/4", "7/8")
# Meters that share a bar length; the compound one wins when dotted notes outnumber plain
# quarter and half notes.
COMPOUND_TWINS = {"3/4": "6/8", "4/4": "12/8", "2/2": "12/8"}
PLAIN_BAR = "|"
FINAL_BAR = "|]"


@dataclass
class Group:
    """One note, chord or rest as placed on its written bar's time line.

    `start`/`duration` in ticks from the bar's start; `unit` the L: unit in ticks where it
    stands; `token` the index in the body's token list of the token that placed it (note,
    rest or chord `]`); `tuplet` when it sits in a tuplet, `tuplet_open` when the tuplet
    still lacks notes after it; `broken` when broken rhythm (`>`/`<`) joins it to the next
    group; `multirest` for `Z`/`X`."""

    bar: int
    start: int
    duration: int
    unit: int
    token: int
    kind: str
    tuplet: bool = False
    tuplet_open: bool = False
    broken: bool = False
    broken_after: bool = False
    multirest: bool = False

    @property
    def end(self) -> int:
        return self.start + self.duration

    @property
    def simple(self) -> bool:
        """A lone note or rest whose written length alone decides its time."""
        return self.kind in ("note", "rest") and not (self.tuplet or self.broken
                                                       or self.broken_after or self.multirest)


@dataclass
class Score:
    """A tune's body as the editor sees it: tokens, written bars and note groups, and
    `bar_tokens[i]`, the index of the token that closes bar i (None for a bar the tune's end
    closes)."""

    tokens: list[Token]
    bars: list[WrittenBar]
    groups: list[Group]
    bar_tokens: list[int | None] = field(default_factory=list)
    open_chords: list[tuple[int, int | None]] = field(default_factory=list)
    nested_chords: list[int] = field(default_factory=list)
    open_graces: list[int] = field(default_factory=list)
    open_tuplet: int | None = None

    def bar_groups(self, bar: int) -> list[Group]:
        return [g for g in self.groups if g.bar == bar]


class _GroupRecorder:
    """Follows the scorer's walk (a score.ScoreWatcher), recording each placed group (see
    Group) and the groups left open, by token index."""

    def __init__(self, positions: dict[tuple[int, int], int], kinds: dict[int, str]):
        self.positions, self.kinds, self.groups = positions, kinds, []
        self.chord_at = self.grace_at = self.tuplet_at = -1
        self.nested_chords: list[int] = []
        self.open_chords: list[tuple[int, int | None]] = []
        self.open_graces: list[int] = []

    def placed(self, scorer: Scorer, notes: int, line: int, col: int, start: int,
               in_tuplet: bool, broken: bool) -> None:
        token = self.positions.get((line, col), -1)
        token_kind = self.kinds.get(token, "")
        kind = "chord" if notes > 1 or token_kind == "chord_end" else \
            ("note" if notes else "rest")
        self.groups.append(Group(len(scorer.bars), start, scorer.last_group_duration,
                                 scorer.unit_ticks, token, kind, in_tuplet,
                                 in_tuplet and scorer.tuplet_left > 0, broken,
                                 multirest=token_kind == "multirest"))

    def lengthened(self, extra: int) -> None:
        if self.groups:
            self.groups[-1].duration += extra
            self.groups[-1].broken_after = True

    def opened(self, kind: str, line: int, col: int, nested: bool = False) -> None:
        token = self.positions[(line, col)]
        if nested:
            self.nested_chords.append(token)
        elif kind == "chord":
            self.chord_at = token
        elif kind == "grace":
            self.grace_at = token
        else:
            self.tuplet_at = token

    def left_open(self, chord: list | None, graces: bool) -> None:
        if chord is not None:
            last = self.positions.get(chord[-1][3:]) if chord else None
            self.open_chords.append((self.chord_at, last))
        if graces:
            self.open_graces.append(self.grace_at)


def score_groups(tune: Tune) -> Score:
    """The tune's tokens, written bars and note groups (never raises for a broken tune)."""
    tokens = list(tokenize(tune.body))
    positions = {(line, col): index for index, (_, line, col, _) in enumerate(tokens)}
    kinds = {index: _token_kind(token) for index, token in enumerate(tokens)}
    recorder = _GroupRecorder(positions, kinds)
    scorer = Scorer(tune, Reporter(tune, strict=False), watcher=recorder)
    bars = scorer.run()
    bar_tokens = [_closing_token(tokens, positions, bar, recorder.groups) for bar in bars]
    open_tuplet = recorder.tuplet_at if scorer.tuplet_left > 0 else None
    return Score(tokens, bars, recorder.groups, bar_tokens, recorder.open_chords,
                 recorder.nested_chords, recorder.open_graces, open_tuplet)


def _closing_token(tokens: list[Token], positions: dict, bar: WrittenBar,
                   groups: list[Group]) -> int | None:
    """The bar line token that closes `bar`; None when the tune's end closes it (the scorer
    then gives the last line's column 1, where another token may stand)."""
    index = positions.get((bar.end_line, bar.end_col))
    last_group = max((g.token for g in groups if g.bar == bar.number), default=-1)
    if index is None or tokens[index][0] != "bar" or index < last_group:
        return None
    return index


def _token_kind(token: Token) -> str:
    kind, _, _, match = token
    if kind == "rest" and match["rkind"] in "ZX":
        return "multirest"
    return kind


# -- text of lengths, bars, meters ------------------------------------------------------------

def format_length(units: Fraction) -> str:
    """A length in units of L: as ABC text: 1 -> '', 2 -> '2', 1/2 -> '/', 3/2 -> '3/2',
    1/4 -> '/4'. http://abcnotation.com/wiki/abc:standard:v2.1#note_lengths"""
    if units.denominator == 1:
        return "" if units == 1 else str(units.numerator)
    if units.numerator == 1:
        return "/" if units.denominator == 2 else f"/{units.denominator}"
    return f"{units.numerator}/{units.denominator}"


def rest_text(ticks: int, unit_ticks: int) -> str:
    """A rest `z<len>` lasting `ticks` (a length in units of L:, `unit_ticks` each)."""
    return "z" + format_length(Fraction(ticks, unit_ticks))


def meter_text(bar: Fraction) -> str:
    """A bar length in whole notes as an M: value: 3/4 -> '3/4', 3/8 -> '3/8', 1 -> '4/4'."""
    for denominator in (4, 8, 16):
        count = bar * denominator
        if count.denominator == 1:
            return f"{count.numerator}/{denominator}"
    return f"{bar.numerator}/{bar.denominator}"


def is_plain_bar(token: Token) -> bool:
    """A single `|` with no repeat, ending or section meaning."""
    return token[0] == "bar" and token[3].group(0) == PLAIN_BAR


def closing_repeat_text(token: Token) -> str:
    """The bar-line token's text with an end repeat: `|` -> `:|`, `||` -> `:||`,
    `|:` -> `:|:`. http://abcnotation.com/wiki/abc:standard:v2.1#repeat_bar_symbols"""
    text = token[3].group(0)
    return text if text.startswith(":") else ":" + text


def without_ending_text(token: Token) -> str:
    """A bar-line or ending token with its ending number removed (`|2` -> `|`, `[2` -> '')."""
    kind, _, _, match = token
    if kind == "ending":
        return ""
    return match.group(0)[:match.start("bnum") - match.start()] if match["bnum"] else \
        match.group(0)


def length_span(token: Token) -> tuple[int, int] | None:
    """0-based span of a note's, rest's or chord's written length inside its line."""
    kind, _, _, match = token
    group = {"note": "len", "rest": "rlen", "chord_end": "clen"}.get(kind)
    return None if group is None else (match.start(group), match.end(group))


def tie_span(token: Token) -> tuple[int, int] | None:
    """0-based span of the tie (`-` or `.-`) of a note or chord end, if it has one."""
    kind, _, _, match = token
    group = {"note": "tie", "chord_end": "ctie"}.get(kind)
    if group is None or match[group] is None:
        return None
    return match.start(group), match.end(group)


def token_span(token: Token) -> tuple[int, int]:
    """0-based [start, end) of a token inside its line (line ends: an empty span at the end)."""
    kind, _, col, match = token
    if match is None:
        return col - 1, col - 1
    return match.start(), match.end()


# -- meter ----------------------------------------------------------------------------------

def meter_from_bars(bars: list[WrittenBar], groups: list[Group],
                    hint: str | None = None) -> str | None:
    """The M: value the written bars' lengths suggest, or None when no bar says anything.

    The first and last bars are left out (pickups); each candidate meter counts the bars it
    fits; `hint` (a meter from R:) wins ties. Bars whose lengths fit no candidate give their
    most common length as the meter."""
    inner = bars[1:-1] if len(bars) > 2 else bars
    lengths = Counter(bar.duration for bar in inner if bar.duration > 0)
    if not lengths:
        return None
    fits = {m: lengths.get(_bar_ticks(m), 0) for m in METER_CANDIDATES}
    best = max(fits.values())
    if best == 0:
        return meter_text(Fraction(lengths.most_common(1)[0][0], TICKS))
    tied = [m for m in METER_CANDIDATES if fits[m] == best]
    if hint in tied:
        return hint
    choice = tied[0]
    twin = COMPOUND_TWINS.get(choice)
    if twin in tied and _mostly_dotted(groups):
        return twin
    return choice


def _bar_ticks(meter: str) -> int:
    return parse_meter(meter).bar * TICKS


def _mostly_dotted(groups: list[Group]) -> bool:
    """Dotted quarters (compound beats) outnumber quarter and half notes."""
    dotted = sum(1 for g in groups if g.duration in (3 * TICKS // 8, 3 * TICKS // 16))
    plain = sum(1 for g in groups if g.duration in (TICKS // 4, TICKS // 2))
    return dotted > plain


def unit_for_meter(meter: str) -> Fraction:
    """The L: ABC 2.1 gives a meter by default (the 0.75 rule)."""
    return default_unit_length(parse_meter(meter))


# -- rewriting ------------------------------------------------------------------------------

@dataclass(frozen=True)
class BodyEdit:
    """Replace `[start, end)` (0-based) of body line `line` (file line number) by `text`."""

    line: int
    start: int
    end: int
    text: str


def apply_body_edits(lines: list[BodyLine], edits: list[BodyEdit]) -> list[BodyLine]:
    """New body lines with `edits` applied; an edit overlapping one already applied is skipped
    (the caller's next round sees what is left)."""
    by_line: dict[int, list[BodyEdit]] = {}
    for edit in edits:
        by_line.setdefault(edit.line, []).append(edit)
    result = []
    for body_line in lines:
        text, floor = body_line.text, len(body_line.text) + 1
        for edit in sorted(by_line.get(body_line.line, []), key=lambda e: (e.start, e.end),
                           reverse=True):
            if edit.end <= floor:
                text = text[:edit.start] + edit.text + text[edit.end:]
                floor = edit.start
        result.append(BodyLine(text, body_line.line))
    return result


def rebuild(tune: Tune, header: list[Field] | None = None,
            body: list[BodyLine] | None = None) -> Tune:
    """A fresh tune read back from the text of `header` and `body` (default: the tune's), so
    line numbers and the header/body split are what the new text says."""
    lines = tune.body if body is None else body
    draft = Tune(header=tune.header if header is None else header,
                 body=[line for line in lines if line.text.strip()])  # a blank line ends a tune
    text = dumps(draft).rstrip("\n")
    return tune_from_lines(text.split("\n"), tune.start_line, tune.file_header, tune.source)

