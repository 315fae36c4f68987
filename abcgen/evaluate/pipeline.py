"""`evaluate`: sample from a model, repair, and measure the tunes against the corpus splits.

Two sets are sampled, with the same seeds. `generated` is what `abcgen generate` delivers:
drawn constrained (its default), repaired, missing titles written by the model; every figure
is measured on it. `unconstrained` is the network's own draws (`generate --unconstrained`),
what it learnt: its validity before and after repair is reported beside the generated set's.

Each figure comes with its real-tune counterpart: the same measurement on the test split
(validity, novelty, form, distributions). The MGEval comparisons measure a set *against* the
test split, where the test split against itself would be trivially perfect, so the reference
row there is the val split against the test split: real tunes the model never trained on.

The musical measures (musical.py: tonic endings, played lengths, parts and repeats, real-word
titles, copies) are taken for every set: generated, unconstrained, the test split and each
outside collection (`outside`: corpus folders built with `--split 0,0,1`, whose tunes are in
test.abc, cleaned as the corpus was). The classifier two-sample test (twosample.py) tells each
set from the test split; its reference is two random halves of the test split. Bits per
character are scored on val, test and each outside collection; a tune holding a character the
model's vocabulary lacks is left out of the score (counted in `bits_per_char_scoring`), since
an unknown character is one the model was never able to predict.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from abcgen.corpus import SPLITS
from abcgen.errors import AbcgenError, InputError
from abcgen.evaluate.compare import SetComparison, category_overlap, compare_sets
from abcgen.evaluate.features import HISTOGRAM_FEATURES, SCALAR_FEATURES
from abcgen.evaluate.musical import MusicalSet, feature_rows, measure_set, musical_summary, title_key
from abcgen.evaluate.novelty import matching_statistics, novelty_summary
from abcgen.evaluate.profile import CATEGORIES, SetProfile, profile
from abcgen.evaluate.titles import TitleVocabulary, title_vocabulary
from abcgen.evaluate.twosample import classifier_auc, halves_auc
from abcgen.evaluate.validity import raw_validity, share, valid_share
from abcgen.notation import Tune, dumps, read_abc, read_tunes

SAMPLED_SETS = {"generated": True, "unconstrained": False}
"""The sampled sets, by whether they are drawn constrained."""
RESERVED_NAMES = (*SPLITS, *SAMPLED_SETS, "test_halves")
"""Set names an outside collection cannot take (it is then called "outside:NAME")."""
EvaluateProgress = Callable[[str, int, int], None]
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


def outside_file(path: str | Path) -> Path:
    """The tunebook of an outside collection: a corpus folder's test.abc (`abcgen corpus build
    SOURCE --split 0,0,1`), or an .abc file named directly."""
    path = Path(path)
    target = path / "test.abc" if path.is_dir() else path
    if not target.is_file():
        raise InputError(f"{target}: not found (build an outside collection with `abcgen corpus "
                         "build SOURCE --out DIR --split 0,0,1`)")
    return target


def load_outside(paths: list[str | Path]) -> dict[str, tuple[Path, list[Tune]]]:
    """Each outside collection by name (its folder's or file's name, made unique): its file
    and tunes."""
    collections: dict[str, tuple[Path, list[Tune]]] = {}
    for path in paths:
        target = outside_file(path)
        base = Path(path).name if Path(path).is_dir() else target.stem
        name, k = base, 2
        while name in collections or name in RESERVED_NAMES:
            name, k = f"outside:{base}" + (f"-{k - 1}" if k > 2 else ""), k + 1
        tunes = read_tunes(read_abc(target), str(target))
        if len(tunes) < 2:
            raise InputError(f"{target}: {len(tunes)} tune(s); a comparison needs at least 2")
        collections[name] = (target, tunes)
    return collections


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
               progress: EvaluateProgress) -> SampledSet:
    """`n` tunes drawn and repaired as `abcgen generate` does it (its sampling settings and
    continuous batch, `constrained` or not, titles from the model). `loaded` is generate's
    LoadedModel."""
    from abcgen.generate import repair_with_titles, sample_texts
    from abcgen.model.sample import SampleSettings, renumber, sample_tunes

    stage = "sampling" if constrained else "sampling unconstrained"
    settings = SampleSettings(seed=seed, constrained=constrained)
    progress(stage, 0, n)
    raw = sample_texts(sample_tunes(loaded.model, loaded.vocab, n, settings=settings,
                                    runtime=loaded.runtime,
                                    on_tune=lambda ended, total: progress(stage, ended, total)))
    book, summary = repair_with_titles(loaded, renumber(raw), settings)
    return SampledSet(raw, read_tunes(book), summary)


def repaired_tunes(raw: list[str]) -> tuple[list[Tune], dict]:
    """Repair tune texts with no title writer (a missing title is made from the tune's
    content); the tunes and repair's summary."""
    from abcgen.repair import repair_samples

    book, summary = repair_samples(raw, title_writer=None)
    return read_tunes(book), summary


def score_file(loaded, path: Path) -> dict:
    """Bits per character of a tunebook's tunes under the model (`loaded`: generate's
    LoadedModel), each tune from a zero state as in training; a tune holding a character the
    vocabulary lacks is left out (an unknown character could never be predicted)."""
    from abcgen.model.data import as_sampled, encode_tunes, read_split, split_tunes
    from abcgen.model.score import as_model_reads, stream_bits_per_char

    tunes = split_tunes(read_split(path))
    tunes = as_model_reads(tunes, loaded.vocab)
    # judged as the model reads them (the X: line as the sampler primes it)
    known = [tune for tune in tunes if not loaded.vocab.unknown_chars(as_sampled(tune))]
    unknown = loaded.vocab.unknown_chars("".join(map(as_sampled, tunes)))
    bpc = (stream_bits_per_char(loaded.model, encode_tunes(known, loaded.vocab), loaded.runtime)
           if known else None)
    return {"bits_per_char": bpc, "tunes": len(tunes), "scored": len(known),
            "skipped_unknown_characters": len(tunes) - len(known),
            "unknown_characters": "".join(unknown)}


def score_collections(loaded, corpus_dir: str | Path,
                  outside: dict[str, Path] | None = None) -> dict[str, dict]:
    """score_file on the val and test splits and on each outside collection's file."""
    files = {name: Path(corpus_dir) / f"{name}.abc" for name in ("val", "test")}
    return {name: score_file(loaded, path) for name, path in {**files, **(outside or {})}.items()}


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


def musical_rows(sets: dict[str, list[Tune]], train: list[Tune], vocabulary: TitleVocabulary,
                 copies: dict[str, float], seed: int) -> tuple[dict, dict, dict[str, MusicalSet]]:
    """The musical measures of each named set (one of them "test", the reference) and the
    classifier two-sample test of each against the test split: (rows, AUCs, measured sets)."""
    measured = {name: measure_set(tunes) for name, tunes in sets.items()}
    training_titles = {title_key(t.title) for t in train if t.title.strip()}
    rows = {name: musical_summary(m, measured["test"], training_titles, vocabulary.words,
                                  copies.get(name)) for name, m in measured.items()}
    vectors = {name: feature_rows(m) for name, m in measured.items()}
    aucs = {name: classifier_auc(rows_, vectors["test"], seed=seed)
            for name, rows_ in vectors.items() if name != "test"}
    aucs["test_halves"] = halves_auc(vectors["test"], seed=seed)
    return rows, aucs, measured


@dataclass
class Evaluation:
    """Everything measured: `metrics` (what metrics.json holds) and the objects the plots need."""

    metrics: dict
    profiles: dict[str, SetProfile]
    comparisons: dict[str, dict[str, SetComparison]]
    novelty: dict[str, dict]
    musical: dict[str, MusicalSet] | None = None


def measure(sets: dict[str, SampledSet], corpus: Corpus, seed: int, progress: EvaluateProgress,
            outside: dict[str, list[Tune]] | None = None,
            vocabulary: TitleVocabulary | None = None) -> Evaluation:
    """Every figure of the report for the SAMPLED_SETS, with the test split as the
    reference row: validity for the sampled sets, the musical measures for every set (the
    `outside` collections included), the rest for the generated set."""
    progress("validity", 0, 2)
    test_texts = [dumps(t) for t in corpus.test]
    validity = {name: validity_row(got.raw, got.tunes, got.summary) for name, got in sets.items()}
    validity["test"] = validity_row(test_texts, *repaired_tunes(test_texts))
    generated = sets["generated"].tunes
    progress("features", 1, 2)
    profiles = {"generated": profile(generated), "test": profile(corpus.test),
                "val": profile(corpus.val)}
    train_profile = profile(corpus.train)
    if profiles["generated"].features["pitch_range"].size == 0:
        raise AbcgenError("no generated tune could be performed; nothing to compare")
    compared = {name: compare_profiles(profiles[name], profiles["test"], seed)
                for name in ("generated", "val")}
    progress("novelty", 2, 2)
    musical_sets = {**{name: got.tunes for name, got in sets.items()}, "test": corpus.test,
                    **(outside or {})}
    novel = novelty_rows(musical_sets, corpus.train)
    vocabulary = vocabulary or title_vocabulary()
    rows, aucs, measured = musical_rows(musical_sets, corpus.train, vocabulary,
                                        {name: row["copies"] for name, row in novel.items()},
                                        seed)
    novel = {name: novel[name] for name in ("generated", "test")}
    metrics = {
        "validity": validity,
        "novelty": {name: _without_lists(row) for name, row in novel.items()},
        "mgeval_vs_test": {name: {f: c.summary() for f, c in rows.items()}
                           for name, rows in compared.items()},
        "distributions": {name: p.summary() for name, p in profiles.items()},
        "distribution_overlap_vs_test": {
            name: category_overlaps(profiles[name], profiles["test"])
            for name in ("generated", "val")},
        "distribution_overlap_vs_train": {
            "generated": category_overlaps(profiles["generated"], train_profile),
            "test": category_overlaps(profiles["test"], train_profile)},
        "musical": rows,
        "classifier_auc_vs_test": aucs,
        "title_vocabulary": {"words": len(vocabulary.words), "sources": vocabulary.sources},
    }
    return Evaluation(metrics, profiles, compared, novel, measured)


def _without_lists(row: dict) -> dict:
    return {k: v for k, v in row.items() if not isinstance(v, list)}


def _no_progress(stage: str, done: int, total: int) -> None:
    """The default progress callback: report nothing."""


def evaluate(model_path: str | Path | None, corpus_dir: str | Path, n: int = 500, seed: int = 0,
             out_dir: str | Path = "report", progress: EvaluateProgress | None = None,
             outside: list[str | Path] | tuple = ()) -> dict:
    """Sample `n` tunes from a model as `abcgen generate` does, and `n` unconstrained, repair
    them and measure them against the corpus (the model is loaded once for all of it), and
    the `outside` collections beside them (corpus folders with a test.abc, or .abc files).

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
    outside = list(outside)
    collections = load_outside(outside)
    model = resolve_model_path(model_path)
    loaded = load_generator(model)
    sets = {name: sample_set(loaded, n, seed, constrained, progress)
            for name, constrained in SAMPLED_SETS.items()}
    evaluation = measure(sets, corpus, seed, progress,
                         {name: tunes for name, (_, tunes) in collections.items()},
                         title_vocabulary(corpus_dir))
    progress("scoring", 0, 1)
    scoring = score_collections(loaded, corpus_dir,
                            {name: path for name, (path, _) in collections.items()})
    evaluation.metrics = {
        "settings": {"model": str(model), "corpus": str(corpus_dir), "n": n, "seed": seed,
                     "sets": {name: "constrained" if constrained else "unconstrained"
                              for name, constrained in SAMPLED_SETS.items()},
                     "test_tunes": len(corpus.test), "train_tunes": len(corpus.train),
                     "outside": {name: str(path) for name, path in zip(collections, outside,
                                                                       strict=True)}},
        "bits_per_char": {name: row["bits_per_char"] for name, row in scoring.items()},
        "bits_per_char_scoring": scoring,
        **evaluation.metrics,
    }
    write_report(evaluation, Path(out_dir))
    return evaluation.metrics
