"""Bytes to ABC text: decoding, mojibake mending, newlines.

ABC 2.1 §2.1 (http://abcnotation.com/wiki/abc:standard:v2.1#file_structure): files are UTF-8 by
default; older tunebooks are Latin-1/cp1252, and some were converted twice (UTF-8 read as
cp1252 and saved as UTF-8 again: 'SparÃ¡n'), which we mend.
"""

import codecs
import re
from pathlib import Path

from abcgen.notation.errors import UnreadableError

# A tunebook larger than this is refused rather than parsed (the largest real ones are ~2 MB).
MAX_FILE_BYTES = 8 * 1024 * 1024

# Control characters that never occur in text (tab, LF, CR and form feed do).
_BINARY_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13))
_BINARY_TABLE = bytes.maketrans(b"", b"")

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
    turn CRLF and CR into LF. Raises UnreadableError for binary data or a huge file."""
    if len(data) > MAX_FILE_BYTES:
        raise UnreadableError(f"file is {len(data) // 2**20} MB, over the "
                              f"{MAX_FILE_BYTES // 2**20} MB limit", source=source)
    if _looks_binary(data):
        raise UnreadableError("not a text file (binary data)", source=source)
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
    text = mend_mojibake(text)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_abc(path: str | Path) -> str:
    """Read and decode an ABC file. Raises UnreadableError (missing, a folder, binary, huge)."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise UnreadableError(f"file is over the {MAX_FILE_BYTES // 2**20} MB limit",
                                  source=str(path))
        data = path.read_bytes()
    except FileNotFoundError:
        raise UnreadableError("no such file", source=str(path)) from None
    except IsADirectoryError:
        raise UnreadableError("is a folder, not an ABC file", source=str(path)) from None
    except OSError as exc:
        raise UnreadableError(f"can't read: {exc.strerror}", source=str(path)) from None
    return decode_bytes(data, source=str(path))
