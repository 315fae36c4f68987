"""Form: the parts of a tune, which are repeated, and whether it is AABB with 8-bar parts.

Read off the performed bars of the timeline (repeats and endings already expanded), so no ABC
is parsed here. A bar played on a second pass belongs to a repeated part; the part starts at
the lowest written bar of that second pass. The bars of a first pass that come before it form
an unrepeated part of their own; a run of first-pass bars that is never played again is one
unrepeated part. A part's length is its first pass's duration in bars of the meter, so a
pickup and the short last bar that completes it count as one bar, and a first ending counts
but a second ending does not (the AI Music Generation Challenge's reels: "each part has 8 bars
and is typically repeated twice"). Written-out repeats (AABB spelled in full) are not found.
"""

from dataclasses import dataclass
from fractions import Fraction
from itertools import groupby

from abcgen.notation import Bar, Timeline

PART_BARS = 8
"""The part length the AABB criterion asks for."""
MIN_PART_BARS = Fraction(1, 2)
"""A run shorter than half a bar (a pickup before the first repeat) joins the next part."""


@dataclass(frozen=True)
class Part:
    """One part of a tune: its length in bars of the meter and how often it is played."""

    bars: float
    plays: int

    @property
    def repeated(self) -> bool:
        return self.plays > 1


def _whole_notes(bars: list[Bar]) -> Fraction:
    return sum((bar.duration for bar in bars), Fraction(0))


def _runs(bars: list[Bar]) -> list[list[Bar]]:
    """Performed bars cut into runs of one pass each (a pass ends where playing jumps back)."""
    runs: list[list[Bar]] = []
    for _, group in groupby(bars, key=lambda bar: bar.repeat_pass):
        run: list[Bar] = []
        for bar in group:
            if run and bar.number <= run[-1].number:
                runs.append(run)
                run = []
            run.append(bar)
        runs.append(run)
    return runs


def _raw_parts(runs: list[list[Bar]]) -> list[tuple[list[Bar], int]]:
    """(first-pass bars, plays) for each part, in order."""
    parts: list[tuple[list[Bar], int]] = []
    for run in runs:
        if run[0].repeat_pass == 1:
            parts.append((run, 1))
            continue
        if not parts:
            continue  # a second pass with no first pass before it: nothing to attach it to
        first_pass, plays = parts.pop()
        start = min(bar.number for bar in run)
        before = [bar for bar in first_pass if bar.number < start]
        if before:
            parts.append((before, plays))
        parts.append(([bar for bar in first_pass if bar.number >= start], plays + 1))
    return parts


def tune_parts(timeline: Timeline) -> list[Part]:
    """The parts of a performed tune, in order (empty in free meter or without bars)."""
    bar_length = timeline.meter.bar
    if bar_length is None or not timeline.bars:
        return []
    parts, carried = [], Fraction(0)
    for first_pass, plays in _raw_parts(_runs(timeline.bars)):
        length = (_whole_notes(first_pass) + carried) / bar_length
        if length < MIN_PART_BARS:
            carried += _whole_notes(first_pass)  # a pickup: counted with the next part
            continue
        parts.append(Part(float(length), plays))
        carried = Fraction(0)
    return parts


def is_aabb(parts: list[Part], part_bars: int = PART_BARS) -> bool:
    """Two parts, each played twice and `part_bars` bars long (to the nearest bar)."""
    return len(parts) == 2 and all(p.plays == 2 and round(p.bars) == part_bars for p in parts)
