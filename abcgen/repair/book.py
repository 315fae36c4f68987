"""Repairing a tunebook: every tune repaired, X: unique and sequential, titles unique.

Clean tunes keep their text byte for byte (unless their X: or title must change); repaired
tunes are written by `dumps`; failed tunes are left out of the text and listed in the report
with their reason.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from abcgen.notation import Tune, dumps, read_tunes
from abcgen.repair.result import Edit, RepairReport, RepairResult, TitleWriter, TuneReport
from abcgen.repair.tune import repair_tune

# Warnings repair mends in model samples as well: a fermata the model scatters mid-tune is
# noise, and abc2midi, which holds it twice as long, reports its bar as too long.
SAMPLE_WARNINGS = frozenset({"fermata"})

# Called with (tunes done, tunes in the book) after each tune.
Progress = Callable[[int, int], None]


@dataclass
class _Outcome:
    """A tune's result with its output lines (None when it failed)."""

    result: RepairResult
    lines: list[str] | None


def _raw_lines(tune: Tune, text_lines: list[str]) -> list[str]:
    """The tune's own lines of the input, from its first line to its last."""
    last = max([f.line for f in tune.header] + [b.line for b in tune.body] + [tune.start_line])
    return text_lines[tune.start_line - 1:last]


def _outcome(tune: Tune, text_lines: list[str], title_writer: TitleWriter | None,
             mend: frozenset[str] = frozenset()) -> _Outcome:
    try:
        result = repair_tune(tune, title_writer, mend)
    except Exception as exc:  # noqa: BLE001 - one tune's bug must not lose the book
        result = RepairResult(tune, [], "failed", f"repair error: {exc!r}")
    if result.status == "failed":
        return _Outcome(result, None)
    if result.status == "clean":
        return _Outcome(result, _raw_lines(tune, text_lines))
    return _Outcome(result, dumps(result.tune).rstrip("\n").split("\n"))


def _set_field(outcome: _Outcome, name: str, value: str, kind: str, why: str) -> None:
    """Rewrite the first `name:` line of a tune's output lines (adding the edit to its log)."""
    tune = outcome.result.tune
    fld = next((f for f in tune.header if f.name == name), None)
    index = fld.line - tune.start_line if fld is not None and outcome.result.status == "clean" \
        else next(i for i, line in enumerate(outcome.lines) if line.startswith(f"{name}:"))
    outcome.lines[index] = f"{name}:{value}"
    outcome.result.edits.append(Edit(kind, index + tune.start_line, 1, why))


def _number_tunes(outcomes: list[_Outcome], always: bool) -> None:
    """X: 1, 2, 3 ... unless the tunes' numbers are already unique and increasing."""
    kept = [o for o in outcomes if o.lines is not None]
    numbers = [o.result.tune.x for o in kept]
    values = [int(n) for n in numbers if n is not None and n.isdigit()]
    if not always and len(values) == len(kept) and values == sorted(set(values)):
        return
    for number, outcome in enumerate(kept, 1):
        if outcome.result.tune.x != str(number):
            _set_field(outcome, "X", str(number), "renumber-x",
                       f"X:{outcome.result.tune.x} renumbered X:{number} (unique, in order)")


def _unique_titles(outcomes: list[_Outcome]) -> None:
    """A title used before gets ' (2)', ' (3)' ... appended."""
    seen: Counter = Counter()
    for outcome in (o for o in outcomes if o.lines is not None):
        title = outcome.result.tune.title
        seen[title] += 1
        if seen[title] > 1:
            new = f"{title} ({seen[title]})"
            seen[new] += 1
            _set_field(outcome, "T", new, "duplicate-title",
                       f"T:{new} (the title '{title}' is used by an earlier tune)")


def _report(outcomes: list[_Outcome], prefix: str, source: str | None) -> RepairReport:
    blocks = ["\n".join(o.lines) + "\n" for o in outcomes if o.lines is not None]
    entries = [TuneReport(o.result.tune.start_line, _x_of(o), _title_of(o), o.result.status,
                          o.result.reason, o.result.edits) for o in outcomes]
    return RepairReport(prefix + "\n".join(blocks), entries, source)


def _x_of(outcome: _Outcome) -> str | None:
    lines = outcome.lines or []
    return next((line[2:].strip() for line in lines if line.startswith("X:")),
                outcome.result.tune.x)


def _title_of(outcome: _Outcome) -> str:
    lines = outcome.lines or []
    return next((line[2:].strip() for line in lines if line.startswith("T:") and line[2:].strip()),
                outcome.result.tune.title)


def _file_header(tunes: list[Tune], text_lines: list[str]) -> str:
    """The tunebook's file-header block, kept above the tunes (its fields are their defaults)."""
    if not tunes or not tunes[0].file_header:
        return ""
    return "\n".join(text_lines[:tunes[0].start_line - 1]).strip("\n") + "\n\n"


def repair_text(text: str, source: str | None = None, title_writer: TitleWriter | None = None,
                renumber: bool = False, progress: Progress | None = None) -> RepairReport:
    """Repair every tune of a tunebook (see the module docstring); `renumber` numbers X:
    from 1 even when the numbers were already in order; `progress(done, total)` is called
    after each tune. Never raises for a bad tune."""
    text_lines = text.split("\n")
    tunes = read_tunes(text, source)
    outcomes = []
    for tune in tunes:
        outcomes.append(_outcome(tune, text_lines, title_writer))
        if progress is not None:
            progress(len(outcomes), len(tunes))
    _number_tunes(outcomes, renumber)
    _unique_titles(outcomes)
    return _report(outcomes, _file_header(tunes, text_lines), source)


def repair_samples(texts: list[str], title_writer: TitleWriter | None) -> tuple[str, dict]:
    """Repair model samples into one tunebook numbered from X:1 with unique titles (mending
    the SAMPLE_WARNINGS too).

    Returns the tunebook text and the summary `abcgen generate` prints: tunes asked for,
    written, clean, repaired, repairs by kind, failures (index and reason; a sample holding
    no tune at all is a failure too)."""
    outcomes, failures = [], []
    for index, sample in enumerate(texts):
        lines = sample.split("\n")
        tunes = read_tunes(sample)
        if not tunes:
            failures.append({"sample": index, "reason": "no tune in the sample (no X: or K:)"})
            continue
        outcome = _outcome(tunes[0], lines, title_writer, SAMPLE_WARNINGS)
        if outcome.lines is None:
            failures.append({"sample": index, "reason": outcome.result.reason})
        outcomes.append(outcome)
    _number_tunes(outcomes, always=True)
    _unique_titles(outcomes)
    report = _report(outcomes, "", None)
    summary = {"asked": len(texts), "written": len(texts) - len(failures),
               "clean": report.count("clean"), "repaired": report.count("repaired"),
               "repairs_by_kind": dict(report.edits_by_kind().most_common()),
               "failures": failures}
    return report.text, summary
