"""What the web app accepts: every form and JSON field checked and capped before any work.

Each `*_request` function takes the parsed JSON body (a dict) and returns a small frozen
dataclass, or raises `FormError` with a message that names the field, which the app answers
with HTTP 400 (413 for an over-long paste). Nothing here touches the disk or the model.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

from abcgen.errors import AbcgenError
from abcgen.notation import AbcError, parse_key
from abcgen.notation.fields import MAJOR_KEY_SHARPS, MODE_NAMES, unsafe_header_text
from abcgen.notation.parse import music_only

MAX_TUNES = 50  # one request's tunes: ~1 min of CPU sampling for the bundled model
MAX_TITLE_CHARS = 200
MAX_PASTE_BYTES = 100_000  # a pasted tunebook (UTF-8); a long session book is ~60 KB
MAX_BODY_BYTES = 2 * MAX_PASTE_BYTES  # any request body; JSON escaping can double a paste
TEMPERATURE_RANGE = (0.05, 3.0)  # below: always the same tune; above: noise
TEMPO_RANGE = (20.0, 400.0)  # beats per minute (of the tune's beat, songbook.tempo)
MAX_SEED = 2**31 - 1
MAX_RUN_MODELS = 20  # checkpoints from runs/ the form lists
METERS = ("4/4", "6/8", "3/4", "2/4", "9/8", "12/8", "3/2", "2/2", "C", "C|")
RHYTHMS = ("reel", "jig", "slip jig", "hornpipe", "polka", "waltz", "slide", "march",
           "strathspey", "mazurka", "barndance", "air")
# Characters refused in a title: angle brackets and control characters (the page puts text
# in as text, so `&` is welcome: "Tom & Jerry"); what ABC can't hold in a header line is
# notation's rule (unsafe_header_text).
BAD_TITLE = re.compile(r"[<>\x00-\x1f\x7f]")
# The modes by name, in the menu's order; the codes are notation's (MODE_NAMES).
MODE_WORDS = {"": "major", "m": "minor", "dor": "Dorian", "mix": "Mixolydian",
              "lyd": "Lydian", "phr": "Phrygian", "loc": "Locrian"}
WEB_INSTRUMENT = "fiddle"  # the form's default: folk tunes are a fiddler's first


def _key_problem(text: str) -> str | None:
    """Why notation can't read `text` as a K: value, or None when it can."""
    try:
        parse_key(text)
    except AbcError as exc:
        return str(exc)
    return None


def _shortest_spellings(names: dict[str, str]) -> tuple[str, ...]:
    """Each mode once, by its shortest spelling in notation's table ('' major, 'm' minor)."""
    shortest: dict[str, str] = {}
    for word, mode in names.items():
        if mode not in shortest or len(word) < len(shortest[mode]):
            shortest[mode] = word
    return tuple(shortest.values())


# The key menus come from notation: every tonic whose major key has a signature, and every
# mode; a pair whose key has none (Eb Locrian, 8 flats) is refused with parse_key's reason.
TONICS = tuple(tonic for tonic in MAJOR_KEY_SHARPS if _key_problem(tonic) is None)
MODES = _shortest_spellings(MODE_NAMES)


class FormError(AbcgenError):
    """A field the user filled in wrongly; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class GenerateRequest:
    """A generation order: how many tunes, the primed header fields (None: the model's
    choice), sampling temperature and seed, and how to play them."""

    n: int
    title: str | None
    meter: str | None
    key: str | None
    rhythm: str | None
    temperature: float
    seed: int
    instrument: str
    tempo: float | None
    start: str | None = None
    """The first bars (ABC body text) the model goes on from; None: it starts."""
    model: Path | None = None
    """A checkpoint among those the form offered (`model_choices`); None: the served one."""


@dataclass(frozen=True)
class PasteRequest:
    """Pasted ABC and how to play it."""

    abc: str
    instrument: str
    tempo: float | None


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def number_field(body: dict, name: str, kind, low, high, default=None):
    """`body[name]` as `kind` within [low, high]; `default` when absent or blank."""
    value = body.get(name)
    if _blank(value):
        if default is None:
            raise FormError(f"{name} is required")
        return default
    try:
        number = kind(value)
    except (TypeError, ValueError, OverflowError):
        raise FormError(f"{name} must be a number, got {str(value)[:40]!r}") from None
    if not low <= number <= high:  # NaN fails this too
        raise FormError(f"{name} must be between {low} and {high}, got {number}")
    return number


def _choice(body: dict, name: str, choices) -> str | None:
    """`body[name]` if it is one of `choices`; None when absent or blank."""
    value = body.get(name)
    if _blank(value):
        return None
    if not isinstance(value, str) or value not in choices:
        raise FormError(f"{name} must be one of {', '.join(c for c in choices if c)}; "
                        f"got {str(value)[:40]!r}")
    return value


def _title(body: dict) -> str | None:
    value = body.get("title")
    if _blank(value):
        return None
    if not isinstance(value, str):
        raise FormError("title must be text")
    value = value.strip()
    if len(value) > MAX_TITLE_CHARS:
        raise FormError(f"title is {len(value)} characters long; at most {MAX_TITLE_CHARS}")
    if BAD_TITLE.search(value) or unsafe_header_text(value):
        raise FormError('title may not hold markup or control characters (< > " % \\) nor '
                        'start with |')
    return value


def _key(body: dict) -> str | None:
    tonic, mode = _choice(body, "tonic", TONICS), body.get("mode") or ""
    if mode not in MODES:
        raise FormError(f"mode must be one of {', '.join(MODE_WORDS.values())}")
    if tonic is None:
        if mode:
            raise FormError(f"choose a key for {MODE_WORDS[mode]}, or leave the mode major "
                            "to let the model choose both")
        return None
    if (problem := _key_problem(tonic + mode)) is not None:
        raise FormError(f"key: {problem}; choose another tonic or mode")
    return tonic + mode


TRANSPOSE_SEMITONES = 12  # an octave either way


def transpose_request(body: dict) -> tuple[int | None, str | None]:
    """(semitones, None) or (None, key): where to move a tune; a key is a tonic of TONICS."""
    key = _choice(body, "key", TONICS)
    if key is not None:
        return None, key
    return number_field(body, "semitones", int, -TRANSPOSE_SEMITONES, TRANSPOSE_SEMITONES), None


def songbook_name(body: dict) -> str:
    """A new songbook's name: a title's rules (it heads the book's PDF and web page)."""
    name = _title({"title": body.get("name")})
    if name is None:
        raise FormError("name the songbook")
    return name


def instrument_field(body: dict) -> str:
    from abcgen.render.midi import INSTRUMENT_PROGRAMS

    return _choice(body, "instrument", INSTRUMENT_PROGRAMS) or WEB_INSTRUMENT


def _tempo(body: dict) -> float | None:
    if _blank(body.get("tempo")):
        return None
    return number_field(body, "tempo", float, *TEMPO_RANGE)


MAX_START_CHARS = 200  # a few bars


def _start(body: dict) -> str | None:
    value = body.get("start")
    if _blank(value):
        return None
    if not isinstance(value, str) or len(value) > MAX_START_CHARS:
        raise FormError(f"the first bars are at most {MAX_START_CHARS} characters of ABC")
    if not music_only(value):
        raise FormError("the first bars are music only (like |:GAB dBG|), no fields, "
                        "comments or control characters")
    return value.replace("\r\n", "\n").rstrip(" \n")


def model_choices(runs: Path) -> dict[str, Path | None]:
    """The models a form may name: '' the served one, and each runs/NAME/best.pt
    (newest first, at most MAX_RUN_MODELS), by 'runs/NAME'."""
    found = sorted(runs.glob("*/best.pt"), key=lambda p: p.stat().st_mtime, reverse=True)
    return {"": None, **{f"runs/{p.parent.name}": p for p in found[:MAX_RUN_MODELS]}}


def generate_request(body: dict, models: dict[str, Path | None] | None = None) -> GenerateRequest:
    """A checked `GenerateRequest` from the form's JSON; a blank seed gets a random one;
    `models` are the choices for its "model" (model_choices)."""
    models = models or {"": None}
    chosen = _choice(body, "model", [m for m in models if m]) or ""
    return GenerateRequest(
        n=number_field(body, "n", int, 1, MAX_TUNES, default=1),
        title=_title(body), meter=_choice(body, "meter", METERS), key=_key(body),
        rhythm=_choice(body, "rhythm", RHYTHMS),
        temperature=number_field(body, "temperature", float, *TEMPERATURE_RANGE, default=1.0),
        seed=number_field(body, "seed", int, 0, MAX_SEED, default=random.randint(0, MAX_SEED)),
        instrument=instrument_field(body), tempo=_tempo(body), start=_start(body),
        model=models[chosen])


def paste_request(body: dict) -> PasteRequest:
    """A checked `PasteRequest`: non-empty ABC text of at most MAX_PASTE_BYTES."""
    abc = body.get("abc")
    if not isinstance(abc, str) or not abc.strip():
        raise FormError("paste some ABC first")
    size = len(abc.encode("utf-8", "replace"))
    if size > MAX_PASTE_BYTES:
        raise FormError(f"the pasted ABC is {size:,} bytes; at most {MAX_PASTE_BYTES:,}", 413)
    return PasteRequest(abc.replace("\r\n", "\n"), instrument_field(body), _tempo(body))


def options() -> dict:
    """The choices the form offers (the page fills its menus from these)."""
    from abcgen.render.midi import INSTRUMENT_PROGRAMS
    from abcgen.songbook.tempo import rhythm_defaults

    return {"meters": METERS, "tonics": TONICS,
            "modes": [{"value": m, "label": MODE_WORDS[m]} for m in MODES],
            "rhythms": RHYTHMS, "rhythm_tempos": rhythm_defaults(),
            "instruments": sorted(INSTRUMENT_PROGRAMS), "default_instrument": WEB_INSTRUMENT,
            "max_tunes": MAX_TUNES, "max_title": MAX_TITLE_CHARS, "max_paste": MAX_PASTE_BYTES,
            "temperature": TEMPERATURE_RANGE, "tempo": TEMPO_RANGE}
