"""File names for a songbook's tunes: `NNN-slug`, safe whatever a title holds.

A title is user text (or model text): it may hold `../../etc/passwd`, 5,000 characters,
control characters, emoji, or repeat another tune's title. The stem made here is ASCII
letters, digits and single hyphens only, at most `SLUG_CHARS` long after the number, and
unique within a book, so `DIR/tunes/<stem>.<ext>` can never leave `DIR/tunes`.
"""

from pathlib import Path

from abcgen.errors import AbcgenError
from abcgen.fileio import SLUG_CHARS, slugify  # noqa: F401 - the songbook's slug rule

NUMBER_DIGITS = 3  # "007-": books past 999 tunes simply get longer numbers


def tune_stems(titles: list[str]) -> list[str]:
    """One stem `NNN-slug` per title, numbered from 1 in order; all distinct.

    The number alone makes stems unique; a repeated slug also gets '-2', '-3' so that two
    tunes with one title are told apart without reading the number.
    """
    seen: dict[str, int] = {}
    stems = []
    for number, title in enumerate(titles, start=1):
        slug = slugify(title)
        seen[slug] = seen.get(slug, 0) + 1
        suffix = f"-{seen[slug]}" if seen[slug] > 1 else ""
        stems.append(f"{number:0{NUMBER_DIGITS}d}-{slug}{suffix}")
    return stems


def inside(folder: Path, name: str) -> Path:
    """`folder / name`, refusing any name that would resolve outside `folder`.

    Stems from `tune_stems` never do; this is the check that keeps it so.
    """
    path = (folder / name).resolve()
    if path.parent != folder.resolve() or name in ("", ".", ".."):
        raise AbcgenError(f"refusing to write {name!r} outside {folder}")
    return folder / name
