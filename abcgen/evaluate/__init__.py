"""abcgen.evaluate: how valid, tuneful and new a model's tunes are, beside real tunes.

`evaluate(model_path, corpus_dir, n, seed, out_dir)` samples, repairs and measures a set of
tunes as `abcgen generate` delivers them, with the network's own unconstrained draws beside
them for validity, and writes metrics.json, report.md and plots. The measurements are usable on their own:
`features_of` (MGEval's pitch and rhythm features of a timeline), `compare_sets` (MGEval's
overlap area and KL divergence), `matching_statistics`/`novelty_summary` (the longest run found
in training, novel n-grams), `tune_parts`/`is_aabb` (form), `raw_validity` (before repair), `tune_measures`/`measure_set`/
`musical_summary` (tonic endings, played lengths, parts and repeats, real-word titles),
`classifier_auc` (a classifier two-sample test), `title_vocabulary` (the words titles are
judged by).
"""

from abcgen.evaluate.compare import (SetComparison, category_overlap, category_shares,
                                     compare_sets, kl_divergence, overlap_area)
from abcgen.evaluate.features import TuneFeatures, feature_table, features_of, melody
from abcgen.evaluate.musical import (MusicalSet, TuneMeasures, feature_rows, measure_set,
                                     musical_summary, tune_measures)
from abcgen.evaluate.novelty import (COPY_SHARE, TuneNovelty, matching_statistics,
                                     novel_ngram_fractions, novelty_summary, tune_novelty)
from abcgen.evaluate.pipeline import evaluate
from abcgen.evaluate.profile import SetProfile, profile
from abcgen.evaluate.structure import Part, is_aabb, tune_parts
from abcgen.evaluate.titles import title_vocabulary
from abcgen.evaluate.twosample import classifier_auc, halves_auc
from abcgen.evaluate.validity import raw_validity

__all__ = [
    "COPY_SHARE", "MusicalSet", "Part", "SetComparison", "SetProfile", "TuneFeatures",
    "TuneMeasures", "TuneNovelty", "category_overlap", "category_shares", "classifier_auc",
    "compare_sets", "evaluate", "feature_rows", "feature_table", "features_of", "halves_auc",
    "is_aabb", "kl_divergence", "matching_statistics", "measure_set", "melody",
    "musical_summary", "novel_ngram_fractions", "novelty_summary", "overlap_area", "profile",
    "raw_validity", "title_vocabulary", "tune_measures", "tune_novelty", "tune_parts",
]
