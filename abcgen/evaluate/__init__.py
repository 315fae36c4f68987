"""abcgen.evaluate: how valid, tuneful and new a model's tunes are, beside real tunes.

`evaluate(model_path, corpus_dir, n, seed, out_dir)` samples, repairs and measures a set of
tunes as `abcgen generate` delivers them, with the network's own unconstrained draws beside
them for validity, and writes metrics.json, report.md and plots. The measurements are usable on their own:
`features_of` (MGEval's pitch and rhythm features of a timeline), `compare_sets` (MGEval's
overlap area and KL divergence), `matching_statistics`/`novelty_summary` (the longest run found
in training, novel n-grams), `tune_parts`/`is_aabb` (form), `raw_validity` (before repair).
"""

from abcgen.evaluate.compare import (SetComparison, category_overlap, category_shares,
                                     compare_sets, kl_divergence, overlap_area)
from abcgen.evaluate.features import TuneFeatures, feature_table, features_of, melody
from abcgen.evaluate.novelty import (COPY_SHARE, TuneNovelty, matching_statistics,
                                     novel_ngram_fractions, novelty_summary, tune_novelty)
from abcgen.evaluate.pipeline import evaluate
from abcgen.evaluate.profile import SetProfile, profile
from abcgen.evaluate.structure import Part, is_aabb, tune_parts
from abcgen.evaluate.validity import raw_validity

__all__ = [
    "COPY_SHARE", "Part", "SetComparison", "SetProfile", "TuneFeatures", "TuneNovelty",
    "category_overlap", "category_shares", "compare_sets", "evaluate", "feature_table",
    "features_of", "is_aabb", "kl_divergence", "matching_statistics", "melody",
    "novel_ngram_fractions", "novelty_summary", "overlap_area", "profile", "raw_validity",
    "tune_novelty", "tune_parts",
]
