"""Musical measures of a set of tunes (issue 16): what a session player notices first.

Per tune, read off the notation timeline (repeats and endings expanded, grace notes left out):
- does it end on the tonic: the last melody note's pitch class is the tonic of the
  timeline's key (the key in force at the end, K: transpose included), i.e. the mode's final;
  a tune with no melody or a key without a tonic (K:none) is not judged;
- its played length in bars of the meter (not in free meter) and in quarter notes;
- its parts (structure.tune_parts): two or more parts, or any repeated part;
- its title: real words (abcgen.titles' rule, evaluate.titles' vocabulary), identical to a
  training title (case and spacing aside).

Per set: shares, the 25/50/75 % quartiles of the lengths and the overlap of each length
distribution with the reference set's (compare.py's Gaussian KDE on a shared grid, 1 when
the same), plus the share of copies of training tunes from novelty.py.
"""

from dataclasses import dataclass

import numpy as np

from abcgen.evaluate.compare import density_grid, kde_on_grid, overlap_area
from abcgen.evaluate.features import (INTERVAL_CLASSES, NOTE_LENGTH_NAMES, PITCH_CLASS_NAMES,
                                      TuneFeatures, features_of, melody, timeline_or_none)
from abcgen.evaluate.structure import tune_parts
from abcgen.evaluate.titles import is_real_word_title
from abcgen.notation import Key, Timeline, Tune
from abcgen.notation.chords import pitch_class

QUARTILES = (25, 50, 75)
LENGTHS = ("bars", "quarters")
"""The two length measures: bars of the meter, quarter notes."""
FEATURE_WIDTH = len(PITCH_CLASS_NAMES) + len(INTERVAL_CLASSES) + len(NOTE_LENGTH_NAMES) + 7
"""Length of a tune's vector in `feature_rows`."""


@dataclass
class TuneMeasures:
    """One performable tune's musical measures."""

    ends_on_tonic: bool | None
    """None: no melody note, or a key without a tonic."""
    bars: float | None
    """Played length in bars of the meter; None in free meter."""
    quarters: float
    """Played length in quarter notes."""
    parts: int
    repeated: bool
    """Some part is played more than once."""
    features: TuneFeatures | None
    """The MGEval features (None without melody notes)."""

    @property
    def parts_or_repeats(self) -> bool:
        """Two or more parts, or any repeat: more than a single strain played once."""
        return self.parts >= 2 or self.repeated


def tonic_pitch_class(key: Key) -> int | None:
    """The sounding pitch class of the key's tonic (K: transpose applied), None without one."""
    if not key.tonic:
        return None
    try:
        return (pitch_class(key.tonic) + key.transpose) % 12
    except (KeyError, IndexError):
        return None


def ends_on_tonic(timeline: Timeline) -> bool | None:
    """Whether the last melody note is on the key's tonic (None: nothing to judge)."""
    notes = melody(timeline)
    tonic = tonic_pitch_class(timeline.key)
    if not notes or tonic is None:
        return None
    return notes[-1].pitch % 12 == tonic


def played_length(timeline: Timeline) -> tuple[float | None, float]:
    """(bars of the meter, quarter notes) the tune plays, repeats expanded."""
    whole_notes = sum((bar.duration for bar in timeline.bars), 0)
    bar = timeline.meter.bar
    bars = float(whole_notes / bar) if bar and not timeline.meter.free else None
    return bars, float(whole_notes * 4)


def tune_measures(tune: Tune) -> TuneMeasures | None:
    """The measures of one tune, or None when it cannot be performed."""
    timeline = timeline_or_none(tune)
    if timeline is None:
        return None
    bars, quarters = played_length(timeline)
    parts = tune_parts(timeline)
    return TuneMeasures(ends_on_tonic(timeline), bars, quarters, len(parts),
                        any(p.repeated for p in parts), features_of(timeline))


def title_key(title: str) -> str:
    """A title as compared with training titles: lower case, spaces collapsed."""
    return " ".join(title.casefold().split())


def quartiles(values: list[float]) -> dict[str, float | None]:
    """{'p25', 'p50', 'p75'} of the values (None for an empty set)."""
    if not values:
        return {f"p{q}": None for q in QUARTILES}
    points = np.percentile(np.asarray(values, float), QUARTILES)
    return {f"p{q}": float(v) for q, v in zip(QUARTILES, points, strict=True)}


def distribution_overlap(values: list[float], reference: list[float]) -> float | None:
    """Overlap area of the two value distributions (Gaussian KDEs on one grid, compare.py):
    1.0 for the same values, near 0 for disjoint ones; None if a side has no value."""
    if not values or not reference:
        return None
    a, b = np.asarray(values, float), np.asarray(reference, float)
    grid = density_grid(a, b)
    return overlap_area(kde_on_grid(a, grid), kde_on_grid(b, grid))


def _share(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


@dataclass
class MusicalSet:
    """A set's per-tune measures, and its titles."""

    tunes: int
    measures: list[TuneMeasures]
    titles: list[str]

    def lengths(self, unit: str) -> list[float]:
        return [v for m in self.measures if (v := getattr(m, unit)) is not None]


def measure_set(tunes: list[Tune]) -> MusicalSet:
    """Measure every tune of a set (unperformable tunes count in `tunes` only)."""
    measures = [m for m in map(tune_measures, tunes) if m is not None]
    return MusicalSet(len(tunes), measures, [tune.title for tune in tunes])


def musical_summary(candidate: MusicalSet, reference: MusicalSet,
                    training_titles: set[str], words: frozenset[str] | set[str],
                    copies: float | None = None) -> dict:
    """A set's figures, lengths compared with the reference set's (metrics.json's row).

    `training_titles`: title_key of every training title; `words`: the title vocabulary
    (titles.title_vocabulary); `copies`: the set's share of copies (novelty.py)."""
    judged = [m.ends_on_tonic for m in candidate.measures if m.ends_on_tonic is not None]
    titled = [t for t in candidate.titles if t.strip()]
    row = {
        "tunes": candidate.tunes,
        "measured": len(candidate.measures),
        "ends_on_tonic": _share(judged),
        "ends_judged": len(judged),
        "parts_or_repeats": _share([m.parts_or_repeats for m in candidate.measures]),
        "two_or_more_parts": _share([m.parts >= 2 for m in candidate.measures]),
        "with_repeats": _share([m.repeated for m in candidate.measures]),
        "real_word_titles": (sum(is_real_word_title(t, words) for t in candidate.titles)
                             / candidate.tunes if candidate.tunes else None),
        "titles_identical_to_training": (sum(title_key(t) in training_titles for t in titled)
                                         / candidate.tunes if candidate.tunes else None),
        "copies": copies,
    }
    for unit in LENGTHS:
        values, ref = candidate.lengths(unit), reference.lengths(unit)
        row[f"length_{unit}"] = {**quartiles(values), "mean": float(np.mean(values))
                                 if values else None,
                                 "overlap_vs_test": distribution_overlap(values, ref)}
    return row


def feature_rows(measured: MusicalSet) -> np.ndarray:
    """One vector per tune with melody notes, for the two-sample classifier: the MGEval
    histograms (pitch class, interval, note length), pitch range, notes per bar, played
    length (bars, quarter notes), tonic ending, number of parts, any repeat."""
    rows = []
    for m in measured.measures:
        f = m.features
        if f is None:
            continue
        rows.append(np.concatenate([
            f.pitch_class, f.interval, f.note_length,
            [f.pitch_range, f.notes_per_bar, m.bars if m.bars is not None else 0.0,
             m.quarters, float(bool(m.ends_on_tonic)), float(m.parts), float(m.repeated)]]))
    return np.array(rows, dtype=float).reshape(len(rows), FEATURE_WIDTH)
