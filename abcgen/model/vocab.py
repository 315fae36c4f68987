"""The character vocabulary: the characters of the training split plus four reserved markers.

Ids 0-3 are reserved: padding (tune-aligned batches), the start and the end of a tune, and
"unknown" for characters the training split never showed. The vocabulary travels inside every
checkpoint as a plain list of strings, so a model always decodes with the alphabet it learnt.
"""

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from abcgen.errors import AbcgenError

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIAL_TOKENS = ("<pad>", "<s>", "</s>", "<unk>")
NON_TEXT_IDS = (PAD, BOS, UNK)
"""Ids a sampler must never emit: they stand for no character of a tune."""


@dataclass(frozen=True)
class Vocab:
    """A character alphabet; `tokens[i]` is the string of id `i` (the first four are markers)."""

    tokens: tuple[str, ...]
    title_words: frozenset[str] = frozenset()
    """Lower-case words a sampled title may use (abcgen.titles); empty: any. A bundled model
    carries them, so titles are drawn from real words wherever it runs."""
    key_table: tuple[tuple[str, int, int], ...] = ()
    """For a model trained on tunes moved to the tonic C (abcgen.model.keys): the keys its
    training tunes were written in, per mode; empty for a model that reads tunes as written."""

    def __post_init__(self) -> None:
        if self.tokens[: len(SPECIAL_TOKENS)] != SPECIAL_TOKENS:
            raise AbcgenError("vocabulary does not start with the reserved markers <pad> <s> </s> <unk>")
        object.__setattr__(self, "_index", {t: i for i, t in enumerate(self.tokens)})

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> "Vocab":
        """Build the vocabulary of every character in `texts`, in code-point order."""
        chars: set[str] = set()
        for text in texts:
            chars.update(text)
        return cls(SPECIAL_TOKENS + tuple(sorted(chars)))

    @classmethod
    def from_list(cls, tokens: list[str], title_words: Iterable[str] = (),
                  key_table: Iterable[Iterable] = ()) -> "Vocab":
        """Rebuild a vocabulary from `to_list()`, the title words and the key table (as stored
        in a checkpoint)."""
        return cls(tuple(tokens), frozenset(title_words),
                   tuple((str(mode), int(shift), int(count)) for mode, shift, count in key_table))

    def to_list(self) -> list[str]:
        return list(self.tokens)

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def dtype(self) -> type:
        """The smallest unsigned integer type that holds every id (compact cached arrays)."""
        return np.uint8 if len(self) <= 256 else np.uint16

    def encode(self, text: str) -> list[int]:
        """Map each character to its id; characters unseen in training become `UNK`."""
        index = self._index  # type: ignore[attr-defined]
        return [index.get(ch, UNK) for ch in text]

    def encode_tune(self, text: str) -> list[int]:
        """Encode one tune framed by its start and end markers: [BOS, chars..., EOS]."""
        return [BOS, *self.encode(text), EOS]

    def decode(self, ids: Iterable[int]) -> str:
        """Map ids back to text, dropping the markers (an unknown character becomes U+FFFD)."""
        out = []
        for i in ids:
            if i == UNK:
                out.append("\ufffd")
            elif i >= len(SPECIAL_TOKENS):
                out.append(self.tokens[i])
        return "".join(out)

    def unknown_chars(self, text: str) -> list[str]:
        """The distinct characters of `text` that this vocabulary lacks, in order of appearance."""
        index = self._index  # type: ignore[attr-defined]
        return list(dict.fromkeys(ch for ch in text if ch not in index))
