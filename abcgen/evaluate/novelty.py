"""Novelty against the training split: the longest copied run of each tune, and novel n-grams.

One suffix array over the training bodies and the query bodies together (each text closed by a
separator code of its own, so no match runs across two texts) and its LCP array give the
*matching statistics*: for each position i of a query, the length of the longest prefix of
query[i:] that occurs somewhere in a training body. Everything here follows from them:
- the longest run of a tune found in training is max(ms), a share of the tune's length; the
  AI Music Generation Challenge rejects plagiarism, here a tune is a copy when that share is
  at least COPY_SHARE (and the run at least MIN_COPY_RUN characters);
- torch-rnn's `scripts/novel_substrings.py`: the length-L substring at i is in training iff
  ms[i] >= L, so the fraction of novel L-grams is the share of positions with ms[i] < L.
Cost: O(N log N) for the array by prefix doubling (numpy sorts), O(N) for LCP and matching
statistics, N the total characters, instead of comparing every tune with every training tune.
"""

from dataclasses import dataclass

import numpy as np

COPY_SHARE = 0.5
"""A tune whose longest run found in training covers at least this share of it is a copy."""
MIN_COPY_RUN = 24
"""Characters (about two bars) the run must also reach: a near-empty body whose one bar is
found in training is not a copy of anything."""
NGRAM_LENGTHS = tuple(range(1, 50))
"""torch-rnn's novel_substrings.py looks at substrings of 1..49 characters."""


def encode_texts(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """All texts as one int64 code array, each followed by its own separator code; returns
    (codes, starts) with starts[k] the offset of text k."""
    alphabet = {ch: i for i, ch in enumerate(sorted(set("".join(texts))))}
    pieces, starts, offset = [], [], 0
    for index, text in enumerate(texts):
        starts.append(offset)
        # separators are above every character code and distinct: no match crosses one
        pieces.append(np.array([alphabet[ch] for ch in text] + [len(alphabet) + index],
                               dtype=np.int64))
        offset += len(text) + 1
    codes = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)
    return codes, np.array(starts, dtype=np.int64)


def suffix_array(codes: np.ndarray) -> np.ndarray:
    """Start offsets of the suffixes of `codes` in sorted order (prefix doubling)."""
    n = len(codes)
    rank = np.unique(codes, return_inverse=True)[1].astype(np.int64)
    order = np.argsort(rank, kind="stable")
    width = 1
    while n and rank.max() < n - 1:
        # sort by (rank of the first `width` chars, rank of the next `width`), as one int64 key
        following = np.full(n, -1, dtype=np.int64)
        following[:n - width] = rank[width:]
        key = rank * (n + 1) + following + 1
        order = np.argsort(key, kind="stable")
        ordered = key[order]
        new_rank = np.empty(n, dtype=np.int64)
        new_rank[order] = np.concatenate([[0], np.cumsum(ordered[1:] != ordered[:-1])])
        rank, width = new_rank, width * 2
    return order


def lcp_array(codes: np.ndarray, order: np.ndarray) -> np.ndarray:
    """lcp[r]: common prefix length of suffixes order[r-1] and order[r] (Kasai et al. 2001)."""
    n = len(codes)
    text, suffixes = codes.tolist(), order.tolist()
    rank = [0] * n
    for r, start in enumerate(suffixes):
        rank[start] = r
    lcp, h = [0] * n, 0
    for i in range(n):
        r = rank[i]
        if r == 0:
            h = 0
            continue
        j = suffixes[r - 1]
        while i + h < n and j + h < n and text[i + h] == text[j + h]:
            h += 1
        lcp[r] = h
        h = max(h - 1, 0)  # the next suffix shares at least h-1 (Kasai's invariant)
    return np.array(lcp, dtype=np.int64)


def _nearest_reference_lcp(order: list[int], lcp: list[int], is_reference: list[bool],
                           backward: bool) -> list[int]:
    """For each rank, the common prefix length with the nearest reference suffix before it
    (after it, `backward`) in sorted order: the minimum of the LCPs between the two, kept as
    a running minimum that restarts at each reference suffix (0 when there is none)."""
    n = len(order)
    best, running, seen = [0] * n, 0, False
    shift = 1 if backward else 0  # lcp[r] links ranks r-1 and r
    for r in (range(n - 1, -1, -1) if backward else range(n)):
        if seen:
            running = min(running, lcp[r + shift])
        if is_reference[order[r]]:
            running, seen = n, True
        elif seen:
            best[r] = running
    return best


def matching_statistics(queries: list[str], references: list[str]) -> list[np.ndarray]:
    """For each query text, ms[i] = the longest prefix of query[i:] found in a reference text."""
    codes, starts = encode_texts(references + queries)
    order = suffix_array(codes)
    lcp = lcp_array(codes, order).tolist()
    owner = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(codes))))
    is_reference = (owner < len(references)).tolist()
    ordered = order.tolist()
    left = _nearest_reference_lcp(ordered, lcp, is_reference, backward=False)
    right = _nearest_reference_lcp(ordered, lcp, is_reference, backward=True)
    best_at = np.empty(len(ordered), dtype=np.int64)
    best_at[order] = np.maximum(left, right)  # by text position instead of by rank
    return [best_at[starts[len(references) + k]:starts[len(references) + k] + len(text)]
            for k, text in enumerate(queries)]


@dataclass
class TuneNovelty:
    """How much of one tune's body is found in the training bodies."""

    length: int
    """Characters of the body."""
    longest_run: int
    """Characters of the longest run of the body that also occurs in a training body."""

    @property
    def copied_share(self) -> float:
        return self.longest_run / self.length if self.length else 0.0

    @property
    def is_copy(self) -> bool:
        return self.longest_run >= MIN_COPY_RUN and self.copied_share >= COPY_SHARE


def novel_ngram_fractions(stats: list[np.ndarray],
                          lengths: tuple[int, ...] = NGRAM_LENGTHS) -> dict[int, float | None]:
    """For each n, the share of the queries' n-grams (pooled) found in no reference text."""
    fractions = {}
    for n in lengths:
        windows = [ms[:len(ms) - n + 1] for ms in stats if len(ms) >= n]
        total = sum(len(w) for w in windows)
        novel = sum(int((w < n).sum()) for w in windows)
        fractions[n] = novel / total if total else None  # no tune is n characters long
    return fractions


def tune_novelty(stats: list[np.ndarray]) -> list[TuneNovelty]:
    """Each query's length and longest run found in the references, from its matching statistics."""
    return [TuneNovelty(len(ms), int(ms.max()) if len(ms) else 0) for ms in stats]


def novelty_summary(stats: list[np.ndarray]) -> dict:
    """A set's novelty figures from its tunes' matching statistics (see the module docstring)."""
    tunes = tune_novelty(stats)
    shares = [t.copied_share for t in tunes if t.length]
    return {
        "tunes": len(tunes),
        "copies": sum(t.is_copy for t in tunes) / max(len(tunes), 1),
        "copied_share_mean": float(np.mean(shares)) if shares else 0.0,
        "copied_share_median": float(np.median(shares)) if shares else 0.0,
        "longest_run_chars_mean": float(np.mean([t.longest_run for t in tunes])) if tunes else 0.0,
        "copied_shares": shares,
        "novel_ngrams": novel_ngram_fractions(stats),
    }
