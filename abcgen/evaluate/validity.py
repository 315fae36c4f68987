"""Validity of tunes as written: what `check` says before repair, and how much repair does.

Everything is counted per tune text, so a model sample that holds no tune at all counts as an
invalid sample rather than disappearing from the denominator.
"""

from collections import Counter
from dataclasses import dataclass

from abcgen.notation import Tune, build_timeline, check_tune, read_tunes

HEADER_FIELDS = ("X", "T", "M", "L", "K")
"""The fields a complete tune header has (L: may be implied by M:, but a tune says it)."""


@dataclass
class TextCheck:
    """`check` on one tune text: its first tune (None when the text holds none), error codes,
    written bars (0 without a meter to judge them by) and the bars `check` finds of the
    wrong length."""

    tune: Tune | None
    error_codes: list[str]
    bars: int
    bad_bars: int


def check_sample(text: str) -> TextCheck:
    """Check the first tune of a text (a model sample holds one)."""
    tunes = read_tunes(text)
    if not tunes:
        return TextCheck(None, ["no-tunes"], 0, 0)
    tune = tunes[0]
    errors = [issue.code for issue in check_tune(tune) if issue.severity == "error"]
    timeline = build_timeline(tune, graces=False, strict=False)
    # bars can only be judged against a meter: a tune without one has no bars to count
    written = 0 if timeline.meter.free else len({bar.number for bar in timeline.bars})
    return TextCheck(tune, errors, written, min(errors.count("bar-length"), written))


def share(count: int | float, total: int) -> float:
    """count / total, 0.0 for an empty set."""
    return count / total if total else 0.0


def header_completeness(tunes: list[Tune | None]) -> dict[str, float]:
    """Share of tunes having each header field with a value, and all of them ('all')."""
    present = {name: 0 for name in HEADER_FIELDS}
    complete = 0
    for tune in tunes:
        have = {name for name in HEADER_FIELDS if tune is not None and (tune.get(name) or "").strip()}
        for name in have:
            present[name] += 1
        complete += have == set(HEADER_FIELDS)
    result = {name: share(n, len(tunes)) for name, n in present.items()}
    result["all"] = share(complete, len(tunes))
    return result


def title_uniqueness(tunes: list[Tune | None]) -> float:
    """Distinct non-empty titles (case and spacing ignored) per tune; 1.0 when all differ."""
    titles = [" ".join(t.title.lower().split()) for t in tunes if t is not None and t.title]
    return share(len(set(titles)), len(tunes))


def raw_validity(texts: list[str]) -> dict:
    """Validity figures of tune texts as written (before any repair)."""
    checks = [check_sample(text) for text in texts]
    tunes = [c.tune for c in checks]
    errors = Counter(code for c in checks for code in set(c.error_codes))
    bars = sum(c.bars for c in checks)
    return {
        "tunes": len(texts),
        "no_check_errors": share(sum(not c.error_codes for c in checks), len(texts)),
        "bars_right_length": share(bars - sum(c.bad_bars for c in checks), bars) if bars else None,
        "bars_judged": bars,
        "header_completeness": header_completeness(tunes),
        "title_uniqueness": title_uniqueness(tunes),
        "tunes_with_error": {code: share(n, len(texts)) for code, n in errors.most_common()},
    }


def valid_share(tunes: list[Tune], asked: int) -> float:
    """Share of `asked` tunes that are present and pass `check` with no error."""
    ok = sum(not any(i.severity == "error" for i in check_tune(tune)) for tune in tunes)
    return share(ok, asked)
