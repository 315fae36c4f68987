"""`check`: every problem in a tune as an Issue with a stable code, severity and position.

The rules come from ABC 2.1 (sections linked at each) and from what abc2midi rejects. The
scorer (score.py) reports the body's problems; this module adds the header's, the bar
lengths and the repeat structure.
"""

import re
from collections.abc import Iterable, Iterator

from abcgen.notation.compat import check_compat
from abcgen.notation.errors import MeterError
from abcgen.notation.fields import hornpipe_meter_ok, is_hornpipe, parse_meter
from abcgen.notation.lexer import body_field
from abcgen.notation.model import Issue, Tune, tune_issue
from abcgen.notation.parse import read_errors, read_tunes
from abcgen.notation.score import WrittenBar, from_ticks, score_tune
from abcgen.notation.timeline import part_order

CODES = {
    "missing-x": "the tune has no X: reference number",
    "bad-x": "X: is not a positive whole number",
    "duplicate-x": "X: repeats in the tune or the tunebook",
    "missing-title": "no T: title",
    "empty-title": "T: is empty",
    "missing-meter": "no M: meter",
    "invalid-meter": "M: is not a meter",
    "invalid-length": "L: is not a unit note length",
    "missing-key": "no K: key",
    "invalid-key": "K: is not a key",
    "key-not-last": "header fields after K:, which must end the header",
    "invalid-tempo": "Q: is not a tempo",
    "bar-length": "a bar's length is not the meter's",
    "unclosed-repeat": "|: is never closed by :|",
    "bad-ending": "a variant ending without a repeat around it",
    "unclosed-chord": "[ chord never closed",
    "unclosed-grace": "{ grace notes never closed",
    "unclosed-slur": "( slur never closed",
    "unopened-slur": ") without (",
    "unclosed-tuplet": "a tuplet lacks notes",
    "unclosed-quote": '" never closed',
    "bad-tuplet": "an unplayable tuplet",
    "bad-broken-rhythm": "> or < without a note before it",
    "bad-tie": "a tie between notes of different pitches",
    "unequal-broken-rhythm": "> or < between notes of different lengths, or staccato/fermata notes",
    "misplaced-decoration": "a decoration that doesn't stand right before a note",
    "bad-character": "a character that is not ABC",
    "bad-duration": "an absurd length",
    "bad-repeat": "a repeat sign where none can be",
    "bad-chord-symbol": "a chord symbol that doesn't start with a note letter",
    "bad-parts": "a header P: that is not a play order of part letters",
    "unopened-repeat": "endings in a part whose :| has no |: after an earlier :|",
    "hornpipe-meter": "R:hornpipe in a meter other than 2/4 or 4/4 (abc2midi refuses it)",
    "no-notes": "the tune has no notes",
    "no-tunes": "the file holds no tune (a tune starts with X: and has a K:)",
    "extra-voice": "a voice other than the first (not played)",
    "voice-overlay": "a voice overlay & (not played)",
    "field-in-body": "a field that may not appear in the body",
    # abc2midi's own rules (compat.py, repeats.py)
    "octave-spelling": "c, or C' (abc2midi wants C, or c)",
    "swung-decoration": "staccato or fermata in a pair of notes abc2midi swings (R:hornpipe)",
    "fermata": "a fermata, which abc2midi plays twice as long so that its bar overflows",
    "repeat-reopened": "a second |: before the first repeat is closed",
    "ending-outside-repeat": "an ending abc2midi can't place in a repeat",
    "stray-repeat": "a :| or :: with no repeat to close",
    "repeat-not-closed": "a repeat still open at the end of the tune",
    "quoted-comma": "a comma in a chord symbol or annotation (music21 fails on it)",
    "invisible-bar": "an invisible bar line [|], which abc2midi reads as a chord",
    "late-voice": "the only voice named after the music began (abc2midi replays repeats)",
    "header-bar": "a header value starting with | (music21 reads the line as music)",
    # reading (parse.tune_from_lines, parse.iter_book)
    "control-character": "a NUL or other control character: removed from a text field, "
                         "or in the music, which makes the tune unreadable",
    "tune-too-long": "a tune over parse.MAX_TUNE_CHARS characters, refused unread",
}
# Our repeat checks, and abc2midi's (repeats.py), which wait until ours are settled.
REPEAT_CODES = frozenset({"unclosed-repeat", "bad-ending", "unopened-repeat"})
PLAYED_REPEAT_CODES = frozenset({"repeat-reopened", "ending-outside-repeat", "stray-repeat",
                                 "repeat-not-closed"})
# http://abcnotation.com/wiki/abc:standard:v2.1#pparts — a header P: is a play order.
_PART_ORDER = re.compile(r"^[A-Z0-9().\s]*$")
# Fields that may stand between K: and the first music line without breaking "K: ends the
# header": part and voice labels, instructions, words, remarks.
BODY_OK_FIELDS = frozenset("PVIWwr%")


def check_header(tune: Tune) -> list[Issue]:
    """X:, T:, M:, K: present and well formed; K: last. http://abcnotation.com/wiki/abc:standard:v2.1#tune_header"""
    issues = []
    xs = [f for f in tune.header if f.name == "X"]
    if not xs:
        issues.append(tune_issue(tune, "missing-x", "no X: reference number before the title"))
    elif not xs[0].value.strip().isdigit() or int(xs[0].value.strip()) < 1:
        issues.append(tune_issue(tune, "bad-x", f"X:{xs[0].value} is not a positive number",
                                 xs[0].line))
    for extra in xs[1:]:
        issues.append(tune_issue(tune, "duplicate-x", "a second X: in one tune", extra.line))
    titles = [f for f in tune.header if f.name == "T"]
    if not titles:
        issues.append(tune_issue(tune, "missing-title", "no T: title"))
    elif not any(f.value.strip() for f in titles):
        issues.append(tune_issue(tune, "empty-title", "T: is empty", titles[0].line))
    if tune.get("M") is None:
        issues.append(tune_issue(tune, "missing-meter", "no M: meter (free meter assumed)"))
    if tune.get("K") is None:
        issues.append(tune_issue(tune, "missing-key", "no K: key, which must end the header"))
    issues += _hornpipe_meter(tune)
    parts = next((f for f in tune.header if f.name == "P"), None)
    if parts is not None and not _PART_ORDER.match(parts.value):
        issues.append(tune_issue(tune, "bad-parts", f"P:{parts.value} is not a play order of part "
                             "letters (e.g. P:AABB or P:(AB)2C)", parts.line))
    return issues + _fields_after_key(tune)


def _hornpipe_meter(tune: Tune) -> list[Issue]:
    """abc2midi swings `R:hornpipe` and refuses one that isn't in 2/4 or 4/4 ('Hornpipe must
    be in 2/4 or 4/4 time', 133 tunes in O'Neill's)."""
    rhythm, meter = tune.get("R") or "", tune.get("M")
    if not is_hornpipe(rhythm) or meter is None:
        return []
    try:
        parsed = parse_meter(meter)
    except MeterError:
        return []  # reported as invalid-meter
    if hornpipe_meter_ok(parsed):
        return []
    return [tune_issue(tune, "hornpipe-meter", f"R:{rhythm} in M:{meter}: abc2midi plays hornpipes "
                   "only in 2/4 or 4/4", tune.header_field("R").line)]


def _fields_after_key(tune: Tune) -> list[Issue]:
    """Header fields written after K: (before the first music line) break 'K: ends the header'."""
    issues = []
    for line in tune.body:
        field = body_field(line.text)
        if field is None:
            if line.text.strip() and not line.text.startswith("%"):
                break
            continue
        if field[0] not in BODY_OK_FIELDS:
            issues.append(tune_issue(tune, "key-not-last", f"{field[0]}: comes after K:, which "
                                     "must be the last header field", line.line))
    return issues


def _ends_section(bars: list[WrittenBar], index: int) -> bool:
    bar = bars[index]
    following = bars[index + 1] if index + 1 < len(bars) else None
    return (bar.close_repeat or bar.section_end or following is None
            or bool(following.ending) or following.open_repeat or following.part != bar.part)


def _part_starts(bars: list[WrittenBar]) -> list[int]:
    """For each bar, the index of the first bar of its part (after the last repeat sign or
    double bar, or at a |:), where a pickup into the part is written."""
    starts, start = [], 0
    for index, bar in enumerate(bars):
        if (bar.open_repeat and not bar.ending) or (index and bar.part != bars[index - 1].part):
            start = index
        starts.append(start)
        if bar.close_repeat or bar.section_end:
            start = index + 1
    return starts


def _partners(bars: list[WrittenBar], index: int, part_start: int) -> list[WrittenBar]:
    """Bars a short bar may add up with: the tune's pickup, its part's pickup, and its
    neighbours across a section boundary."""
    partners = [bars[0], bars[part_start]]
    if _ends_section(bars, index) and index + 1 < len(bars):
        partners.append(bars[index + 1])
    if index > 0 and _ends_section(bars, index - 1):
        partners.append(bars[index - 1])
    return [bar for bar in partners if bar is not bars[index]]


def _short_bar_ok(bars: list[WrittenBar], index: int, part_start: int) -> bool:
    """A short bar is fine as the tune's pickup, or at a section boundary when it and one of
    its partners add up to a whole bar (ABC 2.1 §4.8: pickups and the bars that complete them)."""
    bar = bars[index]
    if index == 0:
        return True
    if index == len(bars) - 1 and not (bar.final or bar.close_repeat):
        return False  # abc2midi takes a short last bar only when `|]` or `:|` ends the tune
    at_boundary = _ends_section(bars, index) or _ends_section(bars, index - 1)
    return at_boundary and any(bar.duration + partner.duration == bar.expected
                               for partner in _partners(bars, index, part_start))


def check_bars(tune: Tune, bars: list[WrittenBar]) -> list[Issue]:
    """Each bar's length against the meter. http://abcnotation.com/wiki/abc:standard:v2.1#mmeter"""
    issues = []
    for index, (bar, part_start) in enumerate(zip(bars, _part_starts(bars), strict=True)):
        if bar.expected is None or bar.duration == bar.expected:
            continue
        if bar.duration < bar.expected and _short_bar_ok(bars, index, part_start):
            continue
        off = from_ticks(bar.duration - bar.expected)
        how = f"{abs(off)} too long" if off > 0 else f"{abs(off)} too short"
        if off < 0 and index == len(bars) - 1:
            how += "; a short last bar must end the tune with |] or :|"
        issues.append(tune_issue(tune, "bar-length", f"bar {index + 1} lasts "
                                 f"{from_ticks(bar.duration)} of a whole note, the meter's bar "
                                 f"is {from_ticks(bar.expected)} ({how})", bar.line, bar.col))
    return issues


def check_repeats(tune: Tune, bars: list[WrittenBar]) -> list[Issue]:
    """|: closed by :|, endings inside a repeat. http://abcnotation.com/wiki/abc:standard:v2.1#first_and_second_repeats"""
    issues, open_at, had_close, closed_before = [], None, False, False
    for index, bar in enumerate(bars):
        if bar.open_repeat:
            open_at, had_close = open_at or bar, False
        if bar.ending[:1] == (1,) and open_at is None and closed_before:
            issues.append(tune_issue(tune, "unopened-repeat", "ending [1 in a part whose repeat "
                                     "has no |: (an earlier :| already closed a repeat)",
                                     bar.line, bar.col))
        if bar.ending and bar.ending[0] == 1 and not _closed_later(bars, index):
            issues.append(tune_issue(tune, "bad-ending", "ending [1 is not closed by :|",
                                 bar.line, bar.col))
        if bar.ending and bar.ending[0] > 1 and not had_close:
            issues.append(tune_issue(tune, "bad-ending", f"ending [{bar.ending[0]} without a "
                                     "repeat before it", bar.line, bar.col))
        if bar.close_repeat:
            open_at, had_close, closed_before = None, True, True
        elif bar.section_end:  # after || or |] a part may start its repeat without |:
            closed_before = False
    if open_at is not None:
        issues.append(tune_issue(tune, "unclosed-repeat", "|: is never closed by :|",
                             open_at.line, open_at.col))
    return issues


def check_parts(tune: Tune, bars: list[WrittenBar]) -> list[Issue]:
    """Every part a header P: plays is labelled in the body (abc2midi: 'Part not defined')."""
    field = next((f for f in tune.header if f.name == "P"), None)
    if field is None or not _PART_ORDER.match(field.value):
        return []
    labelled = {bar.part for bar in bars}
    missing = sorted(set(part_order(field.value)) - labelled)
    if not missing:
        return []
    return [tune_issue(tune, "bad-parts", f"P:{field.value} plays part(s) {', '.join(missing)} "
                       "that the body never labels with P:", field.line)]


def _closed_later(bars: list[WrittenBar], index: int) -> bool:
    for bar in bars[index:]:
        if bar.close_repeat:
            return True
        if bar is not bars[index] and (bar.ending or bar.open_repeat):
            return False
    return False


def _with_abc2midi_rules(issues: list[Issue], extra: list[Issue]) -> list[Issue]:
    """`issues` and abc2midi's rules (`extra`): an error from `extra` replaces a warning of
    the same code at the same place, one that repeats an error is dropped, and abc2midi's
    repeat complaints wait while our own repeat checks still have something to say."""
    errors = {(i.code, i.line, i.col) for i in issues if i.severity == "error"}
    repeats_flagged = any(i.code in REPEAT_CODES for i in issues)
    extra = [i for i in extra if (i.code, i.line, i.col) not in errors
             and not (repeats_flagged and i.code in PLAYED_REPEAT_CODES)]
    replaced = {(i.code, i.line, i.col) for i in extra}
    return [i for i in issues if (i.code, i.line, i.col) not in replaced] + extra


def check_tune(tune: Tune) -> list[Issue]:
    """Every problem in `tune`, errors and warnings, in line order. A tune that can't be
    read (parse.read_errors) has only those errors."""
    if read_errors(tune):
        return list(tune.read_issues)
    scorer, body_issues = score_tune(tune, strict=False)
    issues = tune.read_issues + check_header(tune) + body_issues + check_bars(tune, scorer.bars) \
        + check_repeats(tune, scorer.bars) + check_parts(tune, scorer.bars)
    issues = _with_abc2midi_rules(issues, check_compat(tune, scorer.bars))
    if not any(bar.notes for bar in scorer.bars) and tune.get("K") is not None:
        issues.append(tune_issue(tune, "no-notes", "the tune has no notes"))
    return sorted(issues, key=lambda issue: (issue.line, issue.col))


def check_text(text: str, source: str | None = None) -> list[Issue]:
    """Check every tune of a tunebook, including X: numbers repeated across tunes."""
    return list(check_tunes(read_tunes(text, source), source))


def check_tunes(tunes: Iterable[Tune], source: str | None = None) -> Iterator[Issue]:
    """`check_tune` of each tune as it comes (read_tunes or stream_tunes), and X: numbers
    repeated across tunes; 'no-tunes' after a book without any."""
    return book_issues(map(checked_tune, tunes), source)


def checked_tune(tune: Tune) -> tuple[str | None, int, list[Issue]]:
    """(X:, first line, `check_tune`): what `book_issues` needs of a tune, and all a worker
    process that checks it sends back."""
    return tune.x, tune.start_line, check_tune(tune)


def book_issues(checked: Iterable[tuple[str | None, int, list[Issue]]],
                source: str | None = None) -> Iterator[Issue]:
    """Each tune's issues from `checked_tune`, in book order, with the X: numbers repeated
    across tunes; 'no-tunes' after a book without any."""
    seen: dict[str | None, int] = {}
    for x, line, issues in checked:
        yield from issues
        if x is not None and x in seen:
            yield Issue("duplicate-x", "error", f"X:{x} is used again (first at line "
                        f"{seen[x]})", x, line, 1, source)
        seen.setdefault(x, line)
    if not seen:
        yield Issue("no-tunes", "error", CODES["no-tunes"], None, 1, 1, source)
