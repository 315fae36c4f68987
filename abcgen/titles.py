"""The words a tune title may use: words of real tune titles and an English word list.

A musician reads the title first; "The Banks of Sprat:er" gives a model away at once. The
same vocabulary serves the sampler (which draws the `T:` line from these words only, see
abcgen.model.titles) and `evaluate` (which counts titles made of real words). Real titles
come from every collection at hand, trained on or not (music21's folk books and the staged
open collections), normalised as the corpus normalises them; the English words from the
system's word list (Debian's `wamerican`, installed by `make setup`).
"""

import re
from collections.abc import Iterable
from pathlib import Path

from abcgen.notation import UnreadableError, parse_tunebook, read_abc
from abcgen.notation.titles import normalise_title

ENGLISH_WORD_LISTS = (Path("/usr/share/dict/words"), Path("/usr/share/dict/american-english"))
TITLE_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*'?")
"""A word of a title: letters (Café too) with inner apostrophes (O'Neill's), or a closing one
(Lyons')."""
FORBIDDEN_TITLE_CHARACTERS = re.compile(r"[0-9:]")


def english_words(paths: Iterable[Path] = ENGLISH_WORD_LISTS) -> frozenset[str]:
    """The common words of the first system word list found (empty when none is): entries
    written in lower case, so names ("Okeechobee") and abbreviations ("CNN", "HRH") stay out,
    and of three letters or more, as the list's short entries are mostly abbreviations ("ct",
    "pa"); the short words titles use ("of", "my", "o'") come from real titles."""
    for path in paths:
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            return frozenset(word for word in text.split() if TITLE_WORD.fullmatch(word)
                             and word.islower() and len(word) > 2)
    return frozenset()


def words_of(title: str) -> list[str]:
    """The words of a title, lower case."""
    return [match.group(0).lower() for match in TITLE_WORD.finditer(title)]


def title_words_of_files(files: Iterable[Path]) -> frozenset[str]:
    """Every word of every (normalised) title in these ABC files (unreadable files skipped)."""
    words: set[str] = set()
    for path in files:
        try:
            tunes, _ = parse_tunebook(read_abc(path), source=str(path))
        except UnreadableError:
            continue
        for tune in tunes:
            for title in tune.titles:
                words.update(words_of(normalise_title(title).title))
    return frozenset(words)


def is_real_word_title(title: str, vocabulary: frozenset[str]) -> bool:
    """True when every word of `title` is in `vocabulary`, it has a word, no digit or `:`
    inside, and it is not all capitals (the rule `evaluate` and the model card report)."""
    words = words_of(title)
    return (bool(words) and not FORBIDDEN_TITLE_CHARACTERS.search(title)
            and not (title.isupper() and len(title) > 1)
            and all(word in vocabulary for word in words))

