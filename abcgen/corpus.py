"""Build a training corpus from ABC tunebooks: read, clean, filter, deduplicate and split.

Sources are named as on the command line: ``music21`` (the folk dance collections of music21's
installed corpus), ``music21:NAME`` (one collection), an ABC file, or a folder (every ``*.abc``
below it). Each tune is cleaned by `abcgen.notation.clean_tune`, judged (rejections carry a
reason from `REJECTION_REASONS`), deduplicated by its normalised body, and assigned to
train/val/test by a hash of that body, so a duplicate can never cross splits and a tune keeps its
split when sources are added. This module works on `notation.Tune` and never reads ABC syntax
itself.

Writes ``train.abc``, ``val.abc``, ``test.abc`` (tunes separated by one blank line, X: numbered
from 1 in each file) and ``stats.json``.
"""

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from abcgen.errors import AbcgenError, InputError
from abcgen.fileio import atomic_write_text
from abcgen.notation import (
    AbcError,
    EmptyTuneError,
    Field,
    MissingKeyError,
    Tune,
    UnreadableError,
    check_tune,
    clean_tune,
    dumps,
    dumps_book,
    parse_tunebook,
    read_abc,
)

MUSIC21 = "music21"
MUSIC21_FOLK_COLLECTIONS = ("oneills1850", "ryansMammoth", "airdsAirs", "miscFolk")
"""What the bare source ``music21`` means: the folk dance collections (about 4,400 tunes)."""

SPLITS = ("train", "val", "test")
DEFAULT_SPLIT = (0.9, 0.05, 0.05)
DEFAULT_MIN_CHARS = 80
DEFAULT_MAX_CHARS = 3000
DEFAULT_MAX_BAR_ERRORS = 0

# `check_tune` codes (abcgen.notation.CODES) that decide a rejection.
BAR_LENGTH_CODE = "bar-length"
NO_NOTES_CODE = "no-notes"
BAD_CHARACTER_CODE = "bad-character"

REJECTION_REASONS = {
    "unreadable": "the file is not text (binary, too large) or can't be opened",
    "no_key": "the tune has no K: field",
    "unparseable": "the tune's ABC can't be parsed",
    "no_notes": "the tune has no notes",
    "no_title": "the tune has no T: title",
    "not_abc": "characters that aren't ABC",
    "too_short": "the cleaned tune has fewer characters than --min-chars",
    "too_long": "the cleaned tune has more characters than --max-chars",
    "bar_errors": "more bars of the wrong length than --max-bar-errors",
    "check_errors": "other errors `abcgen check` reports (unclosed repeats, slurs ...)",
}

# Most specific first: the first class a failure is an instance of names its reason.
_FAILURE_REASONS = (
    (UnreadableError, "unreadable"),
    (MissingKeyError, "no_key"),
    (EmptyTuneError, "no_notes"),
    (AbcError, "unparseable"),
)
_EXAMPLES_PER_REASON = 3

ProgressCallback = Callable[[int, int, str], None]
"""``on_progress(done, total, label)``: bytes of source files read so far, of all, and the
source being read."""


@dataclass(frozen=True)
class Source:
    """One named source and the files it stands for, in reading order. Files are named in
    stats relative to `root` when it is set (music21's corpus folder), else as found."""

    name: str
    files: tuple[Path, ...]
    root: Path | None = None

    def label(self, path: Path) -> str:
        return str(path.relative_to(self.root)) if self.root else str(path)


@dataclass(frozen=True)
class Rejection:
    """Why one tune (or a whole unreadable file) was left out. `reason` is a REJECTION_REASONS key."""

    reason: str
    detail: str
    source: str
    file: str
    x: str | None = None

    def __str__(self) -> str:
        where = f"{self.file} X:{self.x}" if self.x is not None else self.file
        return f"{where}: {self.detail}"


@dataclass
class SourceCounts:
    """Per-source tallies: files read, tunes found (parsed or failed), and what became of them."""

    files: int = 0
    tunes: int = 0
    kept: int = 0
    rejected: int = 0
    duplicates: int = 0


@dataclass
class SplitSize:
    """One split file's size: tunes and characters (of the file as written)."""

    tunes: int = 0
    chars: int = 0


@dataclass
class CorpusStats:
    """What `build_corpus` did; `to_dict()` is what ``stats.json`` holds.

    `rejected` counts tunes by reason (``unreadable`` counts files); `examples` keeps the first
    few rejections of each reason as ``"file X:n: detail"`` lines, and of ``duplicates``.
    """

    sources: dict[str, SourceCounts] = field(default_factory=dict)
    kept: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    splits: dict[str, SplitSize] = field(default_factory=dict)
    seed: int = 0
    options: dict = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    def reject(self, rejection: Rejection) -> None:
        self.rejected[rejection.reason] = self.rejected.get(rejection.reason, 0) + 1
        self.sources[rejection.source].rejected += 1
        self._example(rejection.reason, str(rejection))

    def duplicate(self, source: str, description: str) -> None:
        self.duplicates += 1
        self.sources[source].duplicates += 1
        self._example("duplicates", description)

    def _example(self, kind: str, description: str) -> None:
        examples = self.examples.setdefault(kind, [])
        if len(examples) < _EXAMPLES_PER_REASON:
            examples.append(description)


@dataclass(frozen=True)
class _Filters:
    min_chars: int
    max_chars: int
    max_bar_errors: int


# ---------------------------------------------------------------------------------------------
# Sources


def resolve_sources(sources: Iterable[str]) -> list[Source]:
    """Turn source names into files. ``music21`` expands into one Source per folk collection.

    Raises
    ------
    InputError
        A path that doesn't exist, a folder without ``.abc`` files, an unknown music21 collection.
    """
    resolved: list[Source] = []
    for name in sources:
        if name == MUSIC21:
            resolved += [_music21_source(c) for c in MUSIC21_FOLK_COLLECTIONS]
        elif name.startswith(MUSIC21 + ":"):
            resolved.append(_music21_source(name.partition(":")[2]))
        else:
            resolved.append(_path_source(name))
    return resolved


def _path_source(name: str) -> Source:
    path = Path(name)
    if path.is_file():
        return Source(name, (path,))
    if not path.is_dir():
        raise InputError(f"{name}: no such file or folder")
    files = tuple(sorted(p for p in path.rglob("*") if p.suffix.lower() == ".abc" and p.is_file()))
    if not files:
        raise InputError(f"{name}: no .abc files in this folder")
    return Source(name, files)


def music21_collections() -> tuple[Path, dict[str, tuple[Path, ...]]]:
    """music21's corpus folder, and its ABC files by collection (their top folder), sorted."""
    try:
        import music21.common
        import music21.corpus
    except ImportError as exc:
        raise InputError("music21 is not installed: `pip install music21`") from exc
    root = Path(music21.common.getCorpusFilePath())
    collections: dict[str, list[Path]] = {}
    for path in music21.corpus.getPaths(fileExtensions=("abc",), name=("core",)):
        collection = Path(path).relative_to(root).parts[0]
        collections.setdefault(collection, []).append(Path(path))
    return root, {name: tuple(sorted(files)) for name, files in sorted(collections.items())}


def _music21_source(collection: str) -> Source:
    root, collections = music21_collections()
    if collection not in collections:
        known = ", ".join(collections)
        raise InputError(f"{MUSIC21}:{collection}: no such ABC collection in music21's corpus "
                         f"(known: {known})")
    return Source(f"{MUSIC21}:{collection}", collections[collection], root)


# ---------------------------------------------------------------------------------------------
# Judging one tune


def normalised_body(tune: Tune) -> str:
    """The tune's body with all whitespace removed (case kept): equal for exact and near
    duplicates that differ only in spacing or line breaks."""
    return "".join("".join(line.text.split()) for line in tune.body)


def _failure_reason(failure: AbcError) -> str:
    return next(reason for cls, reason in _FAILURE_REASONS if isinstance(failure, cls))


def _judge(tune: Tune, filters: _Filters) -> tuple[Tune | None, str, str]:
    """Clean `tune` and decide. Returns (cleaned tune, "", "") or (None, reason, detail)."""
    if tune.get("K") is None:
        return None, "no_key", "no K: field"
    cleaned = clean_tune(tune)
    if not cleaned.titles:
        return None, "no_title", "no T: title"
    chars = len(dumps(cleaned))
    if chars < filters.min_chars:
        return None, "too_short", f"{chars} characters < {filters.min_chars}"
    if chars > filters.max_chars:
        return None, "too_long", f"{chars} characters > {filters.max_chars}"
    codes = [issue.code for issue in check_tune(cleaned) if issue.severity == "error"]
    if NO_NOTES_CODE in codes:
        return None, "no_notes", "no notes"
    if BAD_CHARACTER_CODE in codes:
        return None, "not_abc", f"{codes.count(BAD_CHARACTER_CODE)} characters that aren't ABC"
    bad_bars = codes.count(BAR_LENGTH_CODE)
    if bad_bars > filters.max_bar_errors:
        return None, "bar_errors", f"{bad_bars} bars of the wrong length > {filters.max_bar_errors}"
    others = sorted({code for code in codes if code != BAR_LENGTH_CODE})
    if others:  # a model learns what it is shown: keep only tunes `check` finds valid
        return None, "check_errors", ", ".join(others)
    return cleaned, "", ""


# ---------------------------------------------------------------------------------------------
# Split and write


def split_of(body: str, seed: int, split: tuple[float, float, float]) -> str:
    """The split ('train', 'val' or 'test') of a tune with normalised body `body`.

    A hash of (seed, body) mapped to [0, 1) is compared with the cumulative split fractions, so
    the choice depends on nothing but the tune itself and the seed.
    """
    digest = hashlib.sha256(f"{seed}\n{body}".encode()).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64
    total = sum(split)
    bound = 0.0
    for name, share in zip(SPLITS, split, strict=True):
        bound += share / total
        if position < bound:
            return name
    return SPLITS[-1]  # position within rounding error of 1.0


def _numbered(tune: Tune, x: int) -> Tune:
    """`tune` with X: set to `x` (first header field)."""
    rest = [fld for fld in tune.header if fld.name != "X"]
    return replace(tune, header=[Field("X", str(x))] + rest)


def tunebook_text(tunes: list[Tune]) -> str:
    """Tunes as one tunebook: X: renumbered from 1, exactly one blank line between tunes."""
    return dumps_book([_numbered(tune, n) for n, tune in enumerate(tunes, 1)])


def _write(out_dir: Path, by_split: dict[str, list[Tune]], stats: CorpusStats) -> None:
    # stats.json goes last: its presence says the split files beside it are complete.
    for name in SPLITS:
        text = tunebook_text(by_split[name])
        atomic_write_text(out_dir / f"{name}.abc", text)
        stats.splits[name] = SplitSize(tunes=len(by_split[name]), chars=len(text))
    atomic_write_text(out_dir / "stats.json", json.dumps(stats.to_dict(), indent=2) + "\n")


# ---------------------------------------------------------------------------------------------
# The build


class _Builder:
    """Reads sources one file at a time, keeping the first of each normalised body."""

    def __init__(self, stats: CorpusStats, filters: _Filters, seed: int,
                 split: tuple[float, float, float]):
        self.stats, self.filters, self.seed, self.split = stats, filters, seed, split
        self.first_of_body: dict[str, str] = {}  # normalised body -> "file X:n" of the kept one
        self.seen_files: set[Path] = set()
        self.by_split: dict[str, list[Tune]] = {name: [] for name in SPLITS}

    def read_file(self, source: Source, path: Path) -> None:
        if path.resolve() in self.seen_files:  # named twice, e.g. `music21 music21:miscFolk`
            return
        self.seen_files.add(path.resolve())
        counts, label = self.stats.sources[source.name], source.label(path)
        counts.files += 1
        try:
            text = read_abc(path)
        except UnreadableError as exc:
            self.stats.reject(Rejection("unreadable", exc.message, source.name, label))
            return
        tunes, failures = parse_tunebook(text, source=label)
        counts.tunes += len(tunes) + len(failures)
        for failure in failures:
            self.stats.reject(Rejection(_failure_reason(failure), failure.message, source.name,
                                        label, failure.x))
        for tune in tunes:
            self._add(source.name, label, tune)

    def _add(self, source: str, label: str, tune: Tune) -> None:
        cleaned, reason, detail = _judge(tune, self.filters)
        if cleaned is None:
            self.stats.reject(Rejection(reason, detail, source, label, tune.x))
            return
        body = normalised_body(cleaned)
        where = f"{label} X:{tune.x}"
        if body in self.first_of_body:
            self.stats.duplicate(source, f"{where} repeats {self.first_of_body[body]}")
            return
        self.first_of_body[body] = where
        self.by_split[split_of(body, self.seed, self.split)].append(cleaned)
        self.stats.kept += 1
        self.stats.sources[source].kept += 1


def _check_options(split: tuple[float, ...], min_chars: int, max_chars: int,
                   max_bar_errors: int) -> None:
    if len(split) != len(SPLITS) or min(split) < 0 or sum(split) <= 0:
        raise InputError(f"split must be three non-negative shares (train, val, test), got {split}")
    if min_chars < 0 or max_chars < min_chars:
        raise InputError(f"need 0 <= min_chars <= max_chars, got {min_chars} and {max_chars}")
    if max_bar_errors < 0:
        raise InputError(f"max_bar_errors must be >= 0, got {max_bar_errors}")


def build_corpus(sources: list[str], out_dir: str | os.PathLike, *, seed: int = 0,
                 split: tuple[float, float, float] = DEFAULT_SPLIT,
                 min_chars: int = DEFAULT_MIN_CHARS, max_chars: int = DEFAULT_MAX_CHARS,
                 max_bar_errors: int = DEFAULT_MAX_BAR_ERRORS,
                 on_progress: ProgressCallback | None = None) -> CorpusStats:
    """Build train/val/test tunebooks and stats.json in `out_dir` from `sources`.

    Parameters
    ----------
    sources : source names (see the module docstring); empty means ``["music21"]``.
    out_dir : folder to write to (created if needed; the four files in it are replaced).
    seed : changes which tunes land in which split.
    split : train/val/test shares; normalised by their sum.
    min_chars, max_chars : accepted length of a cleaned tune, in characters.
    max_bar_errors : most bars of the wrong length (`check_tune`'s bar-length issues) a kept
        tune may have.
    on_progress : called after each file with (bytes done, bytes total, source name).

    Raises
    ------
    InputError
        A source that doesn't exist, bad options, or `out_dir` is a file.
    AbcgenError
        No tune survived cleaning (nothing is written), or `out_dir` can't be written.
    """
    split = tuple(float(share) for share in split)
    _check_options(split, min_chars, max_chars, max_bar_errors)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: exists and is not a folder")
    resolved = resolve_sources(sources or [MUSIC21])
    filters = _Filters(min_chars, max_chars, max_bar_errors)
    stats = CorpusStats(seed=seed, options={"split": list(split), **asdict(filters)})
    builder = _Builder(stats, filters, seed, split)
    _read_all(builder, resolved, on_progress)
    if stats.kept == 0:
        raise AbcgenError(f"no tune survived cleaning (rejected: {stats.rejected or 'none'}, "
                          f"duplicates: {stats.duplicates}); nothing written to {out_dir}")
    try:
        _write(out_dir, builder.by_split, stats)
    except OSError as exc:
        raise AbcgenError(f"{out_dir}: can't write the corpus: {exc.strerror or exc}") from None
    return stats


def _read_all(builder: _Builder, sources: list[Source],
              on_progress: ProgressCallback | None) -> None:
    total = sum(path.stat().st_size for source in sources for path in source.files)
    done = 0
    for source in sources:
        builder.stats.sources.setdefault(source.name, SourceCounts())
        for path in source.files:
            builder.read_file(source, path)
            done += path.stat().st_size
            if on_progress is not None:
                on_progress(done, total, source.name)
