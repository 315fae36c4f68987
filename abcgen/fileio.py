"""File names and atomic writes: a title becomes a safe slug, and a reader never sees a
half-written file under its final name.

A title is user text (or model text): it may hold `../../etc/passwd`, 5,000 characters,
control characters, emoji, or repeat another tune's title. A tune's file stem (`tune_stems`,
the one rule `abcgen render`, the songbook and the web app name files by) is ASCII letters,
digits and single hyphens only, at most `SLUG_CHARS` long after its number, and unique within
a book, so `DIR/<stem>.<ext>` can never leave `DIR` (`inside` is the check that keeps it so).
"""

import itertools
import os
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from abcgen.errors import AbcgenError, OutputError


# Temporary names are this process's id and a count: unique among writers without the random
# names (and the chmod mkstemp needs after making its files 0600) that cost more than the write
# itself for a small file; O_EXCL still refuses a name some other writer holds.
_TEMP_COUNT = itertools.count()
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL


def atomic_write_bytes(path: str | os.PathLike, data: bytes, durable: bool = True) -> Path:
    """Write `data` to a temporary file beside `path`, then rename it over `path` (the folder
    is made when missing). The file gets the usual permissions (0o666 less the umask).

    durable: fsync before the rename, so the file survives a power cut too (about 3 ms a
    file here); batch outputs that can be rebuilt pass False and stay atomic."""
    path = Path(path)
    try:
        tmp = write_temporary(path, data, durable)
        try:
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise output_error(path, exc) from None
    return path


def output_error(path: str | os.PathLike, exc: OSError, action: str = "write") -> OutputError:
    """`exc`, met while making `path`, as the one line a user reads: which path and why."""
    if isinstance(exc, OutputError):
        return exc
    if isinstance(exc, (FileExistsError, NotADirectoryError, IsADirectoryError)):
        why = "a file or folder is in the way"
    else:
        why = exc.strerror or str(exc)
    return OutputError(path, why, action, exc.errno)


def make_folder(path: str | os.PathLike) -> Path:
    """Make the folder `path` (and its parents) unless it exists; OutputError when it can't
    be made (a file in the way, no permission, a read-only disk)."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(path, exc, "make the folder") from None
    return path


def write_temporary(path: str | os.PathLike, data: bytes, durable: bool = True) -> str:
    """Write `data` to a new temporary file beside `path` (`.<name>.<pid>-<n>.tmp`, the folder
    made when missing) and return its name, for the caller to rename over the final name
    (`atomic_write_bytes`; a batch whose workers write while its parent picks the names)."""
    fd, tmp = _new_temporary(Path(path))
    try:
        try:
            with memoryview(data) as left:
                while left:  # a regular file takes it all at once; a signal may cut it
                    left = left[os.write(fd, left):]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def _new_temporary(path: Path) -> tuple[int, str]:
    """A new file beside `path`, open for writing: (descriptor, name)."""
    folder_made = False
    while True:
        tmp = f"{path.parent}{os.sep}.{path.name}.{os.getpid()}-{next(_TEMP_COUNT)}.tmp"
        try:
            return os.open(tmp, _NEW_FILE, 0o666), tmp
        except FileExistsError:  # left behind by a process that had the same id
            continue
        except FileNotFoundError:
            if folder_made:
                raise
            path.parent.mkdir(parents=True, exist_ok=True)
            folder_made = True


@contextmanager
def atomic_writer(path: str | os.PathLike, durable: bool = True) -> Iterator[TextIO]:
    """A UTF-8 text file to write bit by bit (a book too large to hold) under a temporary name
    beside `path`, renamed over `path` when the block ends without an error and removed when
    it fails, so `path` is never half written. OutputError names `path` and why."""
    path = Path(path)
    try:
        fd, tmp = _new_temporary(path)
    except OSError as exc:
        raise output_error(path, exc) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise output_error(path, exc) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str, durable: bool = True) -> Path:
    """Write `text` as UTF-8 atomically (see `atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode("utf-8"), durable)


SLUG_CHARS = 48  # longest slug: long titles stay readable in a file list
NOT_SLUG = re.compile(r"[^a-z0-9]+")  # everything that is not kept becomes one hyphen
NO_SLUG = "untitled"  # the slug of a title without letters or digits
NUMBER_DIGITS = 3  # "007-": books past 999 tunes simply get longer numbers


def slugify(title: str) -> str:
    """A lower-case ASCII slug of `title`: 'Tom's Jig (No. 2)' -> 'toms-jig-no-2'.

    Accents are folded ('Ríl' -> 'ril'), apostrophes dropped, every other run of
    non-alphanumerics becomes one hyphen; a title with no letters or digits gives NO_SLUG.
    """
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    folded = folded.lower().replace("'", "")
    slug = NOT_SLUG.sub("-", folded).strip("-")
    return slug[:SLUG_CHARS].rstrip("-") or NO_SLUG


def tune_stems(titles: list[str]) -> list[str]:
    """One file stem `NNN-slug` per title, numbered from 1 in order; all distinct.

    The number alone makes stems unique; a repeated slug also gets '-2', '-3' so that two
    tunes with one title are told apart without reading the number.
    """
    namer = StemNamer()
    return [namer(title) for title in titles]


class StemNamer:
    """`tune_stems` one title at a time, for a batch that learns which tunes it can render
    only as it goes: each call names the next tune."""

    def __init__(self) -> None:
        self.count = 0
        self.seen: dict[str, int] = {}  # slug -> tunes named with it so far

    def __call__(self, title: str) -> str:
        self.count += 1
        slug = slugify(title)
        self.seen[slug] = self.seen.get(slug, 0) + 1
        suffix = f"-{self.seen[slug]}" if self.seen[slug] > 1 else ""
        return f"{self.count:0{NUMBER_DIGITS}d}-{slug}{suffix}"


def inside(folder: Path, name: str) -> Path:
    """`folder / name`, refusing any name that would resolve outside `folder`.

    Stems from `tune_stems` never do; this is the check that keeps it so.
    """
    path = (folder / name).resolve()
    if path.parent != folder.resolve() or name in ("", ".", ".."):
        raise AbcgenError(f"refusing to write {name!r} outside {folder}")
    return folder / name
