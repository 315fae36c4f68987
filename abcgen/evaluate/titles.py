"""The vocabulary `evaluate` judges titles by, with abcgen.titles' rule.

The rule and the words are abcgen.titles' (shared with the sampler's title constraint):
`is_real_word_title(title, vocabulary)` holds when the title has a word, no digit or `:`
inside, is not all capitals, and every word of it is in the vocabulary. The vocabulary here
is the issue's: an English word list (abcgen.titles.english_words, Debian's `wamerican`) and
every word of a real tune title in all the collections, trained on or not: music21's folk
books and every ABC file under ../shared/corpora (titles normalised as the corpus normalises
them), joined with the corpus folder's own title_words.txt (what `corpus build` wrote and the
sampler draws from) when it has one. So a title the sampler can draw always counts as real,
whatever collections the corpus was built from.
"""

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from abcgen.titles import is_real_word_title

SHARED_CORPORA = Path(__file__).resolve().parents[2].parent / "shared" / "corpora"
"""The open collections staged beside the repository (../shared/corpora)."""


def _music21_folk_files() -> list[Path]:
    from abcgen.corpus import MUSIC21_FOLK_COLLECTIONS, music21_collections
    from abcgen.errors import InputError

    try:
        _, collections = music21_collections()
    except InputError:  # music21 not installed
        return []
    return [path for name in MUSIC21_FOLK_COLLECTIONS for path in collections.get(name, ())]


def collection_files(shared: Path = SHARED_CORPORA) -> dict[str, list[Path]]:
    """The ABC files whose titles give words: music21's folk books and each collection of
    ../shared/corpora (a collection that is missing is absent)."""
    sources = {"music21": _music21_folk_files()}
    if shared.is_dir():
        for folder in sorted(p for p in shared.iterdir() if p.is_dir()):
            sources[folder.name] = sorted(p for p in folder.rglob("*")
                                          if p.suffix.lower() == ".abc" and p.is_file())
    return {name: files for name, files in sources.items() if files}


@dataclass(frozen=True)
class TitleVocabulary:
    """The real words titles may use, and where they came from."""

    words: frozenset[str]
    sources: dict[str, int] = field(default_factory=dict)
    """Distinct words each source gave: 'english', each collection, 'corpus' (title_words.txt)."""


@lru_cache(maxsize=1)
def collection_vocabulary() -> TitleVocabulary:
    """English words and the words of every collection's titles (read once per process)."""
    from abcgen.titles import english_words, title_words_of_files

    english = english_words()
    sources, words = {"english": len(english)}, set(english)
    for name, files in collection_files().items():
        found = title_words_of_files(files)
        sources[name] = len(found)
        words |= found
    return TitleVocabulary(frozenset(words), sources)


def title_vocabulary(corpus_dir: str | Path | None = None) -> TitleVocabulary:
    """The evaluation's vocabulary: collection_vocabulary() joined with the corpus folder's
    title_words.txt when there is one."""
    from abcgen.corpus import TITLE_WORDS_FILE

    base = collection_vocabulary()
    if corpus_dir is None:
        return base
    try:
        corpus_words = frozenset((Path(corpus_dir) / TITLE_WORDS_FILE)
                                 .read_text(encoding="utf-8").split())
    except (OSError, UnicodeDecodeError):
        return base
    return TitleVocabulary(base.words | corpus_words, {**base.sources, "corpus": len(corpus_words)})


__all__ = ["TitleVocabulary", "collection_files", "collection_vocabulary", "is_real_word_title",
           "title_vocabulary"]
