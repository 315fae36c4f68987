"""Tunebook text -> Tune structures, and the book-level `parse_tunebook`.

http://abcnotation.com/wiki/abc:standard:v2.1#abc_file_structure — blank lines end tunes; a
first block without X: is the file header (defaults for every tune); `%` lines are comments
and don't split tunes; `+:` continues the previous field. The first K: ends a tune's header.
"""

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from abcgen.notation.errors import AbcError, EmptyTuneError, HeaderError
from abcgen.notation.lexer import strip_comment
from abcgen.notation.model import BodyLine, Field, Tune
from abcgen.notation.text import read_abc
from abcgen.notation.timeline import build_timeline

# http://abcnotation.com/wiki/abc:standard:v2.1#information_fields
# A field line: a letter (or +) and a colon at the start of the line.
_FIELD_LINE = re.compile(r"^([A-Za-z+]):(.*)$")


def field_line(text: str) -> tuple[str, str] | None:
    """('T', 'The Kesh') for a field line `T:The Kesh`, else None.

    Any letter counts here, as in a header; in a tune's body the lexer decides instead
    (`lexer.body_field`: `A:|` or `a::` there is music, and score.NOTE_LETTER_FIELDS are
    no fields)."""
    match = _FIELD_LINE.match(text)
    if not match:
        return None
    return match[1], match[2].strip()


def _blocks(lines: list[str]) -> list[tuple[int, list[str]]]:
    """Split lines into (first line number, lines) blocks at blank lines and at X: lines."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 1
    for number, line in enumerate(lines, 1):
        if not line.strip():
            if current:
                blocks.append((start, current))
            current, start = [], number + 1
            continue
        if line.startswith("X:") and any(not c.startswith("%") for c in current):
            blocks.append((start, current))  # a new tune without the blank line before it
            current, start = [], number
        current.append(line)
    if current:
        blocks.append((start, current))
    return blocks


def _commented_blocks(lines: list[str]) -> list[str]:
    """Lines inside `%%beginps ... %%endps` (and %%begintext, %%beginsvg ...) are directives'
    data, not music: mark them as comments so no stage reads them as notes."""
    out, inside = [], False
    for line in lines:
        if line.startswith("%%begin"):
            inside = True
        elif line.startswith("%%end"):
            inside = False
        elif inside and not line.startswith("%"):
            line = "%" + line
        out.append(line)
    return out


def _is_tune_block(lines: list[str]) -> bool:
    return any(line.startswith(("X:", "K:")) for line in lines)


def _header_end(lines: list[str]) -> int:
    """Index of the first body line: after the first K:, or after the leading field lines."""
    for index, line in enumerate(lines):
        if line.startswith("K:"):
            return index + 1
    for index, line in enumerate(lines):
        if not line.startswith("%") and field_line(line) is None:
            return index
    return len(lines)


def tune_from_lines(lines: list[str], start: int = 1, file_header: list[Field] | None = None,
                    source: str | None = None) -> Tune:
    """Structure one tune's lines: header fields up to the first K:, then the body.

    A text line inside the header continues the field before it (old tunebooks wrap N:
    and H: notes without `+:`). Without a K:, the header is the run of leading field lines,
    so `check` can say K: is missing and `repair` can add one."""
    tune = Tune(file_header=list(file_header or []), source=source, start_line=start)
    end = _header_end(lines)
    for offset, line in enumerate(lines[:end]):
        parsed = field_line(line)
        if line.startswith("%"):
            tune.header.append(Field("%", line[1:], start + offset))
        elif parsed is not None and parsed[0] != "+":
            tune.header.append(Field(parsed[0], parsed[1], start + offset))
            if "%" in line:  # `X:3 % tune three`: the comment is not the value
                tune.header[-1].value = strip_comment(parsed[1]).strip()
        elif tune.header:
            text = strip_comment(parsed[1] if parsed is not None else line).strip()
            tune.header[-1].value = f"{tune.header[-1].value} {text}".strip()
    tune.body = [BodyLine(line, start + end + offset) for offset, line in enumerate(lines[end:])]
    return tune


def read_tunes(text: str, source: str | None = None) -> list[Tune]:
    """Every tune block of a tunebook as a Tune, however broken; never raises.

    Free-text blocks (no X: and no K:) are skipped; a first such block is the file header."""
    blocks = _blocks(_commented_blocks(text.split("\n")))
    file_header: list[Field] = []
    tunes = []
    for index, (start, lines) in enumerate(blocks):
        if not _is_tune_block(lines):
            if index == 0:
                file_header = [f for f in tune_from_lines(lines, start).header
                               if f.name != "%"]
            continue
        tunes.append(tune_from_lines(lines, start, file_header, source))
    return tunes


def parse_tunebook(text: str, source: str | None = None) -> tuple[list[Tune], list[AbcError]]:
    """Parse a tunebook into (tunes, failures). One bad tune never aborts the book.

    A tune fails when it has no X:/K: pair that gives it a header and a body, or when its
    body can't be turned into a timeline (see `build_timeline`); each failure names the
    tune's X:, line and column."""
    tunes, failures = [], []
    with collector_paused():
        for tune in read_tunes(text, source):
            error = tune_failure(tune)
            if error is None:
                tunes.append(tune)
            else:
                failures.append(error)
    return tunes, failures


def tune_failure(tune: Tune) -> AbcError | None:
    """Why a tune that `read_tunes` gave fails `parse_tunebook` (no X:/K: pair, or a body that
    can't be turned into a timeline), naming its X: and source; None when it parses, its
    timeline then cached on it. For batches that parse each tune where they render it."""
    try:
        _require_structure(tune)
        build_timeline(tune)
    except AbcError as exc:
        exc.x = exc.x if exc.x is not None else tune.x
        exc.source = exc.source or tune.source
        return _detached(exc)
    return None


def _detached(error: AbcError) -> AbcError:
    """`error` without its traceback and the exception it was raised while handling: their
    frames lead to parse_tunebook's, and so to every tune of the book, in a cycle that only
    the garbage collector frees. What went wrong, and where in the ABC, is in the error."""
    error.__context__ = None
    return error.with_traceback(None)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Hold Python's cyclic garbage collector during a batch that keeps what it builds, such
    as parsing a book.

    A tunebook allocates hundreds of thousands of small objects (notes, events, bars) that stay
    alive until the book is done, so each collection the allocations trigger walks them all and
    frees nothing: a quarter of the parse time on music21's corpus. Reference counting frees
    everything else as usual (a parsed tune holds no cycles, see score.Reporter). Left as it
    was when the collector was already off (or another thread holds it)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _require_structure(tune: Tune) -> None:
    from abcgen.notation.errors import MissingKeyError

    if tune.get("K") is None:
        raise MissingKeyError("no K: field, so the tune has no body", line=tune.start_line, col=1)
    if not any(line.text.strip() and not line.text.startswith("%") for line in tune.body):
        raise EmptyTuneError("the tune has a header but no music", line=tune.start_line, col=1)
    if tune.x is None and not tune.get_all("X"):
        raise HeaderError("no X: field before K:", line=tune.start_line, col=1)


def parse_file(path: str | Path) -> tuple[list[Tune], list[AbcError]]:
    """Read, decode and parse an ABC file. Raises UnreadableError if the file can't be read."""
    return parse_tunebook(read_abc(path), source=str(path))


def parse_tune(text: str) -> Tune:
    """Parse text holding one tune; raises the tune's AbcError if it fails."""
    tunes, failures = parse_tunebook(text)
    if failures:
        raise failures[0]
    if not tunes:
        raise EmptyTuneError("no tune found (a tune starts with X: and has a K:)")
    return tunes[0]
