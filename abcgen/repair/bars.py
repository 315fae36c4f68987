"""Bar-length repairs: re-place bar lines when neighbouring bars add up, else mend one bar by
the smallest change (lengthen or shorten its last note, pad with a rest, or cut what overflows).

Times are the scorer's integer ticks. Pickups and short final bars that add up are never
touched: only the bars `check` flags are.
"""

from fractions import Fraction

from abcgen.notation import Issue, Tune
from abcgen.notation.edit import (MUSIC_TOKEN_KINDS, PLAIN_BAR, BodyEdit, Group, Score,
                                  apply_body_edits, format_length, is_plain_bar, length_span,
                                  rebuild, rest_text, score_groups)
from abcgen.repair.body import insert_after, insert_before, replace_token
from abcgen.repair.result import Edit

# A note's new length must be a whole number of these fractions of the unit (1/16 of L:) to
# count as a musical change; otherwise the bar is padded or cut instead.
NICE_DENOMINATORS = frozenset({1, 2, 4, 8, 16})
# Neighbourhoods of a flagged bar i tried for re-placing bar lines, as offsets from i.
WINDOWS = ((0, 1), (-1, 0), (-1, 1), (0, 0))


def mend_bars(tune: Tune, issues: list[Issue]) -> tuple[Tune, list[Edit]]:
    """Fix each flagged bar once (left to right; a bar a fix touched waits for the next round)."""
    score = score_groups(tune)
    flagged = [i for i, bar in enumerate(score.bars)
               if any((bar.line, bar.col) == (issue.line, issue.col) for issue in issues)]
    body_edits, edits, touched = [], [], set()
    for index in flagged:
        if index in touched:
            continue
        fix = _drop_overlay(score, index) or _replace_bar_lines(score, index, touched) \
            or _mend_bar(score, index, touched)
        if fix is not None:
            bars, new_body_edits, message = fix
            touched.update(bars)
            body_edits.extend(new_body_edits)
            bar = score.bars[index]
            edits.append(Edit("bar-length", bar.line, bar.col, message))
    return rebuild(tune, body=apply_body_edits(tune.body, body_edits)), edits


def _drop_overlay(score: Score, index: int):
    """A flagged bar holding a voice overlay `&` (which only the first voice's notes time)
    loses the overlay, so that its own notes can be mended."""
    start = _bar_start(score, index)
    stop = score.bar_tokens[index] if score.bar_tokens[index] is not None else len(score.tokens)
    overlay = next((i for i in range(start, stop) if score.tokens[i][0] == "overlay"
                    and score.tokens[i][3].group(0) == "&"), None)
    if overlay is None:
        return None
    edits = [replace_token(score.tokens[i], "") for i in range(overlay, stop)
             if score.tokens[i][0] in MUSIC_TOKEN_KINDS]
    return [index], edits, f"removed the voice overlay from bar {index + 1} (the bar is " \
        "timed by its first voice)"


# -- re-placing bar lines --------------------------------------------------------------------

def _replace_bar_lines(score: Score, index: int, touched: set[int]):
    """Move or add plain bar lines inside a window of bars whose total is whole bars, when
    every new bar line falls between two note groups."""
    for low, high in WINDOWS:
        window = list(range(index + low, index + high + 1))
        if window[0] < 0 or window[-1] >= len(score.bars) or touched & set(window):
            continue
        if not _joinable(score, window):
            continue
        plan = _new_bar_lines(score, window)
        if plan is not None:
            return window, plan, f"re-placed the bar lines of bars {window[0] + 1}-" \
                f"{window[-1] + 1} (their notes add up to whole bars)"
    return None


def _joinable(score: Score, window: list[int]) -> bool:
    """Bars with one meter, separated only by plain `|` bar lines."""
    bars = [score.bars[i] for i in window]
    if bars[0].expected is None or any(b.expected != bars[0].expected for b in bars):
        return False
    for i in window[:-1]:
        token = score.bar_tokens[i]
        if token is None or not is_plain_bar(score.tokens[token]):
            return False
        if score.bars[i + 1].ending or score.bars[i + 1].open_repeat:
            return False
    return True


def _new_bar_lines(score: Score, window: list[int]) -> list[BodyEdit] | None:
    """Edits deleting the window's inner bar lines and writing `|` at every whole bar, or
    None when the total isn't whole bars or a bar would split a group."""
    expected = score.bars[window[0]].expected
    groups, elapsed, old = [], 0, {}
    for i in window:
        for group in score.bar_groups(i):
            groups.append((elapsed + group.end, group))
        elapsed += score.bars[i].duration
        if i != window[-1]:
            old[elapsed] = score.bar_tokens[i]
    if elapsed == 0 or elapsed % expected:
        return None
    ends = {end: group for end, group in groups if not (group.tuplet_open or group.broken_after)}
    wanted = range(expected, elapsed, expected)
    if any(at not in ends for at in wanted):
        return None
    edits = [replace_token(score.tokens[token], "") for at, token in old.items()
             if at not in wanted]
    edits += [insert_after(score.tokens[ends[at].token], PLAIN_BAR) for at in wanted
              if at not in old]
    return edits


# -- mending one bar -----------------------------------------------------------------------

def _mend_bar(score: Score, index: int, touched: set[int]):
    """A short bar is mended by `_mend_short`; an overfull one by shortening its last note,
    else by cutting the overflow."""
    bar, groups = score.bars[index], score.bar_groups(index)
    if not groups or bar.expected is None:
        return None
    gap = bar.expected - bar.duration
    if gap > 0:
        return _mend_short(score, index, groups, gap, touched)
    last = groups[-1]
    if _can_relength(last, last.duration + gap):
        return _relength(score, index, last, last.duration + gap)
    return _cut(score, index, groups)


def _mend_short(score: Score, index: int, groups: list[Group], gap: int, touched: set[int]):
    """A pickup into a section makes the bar before it shorter (so the two add up, as a
    tune's first pickup and last bar do), else gets a rest before it; a bar that ends a
    section is filled up to what the tune's pickup leaves; any other short bar gets its last
    note lengthened (at most doubled), else a rest after it."""
    if _starts_section(score, index):
        fix = _shorten_before_pickup(score, index, touched)
        return fix or ([index], [_pad_front(score, index, gap, groups[0])],
                       f"put a rest before the pickup in bar {index + 1}")
    pickup = _tune_pickup(score, index)
    if _ends_section(score, index) and 0 < pickup < gap:
        gap -= pickup
    last = groups[-1]
    if gap <= last.duration and _can_relength(last, last.duration + gap):
        return _relength(score, index, last, last.duration + gap)
    if last.tuplet_open:
        return _cut(score, index, groups)
    return [index], [_pad(score, index, gap, last)], f"padded bar {index + 1} with a rest"


def _starts_section(score: Score, index: int) -> bool:
    """The bar follows a repeat, a double bar or a part change, or opens one."""
    if index == 0 or index == len(score.bars) - 1:
        return False
    bar, previous = score.bars[index], score.bars[index - 1]
    return previous.close_repeat or previous.section_end or bar.open_repeat \
        or bool(bar.ending) or bar.part != previous.part


def _ends_section(score: Score, index: int) -> bool:
    bar = score.bars[index]
    following = score.bars[index + 1] if index + 1 < len(score.bars) else None
    return following is None or bar.close_repeat or bar.section_end \
        or following.open_repeat or bool(following.ending)


def _tune_pickup(score: Score, index: int) -> int:
    """Ticks of the tune's first bar when it is a pickup (shorter than the bar at `index`)."""
    first, bar = score.bars[0], score.bars[index]
    return first.duration if index > 0 and first.duration < (bar.expected or 0) else 0


def _shorten_before_pickup(score: Score, index: int, touched: set[int]):
    """Shorten the last note of the bar before a pickup so that the two make one bar."""
    previous = index - 1
    groups = score.bar_groups(previous)
    if previous in touched or not groups or \
            score.bars[previous].expected != score.bars[index].expected:
        return None
    excess = score.bars[previous].duration + score.bars[index].duration - \
        score.bars[index].expected
    last = groups[-1]
    if excess <= 0 or not _can_relength(last, last.duration - excess):
        return None
    bars, edits, message = _relength(score, previous, last, last.duration - excess)
    return bars + [index], edits, message + f" to make room for the pickup in bar {index + 1}"


def _can_relength(group: Group, ticks: int) -> bool:
    """A lone note whose new length is a whole number of 1/16 units."""
    units = Fraction(ticks, group.unit)
    return group.simple and group.kind == "note" and units > 0 \
        and units.denominator in NICE_DENOMINATORS


def _relength(score: Score, index: int, group: Group, ticks: int):
    token = score.tokens[group.token]
    start, end = length_span(token)
    text = format_length(Fraction(ticks, group.unit))
    verb = "lengthened" if ticks > group.duration else "shortened"
    return [index], [BodyEdit(token[1], start, end, text)], \
        f"{verb} the last note of bar {index + 1} to '{token[3]['letter']}{text}'"


def _pad(score: Score, index: int, ticks: int, last: Group) -> BodyEdit:
    """A rest of `ticks` before the bar line that closes bar `index` (or after its last note)."""
    rest = rest_text(ticks, last.unit)
    closing = score.bar_tokens[index]
    if closing is not None:
        return insert_before(score.tokens[closing], rest)
    return insert_after(score.tokens[last.token], rest)


def _pad_front(score: Score, index: int, ticks: int, first: Group) -> BodyEdit:
    """A rest of `ticks` before the first note of bar `index` (its chord symbols and marks too)."""
    start = _bar_start(score, index)
    music = next(i for i in range(start, first.token + 1)
                 if score.tokens[i][0] in MUSIC_TOKEN_KINDS)
    return insert_before(score.tokens[music], rest_text(ticks, first.unit))


def _cut(score: Score, index: int, groups: list[Group]):
    """Delete the groups from the first one that overflows the bar or leaves a tuplet open
    (backing up to the start of a tuplet or broken-rhythm pair), then pad to a whole bar."""
    expected = score.bars[index].expected
    cut = next((k for k, g in enumerate(groups) if g.end > expected or g.tuplet_open),
               len(groups))
    while cut > 0 and cut < len(groups) and (groups[cut].tuplet or groups[cut - 1].broken_after):
        cut -= 1
    first = groups[cut - 1].token + 1 if cut > 0 else _bar_start(score, index)
    stop = score.bar_tokens[index] if score.bar_tokens[index] is not None else groups[-1].token + 1
    edits = [replace_token(score.tokens[i], "") for i in range(first, stop)
             if score.tokens[i][0] in MUSIC_TOKEN_KINDS]
    kept = groups[cut - 1].end if cut > 0 else 0
    if kept < expected:
        edits.append(_pad(score, index, expected - kept, groups[-1]))
    removed = len(groups) - cut
    return [index], edits, f"cut {removed} note(s) that overflow bar {index + 1}" + \
        (" and padded it with a rest" if kept < expected else "")


def _bar_start(score: Score, index: int) -> int:
    previous = score.bar_tokens[index - 1] if index > 0 else None
    return previous + 1 if previous is not None else 0
