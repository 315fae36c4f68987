"""Per-tune musical features read off a notation timeline (MGEval's pitch and rhythm features).

Yang & Lerch 2020, "On the evaluation of generative models in music" (the MGEval toolbox,
https://github.com/RichardYang40148/mgeval): pitch-class histogram, pitch range, interval and
note-length histograms. Here they come from abcgen's own timeline (repeats expanded, grace
notes left out) instead of from MIDI, so ABC never has to be rendered first.
"""

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from abcgen.notation import AbcError, NoteEvent, Timeline, Tune, build_timeline

MAX_INTERVAL = 12
"""Melodic intervals are clipped to +-12 semitones: 25 interval classes, -12..+12."""
INTERVAL_CLASSES = tuple(range(-MAX_INTERVAL, MAX_INTERVAL + 1))
# MGEval's 12 note-length classes (full, half, quarter, 8th, 16th, their dotted forms and the
# triplets), here in quarter notes; a length further than NOTE_LENGTH_TOLERANCE from all of
# them falls into the last class, "other".
NOTE_LENGTH_CLASSES = (
    ("16th", Fraction(1, 4)), ("8th triplet", Fraction(1, 3)), ("dotted 16th", Fraction(3, 8)),
    ("8th", Fraction(1, 2)), ("quarter triplet", Fraction(2, 3)), ("dotted 8th", Fraction(3, 4)),
    ("quarter", Fraction(1)), ("dotted quarter", Fraction(3, 2)), ("half", Fraction(2)),
    ("dotted half", Fraction(3)), ("whole", Fraction(4)),
)
NOTE_LENGTH_NAMES = tuple(name for name, _ in NOTE_LENGTH_CLASSES) + ("other",)
NOTE_LENGTH_TOLERANCE = 0.02
"""Quarter notes; absorbs the rounding of swung or tied lengths."""
PITCH_CLASS_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
HISTOGRAM_FEATURES = ("pitch_class", "interval", "note_length")
SCALAR_FEATURES = ("pitch_range", "notes_per_bar")
FEATURE_SHAPES = {"pitch_class": (12,), "interval": (len(INTERVAL_CLASSES),),
                  "note_length": (len(NOTE_LENGTH_NAMES),), "pitch_range": (),
                  "notes_per_bar": ()}
"""One tune's shape of each feature (a set stacks them: (tunes, *shape))."""


@dataclass
class TuneFeatures:
    """One tune's features. Histograms are normalised to sum 1 (all zeros when empty)."""

    pitch_class: np.ndarray
    """(12,) share of notes on each pitch class, C first."""
    interval: np.ndarray
    """(25,) share of melodic steps of -12..+12 semitones between successive melody notes."""
    note_length: np.ndarray
    """(12,) share of notes in each of NOTE_LENGTH_NAMES."""
    pitch_range: float
    """Highest minus lowest melody pitch, in semitones."""
    notes_per_bar: float
    """Melody notes per performed bar."""


def melody(timeline: Timeline) -> list[NoteEvent]:
    """The tune's melody: non-grace notes in time order, the top note of each chord."""
    top: dict[Fraction, NoteEvent] = {}
    for event in timeline.events:
        if not event.grace and (event.onset not in top or event.pitch > top[event.onset].pitch):
            top[event.onset] = event
    return [top[onset] for onset in sorted(top)]


def normalised(counts: np.ndarray) -> np.ndarray:
    """Counts scaled to sum 1; an all-zero vector stays zero."""
    total = counts.sum()
    return counts / total if total > 0 else counts.astype(float)


def note_length_class(duration: Fraction) -> int:
    """Index into NOTE_LENGTH_NAMES of a duration in quarter notes."""
    for index, (_, length) in enumerate(NOTE_LENGTH_CLASSES):
        if abs(float(duration - length)) <= NOTE_LENGTH_TOLERANCE:
            return index
    return len(NOTE_LENGTH_CLASSES)


def features_of(timeline: Timeline) -> TuneFeatures | None:
    """The features of a performed tune, or None when it has no melody notes."""
    notes = melody(timeline)
    if not notes:
        return None
    pitches = np.array([note.pitch for note in notes])
    steps = np.clip(np.diff(pitches), -MAX_INTERVAL, MAX_INTERVAL) + MAX_INTERVAL
    lengths = [note_length_class(note.duration) for note in notes]
    return TuneFeatures(
        pitch_class=normalised(np.bincount(pitches % 12, minlength=12)),
        interval=normalised(np.bincount(steps, minlength=len(INTERVAL_CLASSES))),
        note_length=normalised(np.bincount(lengths, minlength=len(NOTE_LENGTH_NAMES))),
        pitch_range=float(pitches.max() - pitches.min()),
        notes_per_bar=len(notes) / max(len(timeline.bars), 1),
    )


def timeline_or_none(tune: Tune) -> Timeline | None:
    """The tune's timeline, or None when it cannot be performed (a fatal ABC error)."""
    try:
        return build_timeline(tune, graces=False)
    except AbcError:
        return None


def feature_table(tunes: list[Tune]) -> dict[str, np.ndarray]:
    """Every feature over a set of tunes, one row per playable tune: histogram features are
    (n, classes) arrays, scalar features (n,) arrays."""
    timelines = [timeline for timeline in map(timeline_or_none, tunes) if timeline is not None]
    rows = [row for row in map(features_of, timelines) if row is not None]
    return {name: np.array([getattr(row, name) for row in rows]).reshape((len(rows), *shape))
            for name, shape in FEATURE_SHAPES.items()}
