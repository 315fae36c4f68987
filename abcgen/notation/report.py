"""What abcgen hears and what it finds, as plain dicts for `inspect --json` and `check --json`."""

from fractions import Fraction
from pathlib import Path

from abcgen.notation.model import Issue, Timeline, Tune
from abcgen.notation.parse import read_tunes
from abcgen.notation.text import read_abc
from abcgen.notation.timeline import build_timeline
from abcgen.notation.validate import check_text, check_tune


def _number(value: Fraction) -> float | int:
    """Quarter notes as JSON numbers: whole numbers stay ints, the rest 6 decimals."""
    return int(value) if value.denominator == 1 else round(float(value), 6)


def describe_timeline(timeline: Timeline) -> dict:
    return {
        "meter": timeline.meter.text,
        "unit": str(timeline.unit),
        "key": timeline.key.name,
        "tempo_qpm": timeline.tempo_qpm,
        "length_quarters": _number(timeline.total),
        "bars": [{"number": bar.number + 1, "onset": _number(bar.onset),
                  "duration": str(bar.duration),
                  "expected": str(bar.expected) if bar.expected is not None else None,
                  "pass": bar.repeat_pass} for bar in timeline.bars],
        "events": [{"pitch": e.pitch, "onset": _number(e.onset), "duration": _number(e.duration),
                    "grace": e.grace, "velocity": e.velocity, "decorations": list(e.decorations),
                    "bar": e.bar} for e in timeline.events],
        "chord_symbols": [{"name": c.name, "onset": _number(c.onset)}
                          for c in timeline.chord_symbols],
    }


def describe_tune(tune: Tune) -> dict:
    """X:, title, meter, unit, key, tempo, bars, events and every problem `check` finds."""
    timeline = build_timeline(tune, strict=False)
    issues = check_tune(tune)
    return {"x": tune.x, "title": tune.title, **describe_timeline(timeline),
            "errors": [i.to_dict() for i in issues if i.severity == "error"],
            "warnings": [i.to_dict() for i in issues if i.severity == "warning"]}


def describe_file(path: str | Path) -> list[dict]:
    """`describe_tune` for every tune of a file. Raises UnreadableError."""
    return [describe_tune(tune) for tune in read_tunes(read_abc(path), source=str(path))]


def check_file(path: str | Path) -> list[Issue]:
    """Every problem in every tune of a file. Raises UnreadableError."""
    return check_text(read_abc(path), source=str(path))
