"""abc2midi's repeat bookkeeping, replayed on a tune's bar lines to find what it rejects.

abc2midi 4.84 mends a missing `|:` before the first `:|` (store.c scan_for_missing_repeats),
then walks the bar lines once more (store.c fixreps) and finally plays them (genmidi.c
writetrack), reporting errors such as ' found [1 or like before |:' or 'Missing :| at end
of tune' where the standard is silent or lenient. This module turns the body's bar-line and
ending tokens into abc2midi's features (parseabc.c's reading of `|:`, `:|2`, `::`, `[1` ...)
and replays those three passes, so `check` reports the same problems at the same marks.
Tunes with parts (P:) or more than one voice are left alone: abc2midi skips fixreps for them and
plays them part by part.
"""

from collections.abc import Iterator
from dataclasses import dataclass

from abcgen.notation.lexer import Token, token_field
from abcgen.notation.model import Issue, Tune, tune_issue
from abcgen.notation.score import WrittenBar, from_ticks, parse_endings

# Features (store.c featuretype): the bar lines that matter to repeats.
SINGLE, DOUBLE, OPEN, CLOSE, BOTH, ENDING = "|", "||", "|:", ":|", "::", "[n"
# genmidi.c: a skipped ending runs to the next of these.
_ENDING_STOPS = frozenset({CLOSE, OPEN, DOUBLE, ENDING})
# The codes `check` reports, by what repair does about them.
REOPENED, OUTSIDE, STRAY, NOT_CLOSED = (
    "repeat-reopened", "ending-outside-repeat", "stray-repeat", "repeat-not-closed")


@dataclass
class Feature:
    kind: str
    token: Token | None  # None for the marks abc2midi adds itself
    passes: tuple[int, ...] = ()  # an ending's pass numbers (`[1,3` -> (1, 3))
    bar: WrittenBar | None = None  # the written bar this mark ends, if it ends one


def _mark_kinds(text: str) -> Iterator[str]:
    """The features of a bar line's marks (its ending number left out), as parseabc.c reads
    them character by character: `||:` is `||` and a dotted bar (no repeat), `:|:` is `:|`
    and a dotted bar; store.c treats dotted, thick and thin bars as `||`."""
    rest = text.lstrip(".")
    while rest:
        head, rest = rest[:2], rest[2:]
        if head in ("|:", "[|", "||", "|]"):
            yield OPEN if head == "|:" else DOUBLE
            if head == "[|" and rest.startswith(":"):
                rest = rest[1:]
                yield OPEN
        elif head in ("::", ":|"):
            rest = rest[1:] if head == ":|" and rest.startswith("]") else rest
            yield BOTH if head == "::" else CLOSE
        elif head[0] == "|":
            rest = head[1:] + rest
            yield SINGLE
        else:  # a lone ':' (or '.'): a dotted bar
            rest = head[1:] + rest
            yield DOUBLE


def _joins_previous(tokens: list[Token], index: int) -> bool:
    """A bar line written right after another (`:|:` then `|`): parseabc.c reads the
    characters of both as one run of marks (`:|` `:|`), not as our two tokens."""
    if index == 0 or tokens[index][0] != "bar" or tokens[index - 1][0] != "bar":
        return False
    previous = tokens[index - 1]
    return not previous[3]["bnum"] and previous[1] == tokens[index][1] and \
        previous[2] + len(previous[3].group(0)) == tokens[index][2]


def _joined_text(tokens: list[Token], index: int) -> str:
    """The marks of bar line `index` and of the bar lines written right after it."""
    text, following = tokens[index][3].group(0), index + 1
    while following < len(tokens) and _joins_previous(tokens, following):
        text += tokens[following][3].group(0)
        following += 1
    return text


def _bar_features(token: Token, bar: WrittenBar | None, text: str) -> list[Feature]:
    """A bar-line token's features (`text`: its marks and those written right after it), the
    first holding the written bar it ends. abc2midi reads an ending number only after `|` or
    `:|` (`|:1`, `|]1` leave it unread)."""
    match = token[3]
    number = match["bnum"] or ""
    features = [Feature(kind, token) for kind in _mark_kinds(text[:len(text) - len(number)])]
    if number and match["btype"] == "|" and not match["rcolon"]:
        features.append(Feature(ENDING, token, parse_endings(number)))
    if features:
        features[0].bar = bar
    return features


def features_of(tokens: list[Token], bars: list[WrittenBar]) -> list[Feature] | None:
    """The body's repeat features, starting with the `||` abc2midi puts before the music,
    each bar line's first feature holding the written bar it ends; None when the body has
    more than one voice (left alone, see the module docstring)."""
    ends = {(bar.end_line, bar.end_col): bar for bar in bars}
    features, voices = [Feature(DOUBLE, None)], set()
    for index, token in enumerate(tokens):
        kind, line, col, match = token
        if kind == "bar" and _joins_previous(tokens, index):
            continue  # read with the bar line before it (see _bar_features)
        if kind == "bar":
            features += _bar_features(token, ends.get((line, col)), _joined_text(tokens, index))
        elif kind == "ending":
            features.append(Feature(ENDING, token, parse_endings(match["enums"])))
        elif _other_voice(token, voices):
            return None
    return features


def _other_voice(token: Token, voices: set[str]) -> bool:
    """A second voice (`voices` collects the voice names met so far). A P: label in the body
    is only a label while the header has no P: (store.c runs fixreps then)."""
    name, value = token_field(token) or ("", "")
    if name == "V":
        voices.add((value.split() or [""])[0])
    return len(voices) > 1


def _open_missing_start(features: list[Feature]) -> None:
    """store.c scan_for_missing_repeats(): a `:|` or `::` before any `|:` gets `|:` at the
    start of the music."""
    for feature in features:
        if feature.kind == OPEN:
            return
        if feature.kind in (CLOSE, BOTH):
            features.insert(1, Feature(OPEN, None))
            return


class _Replay:
    """abc2midi's passes over the features, and the issues they raise (each mark reported
    once per code)."""

    def __init__(self, tune: Tune, features: list[Feature]):
        self.tune, self.features, self.issues, self.seen = tune, features, [], set()

    def report(self, code: str, feature: Feature, message: str) -> None:
        token = feature.token or self.last_bar()
        if token is None or (code, token[1], token[2]) in self.seen:
            return
        self.seen.add((code, token[1], token[2]))
        self.issues.append(tune_issue(self.tune, code, f"{message} (abc2midi)", *token[1:3]))

    def last_bar(self) -> Token | None:
        return next((f.token for f in reversed(self.features) if f.token is not None), None)

    def open_at(self, index: int, cause: Feature) -> None:
        """store.c placestartrep(): the repeat `cause` needs starts at mark `index`."""
        target = self.features[index]
        if target.kind in (SINGLE, DOUBLE):
            target.kind = OPEN
        elif target.kind == CLOSE:
            target.kind = BOTH
        elif target.kind in (OPEN, BOTH):
            self.report(STRAY, cause, "too many end repeats")

    def fix_repeats(self) -> None:
        """store.c fixreps()."""
        rep_point, expect, plays = 0, False, 0
        for index, feature in enumerate(self.features):
            kind = feature.kind
            if kind == DOUBLE:
                rep_point = index
            elif kind == OPEN:
                if expect:
                    self.report(REOPENED, feature, "found another |: after a |:")
                    feature.kind = BOTH
                expect = True
            elif kind == CLOSE:
                if not expect and plays < 1:
                    self.open_at(rep_point, feature)
                expect, rep_point = False, index
            elif kind == ENDING:
                if plays == 0 and not expect:
                    self.report(OUTSIDE, feature, "an ending before any |:")
                    self.open_at(rep_point, feature)
                plays += 1
            elif kind == BOTH:
                if not expect:
                    self.report(STRAY, feature, "found :: before |:")
                    self.open_at(rep_point, feature)
                expect = True

    def play(self) -> None:
        """genmidi.c writetrack()'s walk over the bar lines: passes, jumps back, endings."""
        index, self.pass_no, self.expect, self.max_pass = 0, 1, False, 2
        self.saved, self.in_ending, self.opened = (0, 0), False, None
        self.bars = _BarCount()
        steps = 0
        while index < len(self.features) and steps < 50 * len(self.features):
            index, steps = self.step(index) + 1, steps + 1
        if self.expect and self.pass_no == 1:
            self.report(NOT_CLOSED, self.opened or Feature(OPEN, None),
                        "a repeat is still open at the end of the tune (Missing :|)")

    def step(self, index: int) -> int:
        """Play mark `index`; the index the walk goes on from."""
        feature = self.features[index]
        wrong = self.bars.at_mark(feature, self.pass_no)
        if wrong is not None:
            self.report_bar(*wrong)
        if feature.kind == DOUBLE:
            self.in_ending = False
        elif feature.kind == OPEN:
            return self.open_repeat(index, feature)
        elif feature.kind == CLOSE:
            return self.close_repeat(index, feature)
        elif feature.kind == BOTH:
            return self.double_repeat(index, feature)
        elif feature.kind == ENDING:
            return self.ending(index, feature)
        return index

    def open_repeat(self, index: int, feature: Feature) -> int:
        self.in_ending = False
        if self.pass_no == 1 and self.expect:
            self.report(REOPENED, feature, "a second |: before the first repeat's :|")
        self.saved, self.expect, self.pass_no, self.max_pass = self.here(index), True, 1, 2
        self.opened = feature
        return index

    def close_repeat(self, index: int, feature: Feature) -> int:
        self.in_ending = False
        if self.pass_no == 1 and not self.expect:
            self.report(STRAY, feature, ":| with no repeat to close")
            return index
        if self.pass_no == 1 or self.pass_no < self.max_pass:
            self.pass_no += 1
            self.expect = False
            return self.back()
        return index

    def double_repeat(self, index: int, feature: Feature) -> int:
        self.in_ending = False
        if self.pass_no == 1 and self.expect:
            self.pass_no += 1
            return self.back()
        if self.pass_no > 1:
            self.max_pass = 2
        else:
            self.report(STRAY, feature, ":: with no repeat to close")
        self.expect, self.saved, self.pass_no = True, self.here(index), 1
        self.opened = feature
        return index

    def here(self, index: int) -> tuple[int, int]:
        """genmidi.c save_state(): where a repeat starts, and the bar count there."""
        return index, self.bars.number

    def back(self) -> int:
        """genmidi.c restore_state(): back to the repeat's start (the bar being counted
        goes on counting)."""
        index, self.bars.number = self.saved
        return index

    def report_bar(self, bar: WrittenBar, ticks: int) -> None:
        """A bar abc2midi finds the wrong length as it plays ('Track 0 Bar N has ...')."""
        key = ("bar-length", bar.line, bar.col)
        if key in self.seen:
            return
        self.seen.add(key)
        self.issues.append(tune_issue(
            self.tune, "bar-length", f"abc2midi plays {from_ticks(ticks)} of a whole note "
            f"from this bar to its next bar check, the meter's bar is "
            f"{from_ticks(bar.expected)}", bar.line, bar.col))

    def ending(self, index: int, feature: Feature) -> int:
        if self.in_ending:
            self.report(OUTSIDE, feature, "an ending inside another ending (needs :| or || "
                                          "before it)")
        number = self.pass_no if self.expect or self.pass_no > 1 else -1
        if number == -1:
            self.report(OUTSIDE, feature, "endings that don't follow |: or ::")
            number = 1
        if number in feature.passes:
            self.in_ending = True
            if self.max_pass < 4:
                self.max_pass = self.pass_no + 1
            return index
        return self.skip_ending(index, feature)

    def skip_ending(self, index: int, feature: Feature) -> int:
        """An ending not played on this pass: on to the mark that ends it (which is skipped
        too, as genmidi.c does)."""
        index += 1
        while index < len(self.features) and self.features[index].kind not in _ENDING_STOPS:
            index += 1
        if index == len(self.features):
            self.report(OUTSIDE, feature, "an ending that nothing closes (:|, || or |])")
        return index


class _BarCount:
    """genmidi.c checkbar()/softcheckbar(): the music since the last bar check, checked at
    single bar lines always and at other bar lines once it fills a bar. Bar 0 is never
    checked on the first pass (a pickup); warnings on the second pass say 'in repeat' and
    are left out, as the benchmark leaves them out."""

    def __init__(self):
        self.number, self.ticks, self.first, self.expected = 0, 0, None, None

    def at_mark(self, feature: Feature, pass_no: int) -> tuple[WrittenBar, int] | None:
        """Count the bar `feature` ends; (the bar to blame, its ticks) when the check fails."""
        if feature.bar is not None:
            self.first = self.first if self.ticks else feature.bar
            self.ticks += feature.bar.duration
            self.expected = feature.bar.expected
        if self.expected is None or feature.kind == ENDING:
            return None
        if feature.kind != SINGLE and self.ticks < self.expected and self.number > 0:
            return None  # softcheckbar(): a repeat or double bar may fall mid-bar
        wrong = self.ticks not in (0, self.expected) and pass_no != 2 and self.number != 0
        blamed = self.first if self.first is not None and self.first.duration < self.expected \
            else (feature.bar or self.first)
        result = (blamed, self.ticks) if wrong and blamed is not None else None
        self.number += 1 if self.ticks > 0 else 0
        self.ticks, self.first = 0, None
        return result


def check_played_repeats(tune: Tune, tokens: list[Token],
                         bars: list[WrittenBar]) -> list[Issue]:
    """What abc2midi reports about the tune's repeats, endings and bar lengths as it plays
    them (see the module docstring)."""
    if any(f.name == "P" for f in tune.header):
        return []
    features = features_of(tokens, bars)
    if features is None:
        return []
    _open_missing_start(features)
    replay = _Replay(tune, features)
    replay.fix_repeats()
    replay.play()
    return replay.issues
