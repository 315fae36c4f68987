"""`evaluate`: sample from a model, repair, and measure the tunes against the corpus splits.

Two sets are sampled, with the same seeds. `generated` is what `abcgen generate` delivers:
drawn constrained (its default), repaired, missing titles written by the model; every figure
is measured on it. `unconstrained` is the network's own draws (`generate --unconstrained`),
what it learnt: its validity before and after repair is reported beside the generated set's.

Each figure comes with its real-tune counterpart: the same measurement on the test split
(validity, novelty, form, distributions). The MGEval comparisons measure a set *against* the
test split, where the test split against itself would be trivially perfect, so the reference
row there is the val split against the test split: real tunes the model never trained on.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from abcgen.errors import AbcgenError, InputError
from abcgen.evaluate.compare import SetComparison, category_overlap, compare_sets
from abcgen.evaluate.features import HISTOGRAM_FEATURES, SCALAR_FEATURES
from abcgen.evaluate.novelty import matching_statistics, novelty_summary
from abcgen.evaluate.profile import CATEGORIES, SetProfile, profile
from abcgen.evaluate.validity import raw_validity, share, valid_share
from abcgen.notation import Tune, dumps, read_abc, read_tunes

SPLITS = ("train", "val", "test")
SAMPLED_SETS = {"generated": True, "unconstrained": False}
"""The sampled sets, by whether they are drawn constrained."""
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


@dataclass
class SampledSet:
    """Samples as drawn, and what repair made of them."""

    raw: list[str]
    tunes: list[Tune]
    summary: dict
    """repair_samples' summary: repaired, failures, repairs by kind."""


def sample_set(loaded, n: int, seed: int, constrained: bool,
               progress: Progress) -> SampledSet:
    """`n` tunes drawn and repaired as `abcgen generate` does it (its sampling settings,
    `constrained` or not, titles from the model), in batches of SAMPLE_BATCH seeded
    seed + the batch's index. `loaded` is generate's LoadedModel."""
    from abcgen.generate import repair_with_titles, sample_texts
    from abcgen.model.sample import SampleSettings, renumber, sample_tunes

    stage = "sampling" if constrained else "sampling unconstrained"
    settings = SampleSettings(seed=seed, constrained=constrained)
    raw: list[str] = []
    for index, start in enumerate(range(0, n, SAMPLE_BATCH)):
        progress(stage, start, n)
        batch = replace(settings, seed=seed + index)
        raw += sample_texts(sample_tunes(loaded.model, loaded.vocab, min(SAMPLE_BATCH, n - start),
                                         settings=batch, runtime=loaded.runtime))
    progress(stage, n, n)
    book, summary = repair_with_titles(loaded, renumber(raw), settings)
    return SampledSet(raw, read_tunes(book), summary)


def repaired_tunes(raw: list[str]) -> tuple[list[Tune], dict]:
    """Repair tune texts with no title writer (a missing title is made from the tune's
    content); the tunes and repair's summary."""
    from abcgen.repair import repair_samples

    book, summary = repair_samples(raw, title_writer=None)
    return read_tunes(book), summary


def bits_per_char(loaded, corpus_dir: str | Path) -> dict[str, float]:
    """The model's bits per character on the val and test splits (`loaded`: generate's
    LoadedModel, loaded once for the whole evaluation)."""
    from abcgen.model.score import score_tunebook

    return {name: score_tunebook(loaded.model, loaded.vocab, loaded.runtime,
                                 Path(corpus_dir) / f"{name}.abc").bits_per_char
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


def validity_row(texts: list[str], tunes: list[Tune], summary: dict) -> dict:
    """Validity of tune texts as written, then what repair made of them (`tunes`, with
    repair's `summary`)."""
    row = raw_validity(texts)
    row.update(repaired=share(summary["repaired"], len(texts)),
               failed=share(len(summary["failures"]), len(texts)),
               repairs_by_kind=summary["repairs_by_kind"], failures=summary["failures"],
               # of the tunes repair writes out (a failed sample is dropped and counted above)
               valid_after_repair=valid_share(tunes, len(tunes)) if tunes else 0.0)
    return row


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


def measure(sets: dict[str, SampledSet], corpus: Corpus, seed: int,
            progress: Progress) -> Evaluation:
    """Every figure of the report for the SAMPLED_SETS, with the test split as the
    reference row; all but validity are measured on the generated set."""
    progress("validity", 0, 2)
    test_texts = [dumps(t) for t in corpus.test]
    validity = {name: validity_row(got.raw, got.tunes, got.summary) for name, got in sets.items()}
    validity["test"] = validity_row(test_texts, *repaired_tunes(test_texts))
    generated = sets["generated"].tunes
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
        "validity": validity,
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
    """Sample `n` tunes from a model as `abcgen generate` does, and `n` unconstrained, repair
    them and measure them against the corpus (the model is loaded once for all of it).

    Writes `out_dir/metrics.json` (atomically), `out_dir/report.md` and PNG plots of the
    generated set beside the test split; returns the metrics (as in metrics.json).
    """
    from abcgen.evaluate.report import write_report
    from abcgen.generate import load_generator
    from abcgen.model.sample import resolve_model_path

    if n < 2:
        raise AbcgenError(f"-n must be at least 2 (a set to compare), got {n}")
    progress = progress or _no_progress
    corpus = load_corpus_splits(corpus_dir)
    model = resolve_model_path(model_path)
    loaded = load_generator(model)
    sets = {name: sample_set(loaded, n, seed, constrained, progress)
            for name, constrained in SAMPLED_SETS.items()}
    evaluation = measure(sets, corpus, seed, progress)
    progress("scoring", 0, 1)
    evaluation.metrics = {
        "settings": {"model": str(model), "corpus": str(corpus_dir), "n": n, "seed": seed,
                     "sets": {name: "constrained" if constrained else "unconstrained"
                              for name, constrained in SAMPLED_SETS.items()},
                     "test_tunes": len(corpus.test), "train_tunes": len(corpus.train)},
        "bits_per_char": bits_per_char(loaded, corpus_dir),
        **evaluation.metrics,
    }
    write_report(evaluation, Path(out_dir))
    return evaluation.metrics
