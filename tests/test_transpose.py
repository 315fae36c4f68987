"""Transposition (abcgen.notation.transpose and `abcgen transpose`).

The judge is abc2abc (abcMIDI, Debian `abcmidi` 20230208: abc2abc 2.20, abc2midi 4.84): for real
tunes of every key and mode in music21's folk books (and the Nottingham jigs' chord symbols where
../shared/corpora is present), `abc2abc FILE -t N` and our transposition, both played by
abc2midi, give the same melody pitches note for note (and the same guitar-chord notes), except
where our range rule writes a note an octave over: there the pitch abc2abc gives is outside
WRITTEN_RANGE and ours is the same note an octave (or more) back inside it.
Known difference, left out: a staccato dot at a line's end before the note on the next line
(`.F.\\nA`, O'Neill's "Grandfather's Clock"): abc2midi plays a phantom A there, abc2abc rewrites
the notes.
"""

import shutil
import subprocess
import tempfile
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from abcgen.notation import (KeyError_, MissingKeyError, build_timeline, dumps, parse_key,
                             parse_tune, read_abc, read_tunes, tune_failure)
from abcgen.notation.chords import parse_chord_symbol
from abcgen.notation.lexer import tokenize
from abcgen.notation.transpose import (WRITTEN_RANGE, ModeMismatchError, TargetKeyError,
                                       UntransposableKeyError, chord_symbol_text, key_text,
                                       semitones_to_key, spell_tonic, transpose_book,
                                       transpose_text, transpose_tune)
from abcgen.tools import abc2midi

SHIFTS = (-5, -2, 1, 2, 5, 7)
TUNES_WANTED = 48  # real tunes compared with abc2abc
FEATURE_QUOTA = 6  # at least this many tunes with accidentals, chord symbols, key changes, graces
REPO = Path(__file__).resolve().parents[1]
NOTTINGHAM_JIGS = REPO.parent / "shared/corpora/nottingham_jukedeck/ABC_cleaned/jigs.abc"
needs_abc2abc = pytest.mark.skipif(
    not (abc2midi.available() and shutil.which("abc2abc")),
    reason="abc2midi/abc2abc are not installed (Debian package abcmidi, `make setup`)")


def tune(body: str, key: str = "C", header: str = "") -> str:
    return f"X:1\nT:t\nM:4/4\nL:1/8\n{header}K:{key}\n{body}\n"


def moved(body: str, semitones: int, key: str = "C") -> str:
    """The body and K: of a one-tune text moved by `semitones`."""
    text = dumps(transpose_tune(parse_tune(tune(body, key)), semitones))
    return text.split("\n", 4)[4].strip()


def pitches(text: str) -> list[int]:
    return [event.pitch for event in build_timeline(parse_tune(text)).events]


# -- spelling -------------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "semitones", "expected"), [
    ("G", 2, "A"), ("D", -4, "Bb"), ("Em", 2, "F#m"), ("Ador", 2, "Bdor"), ("C", 1, "Db"),
    ("Dmix", 5, "Gmix"), ("Am", -1, "G#m"), ("C", 6, "F#"), ("Db", 5, "Gb"), ("G", 12, "G"),
    ("F#m", -7, "Bm"), ("Bb", 7, "F"),
])
def test_new_key_has_the_fewest_accidentals_for_its_mode(key, semitones, expected):
    assert key_text(key, semitones)[0] == expected
    assert spell_tonic(parse_key(key), semitones) == parse_key(expected).tonic


@pytest.mark.parametrize(("value", "semitones", "expected"), [
    ("G major", 2, "A major"),
    (" Ador clef=bass % the low part", 2, " Bdor clef=bass % the low part"),
    ("Am transpose=-2", 5, "Dm transpose=-2"),
    ("D exp ^f ^c", 2, "E exp ^c ^d ^f ^g"),
    ("D exp ^f ^c", 5, "G exp ^f"),
    ("G ^c", 2, "A ^d"),
])
def test_k_keeps_its_mode_word_and_other_words(value, semitones, expected):
    assert key_text(value, semitones)[0] == expected


@pytest.mark.parametrize("key", ["none", "perc", "D clef=perc", "HP", "Hp"])
def test_no_tonic_or_percussion_is_refused(key):
    with pytest.raises(UntransposableKeyError):
        transpose_tune(parse_tune(tune("CDE", key)), 2)


def test_a_k_that_only_sets_a_clef_keeps_the_key():
    assert moved("CD|\nK:clef=bass\nEF|", 2, "G") == "K:A\nDE|\nK:clef=bass\nFG|"


@pytest.mark.parametrize(("symbol", "semitones", "expected"), [
    ("G/B", 2, "A/C#"), ("Am", 2, "Bm"), ("D7", -4, "Bb7"), ("F#m", 1, "Gm"),
    ("Bb", 2, "C"), ("Am/bb", 2, "Bm/c"), ("(E7)", 2, "(F#7)"), ("Em7b5", 1, "Fm7b5"),
    ("D.C.", 2, "D.C."), ("Animated", 2, "Animated"), ("^Fine", 2, "^Fine"),
])
def test_chord_symbols_move_with_the_same_spelling(symbol, semitones, expected):
    steps = {2: 1, -4: -2, 1: 1}[semitones]  # from C: to D, Bb, Db
    assert chord_symbol_text(symbol, semitones, steps) == expected


def test_chord_symbols_in_a_tune_and_annotations_left():
    assert moved('"G/B"B "^Fine"c "Em"E|', 2, "G") == 'K:A\n"A/C#"c "^Fine"d "F#m"F|'


# -- notes ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "key", "semitones", "expected"), [
    ("FG=FA|", "G", 1, "GA_GB|"),  # F# -> G natural in Ab: the explicit = becomes _
    ("^F=F|", "C", 1, "=G_G|"),  # Db major flattens G
    ("^^C__D|", "C", 2, "^^D__E|"),  # double accidentals survive
    ("^F F F|F", "C", 2, "^G G G|G"),  # inheritance: still the same notes in the bar
    ("B c' C,|", "C", 1, "c d' D,|"),  # case and octave marks follow the letter
])
def test_notes_move_by_letter_steps_and_accidentals_are_recomputed(body, key, semitones, expected):
    assert moved(body, semitones, key).split("\n")[1] == expected


@pytest.mark.parametrize("semitones", [-7, -5, -2, -1, 1, 2, 3, 5, 6, 7])
def test_every_note_sounds_exactly_n_semitones_away(semitones):
    body = ('"D"^c=cB _e2e E|[DF]2 {g}A ~B !trill!c (3def|^^C __B =F ^F f|\n'
            "[K:Bb]B e =e _e|\nK:Em\n^d e ^^f =g|]")
    text = tune(body, "D")
    ours = dumps(transpose_tune(parse_tune(text), semitones))
    assert pitches(ours) == [p + semitones for p in pitches(text)]


def test_a_note_leaving_the_written_range_is_written_an_octave_over():
    low, high = WRITTEN_RANGE
    assert (low, high) == (48, 96)  # C, and c'': documented in the module
    # g' (91) +7 would be d'' (98): written d' (86); C, (48) -2 would be B,, (46): B, in Bb
    assert moved("g' C, c|", 7).split("\n")[1] == "d' G, g|"
    assert moved("g' C, c|", -2).split("\n")[1] == "f' B, B|"
    # the ends of the range themselves stay
    assert moved("c'' C,|", 2).split("\n")[1] == "d' D,|"
    assert moved("c'' C,|", -2).split("\n")[1] == "b' B,|"
    # a note already outside (A,, = 33) moves with the rest
    assert moved("A,, c|", -2).split("\n")[1] == "G,, B|"


def test_graces_chords_decorations_ties_tuplets_lengths_stay_as_written():
    body = '{/g}A2 !trill!B3/2 (3c/d/e/ [CEG]2- [CEG] ~A>B .c-|c z2 y (AB) & "^x"d|]'
    expected = '{/a}B2 !trill!c3/2 (3d/e/f/ [DFA]2- [DFA] ~B>c .d-|d z2 y (Bc) & "^x"e|]'
    assert moved(body, 2, "G").split("\n")[1] == expected


def test_inline_and_body_key_changes_move_too():
    out = moved("GA [K:Em] B|\nK:D\nd|\nK:Ador % mode\nA|", 2, "G")
    assert out == "K:A\nAB [K:F#m] c|\nK:E\ne|\nK:Bdor % mode\nB|"


def test_the_transposed_tune_is_a_new_tune_read_back_and_zero_is_identity():
    source = parse_tune(tune("CDE|", "C", "% a header comment\n"))
    out = transpose_tune(source, 2)
    assert out is not source and out.get("K") == "D" and out.body[0].text == "DEF|"
    assert source.body[0].text == "CDE|"
    assert dumps(transpose_tune(source, 0)) == dumps(source)


# -- keys to aim at -------------------------------------------------------------------------

@pytest.mark.parametrize(("own", "target", "expected"), [
    ("D", "G", 5), ("D", "Bb", -4), ("Em", "F#m", 2), ("Edor", "Ador", 5), ("Edor", "Am", 5),
    ("Edor", "D", -2), ("G", "C#", 6), ("C", "C", 0), ("Amix", "Dmaj", 5), ("Bm", "bm", 0),
])
def test_semitones_to_key_is_the_nearest_shift_to_the_tonic(own, target, expected):
    assert semitones_to_key(parse_tune(tune("C", own)), target) == expected


@pytest.mark.parametrize(("own", "target", "error"), [
    ("G", "Am", ModeMismatchError), ("Em", "Dmix", ModeMismatchError),
    ("G", "Q", TargetKeyError), ("G", "none", TargetKeyError), ("none", "D", UntransposableKeyError),
])
def test_semitones_to_key_refuses_what_it_cannot_mean(own, target, error):
    with pytest.raises(error):
        semitones_to_key(parse_tune(tune("C", own)), target)


def test_a_tunebook_keeps_its_layout_and_leaves_failures_as_they_were():
    book = ("%abc-2.1\nfree text here\n\n" + tune('"G"GAB|', "G") + "\n\n"
            + tune("CDE|", "none").replace("X:1", "X:2") + "\n" + tune("FGA|", "F").replace("X:1", "X:3"))
    result = transpose_book(book, 2)
    lines = result.text.split("\n")
    assert len(lines) == len(book.split("\n")) and lines[:3] == ["%abc-2.1", "free text here", ""]
    assert "K:A\n\"A\"ABc|" in result.text and "K:G\nGAB|" in result.text
    assert "K:none\nCDE|" in result.text
    assert result.tunes == 3 and [(f.x, type(f)) for f in result.failures] == [
        ("2", UntransposableKeyError)]
    assert transpose_text(book, 2) == result.text
    by_key = transpose_book(book, key="D")
    assert by_key.shifts == [("1", -5), ("3", -3)]


def test_missing_key_fails_alone():
    result = transpose_book("X:1\nT:t\nCDE|\n\n" + tune("C", "C").replace("X:1", "X:2"), 1)
    assert [type(f) for f in result.failures] == [MissingKeyError]
    assert "K:Db" in result.text


def test_a_k_that_is_no_key_fails_alone():
    result = transpose_book(tune("C", "Gx"), 1)
    assert [type(f) for f in result.failures] == [KeyError_]


# -- CLI --------------------------------------------------------------------------------

def test_cli_writes_stdout_or_a_file(cli, tmp_path):
    book = tmp_path / "book.abc"
    book.write_text(tune('"D"DEF|', "D"))
    result = cli("transpose", book, "--semitones", "-2")
    assert result.exit_code == 0 and "K:C\n\"C\"CDE|" in result.stdout
    assert cli("transpose", book, "--to", "G", "-o", "-").stdout == result.stdout.replace(
        "K:C\n\"C\"CDE|", "K:G\n\"G\"GAB|")
    out = tmp_path / "out" / "g.abc"
    done = cli("transpose", book, "--to", "G", "-o", out)
    assert done.exit_code == 0 and "K:G" in out.read_text()
    assert not [p for p in out.parent.iterdir() if p.name != "g.abc"]  # no temporary left


@pytest.mark.parametrize("args", [(), ("--to", "G", "--semitones", "2"), ("--to", "Q"),
                                  ("--to", "none"), ("--semitones", "99")])
def test_cli_bad_options_are_one_red_line_and_exit_2(cli, tmp_path, args):
    book = tmp_path / "book.abc"
    book.write_text(tune("DEF|", "D"))
    result = cli("transpose", book, *args)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error:"), \
        result.output
    assert "Traceback" not in result.output


def test_cli_missing_file_exits_2_and_a_failed_tune_exits_1(cli, tmp_path):
    missing = cli("transpose", tmp_path / "nope.abc", "-t", "2")
    assert missing.exit_code == 2 and missing.stderr.startswith("error:")
    book = tmp_path / "book.abc"
    book.write_text(tune("DEF|", "D") + "\n" + tune("C", "none").replace("X:1", "X:2"))
    result = cli("transpose", book, "-t", "2")
    assert result.exit_code == 1 and "K:E\nEFG|" in result.stdout
    assert "X:2" in result.stderr and "transpose failed" in result.stderr


# -- against abc2abc ------------------------------------------------------------------------

def _features(tune_) -> set[str]:
    found = set()
    for kind, _, _, match in tokenize(tune_.body):
        if kind == "note" and match["acc"]:
            found.add("accidentals")
        elif kind == "quoted" and parse_chord_symbol(match["qtext"]):
            found.add("chord symbols")
        elif kind in ("inline", "field") and (match["iname"] if kind == "inline"
                                              else match["name"]) == "K":
            found.add("key changes")
        elif kind == "grace_start":
            found.add("graces")
    return found


def _playable(tune_) -> bool:
    """One voice, reads without errors, and no staccato dot at a line's end (see the module)."""
    return not any(f.name == "V" for f in tune_.header) and \
        not any(line.text.rstrip().endswith(".") for line in tune_.body) and \
        tune_failure(tune_) is None


@cache
def real_tunes() -> tuple:
    """A few dozen real tunes: the first of each key (tonic and mode) in music21's folk books,
    then tunes with accidentals, chord symbols, key changes and graces (Nottingham's jigs for
    chord symbols where ../shared/corpora is present)."""
    from abcgen.corpus import resolve_sources

    files = [NOTTINGHAM_JIGS] if NOTTINGHAM_JIGS.is_file() else []
    files += [path for source in resolve_sources(["music21"]) for path in source.files]

    picked, keys, features = [], Counter(), Counter()
    for path in files:
        for candidate in read_tunes(read_abc(path), str(path)):

            try:
                key = parse_key(candidate.get("K") or "")
            except KeyError_:
                continue
            found = _features(candidate)
            wanted = key.tonic and (not keys[key.name] or any(
                features[f] < FEATURE_QUOTA for f in found))
            if wanted and len(picked) < TUNES_WANTED and _playable(candidate):
                picked.append(candidate)
                keys[key.name] += 1
                features.update(found)
    return tuple(picked), keys, features


def _book(tunes) -> str:
    """The tunes as one book, numbered X:1, X:2 ... (abc2midi writes one file per X:)."""
    out = []
    for number, one in enumerate(tunes, 1):
        lines = dumps(one).rstrip("\n").split("\n")
        out.append("\n".join(f"X:{number}" if line.startswith("X:") else line for line in lines))
    return "\n\n".join(out) + "\n"


def _starts(text: str) -> list[int]:
    return [n for n, line in enumerate(text.split("\n"), 1) if line.startswith("X:")]


def _abc2abc(text: str, semitones: int) -> str:
    with tempfile.TemporaryDirectory(prefix="abc2abc-") as tmp:
        path = Path(tmp) / "book.abc"
        path.write_text(text, encoding="utf-8")
        return subprocess.run(["abc2abc", str(path), "-t", str(semitones), "-e"], check=True,
                              capture_output=True, text=True, timeout=60).stdout


def _gchord_notes(text: str) -> dict[int, list[tuple[int, int]]]:
    """(pitch class, on tick) of the guitar-chord notes abc2midi plays for each tune, by X:.
    Pitch classes: abc2midi voices a chord from its root letter, so "Cb" sounds an octave
    below "B"."""
    import mido

    notes = {}
    with tempfile.TemporaryDirectory(prefix="abc2midi-") as tmp:
        Path(tmp, "book.abc").write_text(text, encoding="utf-8")
        subprocess.run(["abc2midi", "book.abc", "-quiet", "-silent"], cwd=tmp,
                       capture_output=True, timeout=60, check=False)
        for path in Path(tmp).glob("book*.mid"):
            tracks = mido.MidiFile(str(path)).tracks
            notes[int(path.stem[4:])] = sorted(
                (pitch % 12, on) for track in tracks

                if abc2midi._track_kind(track) == "gchord track"
                for pitch, on, _ in abc2midi._track_notes(track))
    return notes


def _same_or_folded(ours: int, theirs: int) -> bool:
    low, high = WRITTEN_RANGE
    return ours == theirs or ((ours - theirs) % 12 == 0 and low <= ours <= high
                              and not low <= theirs <= high)


@needs_abc2abc
def test_real_tunes_play_like_abc2abc_in_every_shift():
    tunes, keys, features = real_tunes()
    assert len(tunes) >= 40 and len(keys) >= 25 and {"maj", "min", "dor", "mix"} <= {

        parse_key(t.get("K")).mode for t in tunes}
    assert all(features[f] >= FEATURE_QUOTA for f in ("accidentals", "key changes", "graces"))
    original = _book(tunes)
    agreed, chords_agreed, chord_tunes = 0, 0, 0
    for semitones in SHIFTS:
        ours = _book([transpose_tune(t, semitones) for t in tunes])
        theirs = _abc2abc(original, semitones)
        played = abc2midi.book_melodies(ours, tune_starts=_starts(ours)).melodies
        reference = abc2midi.book_melodies(theirs, tune_starts=_starts(theirs)).melodies
        for number, one in enumerate(tunes, 1):
            a = [n.pitch for n in played[number]]
            b = [n.pitch for n in reference[number]]
            assert len(a) == len(b) and all(map(_same_or_folded, a, b)), \
                f"{one.title} (K:{one.get('K')}) moved {semitones}"
            agreed += 1
        our_chords, their_chords = _gchord_notes(ours), _gchord_notes(theirs)
        for number, chords in their_chords.items():
            if chords:
                chord_tunes += 1
                chords_agreed += our_chords.get(number) == chords
    assert agreed == len(tunes) * len(SHIFTS)

    assert chords_agreed == chord_tunes
    if NOTTINGHAM_JIGS.is_file():
        assert features["chord symbols"] >= FEATURE_QUOTA and chord_tunes >= FEATURE_QUOTA * 6
