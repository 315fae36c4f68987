"""The one error family every abcgen stage raises for problems a user can fix.

The CLI turns an `AbcgenError` into one red line and `exit_code`; anything else is a bug.
"""


class AbcgenError(Exception):
    """A problem with the user's input or environment, reported without a traceback."""

    exit_code = 1


class InputError(AbcgenError):
    """A file is missing, unreadable or of the wrong kind (exit 2)."""

    exit_code = 2


class ToolMissingError(AbcgenError):
    """An external program (abc2midi, fluidsynth, ffmpeg, abcm2ps ...) is not installed."""

    exit_code = 2


class OutputError(AbcgenError, OSError):
    """An output that can't be written: a folder that can't be made, a file in the way, no
    permission, a read-only or full disk. Says which path and why in one line (exit 1); an
    OSError too, for callers that catch those."""

    exit_code = 1

    def __init__(self, path, why: str, action: str = "write", errno: int | None = None):
        OSError.__init__(self, errno, why, str(path))
        self.message = f"can't {action} {path}: {why}"

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # pickled as what it says (a worker process may raise it)
        return (AbcgenError, (self.message,))
