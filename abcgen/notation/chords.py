"""Chord symbols ("guitar chords"): `"Am7"`, `"F#m"`, `"G/B"`, `"D7(Em)"` -> root, quality, bass.

http://abcnotation.com/wiki/abc:standard:v2.1#chord_symbols — `<note><accidental><type></bass>`;
an alternative in parentheses is for printing only.
"""

import re

_CHORD = re.compile(r"^(?P<root>[A-G])(?P<acc>[#b]?)(?P<kind>[^/(]*)(?:/(?P<bass>[A-Ga-g][#b]?))?")
NOTE_PITCH_CLASSES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
# Chord type spellings -> quality; the intervals of each quality (semitones above the root).
CHORD_KINDS = {"": "maj", "maj": "maj", "M": "maj", "m": "min", "min": "min", "mi": "min",
               "-": "min", "7": "dom7", "maj7": "maj7", "M7": "maj7", "m7": "min7", "min7": "min7",
               "dim": "dim", "o": "dim", "dim7": "dim7", "aug": "aug", "+": "aug", "sus": "sus4",
               "sus4": "sus4", "sus2": "sus2", "6": "maj6", "m6": "min6", "9": "dom7",
               "m9": "min7", "11": "dom7", "13": "dom7", "5": "power", "7sus4": "dom7",
               "m7b5": "dim", "7b9": "dom7", "add9": "maj"}
CHORD_QUALITIES = {"maj": (0, 4, 7), "min": (0, 3, 7), "dom7": (0, 4, 7, 10),
                   "maj7": (0, 4, 7, 11), "min7": (0, 3, 7, 10), "dim": (0, 3, 6),
                   "dim7": (0, 3, 6, 9), "aug": (0, 4, 8), "sus4": (0, 5, 7), "sus2": (0, 2, 7),
                   "maj6": (0, 4, 7, 9), "min6": (0, 3, 7, 9), "power": (0, 7)}


def pitch_class(name: str) -> int:
    """'F#' -> 6, 'Bb' -> 10, 'c' -> 0."""
    shift = {"#": 1, "b": -1}.get(name[1:2], 0)
    return (NOTE_PITCH_CLASSES[name[0].upper()] + shift) % 12


def parse_chord_symbol(text: str) -> tuple[int, str, int | None] | None:
    """(root pitch class, quality, bass pitch class or None), or None if not a chord name."""
    match = _CHORD.match(text.strip())
    if not match:
        return None
    quality = CHORD_KINDS.get(match["kind"].strip())
    if quality is None:
        return None
    bass = pitch_class(match["bass"]) if match["bass"] else None
    return pitch_class(match["root"] + match["acc"]), quality, bass
