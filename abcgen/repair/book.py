"""Repairing a tunebook: every tune repaired, X: unique and sequential, titles unique.

Clean tunes keep their text byte for byte (unless their X: or title must change); repaired
tunes are written by `dumps`; failed tunes are left out of the text and listed in the report
with their reason.
"""

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from abcgen.notation import Tune, dumps, iter_book, read_tunes, stream_book, stream_tunes
from abcgen.notation.parse import Block
from abcgen.repair.result import Edit, RepairReport, RepairResult, TitleWriter, TuneReport
from abcgen.repair.tune import repair_tune

# Warnings repair mends in model samples as well: a fermata the model scatters mid-tune is
# noise, and abc2midi, which holds it twice as long, reports its bar as too long.
SAMPLE_WARNINGS = frozenset({"fermata"})


class RepairProgress(Protocol):
    """Told after each tune is repaired."""

    def __call__(self, done: int, total: int | None) -> None:
        """`done` tunes of `total` (None while a streamed book's count is unknown)."""


@dataclass
class _Outcome:
    """A tune's result with its output lines (None when it failed)."""

    result: RepairResult
    lines: list[str] | None


def _raw_lines(tune: Tune, block: Block) -> list[str]:
    """The tune's own lines of the input, from its first line to its last."""
    last = max([f.line for f in tune.header] + [b.line for b in tune.body] + [tune.start_line])
    return block.raw[tune.start_line - block.start:last - block.start + 1]


def _outcome(tune: Tune, block: Block | None, title_writer: TitleWriter | None,
             mend: frozenset[str] = frozenset()) -> _Outcome:
    try:
        result = repair_tune(tune, title_writer, mend)
    except Exception as exc:  # noqa: BLE001 - one tune's bug must not lose the book
        result = RepairResult(tune, [], "failed", f"repair error: {exc!r}")
    if result.status == "failed":
        return _Outcome(result, None)
    if result.status == "clean" and block is not None:
        return _Outcome(result, _raw_lines(tune, block))
    return _Outcome(result, dumps(result.tune).rstrip("\n").split("\n"))


def _set_field(outcome: _Outcome, name: str, value: str, kind: str, why: str) -> None:
    """Rewrite the first `name:` line of a tune's output lines (adding the edit to its log)."""
    tune = outcome.result.tune
    fld = next((f for f in tune.header if f.name == name), None)
    index = fld.line - tune.start_line if fld is not None and outcome.result.status == "clean" \
        else next(i for i, line in enumerate(outcome.lines) if line.startswith(f"{name}:"))
    outcome.lines[index] = f"{name}:{value}"
    outcome.result.edits.append(Edit(kind, index + tune.start_line, 1, why))


def numbers_in_order(numbers: list[str | None]) -> bool:
    """Whether a book's X: numbers are all positive, unique and increasing (then repair keeps
    them; otherwise it numbers the tunes it keeps 1, 2, 3 ...)."""
    values = [int(n) for n in numbers if n is not None and n.isdigit()]
    return len(values) == len(numbers) and values == sorted(set(values))


class _Numbering:
    """X: numbers (when `renumber`) and unique titles for the kept tunes, one at a time: a
    title used before gets ' (2)', ' (3)' ..."""

    def __init__(self, renumber: bool):
        self.renumber, self.kept, self.titles = renumber, 0, Counter()

    def place(self, outcome: _Outcome) -> None:
        if outcome.lines is None:
            return
        self.kept += 1
        x = outcome.result.tune.x
        if self.renumber and x != str(self.kept):
            _set_field(outcome, "X", str(self.kept), "renumber-x",
                       f"X:{x} renumbered X:{self.kept} (unique, in order)")
        title = outcome.result.tune.title
        self.titles[title] += 1
        if self.titles[title] > 1:
            new = f"{title} ({self.titles[title]})"
            self.titles[new] += 1
            _set_field(outcome, "T", new, "duplicate-title",
                       f"T:{new} (the title '{title}' is used by an earlier tune)")


def _entry(outcome: _Outcome) -> TuneReport:
    return TuneReport(outcome.result.tune.start_line, _x_of(outcome), _title_of(outcome),
                      outcome.result.status, outcome.result.reason, outcome.result.edits)


def _x_of(outcome: _Outcome) -> str | None:
    lines = outcome.lines or []
    return next((line[2:].strip() for line in lines if line.startswith("X:")),
                outcome.result.tune.x)


def _title_of(outcome: _Outcome) -> str:
    lines = outcome.lines or []
    return next((line[2:].strip() for line in lines if line.startswith("T:") and line[2:].strip()),
                outcome.result.tune.title)


def _file_header(blocks: list[Block]) -> str:
    """The text before a book's first tune (its file header and any free text), kept above
    the tunes when the header's fields are their defaults."""
    lines: list[str] = []
    for block in blocks:
        lines += [""] * (block.start - 1 - len(lines)) + block.raw
    return "\n".join(lines).strip("\n") + "\n\n"


def repair_book(blocks: Iterable[tuple[Block, Tune | None]], write: Callable[[str], object],
                renumber: bool, title_writer: TitleWriter | None = None,
                progress: RepairProgress | None = None,
                total: int | None = None) -> list[TuneReport]:
    """Repair a book's tunes as `iter_book` or `stream_book` gives them, passing the output
    text to `write` a tune at a time (memory holds one tune); X: numbered from 1 when
    `renumber`. Returns each tune's entry, in input order; `progress(done, total)` after
    each tune."""
    numbering, entries, before_first = _Numbering(renumber), [], []
    for block, tune in blocks:
        if tune is None:
            if not entries:
                before_first.append(block)
            continue
        if not entries and tune.file_header:
            write(_file_header(before_first))
        outcome = _outcome(tune, block, title_writer)
        numbering.place(outcome)
        if outcome.lines is not None:
            write(("\n\n" if numbering.kept > 1 else "") + "\n".join(outcome.lines))
        entries.append(_entry(outcome))
        if progress is not None:
            progress(len(entries), total)
    if numbering.kept:
        write("\n")
    return entries


def repair_text(text: str, source: str | None = None, title_writer: TitleWriter | None = None,
                renumber: bool = False, progress: RepairProgress | None = None) -> RepairReport:
    """Repair every tune of a tunebook (see the module docstring); `renumber` numbers X:
    from 1 even when the numbers were already in order; `progress(done, total)` is called
    after each tune. Never raises for a bad tune."""
    blocks = list(iter_book(text.split("\n"), source))
    tunes = [tune for _, tune in blocks if tune is not None]
    renumber = renumber or not numbers_in_order([tune.x for tune in tunes])
    out: list[str] = []
    entries = repair_book(blocks, out.append, renumber, title_writer, progress, len(tunes))
    return RepairReport("".join(out), entries, source)


def repair_file(path: str | Path, write: Callable[[str], object],
                title_writer: TitleWriter | None = None, renumber: bool = False,
                progress: RepairProgress | None = None) -> RepairReport:
    """`repair_text` of the ABC file at `path`, read twice a tune at a time (first for its X:
    numbers, then to repair), its output passed to `write` as it is made: memory holds one
    tune, however large the book. The report's text is empty. Raises UnreadableError."""
    numbers = [tune.x for tune in stream_tunes(path)]
    renumber = renumber or not numbers_in_order(numbers)
    entries = repair_book(stream_book(path), write, renumber, title_writer, progress,
                          len(numbers))
    return RepairReport("", entries, str(path))


def repair_samples(texts: list[str], title_writer: TitleWriter | None) -> tuple[str, dict]:
    """Repair model samples into one tunebook numbered from X:1 with unique titles (mending
    the SAMPLE_WARNINGS too).

    Returns the tunebook text and the summary `abcgen generate` prints: tunes asked for,
    written, clean, repaired, repairs by kind, failures (index and reason; a sample holding
    no tune at all is a failure too)."""
    numbering, failures, out, entries = _Numbering(renumber=True), [], [], []
    for index, sample in enumerate(texts):
        tunes = read_tunes(sample)
        if not tunes:
            failures.append({"sample": index, "reason": "no tune in the sample (no X: or K:)"})
            continue
        block = Block(1, sample.split("\n"), [])
        outcome = _outcome(tunes[0], block, title_writer, SAMPLE_WARNINGS)
        if outcome.lines is None:
            failures.append({"sample": index, "reason": outcome.result.reason})
        numbering.place(outcome)
        if outcome.lines is not None:
            out.append("\n".join(outcome.lines) + "\n")
        entries.append(_entry(outcome))
    report = RepairReport("\n".join(out), entries)
    summary = {"asked": len(texts), "written": len(texts) - len(failures),
               "clean": report.count("clean"), "repaired": report.count("repaired"),
               "repairs_by_kind": dict(report.edits_by_kind().most_common()),
               "failures": failures}
    return report.text, summary
