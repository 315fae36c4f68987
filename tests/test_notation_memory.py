"""The notation core's memory: the garbage collector is left as it was, a parsed book frees
itself without it, a pickled tune carries its text, not its caches, and the length tables
shared between tunes never carry one tune's lengths into another. (Its speed (issue 2) rests
on these; the timings themselves are in bench/bench_notation.py.)

Expected values are written out by hand from the ABC 2.1 standard's text."""

import gc
import pickle
import weakref
from fractions import Fraction as F

import pytest

from abcgen.notation import UnclosedError, build_timeline, parse_tunebook

BOOK = """X:1
T:Good
M:4/4
L:1/8
K:G
GABc d2B2|

X:2
T:Unclosed chord
M:4/4
L:1/8
K:G
[GB d2|
"""


@pytest.mark.parametrize("enabled", [True, False])
def test_parsing_leaves_the_collector_as_it_was(enabled):
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        tunes, failures = parse_tunebook(BOOK)
        assert gc.isenabled() is enabled
        assert len(tunes) == 1 and isinstance(failures[0], UnclosedError)
    finally:
        (gc.enable if was else gc.disable)()


def test_a_parsed_book_is_freed_without_the_collector():
    """No cycles: neither a tune and its cached score nor a failure and its traceback."""
    was = gc.isenabled()
    gc.disable()
    try:
        tunes, failures = parse_tunebook(BOOK)
        build_timeline(tunes[0])
        tune, failure_text = weakref.ref(tunes[0]), str(failures[0])
        del tunes, failures
        assert tune() is None
        assert "X:2" in failure_text and "never closed" in failure_text
    finally:
        if was:
            gc.enable()


def test_a_pickled_tune_leaves_its_caches_behind_and_plays_the_same():
    """Worker processes get tunes by pickle: the cached score and timeline stay home."""
    tune = parse_tunebook(BOOK)[0][0]
    played = build_timeline(tune)
    data = pickle.dumps(tune)
    assert b"WrittenNote" not in data and b"NoteEvent" not in data
    copy = pickle.loads(data)
    assert copy == tune and build_timeline(copy).events == played.events


def lengths(events) -> list[F]:
    return [event.duration for event in events]


def test_default_unit_lengths_differ_between_tunes_of_a_book():
    """§3.1.7: L: defaults to 1/16 below a 3/4 meter, else to 1/8 (`A` is one unit)."""
    book = "X:1\nM:2/4\nK:C\nA2 A|\n\nX:2\nM:6/8\nK:C\nA2 A|\n\nX:3\nM:2/4\nK:C\nA2 A|\n"
    tunes, failures = parse_tunebook(book)
    assert not failures
    in_quarters = [lengths(build_timeline(tune).events) for tune in tunes]
    assert in_quarters == [[F(1, 2), F(1, 4)], [F(1), F(1, 2)], [F(1, 2), F(1, 4)]]


def test_an_inline_unit_length_changes_the_same_written_length():
    """§3.1.7 and §3.2: `[L:1/16]` halves every later length, the same text `A2` included."""
    tunes, _ = parse_tunebook("X:1\nM:4/4\nL:1/8\nK:C\nA2 A/ [L:1/16] A2 A/|\n")
    assert lengths(build_timeline(tunes[0]).events) == [F(1), F(1, 4), F(1, 2), F(1, 8)]
