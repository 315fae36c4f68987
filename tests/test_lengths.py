"""One unit length and the melody alone (notation.lengths): the same music, one way of
writing it, whatever book a tune comes from."""

from fractions import Fraction

import pytest

from abcgen.notation import build_timeline, dumps, parse_tune
from abcgen.notation.lengths import in_usual_unit, usual_unit, with_unit, without_quoted_text


def _played(text_or_tune) -> list[tuple]:
    tune = parse_tune(text_or_tune) if isinstance(text_or_tune, str) else text_or_tune
    return [(e.pitch, e.onset, e.duration) for e in build_timeline(tune).events]


def _body(tune) -> str:
    return dumps(tune).split("\n", dumps(tune).count("\n") - len(tune.body))[-1]


# A hornpipe written as some books do: L:1/4, eighths as /2, dotted pairs as 3/4 and /4.
QUARTER_UNIT = """X:1
T:Quarter Unit Hornpipe
M:4/4
L:1/4
K:D
A/2|d3/4e/4 f/2e/2 d/2c/2 B|A3/4G/4 F/2E/2 D/2F/2 A/2d/2|f d3/2:|
"""


def test_a_quarter_unit_tune_is_written_in_eighths_with_its_dotted_pairs_broken():
    tune = parse_tune(QUARTER_UNIT)
    assert usual_unit(tune) == Fraction(1, 8)
    moved = in_usual_unit(tune)
    assert moved.get("L") == "1/8"
    assert _body(moved) == "A|d>e fe dc B2|A>G FE DF Ad|f2 d3:|\n"
    assert _played(moved) == _played(tune)


def test_a_tune_mostly_in_sixteenths_keeps_l_1_16():
    """Ryan's reels in 2/4 are written in sixteenths: that unit leaves most notes bare."""
    text = "X:1\nT:Sixteenths\nM:2/4\nL:1/16\nK:G\nGABc d2B2|cBAG A4|GABc d2g2|fdcA G4|]\n"
    tune = parse_tune(text)
    assert usual_unit(tune) == Fraction(1, 16)
    assert dumps(in_usual_unit(tune)) == text


def test_lengths_are_written_shortest_and_a_body_unit_change_is_folded_in():
    text = "X:1\nT:Unit Change\nM:4/4\nL:1/8\nK:C\nC1D/2E/2 F2G2 A4|\nL:1/4\nc d e/2f/2 g|]\n"
    moved = with_unit(parse_tune(text), Fraction(1, 8))
    assert "L:1/4" not in dumps(moved)
    assert _body(moved) == "CD/E/ F2G2 A4|\nc2 d2 ef g2|]\n"
    assert _played(moved) == _played(text)


def test_chord_lengths_graces_and_bar_rests_keep_their_text():
    """A chord's length multiplies its notes' (no unit of its own), a grace's length only
    draws it, and `Z2` counts bars."""
    text = "X:1\nT:Kept\nM:4/4\nL:1/4\nK:C\n[CE]/2{g}A/2 B c d|Z2|]\n"
    moved = with_unit(parse_tune(text), Fraction(1, 8))
    assert _body(moved) == "[C2E2]/2{g}A B2 c2 d2|Z2|]\n"
    assert _played(moved) == _played(text)


def test_a_pair_inside_a_tuplet_or_beside_a_broken_rhythm_stays_as_lengths():
    text = "X:1\nT:No Pairs\nM:4/4\nL:1/4\nK:C\n(3c3/2d/2e c>d3/2e/2 f|]\n"
    moved = with_unit(parse_tune(text), Fraction(1, 8))
    assert _body(moved) == "(3c3de2 c2>d3e f2|]\n"
    assert _played(moved) == _played(text)


@pytest.mark.parametrize(("line", "melody"), [
    ('"G"d2B "D7"A2F|"G"G3 G2z|]', "d2B A2F|G3 G2z|]"),
    ('d"Em"B"^fine"e d3|]', "dBe d3|]"),
    ('B"^13"2A d3|]', "B 2A d3|]"),  # the bar number must not join the note's length
])
def test_chord_symbols_and_annotations_are_removed_and_the_notes_kept(line, melody):
    tune = parse_tune(f"X:1\nT:Chords\nM:6/8\nL:1/8\nK:G\n{line}\n")
    assert _body(without_quoted_text(tune)) == melody + "\n"
