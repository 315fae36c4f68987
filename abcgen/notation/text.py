"""Bytes to ABC text: decoding, mojibake mending, newlines.

ABC 2.1 §2.1 (http://abcnotation.com/wiki/abc:standard:v2.1#file_structure): files are UTF-8 by
default; older tunebooks are Latin-1/cp1252, and some were converted twice (UTF-8 read as
cp1252 and saved as UTF-8 again: 'SparÃ¡n'), which we mend.
"""

import codecs
import re
from collections.abc import Iterator
from pathlib import Path

from abcgen.notation.errors import UnreadableError

# A book is read this many bytes at a time (`FileLines`), so memory follows its largest tune.
READ_CHUNK = 1 << 20
# A line longer than this keeps only its start (the tune that holds it is refused as too long,
# see parse.MAX_TUNE_CHARS; a file with no line breaks is no tunebook).
MAX_LINE_BYTES = 1 << 20

# Control characters that never occur in text (tab, LF, CR and form feed do), DEL, and the C1
# controls that bytes no text encoding defines turn into (0x81 read as Latin-1): a tune that
# holds one in its music can't be read (parse.tune_from_lines), a text field loses it.
CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_BINARY_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13))
_BINARY_TABLE = bytes.maketrans(b"", b"")
# A line that starts a tune: only a file holding none of these and binary data is "not ABC".
_TUNE_LINE = re.compile(r"^[XK]:", re.MULTILINE)
NOT_ABC = "not an ABC file: binary data and no tune (a tune starts with X: and has a K:)"

# A run of characters that UTF-8 bytes turn into when read as cp1252/latin-1.
_MOJIBAKE_RUN = re.compile("[\u0080-\u00ff\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192"
                           "\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030"
                           "\u2039\u203a\u20ac\u2122]{2,}")


def _looks_binary(data: bytes) -> bool:
    sample = data[:65536]
    if b"\x00" in sample:
        return True
    controls = len(sample) - len(sample.translate(_BINARY_TABLE, _BINARY_BYTES))
    return controls > max(8, len(sample) // 100)


def _cp1252_bytes() -> dict[str, int]:
    """The characters cp1252 puts at bytes 0x80-0x9f (the rest of 0x80-0xff is Latin-1)."""
    table = {}
    for byte in range(0x80, 0xA0):
        try:
            table[bytes([byte]).decode("cp1252")] = byte
        except UnicodeDecodeError:
            continue
    return table


CP1252_BYTES = _cp1252_bytes()
# Enough rounds for the worst real file seen (Ceol Rince na hÉireann: eight layers).
MAX_MOJIBAKE_LAYERS = 12


def _as_single_bytes(run: str) -> bytes | None:
    """The bytes a cp1252/Latin-1 reader turned into `run`, or None if it can't have."""
    out = bytearray()
    for char in run:
        code = CP1252_BYTES.get(char, ord(char))
        if code > 0xFF:
            return None
        out.append(code)
    return bytes(out)


def _mend_run(match: re.Match) -> str:
    run = match.group(0)
    for _ in range(MAX_MOJIBAKE_LAYERS):
        raw = _as_single_bytes(run)
        try:
            fixed = raw.decode("utf-8") if raw is not None else run
        except UnicodeDecodeError:
            break
        if fixed == run:
            break
        run = fixed
    return run


def mend_mojibake(text: str) -> str:
    """Undo UTF-8 that was decoded as cp1252 (once or more): 'SparÃÂ¡n' -> 'Sparán'.

    Double encoding puts an invisible U+0083 between Ã and Â; copies that lost it are
    mended too."""
    if text.isascii():
        return text
    return _MOJIBAKE_RUN.sub(_mend_run, text.replace("ÃÂ", "Ã\x83Â"))


def decode_bytes(data: bytes, source: str | None = None) -> str:
    """Decode a tunebook: UTF-8 (BOM or not), else cp1252, else latin-1; mend mojibake;
    turn CRLF and CR into LF. Raises UnreadableError for binary data holding no tune (a
    tune with a control character fails alone, see parse.tune_from_lines)."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
    text = mend_mojibake(text).replace("\r\n", "\n").replace("\r", "\n")
    if _looks_binary(data) and not _TUNE_LINE.search(text):
        raise UnreadableError(NOT_ABC, source=source)
    return text


def _decode_lines(data: bytes) -> str:
    """`decode_bytes` of a chunk of whole lines without the binary test: UTF-8, else each
    line UTF-8, cp1252 or Latin-1 (a book merged from files in several encodings reads right)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = "\n".join(_decode_line(line) for line in data.split(b"\n"))
    return mend_mojibake(text).replace("\r\n", "\n").replace("\r", "\n")


def _decode_line(line: bytes) -> str:
    for encoding in ("utf-8", "cp1252"):
        try:
            return line.decode(encoding)
        except UnicodeDecodeError:
            continue
    return line.decode("latin-1")


def _open(path: Path):
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise UnreadableError("no such file", source=str(path)) from None
    except IsADirectoryError:
        raise UnreadableError("is a folder, not an ABC file", source=str(path)) from None
    except OSError as exc:
        raise UnreadableError(f"can't read: {exc.strerror}", source=str(path)) from None


class FileLines:
    """The lines of an ABC file, decoded as `decode_bytes` does, read READ_CHUNK bytes at a
    time: memory holds one chunk (and one line, however long), never the file.

    `binary` is True once a control character was seen (see CONTROL_CHARS). Opening raises
    UnreadableError (missing, a folder, no permission) when iteration starts."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.binary = False

    def __iter__(self) -> Iterator[str]:
        with _open(self.path) as handle:
            pending, first = b"", True
            while True:
                try:
                    chunk = handle.read(READ_CHUNK)
                except OSError as exc:
                    raise UnreadableError(f"can't read: {exc.strerror}",
                                          source=str(self.path)) from None
                whole, pending = _split_at_last_newline(pending + chunk, final=not chunk)
                pending = pending[:MAX_LINE_BYTES + 1]  # the rest of a huge line is dropped
                if whole:
                    yield from self._lines(whole, first)
                    first = False
                if not chunk:
                    return

    def _lines(self, data: bytes, first: bool) -> list[str]:
        if first:
            data = data.removeprefix(codecs.BOM_UTF8)
        text = _decode_lines(data)
        if not self.binary and CONTROL_CHARS.search(text):
            self.binary = True
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()  # the newline that ends the chunk ends its last line
        return lines


def _split_at_last_newline(data: bytes, final: bool) -> tuple[bytes, bytes]:
    """(whole lines, the start of the next line). A CR at the end waits for the LF that may
    follow it in the next chunk; the last chunk is all whole lines."""
    if final:
        return data, b""
    end = len(data) - 1 if data.endswith(b"\r") else len(data)
    cut = max(data.rfind(b"\n", 0, end), data.rfind(b"\r", 0, end)) + 1
    return data[:cut], data[cut:]


def read_abc(path: str | Path) -> str:
    """Read and decode a whole ABC file (`FileLines` reads one a chunk at a time). Raises
    UnreadableError (missing, a folder, binary data with no tune)."""
    path = Path(path)
    with _open(path) as handle:
        try:
            data = handle.read()
        except OSError as exc:
            raise UnreadableError(f"can't read: {exc.strerror}", source=str(path)) from None
    return decode_bytes(data, source=str(path))
