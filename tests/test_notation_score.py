"""The scorer's parts, each on its own: the accidentals in force, ties waiting for their
note, the chord or grace group being written; and the table of what handles each token."""

import re

import pytest

from abcgen.notation.lexer import _TOKEN
from abcgen.notation.score import HANDLERS, Accidentals, OpenGroups, Scorer, Ties

G_MAJOR = {"F": 1}


def test_an_accidental_lasts_to_the_bar_line_in_every_octave():
    accidentals = Accidentals()
    accidentals.new_key(G_MAJOR)
    assert accidentals.semitones(None, "F", 0) == 1  # the key's F#
    assert accidentals.semitones("=", "F", 0) == 0
    assert accidentals.semitones(None, "F", 1) == 0  # the natural holds an octave up
    accidentals.new_bar()
    assert accidentals.semitones(None, "F", 1) == 1


@pytest.mark.parametrize("propagate, same_octave, octave_up", [
    ("pitch", -1, -1), ("octave", -1, 0), ("not", 0, 0)])
def test_propagate_accidentals_limits_how_far_one_reaches(propagate, same_octave, octave_up):
    accidentals = Accidentals()
    accidentals.propagate = propagate
    assert accidentals.semitones("_", "B", 0) == -1
    assert (accidentals.semitones(None, "B", 0), accidentals.semitones(None, "B", 1)) == \
        (same_octave, octave_up)


def test_a_tie_to_another_pitch_is_found_at_its_mark():
    ties = Ties()
    ties.note("C", 0, 61, tied=True, in_chord=False)  # `^C-` at line 3, its tie at col 4
    ties.tie(3, 4)
    assert ties.join([(61, True, 3, 2)], 3, 2) is None
    assert ties.open_letters == {("C", 0): 61}  # the note it waits for keeps the sharp
    assert ties.join([(62, False, 3, 6)], 3, 6) == (3, 4)
    assert not ties.pending()


def test_a_tie_after_a_chord_ties_each_of_its_notes():
    ties = Ties()
    for letter, pitch in (("C", 60), ("E", 64)):
        ties.note(letter, 0, pitch, tied=False, in_chord=True)
    ties.tie(1, 6, chord=True)  # `[CE]-`
    assert ties.join([(60, True, 1, 2), (64, True, 1, 3)], 1, 5) is None
    assert ties.open_letters == {("C", 0): 60, ("E", 0): 64}
    assert ties.join([(62, False, 1, 8), (65, False, 1, 9)], 1, 10) == (1, 6)


def test_a_chord_inside_a_chord_is_refused_and_grace_notes_wait_for_their_note():
    groups = OpenGroups()
    assert groups.open_chord(1, 1) and not groups.open_chord(1, 4)
    assert groups.opened_at == (1, 1)
    groups.chord.append((60, 90090, False, 1, 2))
    assert groups.close_chord() == [(60, 90090, False, 1, 2)]
    assert groups.close_chord() is None
    assert not groups.close_graces()
    groups.open_graces(2, 1)
    groups.graces.append((74, 90090, 2, 2))
    assert groups.close_graces() and groups.graces is None
    assert groups.take_graces() == [(74, 90090, 2, 2)] and groups.take_graces() is None


def test_every_token_kind_has_a_handler_or_changes_nothing():
    kinds = set(re.findall(r"^[ |] \(\?P<(\w+)>", _TOKEN.pattern, re.MULTILINE)) | {"field"}
    unhandled = {"space", "continuation", "linebreak", "spacer"}
    assert set(HANDLERS) == kinds - unhandled
    assert all(callable(getattr(Scorer, method)) for method in HANDLERS.values())
