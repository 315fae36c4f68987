"""abcgen.notation: the only code in abcgen that knows ABC syntax.

ABC 2.1: http://abcnotation.com/wiki/abc:standard:v2.1. Read a tunebook with `parse_file` or
`parse_tunebook` (tunes and failures, never aborting on one bad tune), a book of any size one
tune at a time with `stream_tunes` (or `stream_book`, with each tune's lines), hear a tune with
`build_timeline`, judge it with `check_tune`, write it back with `dumps`.
"""

from abcgen.notation.chords import parse_chord_symbol
from abcgen.notation.errors import (AbcError, DurationError, EmptyTuneError, HeaderError,
                                    KeyError_, LexError, MeterError, MissingKeyError,
                                    TempoError, TuneReadError, UnclosedError, UnitLengthError,
                                    UnreadableError)
from abcgen.notation.fields import (default_unit_length, parse_key, parse_meter, parse_tempo,
                                    parse_unit_length)
from abcgen.notation.model import (Bar, BodyLine, ChordSymbolEvent, Field, Issue, Key, Meter,
                                   NoteEvent, Timeline, Tune)
from abcgen.notation.parse import (MAX_TUNE_CHARS, iter_book, parse_file, parse_tune,
                                   parse_tunebook, parse_tunes, read_errors, read_tunes,
                                   stream_book, stream_tunes, tune_failure)
from abcgen.notation.report import check_file, describe_file, describe_json, describe_tune
from abcgen.notation.text import decode_bytes, read_abc
from abcgen.notation.timeline import build_timeline
from abcgen.notation.validate import (CODES, book_issues, check_text, check_tune, check_tunes,
                                      checked_tune)
from abcgen.notation.writer import clean_tune, dumps, dumps_book

__all__ = [
    "AbcError", "Bar", "BodyLine", "CODES", "ChordSymbolEvent", "DurationError",
    "EmptyTuneError", "Field", "HeaderError", "Issue", "Key", "KeyError_", "LexError",
    "MAX_TUNE_CHARS", "Meter", "MeterError", "MissingKeyError", "NoteEvent", "TempoError",
    "Timeline", "Tune", "TuneReadError", "UnclosedError", "UnitLengthError", "UnreadableError",
    "book_issues", "build_timeline", "check_file", "check_text", "check_tune", "check_tunes",
    "checked_tune", "clean_tune", "decode_bytes", "default_unit_length", "describe_file",
    "describe_json", "describe_tune", "dumps", "dumps_book", "iter_book", "parse_chord_symbol",
    "parse_file", "parse_key", "parse_meter", "parse_tempo", "parse_tune", "parse_tunebook",
    "parse_tunes", "parse_unit_length", "read_abc", "read_errors", "read_tunes", "stream_book",
    "stream_tunes", "tune_failure",
]
