"""A songbook's contents: the input repaired, each good tune made safe to print, named and
described; each bad tune kept aside with its reason.

Safe to print means no directive reaches abcm2ps or the browser from the input: header
fields named '%' (directive and comment lines) and 'I:' (instruction fields, which abcm2ps
reads like directives) are dropped, and so are body lines starting with '%' or 'I:', with
everything between a `%%beginXXX` line and its `%%endXXX` (PostScript, text blocks), whose
contents would otherwise be read as music. abcm2ps also runs with -S (pdf.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from abcgen.errors import InputError
from abcgen.fileio import tune_stems
from abcgen.notation import AbcError, BodyLine, Field, Tune, build_timeline, stream_tunes

DIRECTIVE_FIELDS = frozenset({"%", "I"})
# File-header fields that are defaults for every tune: copied into a tune that lacks them,
# so each tune's own .abc file plays and prints the same on its own.
INHERITED_FIELDS = ("L", "M", "Q", "R")
BLOCK_START, BLOCK_END = "%%begin", "%%end"  # %%beginps ... %%endps, %%begintext ...
# How the book names each of notation's modes (Key.mode: notation.fields.MODE_NAMES' values;
# it reads 'ion' and 'aeo' as 'maj' and 'min' already).
MODE_WORDS = {"maj": "major", "min": "minor", "dor": "Dorian", "mix": "Mixolydian",
              "phr": "Phrygian", "lyd": "Lydian", "loc": "Locrian"}
NO_RHYTHM = ""


@dataclass
class BookTune:
    """A good tune as it goes into the book: `number` (1-based, also its X:), file `stem`
    ('007-the-kesh'), the safe `tune`, its description, repair `status` ('clean' or
    'repaired') with `edits` (dicts from the repair log), its first `line` and its X: in the
    input."""

    number: int
    stem: str
    tune: Tune
    title: str
    rhythm: str
    key: str
    meter: str
    status: str
    edits: list[dict] = field(default_factory=list)
    line: int = 0
    x: str | None = None


@dataclass
class RejectedTune:
    """A tune left out of the book: where it began in the input, its X: and title, and why."""

    line: int
    x: str | None
    title: str
    reason: str
    edits: list[dict] = field(default_factory=list)


def _block_end(text: str) -> str:
    """The line that closes the block `text` opens: '%%beginps' -> '%%endps'."""
    name = text[len(BLOCK_START):].split()
    return BLOCK_END + (name[0].lower() if name else "")


def _without_directives(lines: list[BodyLine]) -> list[BodyLine]:
    """Body lines minus directive/comment lines and `%%beginXXX`..`%%endXXX` blocks."""
    kept, block_end = [], None
    for line in lines:
        text = line.text.strip()
        if block_end is not None:
            block_end = None if text.lower().startswith(block_end) else block_end
        elif text.lower().startswith(BLOCK_START):
            block_end = _block_end(text)
        elif not text.startswith(("%", "I:")):
            kept.append(line)
    return kept


def _inherited(tune: Tune) -> list[Field]:
    """The file header's default fields this tune doesn't set itself."""
    own = {f.name for f in tune.header}
    return [next(f for f in tune.file_header if f.name == name) for name in INHERITED_FIELDS
            if name not in own and any(f.name == name for f in tune.file_header)]


def without_directives(tune: Tune) -> Tune:
    """`tune` with no directives (see the module docstring) and with the file header's
    defaults written into its own header, before K:."""
    fields = [f for f in tune.header if f.name not in DIRECTIVE_FIELDS]
    at_key = next((i for i, f in enumerate(fields) if f.name == "K"), len(fields))
    header = fields[:at_key] + _inherited(tune) + fields[at_key:]
    return replace(tune, header=header, body=_without_directives(tune.body), file_header=[])


def numbered(tune: Tune, number: int) -> Tune:
    """`tune` with X:`number` as its first field (its old X: dropped)."""
    rest = [f for f in tune.header if f.name != "X"]
    return replace(tune, header=[Field("X", str(number), tune.start_line), *rest])


def describe_key(tonic: str, mode: str) -> str:
    """'D' 'dor' -> 'D Dorian'; no tonic (K:none, K:HP) -> ''."""
    return f"{tonic} {MODE_WORDS[mode]}" if tonic else ""


def _book_tune(number: int, repair) -> BookTune:
    """A repaired tune as the book's tune `number` (its stem is given later, once the
    numbers are final); raises AbcError when it can't be played."""
    tune = numbered(repair.tune, number)
    timeline = build_timeline(tune)
    rhythm = (tune.get("R") or NO_RHYTHM).strip()
    return BookTune(number, "", tune, tune.title, rhythm,
                    describe_key(timeline.key.tonic, timeline.key.mode), timeline.meter.text,
                    repair.status, [e.to_dict() for e in repair.edits], tune.start_line,
                    repair.tune.x)


def _rejected(tune: Tune, reason: str, edits: list) -> RejectedTune:
    return RejectedTune(tune.start_line, tune.x, tune.title, reason,
                        [e.to_dict() for e in edits])


def _repair(tune: Tune):
    """The repair stage's result for one tune (directives already stripped, so the repair
    never reads PostScript as music); a bug in repair fails only this tune."""
    from abcgen.repair.result import RepairResult
    from abcgen.repair.tune import repair_tune

    try:
        return repair_tune(tune)
    except Exception as exc:  # noqa: BLE001 - one tune's bug must not lose the book
        return RepairResult(tune, [], "failed", f"repair error: {exc!r}")


def read_book(path: Path) -> tuple[list[BookTune], list[RejectedTune]]:
    """Repair each tune of the tunebook at `path`; split them into the book's tunes
    (numbered from 1 in input order) and the rejected (in input order, with reasons).

    Raises InputError when the file is missing, unreadable or holds no tune at all.
    """
    if not path.is_file():
        raise InputError(f"{path} does not exist or is not a file")
    book, rejected, read = [], [], 0
    for tune in stream_tunes(path):  # a tune at a time: the book keeps only what it prints
        read += 1
        repair = _repair(without_directives(tune))
        if not repair.ok:
            rejected.append(_rejected(tune, repair.reason, repair.edits))
            continue
        try:
            book.append(_book_tune(len(book) + 1, repair))
        except AbcError as exc:  # passes repair's checks but still can't be performed
            rejected.append(_rejected(tune, str(exc), repair.edits))
    if not read:
        raise InputError(f"{path}: no tunes found (a tune starts with X: and has a K: line)")
    for book_tune, stem in zip(book, tune_stems([t.title for t in book]), strict=True):
        book_tune.stem = stem
    return book, sorted(rejected, key=lambda r: r.line)
