"""What a broken header should have said: the meter a rhythm implies, the key a melody is in,
and a title made from the tune itself when no model writes one.

Key inference is a folk-tune rule rather than music21's Krumhansl-Schmuckler analysis: pick
the key signature whose diatonic scale holds the most note time, then the mode whose tonic
the melody ends on (folk tunes end on their tonic nearly always). This finds the modes the
tradition uses (Dmix, Ador, Edor), which a major/minor profile can't, costs microseconds
instead of music21's 0.4 s import and stream building, and is deterministic.
"""

import zlib
from collections import defaultdict

from abcgen.notation import NoteEvent

# The rhythm a meter most often carries, for titles.
METER_RHYTHMS = {"6/8": "Jig", "9/8": "Slip Jig", "12/8": "Slide", "4/4": "Reel",
                 "C": "Reel", "2/2": "Reel", "C|": "Reel", "2/4": "Polka", "3/4": "Waltz"}

LETTERS = "CDEFGAB"
LETTER_PITCH_CLASSES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
SHARP_ORDER, FLAT_ORDER = "FCGDAEB", "BEADGCF"
# Major-key tonic for each signature, sharps positive (ABC 2.1 §3.1.14).
MAJOR_TONICS = {0: "C", 1: "G", 2: "D", 3: "A", 4: "E", 5: "B", 6: "F#",
                -1: "F", -2: "Bb", -3: "Eb", -4: "Ab", -5: "Db", -6: "Gb"}
# Folk modes: the scale degree (0-based, of the relative major) each starts on, its K: suffix.
FOLK_MODES = (("maj", 0, ""), ("min", 5, "m"), ("dor", 1, "dor"), ("mix", 4, "mix"))

TITLE_ADJECTIVES = ("Windy", "Green", "Silver", "Merry", "Lonesome", "Crooked", "Rambling",
                    "Golden", "Humours of the", "Old", "Wild", "Blue", "Morning", "Drowsy",
                    "Bonny", "Lark's")
TITLE_NOUNS = ("Heron", "Harbour", "Meadow", "Piper", "Lark", "Bridge", "Fiddler", "Willow",
               "Strand", "Shepherd", "Hollow", "Kitchen", "Boreen", "Ferry", "Hill", "Wren")


def _scale(sharps: int) -> dict[str, int]:
    """Letter -> pitch class in the diatonic scale of a signature."""
    altered = SHARP_ORDER[:sharps] if sharps > 0 else FLAT_ORDER[:-sharps]
    shift = 1 if sharps > 0 else -1
    return {letter: (LETTER_PITCH_CLASSES[letter] + (shift if letter in altered else 0)) % 12
            for letter in LETTERS}


def _weights(events: list[NoteEvent]) -> dict[int, float]:
    """Sounding time (quarter notes) per pitch class, grace notes left out."""
    weights: dict[int, float] = defaultdict(float)
    for event in events:
        if not event.grace:
            weights[event.pitch % 12] += float(event.duration)
    return weights


def infer_key(events: list[NoteEvent]) -> str:
    """A K: value for a melody: the best-fitting signature, and of its folk modes the one
    whose tonic the last note is (else the one whose tonic and fifth sound longest)."""
    weights = _weights(events)
    if not weights:
        return "C"
    fits = {s: sum(weights[pc] for pc in set(_scale(s).values())) for s in MAJOR_TONICS}
    sharps = max(fits, key=lambda s: (fits[s], -abs(s)))
    scale = _scale(sharps)
    major_letter = MAJOR_TONICS[sharps][0]
    final = next((e.pitch % 12 for e in reversed(events) if not e.grace), None)
    candidates = []
    for _, degree, suffix in FOLK_MODES:
        letter = LETTERS[(LETTERS.index(major_letter) + degree) % 7]
        pitch_class = scale[letter]
        weight = weights[pitch_class] + weights[(pitch_class + 7) % 12]
        candidates.append((pitch_class == final, weight, _spell(letter, pitch_class) + suffix))
    return max(candidates, key=lambda c: (c[0], c[1]))[2]


def _spell(letter: str, pitch_class: int) -> str:
    natural = LETTER_PITCH_CLASSES[letter]
    return letter + {1: "#", 11: "b"}.get((pitch_class - natural) % 12, "")


def content_title(body_text: str, meter: str | None, rhythm: str | None) -> str:
    """A deterministic title from the tune's own notes: an adjective and a noun chosen by a
    checksum of the body, then its rhythm ('The Windy Heron Jig'). Never 'Untitled'."""
    checksum = zlib.crc32(body_text.encode("utf-8"))
    adjective = TITLE_ADJECTIVES[checksum % len(TITLE_ADJECTIVES)]
    noun = TITLE_NOUNS[(checksum // len(TITLE_ADJECTIVES)) % len(TITLE_NOUNS)]
    kind = (rhythm or "").strip().title() or METER_RHYTHMS.get((meter or "").strip(), "")
    return " ".join(part for part in ("The", adjective, noun, kind) if part)
