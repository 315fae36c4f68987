"""ABC errors: one base class, a named subclass per failure mode.

Every error knows where it happened (file, tune X:, line and column, 1-based) so a user can find it.
Tests assert the class, not the message.
"""

from abcgen.errors import AbcgenError


class AbcError(AbcgenError):
    """Base of every ABC problem. `str()` gives 'file: X:n line:col: message'."""

    def __init__(self, message: str, *, line: int = 0, col: int = 0, x: str | None = None,
                 source: str | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col
        self.x = x
        self.source = source

    def where(self) -> str:
        parts = []
        if self.source:
            parts.append(str(self.source))
        if self.x is not None:
            parts.append(f"X:{self.x}")
        if self.line:
            parts.append(f"{self.line}:{self.col}")
        return " ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.message}" if where else self.message


class UnreadableError(AbcError):
    """The bytes are not text (binary data, too large) or the file can't be opened."""

    exit_code = 2


class TuneReadError(AbcError):
    """A tune that can't be read: a control character (a NUL, bytes that are not text) in its
    music, or more text than a tune may have. The rest of its book reads on."""


class HeaderError(AbcError):
    """A header field is missing, repeated or out of place (no X:, no K:, ...)."""


class MissingKeyError(HeaderError):
    """The tune has no K: field, so it has no body."""


class MeterError(HeaderError):
    """An M: value that is not a meter (`M:foo`)."""


class UnitLengthError(HeaderError):
    """An L: value that is not 1/N (`L:0`)."""


class KeyError_(HeaderError):
    """A K: value that is not a key (`K:Gx`). Named with a trailing _ to keep the builtin."""


class TempoError(HeaderError):
    """A Q: value that can't be read as a tempo."""


class LexError(AbcError):
    """A character or token in the body that isn't ABC."""


class UnclosedError(AbcError):
    """A chord, grace group, slur, tuplet or quoted string that is never closed."""


class DurationError(AbcError):
    """A length that is absurd (`A99999`, zero, or a tune longer than the cap)."""


class EmptyTuneError(AbcError):
    """A tune with a header but no notes."""
