"""abcgen.evaluate: each metric on hand-made inputs whose answer is known, then the whole report."""

import json
import random

import numpy as np
import pytest
from typer.testing import CliRunner

from abcgen.cli.app import _register, app

from abcgen.evaluate import (compare_sets, features_of, is_aabb, kl_divergence,
                             matching_statistics, novel_ngram_fractions, novelty_summary,
                             overlap_area, raw_validity, tune_novelty, tune_parts)
from abcgen.evaluate.compare import category_overlap, category_shares, kde_on_grid
from abcgen.evaluate.features import INTERVAL_CLASSES, NOTE_LENGTH_NAMES, PITCH_CLASS_NAMES
from abcgen.evaluate.musical import (FEATURE_WIDTH, distribution_overlap, ends_on_tonic,
                                     feature_rows, measure_set, musical_summary, quartiles,
                                     title_key, tune_measures)
from abcgen.evaluate.pipeline import body_text
from abcgen.evaluate.titles import collection_vocabulary, is_real_word_title, title_vocabulary
from abcgen.evaluate.twosample import classifier_auc, halves_auc, roc_auc
from abcgen.notation import build_timeline, parse_tune

_register()

# A double jig written AABB with 8-bar parts: a pickup, first and second endings in part A.
AABB_JIG = """X:1
T:Test Jig
M:6/8
L:1/8
K:D
|:A|dfa afd|gfe fdB|AFA dFA|Bee e2A|dfa afd|gfe fdB|AFA dFA|1 Bdc d2:|2 Bdc d2||
|:e|fga efg|fed cBA|fga efg|fed e2e|fga efg|fed cBA|AFA dFA|Bdc d2:|
"""
# Eight bars, written once: one part, no repeat.
SCALE_TUNE = "X:1\nT:Scale\nM:4/4\nL:1/8\nK:C\nCDEF GABc|cBAG FEDC|]\n"


def timeline(text: str):
    return build_timeline(parse_tune(text), graces=False)


# --- novelty ---------------------------------------------------------------------------------

def _brute_matching_statistics(query: str, references: list[str]) -> list[int]:
    """The definition, by brute force: longest prefix of query[i:] found in a reference."""
    out = []
    for i in range(len(query)):
        length = 0
        while i + length < len(query) and any(query[i:i + length + 1] in r for r in references):
            length += 1
        out.append(length)
    return out


def test_matching_statistics_agree_with_the_definition():
    rng = random.Random(7)
    for _ in range(150):
        refs = ["".join(rng.choice("abc|") for _ in range(rng.randint(0, 14)))
                for _ in range(rng.randint(1, 4))]
        queries = ["".join(rng.choice("abcd|") for _ in range(rng.randint(0, 12)))
                   for _ in range(rng.randint(1, 3))]
        stats = matching_statistics(queries, refs)
        assert [list(ms) for ms in stats] == [_brute_matching_statistics(q, refs) for q in queries]


def test_no_match_runs_across_two_training_tunes():
    # "abcd" occurs only across the boundary of two references: the longest run is 2
    [ms] = matching_statistics(["abcd"], ["xxab", "cdyy"])
    assert ms.max() == 2


def test_a_tune_copied_from_training_scores_as_a_copy():
    train = [parse_tune(AABB_JIG), parse_tune(SCALE_TUNE)]
    [copy] = tune_novelty(matching_statistics([body_text(train[0])],
                                              [body_text(t) for t in train]))
    assert copy.copied_share == 1.0 and copy.is_copy


def test_a_tune_with_half_its_body_copied_is_a_copy_and_a_novel_one_is_not():
    reference = body_text(parse_tune(AABB_JIG))
    k = len(reference) // 2
    half = reference[:k] + ("xyz" * k)[:k]  # exactly half found in training
    novel = "|:CEG ceg|GEC CEG|c2e g2e|c6:|"
    stats = matching_statistics([half, novel], [reference])
    shares = [t.copied_share for t in tune_novelty(stats)]
    assert shares[0] == 0.5
    assert shares[1] < 0.25
    assert novelty_summary(stats)["copies"] == 0.5


def test_a_one_bar_body_found_in_training_is_not_a_copy():
    [short] = tune_novelty(matching_statistics(["dfa afd|"], [body_text(parse_tune(AABB_JIG))]))
    assert short.copied_share == 1.0 and not short.is_copy


def test_novel_ngram_fractions_count_substrings_missing_from_training():
    [ms] = matching_statistics(["abcx"], ["abc"])
    fractions = novel_ngram_fractions([ms], lengths=(1, 2, 3, 4))
    # 1-grams: a b c x -> x novel (1/4); 2-grams: ab bc cx -> 1/3; 3-grams: abc bcx -> 1/2
    assert fractions == {1: 0.25, 2: pytest.approx(1 / 3), 3: 0.5, 4: 1.0}


# --- MGEval comparison ---------------------------------------------------------------------

def test_identical_distributions_overlap_fully_with_zero_kl():
    samples = np.random.default_rng(0).normal(size=300)
    grid = np.linspace(-5, 5, 200)
    p = kde_on_grid(samples, grid)
    assert overlap_area(p, p) == pytest.approx(1.0, abs=1e-12)
    assert kl_divergence(p, p) == 0.0


def test_sets_drawn_alike_overlap_more_than_a_shifted_set():
    rng = np.random.default_rng(1)
    reference, alike = rng.normal(size=(120, 12)), rng.normal(size=(120, 12))
    shifted = rng.normal(loc=2.0, size=(120, 12))
    same, far = compare_sets(alike, reference), compare_sets(shifted, reference)
    assert same.overlap > 0.85 and same.kl < 0.05
    assert far.overlap < 0.2 and far.kl > 1.0


def test_category_overlap_of_meter_shares():
    generated = category_shares(["6/8", "6/8", "4/4", "3/4"])
    assert generated == {"6/8": 0.5, "4/4": 0.25, "3/4": 0.25}
    assert category_overlap(generated, generated) == 1.0
    assert category_overlap(generated, {"6/8": 1.0}) == 0.5
    assert category_overlap(generated, {"9/8": 1.0}) == 0.0


# --- features ------------------------------------------------------------------------------

def test_features_of_a_c_major_scale():
    features = features_of(timeline(SCALE_TUNE))
    on_scale = {PITCH_CLASS_NAMES.index(n) for n in "CDEFGAB"}
    assert {i for i, share in enumerate(features.pitch_class) if share > 0} == on_scale
    assert features.pitch_class[0] == pytest.approx(4 / 16)  # C, c, c, C
    assert features.pitch_range == 12
    assert features.notes_per_bar == 8
    assert features.note_length[NOTE_LENGTH_NAMES.index("8th")] == 1.0
    steps = dict(zip(INTERVAL_CLASSES, features.interval, strict=True))
    assert steps[0] == pytest.approx(1 / 15)  # c c between the bars
    assert steps[2] + steps[1] + steps[-1] + steps[-2] == pytest.approx(14 / 15)


def test_grace_notes_are_not_melody():
    plain = features_of(timeline("X:1\nT:a\nM:2/4\nL:1/8\nK:C\nCDEF|G4|]\n"))
    graced = features_of(timeline("X:1\nT:a\nM:2/4\nL:1/8\nK:C\n{b}CDEF|G4|]\n"))
    assert np.array_equal(plain.pitch_class, graced.pitch_class)


# --- form ----------------------------------------------------------------------------------

def test_an_aabb_jig_with_endings_has_two_repeated_eight_bar_parts():
    parts = tune_parts(timeline(AABB_JIG))
    assert [(p.bars, p.plays) for p in parts] == [(8.0, 2), (8.0, 2)]
    assert is_aabb(parts)


def test_a_tune_without_repeats_is_one_part_and_not_aabb():
    parts = tune_parts(timeline(SCALE_TUNE))
    assert [(p.bars, p.plays) for p in parts] == [(2.0, 1)]
    assert not is_aabb(parts)


def test_a_pickup_before_the_repeat_joins_the_first_part():
    parts = tune_parts(timeline("X:1\nT:a\nM:4/4\nL:1/8\nK:G\nD2|:G2B2 d4|g8:|B2d2 g4|]\n"))
    assert [(p.bars, p.plays) for p in parts] == [(2.25, 2), (1.0, 1)]


# --- raw validity --------------------------------------------------------------------------

def test_raw_validity_of_a_clean_a_broken_and_an_empty_sample():
    clean = SCALE_TUNE
    broken = "X:2\nT:Scale\nM:4/4\nK:C\nCDEF GABc d|cBAG FEDC|]\n"  # no L:, bar 1 too long
    row = raw_validity([clean, broken, "no tune here\n"])
    assert row["no_check_errors"] == pytest.approx(1 / 3)
    assert row["bars_right_length"] == pytest.approx(3 / 4)
    assert row["header_completeness"]["L"] == pytest.approx(1 / 3)
    assert row["header_completeness"]["X"] == pytest.approx(2 / 3)
    assert row["title_uniqueness"] == pytest.approx(1 / 3)  # one title shared by two tunes
    assert row["tunes_with_error"]["bar-length"] == pytest.approx(1 / 3)
    assert row["tunes_with_error"]["no-tunes"] == pytest.approx(1 / 3)


def test_bars_of_a_tune_without_a_meter_are_not_judged():
    row = raw_validity(["X:1\nT:a\nL:1/8\nK:C\nCDEF GABc d|]\n"])
    assert row["bars_judged"] == 0 and row["bars_right_length"] is None


# --- musical measures ------------------------------------------------------------------------

def _tune(body: str, key: str = "D", meter: str = "4/4", title: str = "Test") -> str:
    return f"X:1\nT:{title}\nM:{meter}\nL:1/8\nK:{key}\n{body}\n"


def test_a_tune_ending_on_its_tonic_and_one_ending_away():
    home = timeline(_tune("DEFG ABcd|cBAG FED2|]"))
    away = timeline(_tune("DEFG ABcd|cBAG FEA2|]"))
    assert ends_on_tonic(home) is True and ends_on_tonic(away) is False
    # the mode's final: A dorian ends on A, whatever its signature says
    assert ends_on_tonic(timeline(_tune("ABcd efge|dcBG A4|]", key="Ador"))) is True
    assert ends_on_tonic(timeline(_tune("ABcd efge|dcBG A4|]", key="G"))) is False
    # a key change in the body: the key in force at the end counts
    assert ends_on_tonic(timeline(_tune("DEFG ABcd|\nK:A\ncBAG FEA2|]"))) is True
    assert ends_on_tonic(timeline(_tune("CDEF GABc|]", key="none"))) is None


def test_played_length_expands_repeats_and_counts_parts():
    jig = tune_measures(parse_tune(AABB_JIG))
    assert (jig.bars, jig.quarters, jig.parts, jig.repeated) == (32.0, 96.0, 2, True)
    scale = tune_measures(parse_tune(SCALE_TUNE))
    assert (scale.bars, scale.quarters, scale.parts_or_repeats) == (2.0, 8.0, False)
    one_repeated_strain = tune_measures(parse_tune(_tune("|:DEFG ABcd|cBAG FED2:|")))
    assert one_repeated_strain.parts_or_repeats and one_repeated_strain.quarters == 16.0


def test_length_quartiles_and_the_overlap_of_length_distributions():
    assert quartiles([8.0, 16.0, 16.0, 32.0, 32.0]) == {"p25": 16.0, "p50": 16.0, "p75": 32.0}
    assert quartiles([]) == {"p25": None, "p50": None, "p75": None}
    lengths = [32.0, 64.0, 64.0, 96.0, 128.0]
    assert distribution_overlap(lengths, lengths) == pytest.approx(1.0)
    assert distribution_overlap([8.0, 9.0, 10.0], [100.0, 101.0, 102.0]) < 0.01
    assert distribution_overlap([], lengths) is None


REAL_TITLES = frozenset({"the", "banks", "of", "claudy", "sprat", "er", "jig", "lass",
                         "o'neill's"})


def test_real_word_titles():
    assert is_real_word_title("The Banks of Claudy", REAL_TITLES)
    assert not is_real_word_title("The Banks of Sprat:er", REAL_TITLES)  # ':' inside
    assert not is_real_word_title("THE BANKS OF CLAUDY", REAL_TITLES)  # all capitals
    assert not is_real_word_title("2 Banks of Claudy", REAL_TITLES)  # a digit
    assert not is_real_word_title("The Banks of Clorinna", REAL_TITLES)  # not a word
    assert not is_real_word_title("", REAL_TITLES)
    assert is_real_word_title("O'Neill's Jig", REAL_TITLES)


def test_the_title_vocabulary_takes_the_corpus_title_words_and_real_titles(tmp_path):
    (tmp_path / "title_words.txt").write_text("sprater\nzzyzx\n", encoding="utf-8")
    words = title_vocabulary(tmp_path).words
    assert {"sprater", "zzyzx"} <= words
    assert is_real_word_title("The Zzyzx Lass", words)
    assert not is_real_word_title("The Banks of Sprat:er", words)
    if "claudy" in collection_vocabulary().words:  # a real title's word (../shared/corpora)
        assert is_real_word_title("The Banks of Claudy", words)


def test_musical_summary_of_hand_made_sets():
    home = parse_tune(_tune("|:DEFG ABcd|cBAG FED2:|", title="The Banks of Claudy"))
    away = parse_tune(_tune("DEFG ABcd|cBAG FEA2|]", title="The Banks of Sprat:er"))
    reference = measure_set([home, home])
    row = musical_summary(measure_set([home, away]), reference,
                          {title_key("the banks of  CLAUDY")}, REAL_TITLES, copies=0.0)
    assert row["ends_on_tonic"] == 0.5 and row["parts_or_repeats"] == 0.5
    assert row["real_word_titles"] == 0.5 and row["titles_identical_to_training"] == 0.5
    assert row["length_quarters"]["p50"] == 12.0  # 16 and 8 quarter notes
    same = musical_summary(reference, reference, set(), REAL_TITLES)
    assert same["length_quarters"]["overlap_vs_test"] == pytest.approx(1.0)
    assert same["ends_on_tonic"] == 1.0


def _random_tunes(rng: random.Random, count: int, machine: bool) -> list:
    """Real-like tunes (6/8, repeated, ending on D) or machine-like ones (4/4 quarter notes,
    one strain, ending away from home), each with random notes."""
    notes = "DEFGABcdef"
    tunes = []
    for _ in range(count):
        if machine:
            bars = "|".join(" ".join(rng.choice(notes) + "2" for _ in range(4)) for _ in range(4))
            tunes.append(parse_tune(_tune(bars + "|E8|]")))
        else:
            bars = "|".join("".join(rng.choice(notes) for _ in range(6)) for _ in range(7))
            tunes.append(parse_tune(_tune("|:" + bars + "|d3 D3:|", meter="6/8")))
    return tunes


def test_the_two_sample_classifier_tells_separable_sets_apart_and_not_identical_ones():
    rng = random.Random(3)
    real = feature_rows(measure_set(_random_tunes(rng, 25, machine=False)))
    machine = feature_rows(measure_set(_random_tunes(rng, 25, machine=True)))
    assert real.shape == (25, FEATURE_WIDTH)
    assert classifier_auc(machine, real)["auc"] > 0.95
    assert classifier_auc(real, real)["auc"] == pytest.approx(0.5)
    same = np.random.default_rng(0).normal(size=(400, 20))
    assert abs(halves_auc(same)["auc"] - 0.5) < 0.12
    shifted = same[:200] + np.eye(20)[0] * 4
    assert classifier_auc(shifted, same[200:])["auc"] > 0.95
    assert classifier_auc(real[:1], real)["auc"] is None  # too few tunes to cross-validate


def test_roc_auc_counts_ties_as_half():
    labels = np.array([1, 1, 0, 0])
    assert roc_auc(np.array([0.9, 0.8, 0.2, 0.1]), labels) == 1.0
    assert roc_auc(np.array([0.1, 0.2, 0.8, 0.9]), labels) == 0.0
    assert roc_auc(np.array([0.5, 0.5, 0.5, 0.5]), labels) == 0.5


# --- the whole report ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory):
    """A tiny model trained for a few seconds, evaluated on a corpus of eight tunes; the
    last item counts the checkpoint loads the evaluation made."""
    import abcgen.model.checkpoint as checkpoint
    from abcgen.evaluate import evaluate
    from evaluate_helpers import write_eval_corpus, write_outside
    from model_helpers import train_tiny

    folder = tmp_path_factory.mktemp("eval")
    corpus = write_eval_corpus(folder / "corpus")
    best, _ = train_tiny(corpus, folder / "run", max_steps=8)
    loads = []
    with pytest.MonkeyPatch.context() as patch:
        load = checkpoint.load_model
        patch.setattr(checkpoint, "load_model", lambda *a, **k: loads.append(a) or load(*a, **k))
        metrics = evaluate(best, corpus, n=6, seed=1, out_dir=folder / "report",
                           outside=[write_outside(folder / "outside")])
    return metrics, folder / "report", best, corpus, len(loads)


@pytest.mark.slow
def test_evaluate_writes_metrics_report_and_plots(tiny_report):
    metrics, out, _, _, _ = tiny_report
    assert json.loads((out / "metrics.json").read_text()) == json.loads(json.dumps(metrics))
    report = (out / "report.md").read_text()
    for png in ("features.png", "mgeval_distances.png", "novelty.png", "form.png",
                "validity.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({png})" in report
    assert metrics["settings"]["n"] == 6
    # the tiny model's vocabulary lacks a character of each val tune (P, W...): none is scored
    assert metrics["bits_per_char"]["test"] > 0 and metrics["bits_per_char"]["val"] is None
    assert metrics["bits_per_char_scoring"]["val"]["skipped_unknown_characters"] == 2
    assert (out / "musical.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "](musical.png)" in report and "## Musical measures" in report


@pytest.mark.slow
def test_evaluate_measures_every_set_and_an_outside_collection(tiny_report):
    """The musical measures for every set; bits/char on the outside collection, with its
    tunes holding characters the model never saw left out and counted."""
    from abcgen.evaluate.report import card_lines

    metrics, out, _, _, _ = tiny_report
    assert list(metrics["musical"]) == ["generated", "unconstrained", "test", "outside"]
    for row in metrics["musical"].values():
        assert {"ends_on_tonic", "parts_or_repeats", "real_word_titles", "copies",
                "titles_identical_to_training"} <= set(row)
        assert set(row["length_quarters"]) == {"p25", "p50", "p75", "mean", "overlap_vs_test"}
    assert metrics["musical"]["test"]["length_bars"]["overlap_vs_test"] == pytest.approx(1.0)
    assert set(metrics["classifier_auc_vs_test"]) == {"generated", "unconstrained", "outside",
                                                      "test_halves"}
    scoring = metrics["bits_per_char_scoring"]["outside"]
    # "Top Of The Hill" (an O) and "Harvest Polka" (P, k, s, v, >) are outside the vocabulary
    assert (scoring["tunes"], scoring["scored"], scoring["skipped_unknown_characters"]) == (3, 1, 2)
    assert metrics["bits_per_char"]["outside"] > 0
    card = "\n".join(card_lines(metrics))  # the model card's section
    assert "### Musical measures" in card and "| outside |" in card


@pytest.mark.slow
def test_the_test_split_is_the_reference_row(tiny_report):
    metrics, _, _, _, _ = tiny_report
    test = metrics["validity"]["test"]
    assert test["no_check_errors"] == 1.0 and test["valid_after_repair"] == 1.0
    assert metrics["novelty"]["test"]["copies"] == 0.0  # held-out tunes share little with train
    assert set(metrics["mgeval_vs_test"]) == {"generated", "val"}
    assert metrics["distributions"]["test"]["meters"] == {"4/4": 0.5, "6/8": 0.5}


@pytest.mark.slow
def test_cli_evaluate_prints_a_summary_and_writes_the_report(tiny_report, tmp_path):
    _, _, model, corpus, _ = tiny_report
    result = CliRunner().invoke(app, ["evaluate", "--model", str(model), "--corpus", str(corpus),
                                      "-n", "3", "--seed", "2", "--out", str(tmp_path / "r"),
                                      "--outside", str(corpus.parent / "outside")])
    assert result.exit_code == 0, result.output
    assert "valid after repair" in result.output
    assert "musical measures" in result.output and "outside: ends on the tonic" in result.output
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["settings"]["n"] == 3


@pytest.mark.slow
def test_evaluate_reports_what_generate_delivers_and_the_networks_own_draws(tiny_report):
    """The generated set is sampled as `generate` samples (constrained: every raw tune passes
    `check`); the unconstrained set is the barely trained network's own draws, most of which
    fail it; the report labels both. The model is loaded once for sampling and scoring."""
    metrics, out, _, _, loads = tiny_report
    validity = metrics["validity"]
    assert set(validity) == {"generated", "unconstrained", "test"}
    assert validity["generated"]["tunes"] == validity["unconstrained"]["tunes"] == 6
    assert validity["generated"]["no_check_errors"] == 1.0
    assert validity["unconstrained"]["no_check_errors"] < 0.5
    assert metrics["settings"]["sets"] == {"generated": "constrained",
                                           "unconstrained": "unconstrained"}
    report = (out / "report.md").read_text()
    assert "generated (as `generate` delivers)" in report
    assert "unconstrained (the network's own draws)" in report
    assert loads == 1


def test_cli_evaluate_rejects_a_missing_corpus_and_too_few_tunes(tmp_path):
    missing = CliRunner().invoke(app, ["evaluate", "--corpus", str(tmp_path / "nope"),
                                       "--model", str(tmp_path / "m.pt"), "--out", str(tmp_path)])
    assert missing.exit_code == 2
    assert "train.abc: not found" in missing.output and "Traceback" not in missing.output
    too_few = CliRunner().invoke(app, ["evaluate", "--corpus", str(tmp_path), "-n", "1",
                                       "--out", str(tmp_path)])
    assert too_few.exit_code == 2 and "-n must be at least 2" in too_few.output
