"""Draw a `T:` line from real words only: a character mask per step of the title line.

The title is read as words of letters (with inner or closing apostrophes) and the marks
between them. Inside a word, a letter is allowed when the word so far plus that letter
begins some word of the vocabulary; a capital only starts a word, or follows `O'` or `Mc`
(O'Neill, McGuire), so no "FuGue" or ALL CAPITALS; the title's first letter is a capital. Once the word so far is a whole word, a space, `,` `.` `-` or the end of the line may follow. After a
space comes a word or `&`; the line cannot end on a space or a `-`. No digit or `:` can be
drawn, so the rule `evaluate` counts (abcgen.titles.is_real_word_title) holds by
construction, capitals aside.
"""

from functools import lru_cache

import torch

from abcgen.model.vocab import Vocab

AFTER_WORD = " ,.-\n"
"""What may follow a whole word."""
AFTER_MARK = {" ": "&", ",": " \n", ".": " \n", "-": "", "&": " "}
"""What may follow each mark (besides the first letter of a word, after a space or `-`)."""
STARTS_WORD = frozenset(" -")
"""Marks after which a word may begin."""


class TitleMask:
    """Allowed next characters (a (V,) bool tensor) for a title line written so far."""

    def __init__(self, words: frozenset[str], vocab: Vocab, device: torch.device | str = "cpu"):
        self.words = words
        self.prefixes = frozenset(word[:end] for word in words for end in range(len(word) + 1))
        self.vocab, self.device = vocab, torch.device(device)
        self.letters = [(token, index) for index, token in enumerate(vocab.tokens)
                        if len(token) == 1 and (token.isalpha() or token == "'")]
        self._masks: dict[tuple[str, str], torch.Tensor] = {}

    def allowed(self, title: str) -> torch.Tensor:
        """(V,) bool: the characters that may follow `title` (the line after `T:`)."""
        partial, last_mark = _split_last_word(title)
        key = (partial.lower(), last_mark, _capital_may_follow(partial))
        mask = self._masks.get(key)
        if mask is None:
            mask = self._masks[key] = self._mask(*key)
        return mask

    def _mask(self, partial: str, last_mark: str, capital: bool) -> torch.Tensor:
        chars: list[str] = []
        if partial or last_mark in STARTS_WORD or last_mark == "^":
            chars += [token for token, _ in self.letters if partial + token.lower() in self.prefixes
                      and (capital or not token.isupper())
                      and (last_mark != "^" or not token.islower())]  # a title starts capitalised
        if partial and partial in self.words:
            chars += list(AFTER_WORD)
        elif not partial:
            chars += list(AFTER_MARK.get(last_mark, ""))
        mask = torch.zeros(len(self.vocab), dtype=torch.bool)
        ids = [i for i in self.vocab.encode("".join(chars)) if i >= 4]
        mask[ids] = True
        return mask.to(self.device)


def _capital_may_follow(partial: str) -> bool:
    """A capital may come next: at a word's start, or after O' or Mc."""
    return not partial or partial.lower() == "mc" or (len(partial) == 2 and partial[1] == "'")


def _split_last_word(title: str) -> tuple[str, str]:
    """(the word being written, '' between words; the mark before it, '^' at the start)."""
    end = len(title)
    start = end
    while start > 0 and (title[start - 1].isalpha() or title[start - 1] == "'"):
        start -= 1
    if start < end:
        return title[start:], ""
    return "", title[-1] if title else "^"


@lru_cache(maxsize=8)
def title_mask(words: frozenset[str], vocab: Vocab, device: torch.device) -> TitleMask:
    """One TitleMask per vocabulary and device, shared by every sampling call."""
    return TitleMask(words, vocab, device)
