"""Golden comparison: does abcgen's timeline play a tunebook the way abc2midi does?

`compare_book` runs abc2midi once over a book (see `abc2midi.book_melodies`), builds our timeline
for every tune and gives one `TuneVerdict` per tune. Tunes where a comparison would only show a
known abc2midi difference are set aside with the reason (tests/fixtures/README.md lists them):

- abc2midi reports an Error on the tune ('reference-error'): it is not a reference there
  (except `HARMLESS_ERRORS`, which change nothing it plays);
- `R:hornpipe` in 2/4 or 4/4: abc2midi swings even quavers 2:1 ('excluded');
- the file header sets M:, L:, K: or U:: abc2midi 4.84 ignores file-header defaults ('excluded');
- the X: number is used twice in the book: abc2midi writes both tunes to one file ('excluded');
- a P: header (parts) or several voices: abc2midi "will not attempt [to fix mis-matched
  repeats] if a multi-part tune description has been used or if multiple voices are in use"
  (its man page), so a `:|` without `|:` plays differently ('excluded').
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import takewhile

from abcgen.notation import AbcError, Tune, build_timeline, parse_tunebook
from abcgen.notation.fields import is_hornpipe
from abcgen.notation.score import score_tune
from abcgen.tools import abc2midi

# File-header fields that change what a tune plays, which abc2midi 4.84 does not apply.
PLAYED_FILE_HEADER_FIELDS = frozenset("MLKU")
# abc2midi errors that don't touch what it plays: it ignores an `I:` field it can't read (the
# music21 Aird's Airs files hold `I: :: ::` in every tune).
HARMLESS_ERRORS = ("I: key ",)


@dataclass(frozen=True)
class TuneVerdict:
    """One tune's comparison. `status`: 'same', 'differs' (our notes are not abc2midi's),
    'ours-failed' (we reject or can't play a tune abc2midi plays without error),
    'reference-error' or 'excluded' (not compared; `detail` says why)."""

    x: str
    title: str
    line: int
    status: str
    detail: str = ""
    kind: str = ""  # for 'differs': the first difference's kind (onset, pitch, duration, count)
    mismatch: abc2midi.Mismatch | None = None

    @property
    def compared(self) -> bool:
        return self.status in ("same", "differs", "ours-failed")


def x_number(x: str | None) -> int | None:
    """The leading digits of an X: value as abc2midi reads them (None when there are none)."""
    digits = "".join(takewhile(str.isdigit, (x or "").strip()))
    return int(digits) if digits else None


def _span(tune: Tune) -> tuple[int, int]:
    """The lines a tune occupies: first (its leading comments included) and one past its last."""
    last = max([f.line for f in tune.header] + [b.line for b in tune.body])
    return tune.start_line, last + 1


def _x_line(tune: Tune) -> int:
    return next((f.line for f in tune.header if f.name == "X"), tune.start_line)


def _exclusion(tune: Tune, duplicate: set[int | None]) -> str:
    """Why this tune can't be compared with abc2midi ('' when it can)."""
    if x_number(tune.x) in duplicate:
        return "X: used twice in the book"
    if is_hornpipe(tune.get("R")):
        return "R:hornpipe (abc2midi swings quavers)"
    if tune.get("P") is not None:
        return "P: parts (abc2midi does not fix repeats in multi-part tunes)"
    if any(issue.code == "extra-voice" for issue in score_tune(tune, strict=False)[1]):
        return "several voices (abc2midi does not fix repeats when voices are in use)"
    if PLAYED_FILE_HEADER_FIELDS.intersection(f.name for f in tune.file_header):
        return "file-header M:/L:/K:/U: (abc2midi ignores them)"
    return ""


def _disqualifying(report: abc2midi.Abc2midiReport) -> list[abc2midi.Abc2midiMessage]:
    """abc2midi's errors that make it no reference for a tune."""
    return [m for m in report.errors if not m.message.startswith(HARMLESS_ERRORS)]


def _verdict(tune: Tune, run: abc2midi.BookRun, report: abc2midi.Abc2midiReport,
             excluded: str) -> TuneVerdict:
    where = dict(x=tune.x or "", title=tune.title, line=tune.start_line)
    errors = _disqualifying(report)
    if errors:
        return TuneVerdict(**where, status="reference-error", detail=errors[0].message)
    if excluded:
        return TuneVerdict(**where, status="excluded", detail=excluded)
    reference = run.melodies.get(x_number(tune.x))
    if reference is None:
        return TuneVerdict(**where, status="excluded", detail="abc2midi wrote no MIDI")
    try:
        events = build_timeline(tune, graces=False).events
    except AbcError as error:
        return TuneVerdict(**where, status="ours-failed", detail=type(error).__name__,
                           kind=type(error).__name__)
    mismatch = abc2midi.compare_melody(events, reference)
    if mismatch is None:
        return TuneVerdict(**where, status="same")
    return TuneVerdict(**where, status="differs", detail=str(mismatch), kind=mismatch.kind,
                       mismatch=mismatch)


def _failure_verdicts(failures: Sequence[AbcError], report: abc2midi.Abc2midiReport,
                      spans: list[tuple[int, int]]) -> list[TuneVerdict]:
    """Verdicts for tunes we rejected: ours-failed unless abc2midi also reports an error
    between the tunes we did read around it."""
    verdicts = []
    for failure in failures:
        before = max((end for _, end in spans if end <= failure.line), default=1)
        after = min((start for start, _ in spans if start > failure.line), default=10**9)
        if _disqualifying(report.between(before, after)) or failure.x is None:
            continue
        verdicts.append(TuneVerdict(str(failure.x), "", failure.line, "ours-failed",
                                    str(failure), type(failure).__name__))
    return verdicts


@dataclass(frozen=True)
class BookComparison:
    """`book_comparison`'s result: the tunes we read, abc2midi's run over the book, and the
    verdicts: one per tune of `tunes` first, in their order, then our failures'."""

    tunes: list[Tune]
    run: abc2midi.BookRun
    verdicts: list[TuneVerdict]


def compare_book(text: str, source: str | None = None) -> list[TuneVerdict]:
    """Compare every tune of one tunebook with abc2midi (`abc2midi.PLAIN_FLAGS`, the standard's
    accidental rule). Tunes abc2midi can't reference come back as 'reference-error'/'excluded'."""
    return book_comparison(text, source).verdicts


def book_comparison(text: str, source: str | None = None) -> BookComparison:
    """`compare_book` with the parsed tunes and abc2midi's run kept, for a caller that goes
    on to compare more of them (one parse and one abc2midi run serve both)."""
    tunes, failures = parse_tunebook(text, source=source)
    counts = Counter(x_number(t.x) for t in tunes)
    counts.update(x_number(str(f.x)) for f in failures if f.x is not None)
    duplicate = {x for x, n in counts.items() if n > 1}
    run = abc2midi.book_melodies(text, abc2midi.PLAIN_FLAGS, [_x_line(t) for t in tunes])
    # abc2midi may report a tune's error on the blank line after it: a tune's messages run
    # up to the next tune's first line
    starts = [t.start_line for t in tunes] + [10**9]
    verdicts = [_verdict(t, run, run.report.between(start, after), _exclusion(t, duplicate))
                for t, start, after in zip(tunes, starts, starts[1:], strict=False)]
    failed = _failure_verdicts(failures, run.report, [_span(t) for t in tunes])
    return BookComparison(tunes, run, verdicts + failed)


def tune_texts(text: str) -> list[str]:
    """Each tune of a book as its written lines, without the X: line (so a caller can renumber
    tunes taken from several books). Tunes we can't read are left out."""
    tunes, _ = parse_tunebook(text)
    rows = text.splitlines()
    pieces = []
    for tune in tunes:
        start, after = _span(tune)
        x_line = _x_line(tune)
        pieces.append("\n".join(row for number, row in enumerate(rows[start - 1:after - 1], start)
                                if number != x_line))
    return pieces
