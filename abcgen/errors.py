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
