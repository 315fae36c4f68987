"""Written bars -> the performance: repeats, endings and parts played out, ties joined.

http://abcnotation.com/wiki/abc:standard:v2.1#repeat_bar_symbols — an `:|` without `|:`
repeats from the start of the tune or the last double bar or finished repeat (the standard's
recommendation, and abc2midi's behaviour).
http://abcnotation.com/wiki/abc:standard:v2.1#variant_endings — an ending `[n` is played on
pass n; the number of passes is the highest ending number (2 when there are none).
http://abcnotation.com/wiki/abc:standard:v2.1#pparts — a header `P:AABB` plays the body's
`P:` parts in that order.
"""

import re
from fractions import Fraction

from abcgen.notation.chords import parse_chord_symbol
from abcgen.notation.model import Bar, ChordSymbolEvent, NoteEvent, Timeline, Tune
from abcgen.notation.score import WrittenBar, score_tune

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
    """How many times the section bars[start..close] is played: its highest ending, or 2."""
    highest = max((max(b.ending) for b in bars[start:close + 1] if b.ending), default=0)
    return max(2, highest)


def expand_repeats(bars: list[WrittenBar]) -> list[tuple[WrittenBar, int]]:
    """The performed order of written bars, each with its repeat pass (1, 2, ...)."""
    performed: list[tuple[WrittenBar, int]] = []
    start, index, passage = 0, 0, 1
    guard = 20 * len(bars) + 100  # malformed endings can't loop forever
    while index < len(bars) and guard > 0:
        guard -= 1
        bar = bars[index]
        if bar.open_repeat and passage == 1:
            start = index
        if bar.ending and passage not in bar.ending:
            index = _ending_end(bars, index)
            continue
        performed.append((bar, passage))
        if bar.close_repeat and passage < _passes(bars, start, index):
            passage += 1
            index = start
            continue
        if bar.close_repeat or bar.section_end:
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
    """Merge each tied note with the next note of the same pitch that starts where it ends."""
    result: list[NoteEvent] = []
    open_ties: dict[int, int] = {}  # pitch -> index in result of a note waiting for its tie
    for event, tie in zip(events, tied):
        waiting = open_ties.pop(event.pitch, None)
        if waiting is not None and not event.grace:
            prior = result[waiting]
            if prior.onset + prior.duration == event.onset:
                result[waiting] = _extend(prior, event.duration)
                if tie:
                    open_ties[event.pitch] = waiting
                continue
        if tie:
            open_ties[event.pitch] = len(result)
        result.append(event)
    return result


def _extend(event: NoteEvent, extra: Fraction) -> NoteEvent:
    return NoteEvent(event.pitch, event.onset, event.duration + extra, event.velocity,
                     event.grace, event.decorations, event.bar, event.line, event.col)


def _perform(performed) -> tuple[list, list, list]:
    events, tied, chords, bars = [], [], [], []
    onset = Fraction(0)  # quarter notes
    for index, (bar, passage) in enumerate(performed):
        bars.append(Bar(bar.number, onset, bar.duration, bar.expected, bar.line, bar.col,
                        passage))
        for note in bar.notes:
            events.append(NoteEvent(note.pitch, onset + note.offset * 4, note.duration * 4,
                                    note.velocity, note.grace, note.decorations, index,
                                    note.line, note.col))
            tied.append(note.tie)
        for offset, text in bar.chords:
            symbol = parse_chord_symbol(text)
            if symbol is not None:
                chords.append(ChordSymbolEvent(text, onset + offset * 4, *symbol))
        onset += bar.duration * 4
    return _join_ties(events, tied), chords, bars


def build_timeline(tune: Tune, graces: bool = True, strict: bool = True) -> Timeline:
    """What `tune` plays: note events (quarter notes, repeats expanded), chord symbols, bars.

    strict: raise the first fatal AbcError (bad M:/L:/K:, unclosed chord or grace group,
    absurd length); otherwise every problem goes to `Timeline.warnings`."""
    scorer, issues = score_tune(tune, strict, graces)
    performed = [pair for section in order_parts(tune, scorer.bars)
                 for pair in expand_repeats(section)]
    events, chords, bars = _perform(performed)
    events.sort(key=lambda e: e.onset)  # stable: chord notes keep their written order
    total = sum((bar.duration for bar, _ in performed), Fraction(0)) * 4
    return Timeline(events=events, chord_symbols=chords, bars=bars, tempo_qpm=scorer.tempo_qpm,
                    meter=scorer.meter, unit=scorer.unit, key=scorer.key, total=total,
                    warnings=issues)
