"""Written bars -> the performance: repeats, endings and parts played out, ties joined.

http://abcnotation.com/wiki/abc:standard:v2.1#repeat_bar_symbols — an `:|` without `|:`
repeats from the start of the tune or the previous `:|`, as abc2midi plays it (the standard
also suggests the last double bar; abc2midi, the reference, does not), or from the double bar
that closed a part's endings (`:|2 ... |]`), where a new part begins.
http://abcnotation.com/wiki/abc:standard:v2.1#variant_endings — an ending `[n` is played on
pass n; the number of passes is the highest ending number (2 when there are none).
http://abcnotation.com/wiki/abc:standard:v2.1#pparts — a header `P:AABB` plays the body's
`P:` parts in that order.
"""

import re

from abcgen.notation.chords import parse_chord_symbol
from abcgen.notation.model import Bar, ChordSymbolEvent, NoteEvent, Timeline, Tune
from abcgen.notation.score import (TICKS, WHOLE_NOTES, FractionMemo, WrittenBar, content_key,
                                   score_tune)

_PART_TOKEN = re.compile(r"\(|\)\d*|[A-Za-z]\d*")


def _ending_end(bars: list[WrittenBar], start: int) -> int:
    """Index after the variant ending that begins at bars[start]."""
    index = start
    while index < len(bars):
        bar = bars[index]
        if index > start and bar.ending:
            return index
        if bar.close_repeat or bar.section_end or (index > start and bar.open_repeat):
            return index + 1
        index += 1
    return index


def _passes(bars: list[WrittenBar], start: int, close: int) -> int:
    """How many times the section opened at bars[start] and closed at bars[close] is played:
    the highest number of the endings that follow it (`[1,3 ... :|[2 ... :|[4`), or 2."""
    highest = 0
    for index in range(start, len(bars)):
        bar = bars[index]
        if index > start and bar.open_repeat and not bar.ending:
            break
        previous = bars[index - 1]
        if index > close and not bar.ending and (previous.close_repeat or previous.section_end):
            break
        if bar.ending:
            highest = max(highest, max(bar.ending))
    return max(2, highest)


def expand_repeats(bars: list[WrittenBar]) -> list[tuple[WrittenBar, int]]:
    """The performed order of written bars, each with its repeat pass (1, 2, ...)."""
    performed: list[tuple[WrittenBar, int]] = []
    start, index, passage = 0, 0, 1
    guard = 20 * len(bars) + 100  # malformed endings can't loop forever
    while index < len(bars) and guard > 0:
        guard -= 1
        bar = bars[index]
        if bar.open_repeat and index != start:  # a new repeat (not the jump back to this one)
            start, passage = index, 1
        if bar.ending and passage not in bar.ending:
            index = _ending_end(bars, index)
            continue
        performed.append((bar, passage))
        if bar.close_repeat and passage < _passes(bars, start, index):
            passage += 1
            index = start
            continue
        if bar.close_repeat:
            following = bars[index + 1] if index + 1 < len(bars) else None
            # endings right after the last pass's :| belong to that pass (`A:|2 B|]`)
            keep = following is not None and bool(following.ending)
            start, passage = index + 1, passage if keep else 1
        elif bar.section_end and bar.ending:  # `[2 ... |]` ends the part: the next starts here
            start, passage = index + 1, 1
        index += 1
    return performed


def part_order(text: str) -> list[str]:
    """`AABB` -> A A B B; `A2B2` -> A A B B; `(AB)3` -> A B A B A B; dots and spaces ignored."""
    stack: list[list[str]] = [[]]
    for token in _PART_TOKEN.findall(text):
        if token == "(":
            stack.append([])
        elif token.startswith(")"):
            group = stack.pop() if len(stack) > 1 else []
            stack[-1].extend(group * min(int(token[1:] or 1), 32))
        else:
            stack[-1].extend(token[0] * min(int(token[1:] or 1), 32))
    return [part for group in stack for part in group]


def order_parts(tune: Tune, bars: list[WrittenBar]) -> list[list[WrittenBar]]:
    """Sections to play: the header P: order when the body labels its parts, else all bars."""
    order = part_order(tune.get("P") or "")
    labelled = {bar.part for bar in bars if bar.part}
    if not order or not labelled:
        return [bars]
    return [[bar for bar in bars if bar.part == part] for part in order if part in labelled]


def _join_ties(events: list[NoteEvent], tied: list[bool]) -> list[NoteEvent]:
    """Merge each tied note with the next note of the same pitch that starts where it ends.

    The events are new, so the merge may lengthen them in place."""
    result: list[NoteEvent] = []
    open_ties: dict[int, int] = {}  # pitch -> index in result of a note waiting for its tie
    for event, tie in zip(events, tied, strict=True):
        waiting = open_ties.pop(event.pitch, None)
        if waiting is not None and not event.grace:
            prior = result[waiting]
            if prior.onset + prior.duration == event.onset:
                prior.duration += event.duration
                if tie:
                    open_ties[event.pitch] = waiting
                continue
        if tie:
            open_ties[event.pitch] = len(result)
        result.append(event)
    return result


# Ticks -> quarter notes (memoised, see FractionMemo).
QUARTERS = FractionMemo(TICKS // 4)


def _perform(performed, ties: bool) -> tuple[list[NoteEvent], list[ChordSymbolEvent], list[Bar]]:
    """Events, chord symbols and bars of the performed bars; `ties`: whether any note is tied."""
    events, chords, bars = [], [], []
    onset, quarters, whole_notes = 0, QUARTERS, WHOLE_NOTES  # ticks; locals for the loops
    for index, (bar, passage) in enumerate(performed):
        expected = whole_notes[bar.expected] if bar.expected is not None else None
        bars.append(Bar(bar.number, whole_notes[onset], whole_notes[bar.duration], expected,
                        bar.line, bar.col, passage))
        events.extend([NoteEvent(note.pitch, quarters[onset + note.offset],
                                 quarters[note.duration], note.velocity, note.grace,
                                 note.decorations, index, note.line, note.col)
                       for note in bar.notes])
        for offset, text in bar.chords:
            symbol = parse_chord_symbol(text)
            if symbol is not None:
                chords.append(ChordSymbolEvent(text, quarters[onset + offset], *symbol))
        onset += bar.duration
    if ties:  # notes are placed in time order bar by bar, so `events` is sorted by onset
        events = _join_ties(events, [note.tie for bar, _ in performed for note in bar.notes])
    return events, chords, bars


def build_timeline(tune: Tune, graces: bool = True, strict: bool = True) -> Timeline:
    """What `tune` plays: note events (quarter notes, repeats expanded), chord symbols, bars.

    strict: raise the first fatal AbcError (bad M:/L:/K:, unclosed chord or grace group,
    absurd length); otherwise every problem goes to `Timeline.warnings`. The result is
    cached on the tune until its text changes: treat it as read-only."""
    text = content_key(tune)
    key = (graces, text)
    cached = tune.__dict__.get("_timeline")
    if cached is not None and cached[0] == key and (cached[1] or not strict):
        return cached[2]  # a timeline with no fatal problem serves strict calls too
    scorer, issues = score_tune(tune, strict, graces, text=text)
    performed = [pair for section in order_parts(tune, scorer.bars)
                 for pair in expand_repeats(section)]
    events, chords, bars = _perform(performed, scorer.ties.written)
    total = QUARTERS[sum(bar.duration for bar, _ in performed)]
    timeline = Timeline(events=events, chord_symbols=chords, bars=bars,
                        tempo_qpm=scorer.tempo_qpm, meter=scorer.meter, unit=scorer.unit,
                        key=scorer.key, total=total, warnings=issues)
    tune.__dict__["_timeline"] = (key, tune.__dict__["_score"][1], timeline)
    return timeline
