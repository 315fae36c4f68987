"""One tonic for training, the corpus's keys for output (abcgen.model.keys)."""

import random
from dataclasses import replace

import torch
from model_helpers import TUNES, train_tiny, write_tiny_corpus

from abcgen.model.checkpoint import load_model
from abcgen.model.data import load_corpus
from abcgen.model.keys import (draw_shift, from_tonic, key_table, primed_in_tonic, to_tonic,
                               to_written_keys)
from abcgen.model.lstm import CharLSTM, preset
from abcgen.model.sample import SampleSettings, header_template, sample_tunes
from abcgen.model.vocab import Vocab
from abcgen.notation import parse_tune


def _key(text: str) -> str:
    return parse_tune(text).get("K")


def test_every_tune_moves_to_c_keeping_its_mode_and_the_way_back():
    moved = [to_tonic(tune) for tune in TUNES]
    assert [_key(text) for text, _, _ in moved] == ["C", "C", "Cm", "C", "C", "C", "Cm", "C"]
    # D major: C is 2 below, the way back +2; A minor: C is 3 above, back -3
    assert moved[0][1:] == ("maj", 2) and moved[2][1:] == ("min", -3)
    assert "|:G|ceg gec|fed ecA|GEG cEG|Add d2G:|" in moved[0][0]


def test_the_key_table_counts_the_written_keys_per_mode():
    table = key_table(map(to_tonic, TUNES))
    assert ("maj", 2, 3) in table and ("min", -3, 1) in table
    assert sum(count for _, _, count in table) == len(TUNES)
    rng = random.Random(0)
    assert {draw_shift(table, "min", rng) for _ in range(50)} == {-3, 4}  # Am, Em
    assert draw_shift((("maj", 2, 1),), "dor", rng) == 2  # no dorian: any mode's keys


def test_a_sampled_tune_goes_back_to_a_key_of_the_table():
    in_c = to_tonic(TUNES[1])[0]  # the reel, G major -> C
    assert _key(from_tonic(in_c, (("maj", 2, 1),), random.Random(0))) == "D"
    assert from_tonic("X:1\nT:cut off\n", (("maj", 2, 1),), random.Random(0)) == \
        "X:1\nT:cut off\n"


def test_a_primed_key_is_given_to_the_model_in_c_and_the_shift_kept():
    assert primed_in_tonic("X:1\nM:6/8\nK:D\n") == ("X:1\nM:6/8\nK:C\n", 2)
    assert primed_in_tonic("X:1\nK:Edor\n") == ("X:1\nK:Cdor\n", 4)
    assert primed_in_tonic("X:1\nT:\n") == ("X:1\nT:\n", None)
    assert primed_in_tonic("X:1\nK:none\n") == ("X:1\nK:none\n", None)


def _untrained(table=()):
    torch.manual_seed(0)
    vocab = replace(Vocab.from_texts(TUNES), key_table=table)
    return CharLSTM(preset("tiny", vocab_size=len(vocab))), vocab


def test_a_tonic_model_samples_as_before_then_moves_each_tune_to_a_drawn_key():
    model, plain = _untrained()
    _, keyed = _untrained((("maj", 2, 1), ("min", 2, 1)))
    settings = SampleSettings(seed=3, max_chars=300)
    drawn = [t.text for t in sample_tunes(model, plain, 6, settings=settings)]
    moved = [t.text for t in sample_tunes(model, keyed, 6, settings=settings)]
    assert moved == to_written_keys(drawn, keyed.key_table, seed=3)
    assert moved != drawn


def test_a_tonic_model_writes_in_the_key_the_user_asked_for():
    model, vocab = _untrained((("maj", -5, 1),))  # drawn keys would be G
    settings = SampleSettings(seed=1, max_chars=300)
    tunes = sample_tunes(model, vocab, 4, header_template(key="D"), settings)
    assert {_key(t.text) for t in tunes} == {"D"}


def test_training_in_c_stores_the_key_table_and_scores_tunes_in_c(tmp_path):
    corpus = write_tiny_corpus(tmp_path / "corpus")
    best, _ = train_tiny(corpus, tmp_path / "run", keys="tonic")
    _, vocab, record = load_model(best)
    assert vocab.key_table == key_table(map(to_tonic, TUNES[:6]))
    assert record["train_config"]["keys"] == "tonic"
    text = vocab.decode(load_corpus(corpus, vocab, tonic=True).splits["val"].tolist())
    assert "K:Cm" in text  # the val tune, in E minor as written
