"""Constrained sampling: the incremental reader agrees with `check`, a constrained batch
only writes tunes `check` accepts, and the mask never leaves a sequence without a move."""

import random
from pathlib import Path

import pytest
import torch
from model_helpers import TUNES

from abcgen.model.constrain import FINISH_MARGIN, ConstraintMasks
from abcgen.model.lstm import CharLSTM, preset
from abcgen.model.sample import SampleSettings, header_template, sample_tunes
from abcgen.model.vocab import EOS, SPECIAL_TOKENS, Vocab
from abcgen.notation import check_text, dumps, read_abc, read_tunes
from abcgen.evaluate.structure import tune_parts
from abcgen.notation import build_timeline, parse_tune
from abcgen.notation.incremental import (FORM_START, START, allowed_chars, can_end,
                                        finishing, forced_by_form, mask_key, step)
from abcgen.notation.writer import clean_tune

FIXTURES = Path(__file__).parent / "fixtures"
# Every character of the reader's subset, so a vocabulary built from a few tunes can spell
# every key, meter and length the reader offers.
SUBSET_CHARS = "ABCDEFGabcdefgz^_=,'/0123456789|:][(){}~<>- #\nXTMLRKmajinxorphylc"


def _errors(text: str) -> list[str]:
    return [issue.code for issue in check_text(text) if issue.severity == "error"]


def _walk(text: str):
    """The reader's states along `text`: (index, state) until it refuses a character."""
    state = START
    for index, char in enumerate(text):
        state = step(state, char)
        yield index, state
        if state is None:
            return


def _accepts(text: str) -> bool:
    """Whether the reader takes every character of `text` and lets the tune end after it."""
    last = START
    for _, state in _walk(text):
        if state is None:
            return False
        last = state
    return can_end(last)


def _fixture_tunes() -> list[str]:
    """The held-out fixtures, normalised as the corpus writes them (the model's dialect)."""
    texts = []
    for path in sorted(FIXTURES.glob("*.abc")):
        texts += [dumps(clean_tune(tune)) for tune in read_tunes(read_abc(path))]
    return texts + TUNES


def test_reader_agrees_with_check_on_every_prefix_of_the_fixtures():
    accepted = 0
    for text in _fixture_tunes():
        whole = _accepts(text)
        accepted += whole
        for index, state in _walk(text):
            if state is not None and can_end(state):  # the reader would let it end here
                prefix = text[: index + 1]
                assert _errors(prefix) == [], prefix
        if whole:
            assert _errors(text) == [], text
    assert accepted >= 30  # the subset covers the corpus style: the fixtures mostly parse


def test_the_fast_allowed_set_is_exactly_the_characters_step_accepts():
    """allowed_chars' shortcuts, and the mask cache's key, change no verdict."""
    alphabet = sorted(set(SUBSET_CHARS) | set("".join(TUNES)))
    for text in _fixture_tunes()[::3]:
        for _, state in _walk(text):
            if state is None:
                break
            for steered in (state, finishing(state)):
                expected = {char for char in alphabet if step(steered, char) is not None}
                assert allowed_chars(steered, alphabet) == expected
                assert allowed_chars(mask_key(steered), alphabet) == expected


def test_a_state_changed_by_the_readers_helper_is_the_namedtuple_replace():
    """incremental._with (the reader's faster _replace) makes the same state, of the same
    type, for every field, and refuses a field a state lacks."""
    from abcgen.notation.incremental import ReaderState, _with

    state = next(state for _, state in _walk(TUNES[0]) if state.phase == "body")
    for name in ReaderState._fields:
        changed = _with(state, **{name: ("changed", name)})
        assert changed == state._replace(**{name: ("changed", name)}) != state
        assert type(changed) is ReaderState
    several = dict(token="note", letter="a", used=96, tie=("a", "'"))
    assert _with(state, **several) == state._replace(**several)
    with pytest.raises(KeyError):
        _with(state, no_such_field=1)


BROKEN = {  # one kind of error each, from the first tiny-corpus tune
    "bar-length": ("|dfa afd|", "|dfa afdd|"),
    "unclosed-repeat": ("e2A:|", "e2A|"),
    "bad-ending": ("e2A:|", "e2A:|1dfa afd|]"),
    "unclosed-slur": ("|dfa afd|", "|(dfa afd|"),
    "unopened-slur": ("|dfa afd|", "|dfa) afd|"),
    "unclosed-tuplet": ("e2A:|", "e2A (3:|"),
    "unclosed-chord": ("|dfa afd|", "|dfa [af|"),
    "unclosed-grace": ("|dfa afd|", "|dfa {af|"),
    "bad-tie": ("|dfa afd|", "|dfa- gfd|"),
    "bad-broken-rhythm": ("|dfa afd|", "|>dfa afd|"),
    "bad-character": ("|dfa afd|", "|dfa aQfd|"),
    "missing-title": ("T:The Kitchen Jig\n", ""),
    "empty-title": ("T:The Kitchen Jig\n", "T:\n"),
    "missing-meter": ("M:6/8\n", ""),
    "invalid-meter": ("M:6/8\n", "M:6/x\n"),
    "invalid-length": ("L:1/8\n", "L:0\n"),
    "missing-key": ("K:D\n", ""),
    "invalid-key": ("K:D\n", "K:Dq\n"),
    "key-not-last": ("K:D\n", "K:D\nL:1/8\n"),
    "hornpipe-meter": ("L:1/8\n", "L:1/8\nR:hornpipe\n"),
    "no-notes": ("|:A|dfa afd|gfe fdB|AFA dFA|Bee e2A:|", "z6|"),
}


@pytest.mark.parametrize("code", sorted(BROKEN))
def test_reader_refuses_tunes_with_each_kind_of_error(code):
    old, new = BROKEN[code]
    text = TUNES[0].replace(old, new, 1)
    assert code in [issue.code for issue in check_text(text)]
    assert _accepts(TUNES[0]) and not _accepts(text)


def _vocab() -> Vocab:
    return Vocab.from_texts(TUNES + [SUBSET_CHARS])


def test_random_walks_never_meet_an_empty_mask_and_always_end_valid():
    """Walk the masks with random choices (any model could make them): a move always exists,
    steering ends every walk before its limit, and each walk is a tune `check` accepts."""
    vocab, rng = _vocab(), random.Random(5)
    masks = ConstraintMasks(vocab)
    limit = 260
    for _ in range(60):
        sid, text = masks.start("X:1\n"), "X:1\n"
        while True:
            allowed = masks.rows([sid])[0].nonzero().flatten().tolist()
            assert allowed
            choice = rng.choice(allowed)
            if choice == EOS or (vocab.tokens[choice] == "\n" and text.endswith("\n")):
                break
            text += vocab.tokens[choice]
            sid = masks.advance(sid, text[-1])
            if len(text) >= limit - FINISH_MARGIN:
                sid = masks.finish(sid)
            assert len(text) < limit
        assert _errors(text) == [], text
    assert masks.dead_ends == 0


@pytest.fixture(scope="module")
def untrained():
    torch.manual_seed(0)
    vocab = _vocab()
    return CharLSTM(preset("tiny", vocab_size=len(vocab))), vocab


@pytest.mark.parametrize("settings", [dict(), dict(temperature=0.7, top_k=8, top_p=0.95)])
def test_a_constrained_batch_only_writes_tunes_check_accepts(untrained, settings):
    model, vocab = untrained
    for seed in range(3):
        tunes = sample_tunes(model, vocab, 12, None,
                             SampleSettings(seed=seed, max_chars=300, constrained=True, **settings))
        for tune in tunes:
            assert _errors(tune.text) == [], tune.text
        assert sum(tune.complete for tune in tunes) >= 10


@pytest.mark.parametrize("fields, written", [
    (dict(meter="3/4", key="Ador"), "\nM:3/4\nK:Ador\n"),
    (dict(meter="none", key="E minor"), "\nM:none\nK:E minor\n"),  # outside the tables
    (dict(rhythm="hornpipe"), "\nR:hornpipe\nM:"),  # the model adds M:, a hornpipe's
])
def test_primed_headers_are_kept_and_still_valid(untrained, fields, written):
    model, vocab = untrained
    tunes = sample_tunes(model, vocab, 6, header_template(**fields),
                         SampleSettings(seed=2, max_chars=300, constrained=True))
    for tune in tunes:
        assert written in tune.text
        assert _errors(tune.text) == [], tune.text


def test_the_library_samples_constrained_unless_told_not_to(untrained):
    """On by default (one place: SampleSettings): an untrained model's tunes pass `check`.
    Asked for raw draws, the same seed gives the same tunes, and some fail `check` (the
    constraint is needed)."""
    model, vocab = untrained
    default = sample_tunes(model, vocab, 6, None, SampleSettings(seed=1, max_chars=200))
    assert all(_errors(t.text) == [] for t in default)
    raw = SampleSettings(seed=1, max_chars=200, constrained=False)
    first = sample_tunes(model, vocab, 6, None, raw)
    assert [t.text for t in first] == [t.text for t in sample_tunes(model, vocab, 6, None, raw)]
    assert any(_errors(t.text) for t in first)


def test_the_title_writer_draws_as_the_tunes_were_drawn(untrained):
    """generate's title writer takes the tunes' settings: constrained (the default), an
    untrained model's titles are header text the reader allows (no % \\ ", at most 60
    characters); raw, some are not."""
    from abcgen.generate import model_title_writer
    from abcgen.model.runtime import Runtime
    from abcgen.notation.fields import UNSAFE_HEADER_TEXT
    from abcgen.notation.incremental import MAX_TEXT

    model, vocab = untrained
    runtime = Runtime(torch.device("cpu"), "fp32")

    def titles(settings):
        write = model_title_writer(model, vocab, settings, runtime)
        return [write("X:1\nT:") for _ in range(12)]

    def allowed(title):
        return len(title) <= MAX_TEXT and not UNSAFE_HEADER_TEXT.intersection(title)

    assert all(allowed(title) for title in titles(SampleSettings(seed=3)))
    assert not all(allowed(title) for title in titles(SampleSettings(seed=3, constrained=False)))


def test_mask_rows_are_the_readers_allowed_sets_while_the_table_grows():
    """Along the fixtures' body text each state's mask row holds exactly the characters the
    reader allows (and the end marker when it may end), and a row handed out before the
    table grew still reads the same afterwards."""
    vocab = _vocab()
    masks = ConstraintMasks(vocab)
    chars = vocab.tokens[len(SPECIAL_TOKENS):]
    taken = []
    for text in _fixture_tunes():
        sid = masks.start("")
        for char in text:
            state = masks.states[sid]
            if state.phase == "body":
                taken.append((state, masks.rows([sid])[0]))
            sid = masks.advance(sid, char)
            if masks.states[sid].phase == "lost":
                break
    assert len(masks.rows_by_key) > 128  # the table doubled on the way
    for state, row in taken:
        expected = {vocab.encode(char)[0] for char in allowed_chars(state, chars)}
        expected |= {EOS} if can_end(state) else set()
        assert set(row.nonzero().flatten().tolist()) == expected


def test_two_threads_sharing_the_masks_get_the_readers_rows():
    """The web app samples two jobs on one shared table: walked by two threads at once (the
    interpreter switching threads as often as it can), every id still names its own state
    and every row still holds exactly what the reader allows there."""
    import sys
    import threading

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    vocab, texts = _vocab(), _fixture_tunes()
    masks, chars, seen = ConstraintMasks(vocab), vocab.tokens[len(SPECIAL_TOKENS):], []

    def walk(order):
        for text in order:
            sid = masks.start("")
            for char in text:
                seen.append((masks.states[sid], masks.rows([sid])[0]))
                sid = masks.advance(sid, char)
                if masks.states[sid].phase == "lost":
                    break

    try:
        threads = [threading.Thread(target=walk, args=(o,)) for o in (texts, texts[::-1])]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert [masks.ids[state] for state in masks.states] == list(range(len(masks.states)))
    for state, row in seen[::7]:
        expected = {vocab.encode(char)[0] for char in allowed_chars(state, chars)}
        expected |= {EOS} if can_end(state) else set()
        assert set(row.nonzero().flatten().tolist()) == expected


def test_mask_table_covers_markers(untrained):
    """The markers that stand for no character are never allowed."""
    _, vocab = untrained
    masks = ConstraintMasks(vocab)
    rows = masks.rows([masks.start("X:1\n")])
    assert not rows[0, : len(SPECIAL_TOKENS)].any()


def test_generate_is_constrained_by_default_and_unconstrained_on_request(tmp_path):
    from typer.testing import CliRunner

    from abcgen.cli.app import _register, app
    from model_helpers import train_tiny, write_tiny_corpus

    _register()
    checkpoint, _ = train_tiny(write_tiny_corpus(tmp_path / "corpus"), tmp_path / "run")
    runner = CliRunner()
    for extra in ([], ["--unconstrained"]):
        out = tmp_path / f"tunes{len(extra)}.abc"
        result = runner.invoke(app, ["generate", "--model", str(checkpoint), "-n", "6",
                                     "--seed", "4", "--raw", "--max-chars", "400", "--top-p", "1",
                                     "-o", str(out), *extra])
        assert result.exit_code == 0, result.output
        assert len(read_tunes(out.read_text())) >= 1
    assert _errors((tmp_path / "tunes0.abc").read_text()) == []


# -- form (FORM_START: what `generate` samples under) ------------------------------------------

FORM_HEADER = "X:1\nT:Form\nM:4/4\nL:1/8\nK:G\n"
BAR = "GABc dBAG|"


def _form_accepts(body: str) -> bool:
    """Whether the form-keeping reader takes the whole tune and lets it end there."""
    state = FORM_START
    for char in FORM_HEADER + body:
        state = step(state, char)
        if state is None:
            return False
    return can_end(state)


def _part(bars: int, close: str = ":|") -> str:
    return "|:" + BAR * (bars - 1) + "GABc d4" + close + "\n"


@pytest.mark.parametrize("body, keeps_form", [
    (_part(8) + _part(8), True),  # AABB, 8-bar parts
    (_part(8), False),  # one short strain: half a tune
    (BAR * 16 + "\n", True),  # a 16-bar air played once
    (_part(7) + _part(8), False),  # a part closed after 7 bars
    (_part(8) + _part(12), True),
    (BAR * 7 + "GABc d4||\n" + _part(8), True),  # an 8-bar strain played once, then one twice
    (BAR * 7 + "GABc d4||\n" + BAR * 6 + "GABc d4|]\n", False),  # a 7-bar second part
    (_part(8) + BAR * 15 + "GABc d4|]\n" + _part(8), False),  # music after the final bar
    (_part(8) + BAR * 17 + "\n", False),  # a part left open past 16 bars
    (_part(8) + "|:" + BAR * 7 + "GABc d4|]\n" + BAR * 7 + "GABc d4:|\n", False),  # |] mid-repeat
    ("G2|:" + BAR * 7 + "GABc d4:|\n|:" + BAR * 7 + "GABc d2:|\n", True),  # pickup, short end
    ("|:" + BAR * 6 + "GABc dBAG|1 GABc d4:|2 GABc d4|\n" + _part(8), True),  # two endings
])
def test_the_form_rule_takes_parts_of_four_bar_multiples_and_two_of_them(body, keeps_form):
    assert _errors(FORM_HEADER + body) == []  # every case is valid ABC: form is the only question
    assert _form_accepts(body) is keeps_form
    assert _accepts(FORM_HEADER + body)  # the plain reader (check's rules) takes them all


def test_sampled_tunes_keep_the_form_and_can_be_asked_not_to(untrained):
    model, vocab = untrained
    for form in (True, False):
        tunes = sample_tunes(model, vocab, 12, None,
                             SampleSettings(seed=4, max_chars=900, constrained=True, form=form))
        whole = [t for t in tunes if t.complete]
        assert len(whole) >= 8
        played = [sum(p.bars for p in tune_parts(build_timeline(parse_tune(t.text))))
                  for t in whole]
        assert all(_errors(t.text) == [] for t in whole)
        assert (min(played) >= 8) is form, played


def test_a_primed_phrase_that_breaks_the_form_is_kept_and_the_tune_goes_on_free():
    masks = ConstraintMasks(_vocab())
    phrase = FORM_HEADER + "|:" + BAR * 6 + "GABc d4:|"  # a 7-bar part, as a user may prime it
    state = masks.states[masks.start(phrase)]
    assert state.phase == "body" and not state.form
    assert masks.states[masks.start(FORM_HEADER + _part(8))].form


def test_the_form_rule_says_when_it_and_not_the_writer_ends_a_tune():
    """Two or three parts end a tune where the writer chooses; going on into a fourth, the
    tune will end where that part closes whatever the writer wants (the sampler draws such a
    tune again)."""
    def state_after(body):
        state = FORM_START
        for char in FORM_HEADER + body:
            state = step(state, char)
        return state

    assert not forced_by_form(state_after(_part(8) + _part(8)))
    assert not forced_by_form(state_after(_part(8) * 3 + "|:GABc dBAG"))  # a 4th begins...
    assert forced_by_form(state_after(_part(8) * 3 + "|:GABc dBAG|"))  # ...and has a bar
    assert forced_by_form(state_after(_part(8) * 4))
