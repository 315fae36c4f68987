"""`evaluate`: sample from a model, repair, and measure the tunes against the corpus splits.

Each figure comes with its real-tune counterpart: the same measurement on the test split
(validity, novelty, form, distributions). The MGEval comparisons measure a set *against* the
test split, where the test split against itself would be trivially perfect, so the reference
row there is the val split against the test split: real tunes the model never trained on.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from abcgen.errors import AbcgenError, InputError
from abcgen.evaluate.compare import SetComparison, category_overlap, compare_sets
from abcgen.evaluate.features import HISTOGRAM_FEATURES, SCALAR_FEATURES
from abcgen.evaluate.novelty import matching_statistics, novelty_summary
from abcgen.evaluate.profile import CATEGORIES, SetProfile, profile
from abcgen.evaluate.validity import raw_validity, share, valid_share
from abcgen.notation import Tune, dumps, read_abc, read_tunes

SPLITS = ("train", "val", "test")
SAMPLE_BATCH = 100
"""Tunes sampled per batch (each batch seeded seed + its index), so progress can be shown."""
Progress = Callable[[str, int, int], None]
"""Called with (stage, done, total) as the work advances."""


@dataclass
class Corpus:
    """The three splits of a corpus folder, as tunes."""

    train: list[Tune]
    val: list[Tune]
    test: list[Tune]


def load_corpus_splits(corpus_dir: str | Path) -> Corpus:
    """Read train.abc, val.abc and test.abc of a corpus folder (`abcgen corpus build`)."""
    folder = Path(corpus_dir)
    splits = {}
    for name in SPLITS:
        path = folder / f"{name}.abc"
        if not path.is_file():
            raise InputError(f"{path}: not found (build a corpus with `abcgen corpus build`)")
        splits[name] = read_tunes(read_abc(path), str(path))
        if len(splits[name]) < 2:
            raise InputError(f"{path}: {len(splits[name])} tune(s); evaluation needs at least 2")
    return Corpus(**splits)


def body_text(tune: Tune) -> str:
    """The tune's body as written, lines joined by newlines (what novelty compares)."""
    return "\n".join(line.text for line in tune.body)


def sample_raw(model_path: str | Path | None, n: int, seed: int,
               progress: Progress) -> list[str]:
    """`n` raw samples from the model, exactly as drawn (batches of SAMPLE_BATCH)."""
    from abcgen.generate import load_generator
    from abcgen.model.sample import SampleSettings, sample_tunes

    loaded = load_generator(model_path)
    texts: list[str] = []
    for index, start in enumerate(range(0, n, SAMPLE_BATCH)):
        progress("sampling", start, n)
        size = min(SAMPLE_BATCH, n - start)
        samples = sample_tunes(loaded.model, loaded.vocab, size,
                               settings=SampleSettings(seed=seed + index,
                                                       constrained=False))
        texts += [s.text if s.text.endswith("\n") else s.text + "\n" for s in samples]
    progress("sampling", n, n)
    return texts


def repaired_tunes(raw: list[str]) -> tuple[list[Tune], dict]:
    """Repair the samples as `abcgen generate` does; the tunes and repair's summary."""
    from abcgen.repair import repair_samples

    book, summary = repair_samples(raw, title_writer=None)
    return read_tunes(book), summary


def bits_per_char(model_path: str | Path | None, corpus_dir: str | Path) -> dict[str, float]:
    """The model's bits per character on the val and test splits."""
    from abcgen.model.score import score_file

    return {name: score_file(model_path, Path(corpus_dir) / f"{name}.abc").bits_per_char
            for name in ("val", "test")}


def novelty_rows(sets: dict[str, list[Tune]], train: list[Tune]) -> dict[str, dict]:
    """Novelty of each named set against the training bodies (one suffix array for all)."""
    stats = matching_statistics([body_text(t) for tunes in sets.values() for t in tunes],
                                [body_text(t) for t in train])
    rows, start = {}, 0
    for name, tunes in sets.items():
        rows[name] = novelty_summary(stats[start:start + len(tunes)])
        start += len(tunes)
    return rows


def validity_row(texts: list[str]) -> tuple[dict, list[Tune]]:
    """Raw validity of tune texts, then what repair does to them; the figures and the
    repaired tunes."""
    row = raw_validity(texts)
    tunes, summary = repaired_tunes(texts)
    row.update(repaired=share(summary["repaired"], len(texts)),
               failed=share(len(summary["failures"]), len(texts)),
               repairs_by_kind=summary["repairs_by_kind"], failures=summary["failures"],
               # of the tunes repair writes out (a failed sample is dropped and counted above)
               valid_after_repair=valid_share(tunes, len(tunes)) if tunes else 0.0)
    return row, tunes


def compare_profiles(candidate: SetProfile, reference: SetProfile,
                     seed: int) -> dict[str, SetComparison]:
    """MGEval comparison of every feature of a set against the reference set."""
    return {name: compare_sets(candidate.features[name], reference.features[name], seed)
            for name in HISTOGRAM_FEATURES + SCALAR_FEATURES}


def category_overlaps(candidate: SetProfile, reference: SetProfile) -> dict[str, float]:
    """Overlap of each category distribution (meters, keys, modes, rhythms) with the reference's."""
    return {name: category_overlap(getattr(candidate, name), getattr(reference, name))
            for name in CATEGORIES}


@dataclass
class Evaluation:
    """Everything measured: `metrics` (what metrics.json holds) and the objects the plots need."""

    metrics: dict
    profiles: dict[str, SetProfile]
    comparisons: dict[str, dict[str, SetComparison]]
    novelty: dict[str, dict]


def measure(raw: list[str], corpus: Corpus, seed: int, progress: Progress) -> Evaluation:
    """Every figure of the report for raw samples, with the test split as the reference row."""
    progress("repair", 0, 2)
    generated_validity, generated = validity_row(raw)
    test_validity, _ = validity_row([dumps(t) for t in corpus.test])
    progress("features", 1, 2)
    profiles = {"generated": profile(generated), "test": profile(corpus.test),
                "val": profile(corpus.val)}
    if profiles["generated"].features["pitch_range"].size == 0:
        raise AbcgenError("no generated tune could be performed; nothing to compare")
    compared = {name: compare_profiles(profiles[name], profiles["test"], seed)
                for name in ("generated", "val")}
    progress("novelty", 2, 2)
    novel = novelty_rows({"generated": generated, "test": corpus.test}, corpus.train)
    metrics = {
        "validity": {"generated": generated_validity, "test": test_validity},
        "novelty": {name: _without_lists(row) for name, row in novel.items()},
        "mgeval_vs_test": {name: {f: c.summary() for f, c in rows.items()}
                           for name, rows in compared.items()},
        "distributions": {name: p.summary() for name, p in profiles.items()},
        "distribution_overlap_vs_test": {
            name: category_overlaps(profiles[name], profiles["test"])
            for name in ("generated", "val")},
    }
    return Evaluation(metrics, profiles, compared, novel)


def _without_lists(row: dict) -> dict:
    return {k: v for k, v in row.items() if not isinstance(v, list)}


def _no_progress(stage: str, done: int, total: int) -> None:
    """The default progress callback: report nothing."""


def evaluate(model_path: str | Path | None, corpus_dir: str | Path, n: int = 500, seed: int = 0,
             out_dir: str | Path = "report", progress: Progress | None = None) -> dict:
    """Sample `n` tunes from a model, repair them and measure them against the corpus.

    Writes `out_dir/metrics.json` (atomically), `out_dir/report.md` and PNG plots of the
    generated set beside the test split; returns the metrics (as in metrics.json).
    """
    from abcgen.evaluate.report import write_report
    from abcgen.model.sample import resolve_model_path

    if n < 2:
        raise AbcgenError(f"-n must be at least 2 (a set to compare), got {n}")
    progress = progress or _no_progress
    corpus = load_corpus_splits(corpus_dir)
    model = resolve_model_path(model_path)
    raw = sample_raw(model, n, seed, progress)
    evaluation = measure(raw, corpus, seed, progress)
    progress("scoring", 0, 1)
    evaluation.metrics = {
        "settings": {"model": str(model), "corpus": str(corpus_dir), "n": n, "seed": seed,
                     "test_tunes": len(corpus.test), "train_tunes": len(corpus.train)},
        "bits_per_char": bits_per_char(model, corpus_dir),
        **evaluation.metrics,
    }
    write_report(evaluation, Path(out_dir))
    return evaluation.metrics
