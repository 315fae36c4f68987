"""Tunebook text -> Tune structures, and the book-level `parse_tunebook`.

http://abcnotation.com/wiki/abc:standard:v2.1#abc_file_structure — blank lines end tunes; a
first block without X: is the file header (defaults for every tune); `%` lines are comments
and don't split tunes; `+:` continues the previous field. The first K: ends a tune's header.
"""

import gc
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from abcgen.notation.errors import (AbcError, EmptyTuneError, HeaderError, TuneReadError,
                                    UnreadableError)
from abcgen.notation.lexer import strip_comment
from abcgen.notation.model import BodyLine, Field, Issue, Tune, tune_issue
from abcgen.notation.text import CONTROL_CHARS, NOT_ABC, FileLines
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


def music_only(text: str) -> bool:
    """True when `text` (the first bars a user primes the model with) holds music lines only:
    no field line (`K:`, `T:`, `+:` ...), no `%` comment or directive, no control character."""
    return not ("%" in text or CONTROL_CHARS.search(text)
                or any(field_line(line.strip()) for line in text.splitlines()))


# A tune (or a run of text between tunes) longer than this is refused with its X: and first
# line instead of being read: the longest real tunes are tens of kB, the cap bounds memory.
MAX_TUNE_CHARS = 1 << 20


class Block(NamedTuple):
    """A run of lines between blank lines (or before an X: line): its first line number, its
    lines as written (`raw`, for a repair that keeps clean tunes byte for byte), the lines as
    read (`%%beginps` data commented out), and how many characters were left out past
    MAX_TUNE_CHARS (0 when none)."""

    start: int
    raw: list[str]
    lines: list[str]
    dropped: int = 0


def _blocks(lines: Iterable[str]) -> Iterator[Block]:
    """Split lines into blocks at blank lines and at X: lines (see `Block`); a blank line
    inside `%%beginps ... %%endps` is the directive's data and splits nothing."""
    current: list[str] = []
    start, size, dropped, inside = 1, 0, 0, False
    for number, line in enumerate(lines, 1):
        if line.startswith("%%begin"):
            inside = True
        elif line.startswith("%%end"):
            inside = False
        if not inside and not line.strip():
            if current or dropped:
                yield _block(start, current, dropped)
            current, start, size, dropped = [], number + 1, 0, 0
            continue
        if line.startswith("X:") and any(not c.startswith("%") for c in current):
            yield _block(start, current, dropped)  # a new tune without the blank line before it
            current, start, size, dropped = [], number, 0, 0
        size += len(line) + 1
        if size > MAX_TUNE_CHARS:
            dropped += len(line) + 1
        else:
            current.append(line)
    if current or dropped:
        yield _block(start, current, dropped)


def _block(start: int, raw: list[str], dropped: int) -> Block:
    return Block(start, raw, _commented_lines(raw), dropped)


def _commented_lines(lines: list[str]) -> list[str]:
    """Lines inside `%%beginps ... %%endps` (and %%begintext, %%beginsvg ...) are directives'
    data, not music: mark them as comments so no stage reads them as notes."""
    if not any(line.startswith("%%begin") for line in lines):
        return lines
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
    so `check` can say K: is missing and `repair` can add one. A control character (see
    text.CONTROL_CHARS) is removed from a text field with a warning; anywhere else it makes
    the tune unreadable (`read_issues`)."""
    findings: list[tuple[str, int, int, str]] = []
    if any(CONTROL_CHARS.search(line) for line in lines):
        lines, findings = _without_control_characters(lines, start)
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
    tune.read_issues = [tune_issue(tune, "control-character", message, line, col, severity)
                        for severity, line, col, message in findings]
    return tune


# http://abcnotation.com/wiki/abc:standard:v2.1#information_field_definition — the fields
# whose value is free text (and comment lines): a control character there is dropped.
TEXT_FIELDS = frozenset("ABCDFGHNORSTWZw+%")


def _without_control_characters(lines: list[str], start: int
                                 ) -> tuple[list[str], list[tuple[str, int, int, str]]]:
    """`lines` with control characters removed from text fields and comments, and what was
    found: (severity, line, col, message) per line that held one."""
    out, findings = [], []
    for offset, line in enumerate(lines):
        found = CONTROL_CHARS.search(line)
        if found is None:
            out.append(line)
            continue
        code = f"U+{ord(found[0]):04X}"
        name = "%" if line.startswith("%") else (field_line(line) or ("", ""))[0]
        if name in TEXT_FIELDS:
            out.append(CONTROL_CHARS.sub("", line))
            findings.append(("warning", start + offset, found.start() + 1,
                             f"a control character ({code}) removed from {name}:"))
        else:
            out.append(line)
            findings.append(("error", start + offset, found.start() + 1,
                             f"a control character ({code}) in the music: binary data or "
                             "bytes that are not text, so the tune can't be read"))
    return out, findings


def read_errors(tune: Tune) -> list[Issue]:
    """The errors that make `tune` unreadable as a whole (a control character in its music,
    over MAX_TUNE_CHARS): every stage fails it with these alone."""
    return [issue for issue in tune.read_issues if issue.severity == "error"]


def _too_long(tune: Tune, block: Block) -> Tune:
    """A block over MAX_TUNE_CHARS: its header, no body, and the error that refuses it."""
    size = sum(len(line) + 1 for line in block.raw) + block.dropped
    tune.body = []
    tune.read_issues.append(tune_issue(
        tune, "tune-too-long", f"the tune is {size:,} characters long, over the "
        f"{MAX_TUNE_CHARS:,} a tune may have", block.start))
    return tune


def iter_book(lines: Iterable[str], source: str | None = None
              ) -> Iterator[tuple[Block, Tune | None]]:
    """Each block of a tunebook's lines with its Tune (None for a free-text block, one with
    no X: and no K:), one at a time; never raises. A first free-text block is the file
    header, whose fields are defaults for every tune."""
    file_header: list[Field] = []
    for index, block in enumerate(_blocks(lines)):
        if not _is_tune_block(block.lines):
            if index == 0:
                file_header = [f for f in tune_from_lines(block.lines, block.start).header
                               if f.name != "%"]
            yield block, None
            continue
        tune = tune_from_lines(block.lines, block.start, file_header, source)
        yield block, (_too_long(tune, block) if block.dropped else tune)


def read_tunes(text: str, source: str | None = None) -> list[Tune]:
    """Every tune block of a tunebook as a Tune, however broken; never raises.

    Free-text blocks (no X: and no K:) are skipped; a first such block is the file header."""
    return [tune for _, tune in iter_book(text.split("\n"), source) if tune is not None]


def stream_book(path: str | Path) -> Iterator[tuple[Block, Tune | None]]:
    """`iter_book` of the ABC file at `path`, read a chunk at a time (text.FileLines), so
    memory holds one tune, however large the file. Raises UnreadableError when the file can't
    be opened, or when it holds binary data and nothing reads as a tune ("not ABC"), at the
    end of such a file."""
    lines = FileLines(path)
    tunes = 0
    for block, tune in iter_book(lines, str(path)):
        tunes += tune is not None
        yield block, tune
    if not tunes and lines.binary:
        raise UnreadableError(NOT_ABC, source=str(path))


def stream_tunes(path: str | Path) -> Iterator[Tune]:
    """The tunes of the ABC file at `path` one at a time (see `stream_book`)."""
    return (tune for _, tune in stream_book(path) if tune is not None)


def parse_tunebook(text: str, source: str | None = None) -> tuple[list[Tune], list[AbcError]]:
    """Parse a tunebook into (tunes, failures). One bad tune never aborts the book.

    A tune fails when it has no X:/K: pair that gives it a header and a body, or when its
    body can't be turned into a timeline (see `build_timeline`); each failure names the
    tune's X:, line and column."""
    return parse_tunes(read_tunes(text, source))


def parse_tunes(tunes: Iterable[Tune]) -> tuple[list[Tune], list[AbcError]]:
    """`parse_tunebook` of tunes as `read_tunes` or `stream_tunes` gives them."""
    parsed, failures = [], []
    with collector_paused():
        for tune in tunes:
            error = tune_failure(tune)
            if error is None:
                parsed.append(tune)
            else:
                failures.append(error)
    return parsed, failures


def tune_failure(tune: Tune) -> AbcError | None:
    """Why a tune that `read_tunes` gave fails `parse_tunebook` (no X:/K: pair, or a body that
    can't be turned into a timeline), naming its X: and source; None when it parses, its
    timeline then cached on it. For batches that parse each tune where they render it."""
    errors = read_errors(tune)
    if errors:
        return TuneReadError(errors[0].message, line=errors[0].line, col=errors[0].col,
                             x=tune.x, source=tune.source)
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
    return parse_tunes(stream_tunes(path))


def parse_tune(text: str) -> Tune:
    """Parse text holding one tune; raises the tune's AbcError if it fails."""
    tunes, failures = parse_tunebook(text)
    if failures:
        raise failures[0]
    if not tunes:
        raise EmptyTuneError("no tune found (a tune starts with X: and has a K:)")
    return tunes[0]
