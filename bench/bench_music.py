"""What a session player would think of the bundled model's tunes, against the real test split
(`python -m bench.run music`): issue 16's targets, each a figure of one `abcgen evaluate` run.

The corpus is built as `make pretrained` builds it (data/corpus: music21's folk books and Ceol
Rince na hÉireann; data/outside/NAME: each GPL / CC BY-SA collection of ../shared/corpora, the
outside test), where missing. Sets: `generated` is what `abcgen generate` delivers
(unprimed, constrained, repaired); the references are the test split and, for the category
distributions, the training split.
"""

import subprocess
import tempfile
from pathlib import Path

CORPUS = Path("data/corpus")
OUTSIDE = Path("data/outside")
N_TUNES = 500
PREVIOUS_TEST_BPC = 1.648
"""The model bundled before issue 16 (2x384, stream-trained on music21 alone), scored on this
corpus's test split (melody only, one unit length): `git show
599b63c:abcgen/model/pretrained/model.pt > old.pt; abcgen score data/corpus/test.abc --model
old.pt` (measured once, as its weights are no longer in the tree)."""


def ensure_corpora() -> list[Path]:
    """data/corpus and the outside collections, built by `make pretrained`'s recipe if missing."""
    if not (CORPUS / "stats.json").exists() or not OUTSIDE.is_dir():
        subprocess.run(["make", "--no-print-directory", "pretrained-corpora"], check=True)
    return sorted(path for path in OUTSIDE.glob("*") if (path / "test.abc").exists())


def targets(metrics: dict) -> dict:
    """Each target of issue 16 with its figure and whether it is met."""
    musical, gen, test = metrics["musical"], metrics["musical"]["generated"], \
        metrics["musical"]["test"]
    structure = metrics["distributions"]
    quartiles = {q: gen["length_quarters"][q] / test["length_quarters"][q]
                 for q in ("p25", "p50", "p75")}
    outside = {name: row for name, row in metrics["bits_per_char"].items()
               if name not in ("val", "test")}
    overlaps = metrics["distribution_overlap_vs_train"]["generated"]
    aabb = structure["generated"]["structure"]["aabb_8_bar"] / \
        structure["test"]["structure"]["aabb_8_bar"]
    return {
        "tonic_endings_ratio": _goal(gen["ends_on_tonic"] / test["ends_on_tonic"], ">=", 0.9),
        "length_quartile_ratios": {q: _goal(r, ">=", 0.9) for q, r in quartiles.items()},
        "real_word_titles": _goal(gen["real_word_titles"], ">=", 0.9),
        "titles_copied_from_training": _goal(gen["titles_identical_to_training"], "<=", 0.10),
        "bits_per_char_outside": {name: _goal(bpc, "<=", 2.2) for name, bpc in outside.items()},
        "bits_per_char_test": _goal(metrics["bits_per_char"]["test"], "<", PREVIOUS_TEST_BPC),
        "aabb_8_bar_ratio": _goal(aabb, ">=", 0.8),
        "category_overlap_vs_train": {name: _goal(overlaps[name], ">=", 0.9)
                                      for name in ("meters", "keys", "rhythms")},
        "classifier_auc": _goal(metrics["classifier_auc_vs_test"]["generated"]["auc"], "<=", 0.70),
        "copies_of_training_tunes": _goal(musical["generated"]["copies"], "<=", 0.02),
        "valid_and_titled": _goal(metrics["validity"]["generated"]["valid_after_repair"],
                                  ">=", 1.0),
    }


def _goal(value: float, relation: str, bound: float) -> dict:
    met = {">=": value >= bound, "<=": value <= bound, "<": value < bound}[relation]
    return {"value": round(value, 4), "target": f"{relation} {bound}", "met": met}


def run(quick: bool = False) -> dict:
    from abcgen.evaluate import evaluate

    outside = ensure_corpora()
    n = 100 if quick else N_TUNES
    with tempfile.TemporaryDirectory() as folder:
        metrics = evaluate(None, CORPUS, n=n, seed=0, out_dir=folder, outside=outside)
    return {"n": n, "model": "bundled (abcgen/model/pretrained/model.pt)",
            "targets": targets(metrics), "musical": metrics["musical"],
            "bits_per_char": metrics["bits_per_char"],
            "classifier_auc_vs_test": metrics["classifier_auc_vs_test"],
            "distribution_overlap_vs_train": metrics["distribution_overlap_vs_train"]}
