"""What abcgen hears and what it finds, as plain dicts for `inspect --json` and `check --json`.

`describe_tune` is compact: what every note would repeat is left out (see its docstring for
the fields), so `inspect --json` of a book is about the size of its MIDI, not ten times it.
"""

import json
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

from abcgen.notation.model import Issue, Timeline, Tune
from abcgen.notation.parse import read_errors, stream_tunes
from abcgen.notation.timeline import build_timeline
from abcgen.notation.validate import check_tune, check_tunes

DEFAULT_VELOCITY = 90  # !mf!, left out of an event that has it


def _number(value: Fraction) -> float | int:
    """Quarter notes as JSON numbers: whole numbers stay ints, the rest 6 decimals."""
    numerator, denominator = value.as_integer_ratio()  # one call, not two properties
    if denominator == 1:
        return numerator
    key = (numerator, denominator)  # a tuple hashes faster than a Fraction
    number = _NUMBERS.get(key)
    if number is None:
        if len(_NUMBERS) > MAX_CACHED_NUMBERS:
            _NUMBERS.clear()
        number = _NUMBERS[key] = round(numerator / denominator, 6)
    return number


# Onsets and lengths repeat from note to note and tune to tune: each is rounded once.
_NUMBERS: dict[tuple[int, int], float] = {}
MAX_CACHED_NUMBERS = 100_000


def _event(e) -> dict:
    event = {"pitch": e.pitch, "onset": _number(e.onset), "duration": _number(e.duration),
             "bar": e.bar}
    if e.velocity != DEFAULT_VELOCITY:
        event["velocity"] = e.velocity
    if e.grace:
        event["grace"] = True
    if e.decorations:
        event["decorations"] = list(e.decorations)
    return event


def _bar(bar) -> dict:
    out = {"number": bar.number + 1, "onset": _number(bar.onset), "duration": str(bar.duration)}
    if bar.expected != bar.duration:
        out["expected"] = str(bar.expected) if bar.expected is not None else None
    if bar.repeat_pass != 1:
        out["pass"] = bar.repeat_pass
    return out


def describe_timeline(timeline: Timeline) -> dict:
    return {
        "meter": timeline.meter.text,
        "unit": str(timeline.unit),
        "key": timeline.key.name,
        "tempo_qpm": timeline.tempo_qpm,
        "length_quarters": _number(timeline.total),
        "bars": [_bar(bar) for bar in timeline.bars],
        "events": [_event(e) for e in timeline.events],
        "chord_symbols": [{"name": c.name, "onset": _number(c.onset)}
                          for c in timeline.chord_symbols],
    }


def describe_tune(tune: Tune) -> dict:
    """X:, first line, title, meter, unit, key, tempo, bars, events and every problem `check`
    finds. Onsets and durations of events are in quarter notes, those of bars in whole notes.

    - a bar: number (from 1, repeats counted again), onset, duration; `expected` (the meter's
      bar, null in free meter) only when the bar is not that long; `pass` only from the
      second time through a repeat;
    - an event: pitch (MIDI), onset, duration, bar (index of the written bar, from 0);
      `velocity` only when not 90 (!mf!), `grace: true` and `decorations` only when so.
    A tune that can't be read (a control character in its music, too long) has x, line,
    title, errors and warnings only."""
    head = {"x": tune.x, "line": tune.start_line, "title": tune.title}
    issues = check_tune(tune)
    problems = {"errors": [i.to_dict() for i in issues if i.severity == "error"],
                "warnings": [i.to_dict() for i in issues if i.severity == "warning"]}
    if read_errors(tune):
        return {**head, **problems}
    return {**head, **describe_timeline(build_timeline(tune, strict=False)), **problems}


def describe_json(tune: Tune) -> str:
    """`describe_tune` as one line of compact JSON (what `inspect --json` prints per tune)."""
    return json.dumps(describe_tune(tune), ensure_ascii=False, separators=(",", ":"))


def describe_file(path: str | Path) -> Iterator[dict]:
    """`describe_tune` of each tune of a file as it is read (memory holds one tune). Raises
    UnreadableError (missing, not ABC)."""
    return (describe_tune(tune) for tune in stream_tunes(path))


def check_file(path: str | Path) -> Iterator[Issue]:
    """Every problem in every tune of a file, tune by tune as it is read. Raises
    UnreadableError (missing, not ABC)."""
    return check_tunes(stream_tunes(path), str(path))
