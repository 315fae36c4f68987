"""Batched sampling: reproducible by seed, primed headers honoured, each tune ends on its own.

The sampler's own mechanics are tested on the network's raw draws (constrained=False);
tests/test_constrained.py covers the constraint, which is SampleSettings' default."""

import copy
from dataclasses import asdict, replace

import pytest
import torch
from model_helpers import TUNES

from abcgen.errors import AbcgenError
from abcgen.generate import generate
from abcgen.model.checkpoint import save_checkpoint
from abcgen.model.data import split_tunes
from abcgen.model.lstm import CharLSTM, preset
from abcgen.model.runtime import Runtime, cpu_has_bf16, pick_dtype
from abcgen.model.sample import (
    MODEL_LINE,
    WARM_UP_TUNES,
    SampleSettings,
    _Stepper,
    filter_logits,
    header_template,
    sample_tunes,
)
from abcgen.model.vocab import EOS, Vocab


@pytest.fixture
def untrained():
    torch.manual_seed(0)
    vocab = Vocab.from_texts(TUNES)
    return CharLSTM(preset("tiny", vocab_size=len(vocab))), vocab


def _ending_model(untrained, eos_bias: float):
    """The untrained model, nudged to end tunes: each step ends with a probability set by eos_bias."""
    model, vocab = untrained
    with torch.no_grad():
        model.head.bias[EOS] = eos_bias
    return model, vocab


def _raw(**settings) -> SampleSettings:
    return SampleSettings(**{"constrained": False, **settings})


def _texts(model, vocab, n, template=None, **settings):
    return [s.text for s in sample_tunes(model, vocab, n, template, _raw(**settings))]


def test_same_seed_same_tunes_other_seed_other_tunes(untrained):
    model, vocab = untrained
    first = _texts(model, vocab, 4, seed=7, max_chars=200)
    assert first == _texts(model, vocab, 4, seed=7, max_chars=200)
    assert first != _texts(model, vocab, 4, seed=8, max_chars=200)
    assert len(set(first)) == 4  # the lanes of one batch differ


def test_top_k_1_is_greedy_whatever_the_seed(untrained):
    model, vocab = untrained
    assert _texts(model, vocab, 2, seed=1, top_k=1, max_chars=50) == \
        _texts(model, vocab, 2, seed=2, top_k=1, max_chars=50)


def test_primed_header_fields_come_first_in_canonical_order(untrained):
    model, vocab = untrained
    template = header_template(title="Café Reel", meter="6/8", key="G", rhythm="jig")
    for text in _texts(model, vocab, 3, template, seed=1, max_chars=120):
        # é is not in the training alphabet: it is fed as <unk> but written as given
        assert text.startswith("X:1\nT:Café Reel\nM:6/8\nR:jig\nK:G\n")


def test_without_a_title_the_model_writes_the_title_line(untrained):
    model, vocab = _ending_model(untrained, 2.0)
    template = header_template(meter="3/4", key="D")
    assert template == ["X:1\nT:", MODEL_LINE, "M:3/4\nK:D\n"]
    for text in _texts(model, vocab, 5, template, seed=3, max_chars=400):
        lines = text.split("\n")
        assert lines[0] == "X:1" and lines[1].startswith("T:")
        assert lines[2:4] == ["M:3/4", "K:D"]  # the tune cannot end inside its primed header


def test_each_tune_stops_at_its_own_end(untrained):
    model, vocab = _ending_model(untrained, 2.0)
    samples = sample_tunes(model, vocab, 16, settings=_raw(seed=5, max_chars=500, rows=5))
    assert all(s.complete for s in samples)
    lengths = {len(s.text) for s in samples}
    assert len(lengths) > 3 and max(lengths) < 500


def test_a_row_whose_tune_ends_starts_the_next_tune(untrained):
    """Continuous batching: 3 rows write 10 tunes; each tune begins with its own template,
    ends at its own end, and the same seed and rows give the same file."""
    model, vocab = _ending_model(untrained, 1.0)
    template = header_template(meter="6/8")
    settings = _raw(seed=3, max_chars=300, rows=3)
    samples = sample_tunes(model, vocab, 10, template, settings)
    assert len(samples) == 10 and all(s.complete for s in samples)
    assert all(s.text.startswith("X:1\nT:") and "\nM:6/8\n" in s.text for s in samples)
    assert len({s.text for s in samples}) == 10
    assert samples == sample_tunes(model, vocab, 10, template, settings)
    assert samples != sample_tunes(model, vocab, 10, template, replace(settings, seed=4))


def test_max_chars_cuts_and_marks_incomplete(untrained):
    model, vocab = _ending_model(untrained, -30.0)
    samples = sample_tunes(model, vocab, 3, settings=_raw(seed=1, max_chars=40))
    assert all(not s.complete and len(s.text) == 40 for s in samples)


def test_bad_settings_are_refused(untrained):
    model, vocab = untrained
    for settings in [dict(temperature=0.0), dict(temperature=-1.0), dict(top_k=0),
                     dict(top_p=1.5), dict(max_chars=0)]:
        with pytest.raises(AbcgenError):
            sample_tunes(model, vocab, 1, settings=SampleSettings(**settings))
    with pytest.raises(AbcgenError, match="-n"):
        sample_tunes(model, vocab, 0)
    with pytest.raises(AbcgenError, match="--title"):
        header_template(title="two\nlines")


@pytest.mark.parametrize("dtype, tolerance", [("fp32", 1e-4), ("bf16", 0.1)])
def test_the_sampling_step_follows_the_fused_lstm(untrained, dtype, tolerance):
    """Character by character, the sampler's step gives the logits of one nn.LSTM window
    (3 layers, so a middle layer is covered too), rows dropped on the way included."""
    torch.manual_seed(1)
    model = CharLSTM(preset("tiny", vocab_size=len(untrained[1]), layers=3)).eval()
    ids = torch.randint(4, len(untrained[1]), (5, 12))
    state = tuple(torch.randn(3, 5, 32) for _ in range(2))
    with torch.inference_mode():
        expected = model(ids, state)[0]
        step = _Stepper(model, Runtime(torch.device("cpu"), dtype))
        rows, carried = torch.arange(5), step.from_lstm(state)
        for t in range(12):
            if t == 6:  # rows 1 and 3 finish
                rows = torch.tensor([0, 2, 4])
                carried = step.select(carried, torch.tensor([0, 2, 4]))
            logits, carried = step(ids[rows, t], carried)
            assert torch.allclose(logits.float(), expected[rows, t], atol=tolerance)


@pytest.mark.skipif(not cpu_has_bf16(), reason="this CPU has no native bf16 (oneDNN's bf16 LSTM "
                    "needs AVX-512-bf16 or AMX)")
def test_bf16_sampling_is_reproducible_and_keeps_the_thread_count(untrained):
    model, vocab = untrained
    threads = torch.get_num_threads()
    runtime = Runtime(torch.device("cpu"), "bf16")
    settings = _raw(seed=4, max_chars=150)
    first = sample_tunes(model, vocab, 3, settings=settings, runtime=runtime)
    assert first == sample_tunes(model, vocab, 3, settings=settings, runtime=runtime)
    assert torch.get_num_threads() == threads


def test_a_model_trained_on_whole_tunes_starts_each_tune_from_zeros(untrained, monkeypatch):
    """No neighbour's style leaks in: the warm-up tunes are never read, so changing them
    changes nothing."""
    model, vocab = untrained
    windows = []
    model.register_forward_hook(lambda module, inputs, out: windows.append(inputs[0].shape[1]))
    before = _texts(model, vocab, 3, seed=4, max_chars=80)
    assert windows == []  # zeros, then BOS and "X:1\n" a character a step: no window read
    monkeypatch.setattr("abcgen.model.sample.WARM_UP_TUNES", ("X:1\nT:Other\nK:C\nCDEF|]\n",))
    assert _texts(copy.deepcopy(model), vocab, 3, seed=4, max_chars=80) == before


def test_the_warm_up_is_read_once_per_model_and_again_when_its_weights_change(untrained):
    """A stream-trained model (fresh_start False) reads the warm-up tunes through the fused
    LSTM on the first sample_tunes call only (the title writer calls it once per title); a
    model changed in place since gets a fresh warm-up, so it samples as a fresh copy of
    itself does."""
    _, vocab = untrained
    torch.manual_seed(0)
    model = CharLSTM(preset("tiny", vocab_size=len(vocab), fresh_start=False))
    windows = []
    model.register_forward_hook(lambda module, inputs, out: windows.append(inputs[0].shape[1]))
    settings = _raw(seed=2, max_chars=60)
    for _ in range(3):
        sample_tunes(model, vocab, 2, settings=settings)
    warm_up = sum(len(tune) + 2 for tune in WARM_UP_TUNES)  # each between BOS and EOS
    assert windows == [warm_up]
    with torch.no_grad():
        model.lstm.weight_hh_l0.mul_(1.5)
    changed = sample_tunes(model, vocab, 2, settings=settings)
    assert windows == [warm_up, warm_up]
    assert changed == sample_tunes(copy.deepcopy(model), vocab, 2, settings=settings)


def test_a_constrained_step_reads_the_device_once(untrained, monkeypatch):
    """Each step brings its drawn characters to the host in one read: on a GPU each read is
    a device sync."""
    model, vocab = _ending_model(untrained, 3.0)  # wants to end early: the end is masked
    reads = []
    for name in ("tolist", "item", "nonzero", "__bool__"):
        method = getattr(torch.Tensor, name)
        monkeypatch.setattr(torch.Tensor, name,
                            lambda self, *a, _m=method, _n=name, **k: reads.append(_n)
                            or _m(self, *a, **k))
    samples = sample_tunes(model, vocab, 4, settings=SampleSettings(seed=1, max_chars=300))
    monkeypatch.undo()
    steps = max(len(s.text) for s in samples) + 1  # one a character, the template's too
    assert steps > 20 and len(reads) <= steps + 2, (len(reads), steps)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="device syncs are a GPU's")
def test_a_constrained_step_syncs_the_gpu_once(untrained):
    """On a GPU, counted by CUDA's sync debug mode: one sync a step (the drawn characters);
    the ids sent there each step go without waiting. The second batch of the same seed
    meets no new reader state, so no new mask row is copied over."""
    import warnings

    model, vocab = _ending_model(untrained, 3.0)
    model = model.cuda()
    runtime = Runtime(torch.device("cuda"), "fp32")
    settings = SampleSettings(seed=1, max_chars=300)
    sample_tunes(model, vocab, 4, settings=settings, runtime=runtime)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            samples = sample_tunes(model, vocab, 4, settings=settings, runtime=runtime)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    syncs = sum("synchroniz" in str(w.message) for w in caught)
    steps = max(len(s.text) for s in samples) + 1  # one a character, the template's too
    assert steps > 20 and syncs <= steps + 4, (syncs, steps)


def test_top_p_keeps_the_smallest_likely_set():
    logits = torch.log(torch.tensor([[0.0, 0.0, 0.0, 0.0, 0.5, 0.3, 0.15, 0.05]]))
    kept = filter_logits(logits, SampleSettings(top_p=0.75)).isfinite()
    assert kept.tolist() == [[False] * 4 + [True, True, False, False]]


def test_tunebook_is_numbered_and_blank_line_separated(untrained, tmp_path):
    model, vocab = _ending_model(untrained, 1.0)
    path = save_checkpoint(tmp_path / "m.pt", {"model": model.state_dict(),
                                               "model_config": asdict(model.config),
                                               "vocab": vocab.to_list()})
    generated = generate(path, 3, header_template(), SampleSettings(seed=2), repair=False)
    book, samples = generated.text, generated.samples
    tunes = split_tunes(book)
    assert len(tunes) == len(samples) == 3
    assert [t.split("\n", 1)[0] for t in tunes] == ["X:1", "X:2", "X:3"]


def test_bf16_is_refused_on_a_cpu_without_it():
    """Asked for bf16, a CPU without native bf16 gets a one-line reason, not oneDNN's crash."""
    cpu = torch.device("cpu")
    if cpu_has_bf16():
        assert pick_dtype(cpu, "bf16") == "bf16"
    else:
        with pytest.raises(AbcgenError, match="use fp32"):
            pick_dtype(cpu, "bf16")
    assert pick_dtype(cpu, "auto") == ("bf16" if cpu_has_bf16() else "fp32")


def test_a_body_the_form_rule_would_end_is_drawn_again_under_the_same_header(untrained,
                                                                             monkeypatch):
    """Where the form rule (not the model) would end a tune, its body is drawn again from
    the end of its header: the title, meter, key and rhythm the model chose stay."""
    model, vocab = _ending_model(untrained, 1.0)
    settings = SampleSettings(seed=6, max_chars=400, rows=1)

    def header_and_body(retries):
        monkeypatch.setattr("abcgen.model.sample.MAX_RETRIES", retries)
        monkeypatch.setattr("abcgen.model.sample.forced_by_form",
                            lambda state: state.phase == "body" and state.used > 0)
        (tune,) = sample_tunes(model, vocab, 1, settings=settings)
        header, _, body = tune.text.partition("\nK:")
        return header + body.split("\n")[0], body.split("\n", 1)[1]

    first, again = header_and_body(0), header_and_body(3)
    assert first[0] == again[0] and first[1] != again[1]
