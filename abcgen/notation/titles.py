"""Tune titles as the printed books left them, made into titles a musician would write.

The 19th-century collections and their encodings carry artefacts a model would learn:
"Billy Pat:terson's Favorite" (a `:` inside a word), "BRIDE OF KILDARE -- REEL" (capitals and
the rhythm as a suffix), "Tinware Lass., The" (index order and a trailing dot), "Bonnie Kate
(first version) (reel)" and "Out With the Boys. 2nd Setting." (setting numbers).
`normalise_title` returns the title a session player would say, and the rhythm when the title
named one, so the corpus can move it into `R:`.
"""

import re
from dataclasses import dataclass

RHYTHM_WORDS = {
    "reel": "reel", "jig": "jig", "hornpipe": "hornpipe", "h'pipe": "hornpipe",
    "hpipe": "hornpipe", "clog": "hornpipe", "polka": "polka", "slide": "slide",
    "slip jig": "slip jig", "single jig": "single jig", "double jig": "jig", "waltz": "waltz",
    "march": "march", "strathspey": "strathspey", "mazurka": "mazurka", "barndance": "barndance",
    "set dance": "set dance", "air": "air", "fling": "fling", "schottische": "schottische",
}
"""A rhythm named after a title (" -- Reel", "(h'pipe)") and the `R:` value it stands for."""
RHYTHM_SPELLINGS = {"slipjig": "slip jig", "singlejig": "single jig", "doublejig": "double jig",
                    "set-dance": "set dance", "barn dance": "barndance", "h'pipe": "hornpipe"}
"""R: values the books write run together or apart."""
SMALL_WORDS = frozenset("a an and as at by de for from in na of on or the to up with".split())
"""Words written in lower case inside a title (not first)."""
LEADING_ARTICLES = ("The", "A", "An")

_COLON_IN_WORD = re.compile(r"(?<=[A-Za-z]):")
_RHYTHM_SUFFIX = re.compile(r"\s+-+\s*([A-Za-z' ]+?)\s*(?=$|\()", re.IGNORECASE)
_PARENTHESES = re.compile(r"\s*[\(\[]([^\)\]]*)[\)\]]")
_SETTING = re.compile(r"[\s.,]+(?:no\.?\s*\d+|\d+(?:st|nd|rd|th)\s+(?:setting|version)|"
                      r"(?:first|second|third)\s+(?:setting|version)|#\s*\d+|\d+)\.?\s*$",
                      re.IGNORECASE)
_ALTERNATIVE = re.compile(r",?\s*\(or\b.*$", re.IGNORECASE)
_TRAILING_ARTICLE = re.compile(r"^(.*?)[\s.,]*,\s*(The|A|An)\s*$", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")


@dataclass(frozen=True)
class NormalisedTitle:
    """A title as a musician writes it, and the rhythm it named ('' when none)."""

    title: str
    rhythm: str = ""


def normalise_title(title: str) -> NormalisedTitle:
    """Mend one title (see the module docstring). The words themselves are never changed,
    only their capitals, order and the marks around them; a title that would become empty
    comes back as it was, stripped."""
    text = _COLON_IN_WORD.sub("", " ".join(title.split()))
    text = _ALTERNATIVE.sub("", text)
    text, rhythm = _take_rhythm(text)
    text = _drop_setting_marks(_article_first(text))
    text = text.strip(" .,;*-")
    if text.isupper() or text.islower():
        text = title_case(text)
    return NormalisedTitle(text, rhythm) if text else NormalisedTitle(title.strip())


def _take_rhythm(text: str) -> tuple[str, str]:
    """Remove a rhythm suffix (" -- Reel", "(reel)") and return it as an `R:` value."""
    rhythm = ""
    suffix = _RHYTHM_SUFFIX.search(text)
    if suffix and suffix.group(1).strip().lower() in RHYTHM_WORDS:
        rhythm = RHYTHM_WORDS[suffix.group(1).strip().lower()]
        text = text[: suffix.start()] + text[suffix.end():]
    for match in reversed(list(_PARENTHESES.finditer(text))):
        word = match.group(1).strip().lower()
        if word in RHYTHM_WORDS:
            rhythm = rhythm or RHYTHM_WORDS[word]
            text = text[: match.start()] + text[match.end():]
    return text, rhythm


def _drop_setting_marks(text: str) -> str:
    """Remove setting and version numbers: "(2)", "[1]", "(first version)", ". 2nd Setting.",
    "No. 1.", "#3", "(*)", a trailing "*"."""
    def keep(match: re.Match) -> str:
        inside = match.group(1).lower()
        marks = not inside.strip(" *") or any(ch.isdigit() for ch in inside) \
            or "version" in inside or "setting" in inside
        return "" if marks else match.group(0)
    text = _PARENTHESES.sub(keep, text).replace("*", "")
    while (match := _SETTING.search(text)) and match.start() > 0:
        text = text[: match.start()]
    return text


def _article_first(text: str) -> str:
    """Index order to reading order: "Lass, The" -> "The Lass"."""
    match = _TRAILING_ARTICLE.match(text)
    if not match or not match.group(1).strip():
        return text
    article = match.group(2).capitalize()
    return f"{article} {match.group(1).strip(' .,')}"


def title_case(text: str) -> str:
    """ALL CAPITALS (or all lower case) to title case: "I'LL MEND YOUR POTS" -> "I'll Mend
    Your Pots", "THE HUMOURS OF O'NEILL" -> "The Humours of O'Neill"."""
    words = _WORD.finditer(text)
    pieces, end = [], 0
    for index, match in enumerate(words):
        pieces += [text[end: match.start()], _cased(match.group(0), first=index == 0)]
        end = match.end()
    return "".join(pieces) + text[end:]


def _cased(word: str, first: bool) -> str:
    lower = word.lower()
    if lower in SMALL_WORDS and not first:
        return lower
    if lower.startswith(("o'", "mc")) and len(word) > 2:  # O'Neill, McGuire
        return lower[:2].capitalize() + lower[2:].capitalize()
    return lower.capitalize()


def normalise_rhythm(value: str) -> str:
    """An `R:` value as one spelling per rhythm: lower case, without a note in parentheses,
    run-together names apart ("Slipjig" and "SLIP JIG" -> "slip jig"). The rhythm itself is
    kept: a clog stays a clog (R:hornpipe would make abc2midi swing it)."""
    words = " ".join(_PARENTHESES.sub(" ", value).lower().replace(".", " ").split())
    return RHYTHM_SPELLINGS.get(words, words)
