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

import bisect
import hashlib
import json
import math
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
    build_timeline,
    dumps_book,
    parse_tune,
    stream_tunes,
    tune_failure,
)
from abcgen.notation.lengths import in_usual_unit, without_quoted_text
from abcgen.notation.titles import normalise_rhythm, normalise_title
from abcgen.repair import Edit, repair_tune
from abcgen.titles import english_words, title_words_of_files, words_of
from abcgen.repair.header import insert_field

MUSIC21 = "music21"
MUSIC21_FOLK_COLLECTIONS = ("oneills1850", "ryansMammoth", "airdsAirs", "miscFolk")
"""What the bare source ``music21`` means: the folk dance collections (about 4,400 tunes)."""

SPLITS = ("train", "val", "test")
TITLE_WORDS_FILE = "title_words.txt"
DEFAULT_SPLIT = (0.9, 0.05, 0.05)
DEFAULT_MIN_CHARS = 80
DEFAULT_MAX_CHARS = 3000
DEFAULT_MAX_REPAIR_SHARE = 0.1
"""A flagged tune is kept when repair makes it valid and rewrites at most this share of its
written bars, rounded up: one bar in a 10-bar tune, two in a 16-bar air, four in a 32-bar reel
(see corpora/README.md for examples)."""

MARK_EDITS = frozenset({
    "unopened-repeat", "final-bar", "misplaced-decoration", "swung-decoration", "fermata",
    "bad-chord-symbol", "quoted-comma", "invisible-bar", "unclosed-slur", "unclosed-tuplet",
    "bad-character", "bad-parts", "late-voice", "field-in-body", "header-bar", "key-not-last",
    "octave-spelling", "invalid-tempo"})
"""Repair edits that change marks, not which notes are played or for how long: a decoration
in the wrong place, `|:` opening a repeat that `:|` already closes, a chord symbol made an
annotation, a stray character that isn't ABC."""

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
    "bar_errors": "bars of the wrong length that repair could not mend",
    "check_errors": "other errors `abcgen check` reports that repair could not mend",
    "repair_too_large": "repair needs more edits than --max-repair-share of its bars",
}

# Most specific first: the first class a failure is an instance of names its reason.
_FAILURE_REASONS = (
    (UnreadableError, "unreadable"),
    (MissingKeyError, "no_key"),
    (EmptyTuneError, "no_notes"),
    (AbcError, "unparseable"),
)
_EXAMPLES_PER_REASON = 3

MUSIC21_LICENCE = "non-commercial (music21 corpus/license.txt)"
UNKNOWN_LICENCE = "unknown (check the terms of your own files)"
KNOWN_LICENCES = {
    "ceol_rince_na_heireann": "CC BY 4.0",
    "nottingham_jukedeck": "GPL-3.0",
    "oldtime_seattle_rjl20": "CC BY-SA 4.0",
    "tuneworks_jw35": "GPL-2.0+ / CC BY-SA 4.0",
}
"""The collections staged in ../shared/corpora (see its README), by folder name."""
BUNDLE_LICENCES = frozenset({MUSIC21_LICENCE, "CC BY 4.0"})
"""Licences whose terms combine into the bundled model (non-commercial, with attribution);
the GPL and CC BY-SA collections stay out of it and test how it generalises."""

CorpusProgress = Callable[[int, int, str], None]
"""``on_progress(done, total, label)``: bytes of source files read so far, of all, and the
source being read."""


@dataclass(frozen=True)
class Source:
    """One named source and the files it stands for, in reading order. Files are named in
    stats relative to `root` when it is set (music21's corpus folder), else as found."""

    name: str
    files: tuple[Path, ...]
    root: Path | None = None
    licence: str = UNKNOWN_LICENCE

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


@dataclass(frozen=True)
class Provenance:
    """Where a kept tune came from: source, file, its X: there, and the source's licence."""

    source: str
    file: str
    x: str | None
    licence: str


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
    kept_as_written: int = 0
    kept_after_repair: int = 0
    repairs: dict[str, int] = field(default_factory=dict)
    """Tunes kept after repair, by the kind of edit (a tune with two kinds counts in both)."""
    licences: dict[str, int] = field(default_factory=dict)
    """Kept tunes by the licence of their source."""
    rejected: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    splits: dict[str, SplitSize] = field(default_factory=dict)
    seed: int = 0
    options: dict = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    tunes: dict[str, list[Provenance]] = field(default_factory=dict)
    """Each split's tunes, in file order (X:1 first): where each came from, under which licence."""

    def to_dict(self) -> dict:
        return asdict(self)

    def keep(self, provenance: Provenance, split: str, repairs: tuple[str, ...]) -> None:
        self.kept += 1
        self.sources[provenance.source].kept += 1
        self.licences[provenance.licence] = self.licences.get(provenance.licence, 0) + 1
        self.tunes.setdefault(split, []).append(provenance)
        if not repairs:
            self.kept_as_written += 1
            return
        self.kept_after_repair += 1
        for kind in sorted(set(repairs)):
            self.repairs[kind] = self.repairs.get(kind, 0) + 1

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
    max_repair_share: float
    keep_chords: bool = False
    keep_unit: bool = False


@dataclass(frozen=True)
class _Verdict:
    """What became of one tune: the tune to keep (None when rejected, with a REJECTION_REASONS
    key and a detail) and the kinds of the repair edits it took."""

    tune: Tune | None = None
    reason: str = ""
    detail: str = ""
    repairs: tuple[str, ...] = ()


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


def licence_of(path: Path) -> str:
    """The licence of a file or folder of ABC: a staged collection's, else unknown."""
    for part in reversed(path.resolve().parts):
        if part in KNOWN_LICENCES:
            return KNOWN_LICENCES[part]
    return UNKNOWN_LICENCE


def _path_source(name: str) -> Source:
    path = Path(name)
    if path.is_file():
        return Source(name, (path,), licence=licence_of(path))
    if not path.is_dir():
        raise InputError(f"{name}: no such file or folder")
    files = tuple(sorted(p for p in path.rglob("*") if p.suffix.lower() == ".abc" and p.is_file()))
    if not files:
        raise InputError(f"{name}: no .abc files in this folder")
    return Source(name, files, licence=licence_of(path))


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
    return Source(f"{MUSIC21}:{collection}", collections[collection], root, MUSIC21_LICENCE)


# ---------------------------------------------------------------------------------------------
# Judging one tune


def normalised_body(tune: Tune) -> str:
    """The tune's body with all whitespace removed (case kept): equal for exact and near
    duplicates that differ only in spacing or line breaks."""
    return "".join("".join(line.text.split()) for line in tune.body)


def written_bar_starts(tune: Tune) -> list[tuple[int, int]]:
    """(line, column) where each written bar of the tune starts, in order ([] when it can't
    be played)."""
    try:
        bars = build_timeline(tune, strict=False).bars
    except AbcError:
        return []
    return sorted({bar.number: (bar.line, bar.col) for bar in bars}.values())


def _failure_reason(failure: AbcError) -> str:
    return next(reason for cls, reason in _FAILURE_REASONS if isinstance(failure, cls))


def _judge(tune: Tune, filters: _Filters) -> _Verdict:
    """Clean `tune`, mend what `check` flags when a bounded repair can, and decide."""
    if tune.get("K") is None:
        return _Verdict(reason="no_key", detail="no K: field")
    cleaned = _as_written_for_models(clean_tune(tune), filters)
    if not cleaned.titles:
        return _Verdict(reason="no_title", detail="no T: title")
    cleaned = with_normal_title(cleaned)
    chars = len(dumps(cleaned))
    if chars < filters.min_chars:
        return _Verdict(reason="too_short", detail=f"{chars} characters < {filters.min_chars}")
    if chars > filters.max_chars:
        return _Verdict(reason="too_long", detail=f"{chars} characters > {filters.max_chars}")
    codes = [issue.code for issue in check_tune(cleaned) if issue.severity == "error"]
    if NO_NOTES_CODE in codes:
        return _Verdict(reason="no_notes", detail="no notes")
    if not codes:
        return _Verdict(cleaned)
    return _repaired(cleaned, codes, filters.max_repair_share)


def _as_written_for_models(tune: Tune, filters: _Filters) -> Tune:
    """The melody, its note lengths in the unit most of them have (unless the options keep
    chord symbols or the written unit): one way of writing the same music, whichever book a
    tune comes from. A model then learns the tunes, not each book's habits; the Nottingham
    books' chord symbols and `L:1/4` cost a model trained on other books half its bits."""
    tune = tune if filters.keep_chords else without_quoted_text(tune)
    return tune if filters.keep_unit else in_usual_unit(tune)


def _repaired(tune: Tune, codes: list[str], max_share: float) -> _Verdict:
    """Keep a flagged tune when `repair_tune` makes it valid and its notes or their lengths
    change in at most `max_share` of its written bars (at least one bar): a bar of the wrong
    length, an unequal broken rhythm or an unclosed repeat is mended; a tune that needs many
    bars rewritten is a transcription gone wrong and stays out (a model learns what it is
    shown). Edits of marks alone (MARK_EDITS) are always accepted."""
    reason = _flagged_reason(codes)
    if max_share == 0:
        return _Verdict(reason=reason, detail=", ".join(sorted(set(codes))))
    result = repair_tune(tune)
    if not result.ok:
        return _Verdict(reason=reason, detail=result.reason)
    bars = written_bar_starts(tune)
    changed = len({_bar_of(bars, edit) for edit in result.edits if edit.kind not in MARK_EDITS})
    allowed = max(1, math.ceil(max_share * len(bars)))
    if changed > allowed:
        return _Verdict(reason="repair_too_large", detail=f"repair rewrites {changed} of "
                        f"{len(bars)} bars, more than {allowed} ({reason})")
    written = dumps(result.tune)
    if any(issue.severity == "error" for issue in check_tune(parse_tune(written))):
        return _Verdict(reason=reason, detail="the repaired text fails check when read back")
    return _Verdict(parse_tune(written), repairs=tuple(edit.kind for edit in result.edits))


def _bar_of(bar_starts: list[tuple[int, int]], edit: Edit) -> int:
    """The index of the written bar an edit falls in (by its line and column)."""
    return max(bisect.bisect_right(bar_starts, (edit.line, edit.col)) - 1, 0)


def _flagged_reason(codes: list[str]) -> str:
    """The rejection reason a tune's `check` errors name, most telling first."""
    if BAD_CHARACTER_CODE in codes:
        return "not_abc"
    if all(code == BAR_LENGTH_CODE for code in codes):
        return "bar_errors"
    return "check_errors"


def with_normal_title(tune: Tune) -> Tune:
    """`tune` with its first title normalised (`normalise_title`) as its only title, its `R:`
    normalised (`normalise_rhythm`), and the rhythm the title named moved into `R:` when the
    tune has none."""
    normal = normalise_title(tune.title)
    header = [fld if fld.name != "R" else Field("R", normalise_rhythm(fld.value), fld.line)
              for fld in tune.header if fld.name != "T"]
    header = insert_field(header, Field("T", normal.title))
    if normal.rhythm and tune.get("R") is None:
        header = insert_field(header, Field("R", normal.rhythm))
    return replace(tune, header=header)


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


def _write(out_dir: Path, by_split: dict[str, list[Tune]], title_words: frozenset[str],
           stats: CorpusStats) -> None:
    # stats.json goes last: its presence says the split files beside it are complete.
    atomic_write_text(out_dir / TITLE_WORDS_FILE, "".join(f"{w}\n" for w in sorted(title_words)))
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
        self.title_words: set[str] = set()
        """Every word of every title read, kept or not (normalised, lower case)."""

    def read_file(self, source: Source, path: Path) -> None:
        if path.resolve() in self.seen_files:  # named twice, e.g. `music21 music21:miscFolk`
            return
        self.seen_files.add(path.resolve())
        counts, label = self.stats.sources[source.name], source.label(path)
        counts.files += 1
        try:
            for tune in stream_tunes(path):  # a tune at a time: memory holds one, not the book
                counts.tunes += 1
                self._read_tune(source, label, replace(tune, source=label))
        except UnreadableError as exc:
            self.stats.reject(Rejection("unreadable", exc.message, source.name, label))

    def _read_tune(self, source: Source, label: str, tune: Tune) -> None:
        failure = tune_failure(tune)
        if failure is not None:
            self.stats.reject(Rejection(_failure_reason(failure), failure.message, source.name,
                                        label, failure.x))
            return
        self.title_words.update(words_of(normalise_title(tune.title).title))
        self._add(source, label, tune)

    def _add(self, source: Source, label: str, tune: Tune) -> None:
        verdict = _judge(tune, self.filters)
        if verdict.tune is None:
            self.stats.reject(Rejection(verdict.reason, verdict.detail, source.name, label, tune.x))
            return
        body = normalised_body(verdict.tune)
        where = f"{label} X:{tune.x}"
        if body in self.first_of_body:
            self.stats.duplicate(source.name, f"{where} repeats {self.first_of_body[body]}")
            return
        self.first_of_body[body] = where
        split = split_of(body, self.seed, self.split)
        self.by_split[split].append(verdict.tune)
        self.stats.keep(Provenance(source.name, label, tune.x, source.licence), split,
                        verdict.repairs)


def _check_options(split: tuple[float, ...], min_chars: int, max_chars: int,
                   max_repair_share: float) -> None:
    if len(split) != len(SPLITS) or min(split) < 0 or sum(split) <= 0:
        raise InputError(f"split must be three non-negative shares (train, val, test), got {split}")
    if min_chars < 0 or max_chars < min_chars:
        raise InputError(f"need 0 <= min_chars <= max_chars, got {min_chars} and {max_chars}")
    if not 0 <= max_repair_share <= 1:
        raise InputError(f"max_repair_share must be in [0, 1], got {max_repair_share}")


def build_corpus(sources: list[str], out_dir: str | os.PathLike, *, seed: int = 0,
                 split: tuple[float, float, float] = DEFAULT_SPLIT,
                 min_chars: int = DEFAULT_MIN_CHARS, max_chars: int = DEFAULT_MAX_CHARS,
                 max_repair_share: float = DEFAULT_MAX_REPAIR_SHARE,
                 keep_chords: bool = False, keep_unit: bool = False,
                 title_sources: Iterable[str] = (),
                 on_progress: CorpusProgress | None = None) -> CorpusStats:
    """Build train/val/test tunebooks and stats.json in `out_dir` from `sources`.

    Parameters
    ----------
    sources : source names (see the module docstring); empty means ``["music21"]``.
    out_dir : folder to write to (created if needed; the four files in it are replaced).
    seed : changes which tunes land in which split.
    split : train/val/test shares; normalised by their sum.
    min_chars, max_chars : accepted length of a cleaned tune, in characters.
    max_repair_share : a tune `check_tune` flags is kept when `repair_tune` makes it valid
        with at most this many edits per written bar (at least one); 0 keeps it out.
    keep_chords : keep chord symbols and annotations (by default a tune keeps its melody).
    keep_unit : keep each tune's L: (by default its lengths are written in the unit most of
        its notes have, `notation.lengths.usual_unit`).
    title_sources : more sources whose titles' words join the title vocabulary
        (title_words.txt: English words and the words of every title read), not the splits.
    on_progress : called after each file with (bytes done, bytes total, source name).

    Raises
    ------
    InputError
        A source that doesn't exist, bad options, or `out_dir` is a file.
    AbcgenError
        No tune survived cleaning (nothing is written), or `out_dir` can't be written.
    """
    split = tuple(float(share) for share in split)
    _check_options(split, min_chars, max_chars, max_repair_share)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: exists and is not a folder")
    resolved = resolve_sources(sources or [MUSIC21])
    filters = _Filters(min_chars, max_chars, max_repair_share, keep_chords, keep_unit)
    stats = CorpusStats(seed=seed, options={"split": list(split), **asdict(filters)})
    builder = _Builder(stats, filters, seed, split)
    _read_all(builder, resolved, on_progress)
    if stats.kept == 0:
        raise AbcgenError(f"no tune survived cleaning (rejected: {stats.rejected or 'none'}, "
                          f"duplicates: {stats.duplicates}); nothing written to {out_dir}")
    try:
        _write(out_dir, builder.by_split, _title_vocabulary(builder, title_sources), stats)
    except OSError as exc:
        raise AbcgenError(f"{out_dir}: can't write the corpus: {exc.strerror or exc}") from None
    return stats


def _title_vocabulary(builder: _Builder, title_sources: Iterable[str]) -> frozenset[str]:
    files = [path for source in resolve_sources(title_sources) for path in source.files]
    return english_words() | builder.title_words | title_words_of_files(files)


def _read_all(builder: _Builder, sources: list[Source],
              on_progress: CorpusProgress | None) -> None:
    total = sum(path.stat().st_size for source in sources for path in source.files)
    done = 0
    for source in sources:
        builder.stats.sources.setdefault(source.name, SourceCounts())
        for path in source.files:
            builder.read_file(source, path)
            done += path.stat().st_size
            if on_progress is not None:
                on_progress(done, total, source.name)
