"""Vocabulary, corpus encoding and caching, the CharLSTM's shapes, and checkpoint safety."""

import pickle
from dataclasses import asdict
import zipfile

import numpy as np
import pytest
import torch
from model_helpers import TUNES, write_tiny_corpus

from abcgen.errors import AbcgenError, InputError
from abcgen.model.checkpoint import load_checkpoint, load_model, save_checkpoint
from abcgen.model.data import (StreamBatches, TuneBatches, as_sampled, load_corpus, split_tunes,
                               tune_spans)
from abcgen.model.lstm import PRESETS, CharLSTM, LSTMConfig, preset
from abcgen.model.vocab import BOS, EOS, UNK, Vocab


def test_vocab_round_trip_and_unknown_characters():
    vocab = Vocab.from_texts(["abc\n", "cab"])
    assert vocab.decode(vocab.encode("cab\n")) == "cab\n"
    assert vocab.encode("aéb")[1] == UNK
    assert vocab.unknown_chars("aébéz") == ["é", "z"]
    assert Vocab.from_list(vocab.to_list()) == vocab
    ids = vocab.encode_tune("ab")
    assert ids[0] == BOS and ids[-1] == EOS and vocab.decode(ids) == "ab"


def test_split_tunes_cuts_at_blank_lines_only():
    text = "X:1\nT:A\nK:D\nabc|\r\n\r\nX:2\nT:B\nK:G\n\n\n\nX:3\nK:C\nc|"
    tunes = split_tunes(text)
    assert [t.splitlines()[0] for t in tunes] == ["X:1", "X:2", "X:3"]
    assert all(t.endswith("\n") and "\n\n" not in t for t in tunes)


def test_corpus_is_encoded_once_and_cached(tmp_path):
    folder = write_tiny_corpus(tmp_path / "corpus")
    corpus = load_corpus(folder)
    train = corpus.splits["train"]
    assert train.dtype == np.uint8
    assert len(tune_spans(train)) == 6
    # every tune starts the way the sampler primes it, whatever its X: number
    assert corpus.vocab.decode(train) == "".join(as_sampled(t) for t in TUNES[:6])
    assert corpus.vocab.decode(train).count("X:1\n") == 6
    cached = sorted((folder / "cache").glob("*.npy"))
    assert len(cached) == 3
    # Editing a split re-encodes it under a new name instead of serving stale ids.
    (folder / "val.abc").write_text(TUNES[0], encoding="utf-8")
    again = load_corpus(folder, corpus.vocab)
    assert len(list((folder / "cache").glob("val-*.npy"))) == 2
    assert corpus.vocab.decode(again.splits["val"]) == as_sampled(TUNES[0])


def test_missing_corpus_split_names_the_file(tmp_path):
    folder = write_tiny_corpus(tmp_path / "corpus")
    (folder / "test.abc").unlink()
    with pytest.raises(InputError, match="test.abc"):
        load_corpus(folder)


def test_stream_batches_are_shifted_next_characters(tmp_path):
    stream = load_corpus(write_tiny_corpus(tmp_path / "c")).splits["train"]
    batches = StreamBatches(stream, batch_size=4, seq_len=8, seed=0)
    first, second = batches.next_batch(torch.device("cpu")), batches.next_batch(torch.device("cpu"))
    assert first.inputs.shape == (4, 8) and not first.carry_state and second.carry_state
    assert torch.equal(first.inputs[:, 1:], first.targets[:, :-1])
    assert torch.equal(first.targets[:, -1], second.inputs[:, 0])  # lanes continue


def test_tune_batches_start_every_row_at_a_tune_start(tmp_path):
    stream = load_corpus(write_tiny_corpus(tmp_path / "c")).splits["train"]
    batch = TuneBatches(stream, batch_size=3, seed=0).next_batch(torch.device("cpu"))
    assert (batch.inputs[:, 0] == BOS).all()
    assert batch.n_chars == int((batch.targets != -100).sum())


def test_model_maps_windows_to_logits_and_carries_state():
    model = CharLSTM(LSTMConfig(vocab_size=20, embed=8, hidden=16, layers=2))
    inputs = torch.randint(0, 20, (3, 7))
    logits, loss, state = model(inputs, None, inputs)
    assert logits.shape == (3, 7, 20) and loss.dtype == torch.float32
    assert state[0].shape == (2, 3, 16)
    # Reading the window in two halves with the state carried gives the same logits.
    first, _, mid = model(inputs[:, :4])
    second, _, _ = model(inputs[:, 4:], mid)
    assert torch.allclose(torch.cat([first, second], 1), logits, atol=1e-5)


def test_presets_grow_and_large_is_folk_rnn_size():
    sizes = [CharLSTM(preset(name, vocab_size=100)).num_parameters() for name in PRESETS]
    assert sizes == sorted(sizes)
    assert (PRESETS["large"].layers, PRESETS["large"].hidden) == (3, 512)
    with pytest.raises(AbcgenError, match="unknown preset"):
        preset("huge")


def _saved_model(tmp_path):
    vocab = Vocab.from_texts(TUNES)
    model = CharLSTM(preset("tiny", vocab_size=len(vocab)))
    path = save_checkpoint(tmp_path / "m.pt", {"model": model.state_dict(),
                                               "model_config": asdict(model.config),
                                               "vocab": vocab.to_list()})
    return model, path


def test_checkpoint_round_trip_gives_the_same_predictions(tmp_path):
    model, path = _saved_model(tmp_path)
    loaded, vocab, record = load_model(path)
    inputs = torch.tensor([vocab.encode_tune(TUNES[0])])
    assert torch.equal(model.eval()(inputs)[0], loaded(inputs)[0])
    assert record["format"] == "abcgen-charlstm"


def test_pickled_object_in_a_checkpoint_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": "abcgen-charlstm", "payload": zipfile.ZipInfo("x")}, path)
    with pytest.raises(InputError, match="pickled Python objects"):
        load_checkpoint(path)


def test_truncated_and_foreign_files_are_refused(tmp_path):
    _, path = _saved_model(tmp_path)
    truncated = tmp_path / "cut.pt"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    foreign = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    raw_pickle = tmp_path / "raw.pt"
    raw_pickle.write_bytes(pickle.dumps({"a": 1}))
    for bad, reason in [(truncated, "truncated"), (foreign, "not an abcgen"),
                        (text, "truncated"), (raw_pickle, "checkpoint")]:
        with pytest.raises(InputError, match=reason) as caught:
            load_checkpoint(bad)
        assert "\n" not in str(caught.value) and str(bad) in str(caught.value)


def test_checkpoint_write_leaves_no_temporary_files(tmp_path):
    _, path = _saved_model(tmp_path)
    save_checkpoint(path, load_checkpoint(path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]
    assert isinstance(load_checkpoint(path)["vocab"], list)
