"""Titles: the books' artefacts mended, the real-word rule, and titles drawn from real words."""

from dataclasses import replace

import pytest
import torch
from model_helpers import TUNES

from abcgen.model.lstm import CharLSTM, preset
from abcgen.model.sample import SampleSettings, sample_tunes
from abcgen.model.titles import TitleMask
from abcgen.model.vocab import Vocab
from abcgen.notation.titles import normalise_rhythm, normalise_title, title_case
from abcgen.titles import english_words, is_real_word_title, words_of

# (as printed in O'Neill's, Ryan's, Aird's or Ceol Rince) -> (title, rhythm it named)
BOOK_TITLES = [
    ("Billy Pat:terson's Favorite", "Billy Patterson's Favorite", ""),
    ("Rat:-Cat:cher's -- Reel", "Rat-Catcher's", "reel"),
    ("ALLY CROAKER'S FAVORITE -- REEL", "Ally Croaker's Favorite", "reel"),
    ("Tinware Lass., The", "The Tinware Lass", ""),
    ("Taste of Scotland* (reel), A", "A Taste of Scotland", "reel"),
    ("George Rawley's (h'pipe) ", "George Rawley's", "hornpipe"),
    ("Dark Girl Dressed in Blue [1] (slide), The", "The Dark Girl Dressed in Blue", "slide"),
    ("The Hare in the Corn. No. 1.", "The Hare in the Corn", ""),
    ("Out With the Boys. 2nd Setting.", "Out With the Boys", ""),
    ("Bonnie Kate (first version) (reel) ", "Bonnie Kate", "reel"),
    ("SWEET ELLEN, (or Figure Eight.)", "Sweet Ellen", ""),
    ("THE HUMOURS OF O'NEILL", "The Humours of O'Neill", ""),
    ("Drury Hill.", "Drury Hill", ""),
    ("The Kesh", "The Kesh", ""),
]


@pytest.mark.parametrize(("printed", "title", "rhythm"), BOOK_TITLES)
def test_book_titles_are_written_as_a_musician_would(printed, title, rhythm):
    assert normalise_title(printed) == (normalise_title(printed).__class__(title, rhythm))


def test_a_title_that_would_vanish_is_kept():
    assert normalise_title(" (2) ").title == "(2)"


def test_title_case_keeps_small_words_small_and_names_capitalised():
    assert title_case("I'LL MEND YOUR POTS AND KETTLES") == "I'll Mend Your Pots and Kettles"
    assert title_case("MCGUIRE'S MARCH") == "McGuire's March"


VOCABULARY = frozenset({"the", "banks", "of", "claudy", "o'neill's", "lass", "a"})


@pytest.mark.parametrize(("title", "real"), [
    ("The Banks of Claudy", True), ("O'Neill's Lass", True),
    ("The Banks of Sprat:er", False), ("THE BANKS OF CLAUDY", False),
    ("2 Banks of Claudy", False), ("The Banks of Clody", False), ("", False),
])
def test_the_real_word_rule(title, real):
    assert is_real_word_title(title, VOCABULARY) is real


def test_english_words_leave_out_names_and_abbreviations(tmp_path):
    words = tmp_path / "words"
    words.write_text("banks\nOkeechobee\nCNN\nx\nct\nfisher's\n")
    assert english_words([tmp_path / "missing", words]) == {"banks", "fisher's"}


def _allowed(mask: TitleMask, title: str) -> str:
    allowed = mask.allowed(title)
    return "".join(token for token, ok in zip(mask.vocab.tokens, allowed.tolist(), strict=True)
                   if ok)


def test_the_title_mask_lets_only_real_words_through():
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = Vocab.from_texts([letters, letters.upper(), " ,.-'&:123\n"])
    mask = TitleMask(VOCABULARY, vocab)
    assert set(_allowed(mask, "")) == set("TBOCLA")  # a title starts with a capital
    assert set(_allowed(mask, "The ")) == set("TtBbOoCcLlAa&")  # any word may follow
    assert _allowed(mask, "The Ba") == "n"
    assert set(_allowed(mask, "The")) == set(" ,.-\n")  # a whole word: a mark or the end
    assert "&" in _allowed(mask, "The Banks ") and "\n" not in _allowed(mask, "The Banks ")
    assert _allowed(mask, "O'") == "Nn"  # O'Neill's capital
    assert "E" not in _allowed(mask, "O'N")  # but no capitals inside a word


def test_constrained_titles_are_made_of_the_vocabulary_and_unconstrained_are_not():
    torch.manual_seed(0)
    vocab = replace(Vocab.from_texts(TUNES), title_words=frozenset(
        words_of(" ".join(tune.split("\n")[1][2:] for tune in TUNES))))
    model = CharLSTM(preset("tiny", vocab_size=len(vocab)))
    settings = SampleSettings(seed=1, max_chars=200)
    titles = [t.text.split("\n")[1][2:] for t in sample_tunes(model, vocab, 24, settings=settings)]
    assert all(is_real_word_title(title, vocab.title_words) for title in titles), titles
    raw = sample_tunes(model, vocab, 24, settings=replace(settings, constrained=False))
    assert not all(is_real_word_title(t.text.split("\n")[1][2:], vocab.title_words) for t in raw)


@pytest.mark.parametrize(("written", "rhythm"), [
    ("Reel", "reel"), ("SLIP JIG", "slip jig"), ("Slipjig", "slip jig"),
    ("Double Jig", "double jig"), ("slide (Rogha an Táilliúra)", "slide"), ("Clog", "clog"),
    ("highland  fling", "highland fling"),
])
def test_rhythms_get_one_spelling_each_and_keep_what_they_are(written, rhythm):
    assert normalise_rhythm(written) == rhythm
