"""Tempo as a musician says it: beats per minute of the rhythm's beat (a jig's dotted quarter,
a reel's quarter), written into the tune as its Q: field, so the page, the cursor drawn by
abcjs and the songbook all play the tune at the one speed the page chose. Here, below the
web app, because the songbook's page writes the same Q: for its practice player's cursor.

http://abcnotation.com/wiki/abc:standard:v2.1#qtempo
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

from abcgen.notation import AbcError, Field, Tune, fields, parse_meter

# The meter a rhythm is usually written in, for its default tempo in its own beat: notation's
# table, and an air counted in 3/4 (airs come in any meter; repair infers none from R:air).
RHYTHM_METERS = dict(fields.RHYTHM_METERS, air="3/4")
BEAT_NAMES = {Fraction(1, 4): "quarter notes", Fraction(3, 8): "dotted quarter notes",
              Fraction(1, 2): "half notes", Fraction(1, 8): "eighth notes",
              Fraction(3, 4): "dotted half notes", Fraction(3, 16): "dotted eighth notes"}


def beat_name(value: Fraction) -> str:
    return BEAT_NAMES.get(value, f"{value} notes")


def rhythm_defaults() -> dict[str, dict]:
    """Each rhythm's usual tempo in beats per minute of its beat, as the form offers it."""
    from abcgen.render.midi import rhythm_tempo

    defaults = {}
    for rhythm, meter_text in RHYTHM_METERS.items():
        unit = parse_meter(meter_text).beat
        defaults[rhythm] = {"bpm": round(rhythm_tempo(rhythm) / float(unit * 4)),
                            "beat": beat_name(unit), "meter": meter_text}
    return defaults


def with_tempo(tune: Tune, bpm: float) -> Tune:
    """`tune` with its Q: set to `bpm` beats of its meter's beat a minute (placed before K:,
    replacing any Q: it had); the tune unchanged when its meter can't be read."""
    meter = tune.header_field("M")
    try:
        unit = parse_meter(meter.value if meter else "none").beat
    except AbcError:
        return tune
    q = Field("Q", f"{unit.numerator}/{unit.denominator}={bpm:g}")
    header = [f for f in tune.header if f.name != "Q"]
    at = next((i for i, f in enumerate(header) if f.name == "K"), len(header))
    return replace(tune, header=header[:at] + [q] + header[at:])


def with_played_tempo(tune: Tune) -> Tune:
    """`tune` with the tempo the render stage plays it at written as Q: (its own Q:, else
    its rhythm's usual), so abcjs's cursor keeps time with the audio."""
    from abcgen.render.midi import rhythm_tempo

    if tune.header_field("Q") is not None:
        return tune
    rhythm = tune.header_field("R")
    meter = tune.header_field("M")
    try:
        unit = parse_meter(meter.value if meter else "none").beat
    except AbcError:
        return tune
    qpm = rhythm_tempo(rhythm.value if rhythm else None)
    return with_tempo(tune, round(qpm / float(unit * 4), 3))
