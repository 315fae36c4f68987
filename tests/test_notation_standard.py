"""The notation core held to the ABC 2.1 standard's own examples.

Each test names the standard's section (https://abcnotation.com/wiki/abc:standard:v2.1).
Expected values are written out by hand from the standard's text, never computed by the code
under test. Lengths are compared in units of the tune's L: where the standard states them so.
"""

import subprocess
import sys
from fractions import Fraction as F
from pathlib import Path

import pytest

from abcgen.notation import (CODES, AbcError, DurationError, HeaderError, KeyError_,
                             MeterError, MissingKeyError, UnclosedError, UnitLengthError,
                             build_timeline, check_text, check_tune, default_unit_length,
                             describe_tune, dumps, parse_file, parse_key, parse_meter,
                             parse_tempo, parse_tune, parse_tunebook, read_abc)

FIXTURES = Path(__file__).parent / "fixtures"


def core_bug(reason: str):
    """A disagreement with the standard reported to the core's owner; strict, so a fix shows."""
    return pytest.mark.xfail(strict=True, reason=f"reported core bug: {reason}")
C_MAJOR = (60, 62, 64, 65, 67, 69, 71)  # C D E F G A B written without accidentals


def tune_text(body: str, header: str = "M:4/4\nL:1/8\nK:C") -> str:
    return f"X:1\nT:Test\n{header}\n{body}\n"


def timeline(body: str, header: str = "M:4/4\nL:1/8\nK:C", graces: bool = True):
    return build_timeline(parse_tune(tune_text(body, header)), graces=graces)


def pitches(body: str, header: str = "M:4/4\nL:1/8\nK:C") -> list[int]:
    return [e.pitch for e in timeline(body, header).events]


def units(body: str, header: str = "M:4/4\nL:1/8\nK:C") -> list[F]:
    """Event durations in units of the tune's L: (the standard states lengths this way)."""
    played = timeline(body, header)
    return [e.duration / (4 * played.unit) for e in played.events]


def onsets(body: str, header: str = "M:4/4\nL:1/8\nK:C") -> list[F]:
    """Event onsets in quarter notes."""
    return [e.onset for e in timeline(body, header).events]


# --- §4.1 pitch, §4.2 accidentals -------------------------------------------------------------

@pytest.mark.parametrize("body, expected", [
    ("C, C c c' C,,", [48, 60, 72, 84, 36]),
    ("B, B b b'", [59, 71, 83, 95]),
    ("^C _D =E ^^F __B", [61, 61, 64, 67, 69]),
])
def test_pitches_and_octaves(body, expected):
    assert pitches(body) == expected


@pytest.mark.parametrize("body, header, expected", [
    # an accidental holds to the end of the bar ...
    ("^F F F | F", "M:4/4\nL:1/8\nK:C", [66, 66, 66, 65]),
    ("_B B =B B | B", "M:4/4\nL:1/8\nK:C", [70, 70, 71, 71, 71]),
    # ... and a natural cancels the key signature until the bar line
    ("=F F | F", "M:4/4\nL:1/8\nK:G", [65, 65, 66]),
    # ... in every octave by default (%%propagate-accidentals pitch, as abc2midi plays it) ...
    ("^c c' c", "M:4/4\nL:1/8\nK:C", [73, 85, 73]),
    ("=F f F", "M:4/4\nL:1/8\nK:G", [65, 77, 65]),
    ("=f F f", "M:4/4\nL:1/8\nK:G", [77, 65, 77]),
    # ... or in its own octave only, or for the one note, when a directive says so (§11.3)
    ("^c c' c", "M:4/4\nL:1/8\n%%propagate-accidentals octave\nK:C", [73, 84, 73]),
    ("=F f F", "M:4/4\nL:1/8\nI:propagate-accidentals octave\nK:G", [65, 78, 65]),
    ("^c c c", "M:4/4\nL:1/8\n%%propagate-accidentals not\nK:C", [73, 72, 72]),
])
def test_accidentals_persist_to_end_of_bar(body, header, expected):
    assert pitches(body, header) == expected


# --- §4.3 lengths, §4.4 broken rhythm, §4.13 tuplets --------------------------------------------

def test_note_lengths_in_units():
    assert units("A2 A/ A// A3/2 A3/4 A/2 A/4 A") == [2, F(1, 2), F(1, 4), F(3, 2), F(3, 4),
                                                      F(1, 2), F(1, 4), 1]


def test_broken_rhythm_standard_example():
    # §4.4: with L:1, a>b c<d e<<f g>>>a
    assert units("a>b c<d e<<f g>>>a", "M:none\nL:1\nK:C") == [
        F(3, 2), F(1, 2), F(1, 2), F(3, 2), F(1, 4), F(7, 4), F(15, 8), F(1, 8)]


@pytest.mark.parametrize("body, expected", [
    ("(3 D3EF2", [2, F(2, 3), F(4, 3)]),           # §4.13 the standard's example
    ("(3ABc", [F(2, 3)] * 3),
    ("(3::2A2B", [F(4, 3), F(2, 3)]),             # (3::2 = (3:2:2
    ("(3:2:4ABcd", [F(2, 3)] * 4),
    ("(2AB", [F(3, 2)] * 2),                       # 2 in the time of 3
    ("(4ABcd", [F(3, 4)] * 4),                     # 4 in the time of 3
    ("(5ABcde", [F(2, 5)] * 5),                    # simple meter: 5 in the time of 2
    ("(3 A B c", [F(2, 3)] * 3),                   # spaces after the specifier are ignored
])
def test_tuplets(body, expected):
    assert units(body) == expected


def test_compound_meter_tuplets_use_three():
    # §4.13: (5 (7 (9 put p notes in the time of n, n = 3 in compound meters
    assert units("(5ABcde", "M:6/8\nL:1/8\nK:C") == [F(3, 5)] * 5


def test_tuplet_onsets_are_exact():
    assert onsets("(3ABc d", "M:4/4\nL:1/8\nK:C") == [0, F(1, 3), F(2, 3), 1]


# --- §3.1.6-§3.1.7 meter and the default unit length ----------------------------------------------

@pytest.mark.parametrize("meter, unit", [
    ("M:2/4", F(1, 16)), ("M:3/8", F(1, 16)), ("M:3/4", F(1, 8)), ("M:6/8", F(1, 8)),
    ("M:4/4", F(1, 8)), ("M:C", F(1, 8)), ("M:C|", F(1, 8)), ("M:none", F(1, 8)),
    ("M:7/8", F(1, 8)), ("M:12/8", F(1, 8)),
])
def test_default_unit_length_by_the_075_rule(meter, unit):
    assert timeline("A", f"{meter}\nK:C").unit == unit
    assert default_unit_length(parse_meter(meter[2:])) == unit


def test_no_meter_field_is_free_meter_with_eighth_unit():
    played = timeline("ABc", "K:C")
    assert played.meter.free and played.unit == F(1, 8)


@pytest.mark.parametrize("text, numerator, denominator", [
    ("6/8", 6, 8), ("C", 4, 4), ("C|", 2, 2), ("9/8", 9, 8), ("3/4", 3, 4)])
def test_parse_meter(text, numerator, denominator):
    meter = parse_meter(text)
    assert (meter.numerator, meter.denominator, meter.free) == (numerator, denominator, False)


def test_meter_none_is_free():
    assert parse_meter("none").free and parse_meter("none").bar is None


def test_inline_unit_length_change():
    # §3.2: [L:1/4] changes the unit from that point
    played = timeline("A [L:1/4] A A/", "M:4/4\nL:1/8\nK:C")
    assert [e.duration for e in played.events] == [F(1, 2), 1, F(1, 2)]


def test_meter_change_in_body_keeps_unit_length():
    # §3.1.7: a meter change in the body does not change L:
    played = timeline("AB|[M:2/4]AB|", "M:4/4\nK:C")
    assert played.unit == F(1, 8) and units("AB|[M:2/4]AB|", "M:4/4\nK:C") == [1, 1, 1, 1]


# --- §3.1.14 keys and modes ----------------------------------------------------------------------

def scale_in(signature: dict[str, int]) -> list[int]:
    return [p + signature.get(letter, 0) for p, letter in zip(C_MAJOR, "CDEFGAB", strict=True)]


SHARPS = "FCGDAEB"
FLATS = "BEADGCF"


def sharps(n: int) -> dict[str, int]:
    return dict.fromkeys(SHARPS[:n], 1)


def flats(n: int) -> dict[str, int]:
    return dict.fromkeys(FLATS[:n], -1)


@pytest.mark.parametrize("key, signature", [
    ("G", sharps(1)), ("D", sharps(2)), ("A", sharps(3)), ("E", sharps(4)), ("C#", sharps(7)),
    ("F", flats(1)), ("Bb", flats(2)), ("Eb", flats(3)), ("Cb", flats(7)),
    ("Em", sharps(1)), ("F#m", sharps(3)), ("Gm", flats(2)), ("Bmin", sharps(2)),
    ("A minor", {}), ("G major", sharps(1)),
    ("Dmix", sharps(1)), ("DMix", sharps(1)), ("D mixolydian", sharps(1)),
    ("Ador", sharps(1)), ("E dorian", sharps(2)), ("E Phr", {}), ("F Lyd", {}),
    ("B Loc", {}), ("C Ion", {}), ("A Aeo", {}), ("D Majr", sharps(2)),
    pytest.param("A# Phr", sharps(6),            # the standard's own example
                 ),
    ("none", {}), ("", {}),
    ("D =c", sharps(1)), ("D Phr ^f", {"B": -1, "E": -1, "F": 1}),
    ("D exp _b _e ^f", {"B": -1, "E": -1, "F": 1}),
    ("Gm clef=bass", flats(2)), ("Am clef=treble", {}),
])
def test_key_signatures_and_modes(key, signature):
    assert pitches("CDEFGAB", f"M:4/4\nL:1/8\nK:{key}") == scale_in(signature)


@pytest.mark.parametrize("text, tonic, mode", [
    ("D", "D", "maj"), ("Dm", "D", "min"), ("Dmix", "D", "mix"), ("A dorian", "A", "dor"),
    ("F#m", "F#", "min"), ("Bb", "Bb", "maj"), ("E Phr", "E", "phr"), ("G major", "G", "maj")])
def test_parse_key_tonic_and_mode(text, tonic, mode):
    key = parse_key(text)
    assert (key.tonic, key.mode) == (tonic, mode)


@pytest.mark.parametrize("key, expected", [
    pytest.param("G octave=-1", [55, 57, 59, 60],  # §4.6 clef parameters: octave= shifts octaves
                 ),
    pytest.param("G transpose=-2", [65, 67, 69, 70],  # transpose= shifts playback by semitones
                 ),
    ("Hp", [67, 69, 71, 73]),               # §3.1.14 highland pipes: F# C#, G natural
    ("HP", [67, 69, 71, 72]),               # no signature
])
def test_key_clef_parameters_and_pipes(key, expected):
    assert pitches("GABc", f"M:4/4\nL:1/8\nK:{key}") == expected


def test_inline_key_change():
    # §3.2 inline fields: [K:F] makes B flat from that point
    assert pitches("B [K:F] B | B", "M:4/4\nL:1/8\nK:G") == [71, 70, 70]


def test_key_line_in_body():
    assert pitches("F|\nK:D\nF C|", "M:4/4\nL:1/8\nK:C") == [65, 66, 61]


# --- §3.1.8 tempo ---------------------------------------------------------------------------------

@pytest.mark.parametrize("q, header, qpm", [
    ("1/4=120", "M:4/4\nL:1/8", 120), ("3/8=110", "M:6/8\nL:1/8", 165),
    ('"Allegro" 1/4=120', "M:4/4\nL:1/8", 120), ("1/2=120", "M:4/4\nL:1/8", 240),
    ("1/4 3/8 1/4 3/8=40", "M:4/4\nL:1/8", 200), ('3/8=50 "Slowly"', "M:6/8\nL:1/8", 75),
    ('"Andante"', "M:4/4\nL:1/8", None),
    ("120", "M:4/4\nL:1/8", 60),      # deprecated: beats of L:, here eighths
    ("60", "M:4/4\nL:1/4", 60),
])
def test_tempo_forms(q, header, qpm):
    played = timeline("A", f"{header}\nQ:{q}\nK:C")
    assert played.tempo_qpm == (pytest.approx(qpm) if qpm is not None else None)


def test_deprecated_tempo_uses_unit_given_after_it():
    assert timeline("A", "Q:100\nM:4/4\nL:1/4\nK:C").tempo_qpm == pytest.approx(100)


def test_parse_tempo_direct():
    assert parse_tempo("3/8=110", F(1, 8), parse_meter("6/8")) == pytest.approx(165)
    assert parse_tempo('"Andante"', F(1, 8), parse_meter("4/4")) is None


def test_no_tempo_field_is_none():
    assert timeline("A").tempo_qpm is None


def test_a_later_header_field_overrides_an_earlier_one_as_abc2midi_reads_them():
    played = timeline("A", "M:3/4\nM:2/4\nL:1/4\nL:1/8\nQ:1/4=60\nQ:1/4=120\nK:C")
    assert (played.meter.text, played.unit, played.tempo_qpm) == ("2/4", F(1, 8), 120)


# --- §4.8-§4.10 bars, repeats and endings ----------------------------------------------------

def test_bars_are_measured_in_whole_notes_as_inspect_says():
    body = "ABcd efga|ABcd efga|bagf e4|]"
    assert [(bar.onset, bar.duration) for bar in timeline(body).bars] == [(0, 1), (1, 1), (2, 1)]
    assert [bar["onset"] for bar in describe_tune(parse_tune(tune_text(body)))["bars"]] == [0, 1, 2]


@pytest.mark.parametrize("body, expected", [
    ("|:CD:|", [60, 62, 60, 62]),
    ("|:C::D:|", [60, 60, 62, 62]),
    ("|:C:|:D:|", [60, 60, 62, 62]),
    ("|:C:||:D:|", [60, 60, 62, 62]),
    ("|:C|1 D:|2 E|]", [60, 62, 60, 64]),
    ("|:C|[1 D:|[2 E|]", [60, 62, 60, 64]),
    pytest.param("|:C|1 D:|2 E|:F:|", [60, 62, 60, 64, 65, 65],  # a section after an ending
                 ),
    pytest.param("|:C|1 D:|2 E|\n|:F:|", [60, 62, 60, 64, 65, 65]),
    ("C:|D|]", [60, 60, 62]),                       # :| without |: repeats from the start
    ("C||D:|E|]", [60, 62, 60, 62, 64]),            # ... past a double bar, as abc2midi
    pytest.param("|:C|[1,3 D:|[2 E:|[4 F|]", [60, 62, 60, 64, 60, 62, 60, 65],  # §4.10
                 ),
    pytest.param("|:C|[1-2 D:|[3 E|]", [60, 62, 60, 62, 60, 64]),
    ("C|D||E[|F|]", [60, 62, 64, 65]),
])
def test_repeats_and_endings_are_expanded(body, expected):
    assert pitches(body, "M:1/8\nL:1/8\nK:C") == expected


def test_repeat_onsets_follow_each_other():
    assert onsets("|:C2D2:|", "M:2/4\nL:1/8\nK:C") == [0, 1, 2, 3]


def test_parts_are_played_in_header_order():
    # §3.1.11: P:AAB in the header orders the parts marked with P: in the body
    body = "P:A\nC|\nP:B\nD|]"
    assert pitches(body, "M:1/8\nL:1/8\nP:AAB\nK:C") == [60, 60, 62]


def test_bars_have_exact_durations_and_pickup():
    played = timeline("D|GAB dBG|AFD G2|]", "M:6/8\nL:1/8\nK:G")
    durations = [bar.duration for bar in played.bars]
    assert durations == [F(1, 8), F(6, 8), F(5, 8)]
    assert all(bar.expected == F(6, 8) for bar in played.bars)


# --- §4.11 ties and slurs, §4.17 chords, §4.12 grace notes, §4.5 rests -----------------------

def test_tie_joins_durations():
    played = timeline("c4-c4|c-|c2 d", "M:4/4\nL:1/8\nK:C")
    assert [(e.pitch, e.duration) for e in played.events] == [(72, 4), (72, F(3, 2)), (74, F(1, 2))]


def test_tie_carries_the_accidental_over_the_bar_line():
    # §4.11 ties join notes of the same pitch; engraving practice, abc2midi and abcjs read the
    # tied note after the bar line as the same (altered) pitch
    played = timeline("=F6-|F2 z4|", "M:3/4\nL:1/8\nK:G")
    assert [(e.pitch, e.duration) for e in played.events] == [(65, 4)]


def test_slurs_do_not_join_notes():
    assert units("(cc) (c(dc)c)") == [1] * 6


def test_tie_between_different_pitches_is_reported():
    tune = parse_tune(tune_text("c2-d2 e4|"))
    assert "bad-tie" in {issue.code for issue in check_tune(tune)}


def test_chord_notes_sound_together_and_next_note_follows():
    played = timeline("[CEG]2 D", "M:4/4\nL:1/8\nK:C")
    assert [(e.pitch, e.onset, e.duration) for e in played.events] == [
        (60, 0, 1), (64, 0, 1), (67, 0, 1), (62, 1, F(1, 2))]


def test_chord_lengths_multiply():
    # §4.17: [C2E2G2]3 has the same length as [CEG]6
    assert units("[C2E2G2]3") == [6, 6, 6]


def test_unison_chord():
    assert pitches("[DD]") == [62, 62]


def test_grace_notes_take_no_written_time():
    # the grace note plays inside the main note's written span, which ends where it was written
    with_graces = timeline("{g}A2 B", "M:4/4\nL:1/8\nK:C")
    grace, main, after = with_graces.events
    assert (grace.grace, grace.pitch, grace.onset) == (True, 79, 0)
    assert (main.grace, main.pitch, main.onset + main.duration) == (False, 69, 1)
    assert (after.pitch, after.onset) == (71, 1)


def test_without_graces_the_main_note_keeps_its_whole_length():
    played = timeline("{g}A2 {/gag}B2", "M:4/4\nL:1/8\nK:C", graces=False)
    assert [(e.pitch, e.onset, e.duration) for e in played.events] == [(69, 0, 1), (71, 1, 1)]


@pytest.mark.parametrize("body, expected_onset_of_b", [
    ("A z B", 1), ("A x B", 1), ("A4 z4|Z|B", 8), ("A8|Z2|B", 12), ("A8|X|B", 8),
])
def test_rests_advance_time(body, expected_onset_of_b):
    played = timeline(body, "M:4/4\nL:1/8\nK:C")
    assert played.events[-1].pitch == 71 and played.events[-1].onset == expected_onset_of_b


# --- §4.14 decorations, dynamics -------------------------------------------------------------

@pytest.mark.parametrize("body, name", [
    ("~A", "roll"), ("!roll!A", "roll"), (".A", "staccato"), ("!staccato!A", "staccato"),
    ("HA", "fermata"), ("!fermata!A", "fermata"), ("TA", "trill"), ("!trill!A", "trill"),
    ("+trill+A", "trill"), ("LA", "accent"),
    pytest.param("!>!A", "accent"),
])
def test_decorations_are_kept_as_flags(body, name):
    event = timeline(body).events[0]
    assert name in event.decorations and event.duration == F(1, 2)


def test_dynamics_set_velocity():
    played = timeline("A !p!A A !ff!A A")
    assert [e.velocity for e in played.events] == [90, 60, 60, 120, 120]


def test_chord_symbols_and_annotations_are_not_notes():
    played = timeline('"Am7"A "^text"B "C/E"c')
    assert [e.pitch for e in played.events] == [69, 71, 72]
    assert [(c.name, c.root, c.onset) for c in played.chord_symbols] == [
        ("Am7", 9, 0), ("C/E", 0, 1)]


# --- §5 lyrics, §7 voices, §2.2 structure ---------------------------------------------------------

def test_lyrics_are_not_played():
    assert pitches("ABc|\nw:la la la\nW:words") == pitches("ABc|")


def test_first_voice_is_kept():
    body = "V:1\nc d|\nV:2\nC, D,|"
    assert pitches(body, "M:2/8\nL:1/8\nK:C") == [72, 74]
    issues = check_tune(parse_tune(tune_text(body, "M:2/8\nL:1/8\nK:C")))
    assert "extra-voice" in {i.code for i in issues}


def test_file_header_fields_are_defaults():
    book = "M:3/4\nL:1/4\n\nX:1\nT:a\nK:C\nCDE|\n\nX:2\nT:b\nL:1/8\nK:C\nCDE|\n"
    tunes, failures = parse_tunebook(book)
    assert not failures
    first, second = (build_timeline(t) for t in tunes)
    assert first.meter.bar == F(3, 4) and [e.duration for e in first.events] == [1, 1, 1]
    assert [e.duration for e in second.events] == [F(1, 2)] * 3


def test_comments_directives_continuations():
    text = ("X:1\nT:a\n%%MIDI program 1\nM:4/4\nL:1/8\nK:C % a comment\nCD \\\nEF|% end\n"
            "% whole-line comment\nGA|\n")
    tunes, failures = parse_tunebook(text)
    assert not failures
    assert [e.pitch for e in build_timeline(tunes[0]).events] == [60, 62, 64, 65, 67, 69]


def test_header_field_comment_is_not_part_of_value():
    # §2.2.x: % starts a comment anywhere on a line, header fields included
    tune = parse_tune("X:3   % tune three\nT:Title % remark\nM:6/8 % jig\nK:G % key\nGAB|\n")
    assert tune.x == "3" and tune.title == "Title"


def test_field_continuation_plus_colon():
    # §3.2 (field continuation): +: continues the previous field
    tune = parse_tune("X:1\nT:a\nN:first\n+:second\nK:C\nC|\n")
    assert "first" in " ".join(tune.get_all("N")) and "second" in " ".join(tune.get_all("N"))


def test_crlf_and_bom_and_cp1252(tmp_path):
    path = tmp_path / "crlf.abc"
    path.write_bytes(b"\xef\xbb\xbfX:1\r\nT:Sp\xc3\xa1rn\r\nM:4/4\r\nL:1/8\r\nK:C\r\nCDEF|\r\n")
    tunes, failures = parse_file(path)
    assert not failures and tunes[0].title == "Spárn"
    assert read_abc(FIXTURES / "latin1.abc").count("Spárnáil Café – Reel") == 1


def test_double_encoded_utf8_is_mended(tmp_path):
    path = tmp_path / "moji.abc"
    path.write_bytes("X:1\nT:Spárn\nK:C\nC|\n".encode().decode("latin-1").encode())
    assert "Spárn" in read_abc(path)


# --- failures, round trip, bad input ---------------------------------------------------------

def test_one_broken_tune_does_not_stop_the_book():
    book = ("X:1\nT:a\nM:4/4\nK:C\nCDEF|\n\nX:2\nT:b\nM:4/4\nK:Gx\nCDEF|\n\n"
            "X:3\nT:c\nM:4/4\nK:C\nGABc|\n")
    tunes, failures = parse_tunebook(book, source="book.abc")
    assert [t.x for t in tunes] == ["1", "3"]
    assert len(failures) == 1 and isinstance(failures[0], KeyError_)
    assert (failures[0].x, failures[0].line) == ("2", 10) and failures[0].col >= 1
    assert "X:2" in str(failures[0]) and "10:" in str(failures[0])


def normalised(lines: list[str]) -> list[str]:
    """Lines without comments or spaces: the round trip may normalise those."""
    kept = (line.split("%")[0] for line in lines if not line.lstrip().startswith("%"))
    return ["".join(line.split()) for line in kept if line.strip()]


def written_lines(source: list[str], tune) -> list[str]:
    """The lines of `source` (a file's lines) that hold `tune`."""
    last = max([f.line for f in tune.header] + [b.line for b in tune.body])
    return source[tune.start_line - 1:last]


CLEAN_FIXTURES = ["bars.abc", "keys.abc", "meters.abc", "notes.abc", "rhythm.abc",
                  "ornaments.abc", "fields.abc", "folk.abc"]


@pytest.mark.parametrize("name", CLEAN_FIXTURES)
def test_round_trip_keeps_clean_tunes(name):
    tunes, _ = parse_file(FIXTURES / name)  # tunes the core rejects are tested elsewhere
    source = read_abc(FIXTURES / name).splitlines()
    assert tunes
    for tune in tunes:
        text = dumps(tune)
        assert text.endswith("\n")
        assert normalised(text.splitlines()) == normalised(written_lines(source, tune)), tune.x


@pytest.mark.parametrize("body, error, code, col", [
    ("A99999|", DurationError, "bad-duration", 1),
    pytest.param("AB [CEG\n", UnclosedError, "unclosed-chord", 4),
    pytest.param("AB {gab\n", UnclosedError, "unclosed-grace", 4),
])
def test_bad_body_gives_failure_and_issue(body, error, code, col):
    text = tune_text(body)
    tunes, failures = parse_tunebook(text, source="bad.abc")
    assert not tunes and len(failures) == 1 and isinstance(failures[0], error)
    assert (failures[0].x, failures[0].line, failures[0].col) == ("1", 6, col)
    assert code in CODES and code in {i.code for i in check_text(text)}


@pytest.mark.parametrize("header, error, code", [
    ("M:4/4\nL:0\nK:C", UnitLengthError, "invalid-length"),
    ("M:foo\nL:1/8\nK:C", MeterError, "invalid-meter"),
    ("M:4/4\nL:1/8\nK:Gx", KeyError_, "invalid-key"),
    ("M:4/4\nL:1/8", MissingKeyError, "missing-key"),
])
def test_bad_header_gives_failure_and_issue(header, error, code):
    text = tune_text("ABc|", header)
    tunes, failures = parse_tunebook(text)
    assert not tunes and isinstance(failures[0], error) and isinstance(failures[0], HeaderError)
    assert code in {i.code for i in check_text(text)}


def test_empty_and_garbage_text_give_no_tunes_issue():
    for text in ("", "\x00\x01 \xff garbage \x02"):
        tunes, failures = parse_tunebook(text)
        assert tunes == [] and all(isinstance(f, AbcError) for f in failures)
        assert "no-tunes" in {i.code for i in check_text(text)}


READ_IN_CHILD = """
import sys
from abcgen.notation import AbcError, parse_tunes, stream_tunes
tunes = list(stream_tunes(sys.argv[1]))  # a book of any size is read
_, failures = parse_tunes(tunes[:1000])  # a tune over the cap fails at once
assert all(isinstance(f, AbcError) for f in failures)
assert len(tunes) == 1 and failures or len(tunes) > 20_000 and not failures
"""


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["one huge tune", "many tunes"])
def test_ten_megabyte_file_ends_in_bounded_time(tmp_path, shape):
    """Reading a 10 MB file gives tunes or AbcErrors within a minute: a tune over the cap
    fails unread (run in a child process so that a hang can't stall the suite)."""
    path = tmp_path / "big.abc"
    header = "X:{}\nT:t\nM:4/4\nL:1/8\nK:G\n"
    if shape == "one huge tune":
        text = header.format(1) + "GABc dedB|" * (2**20 + 1) + "\n"
    else:
        tune = header + "GABc dedB|" * 40 + "\n\n"
        text = "".join(tune.format(n) for n in range(1, 10 * 2**20 // len(tune) + 2))
    path.write_text(text)
    try:
        done = subprocess.run([sys.executable, "-c", READ_IN_CHILD, str(path)], timeout=60,
                              capture_output=True, text=True, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"reading a 10 MB file ({shape}) took over 60 s")
    assert done.returncode == 0, done.stderr[-2000:]


# --- §7.4 voice overlay ------------------------------------------------------------------------

def test_an_overlay_keeps_the_first_voice_in_its_bar_and_over_a_span_of_bars():
    """`&` overlays a second voice to the bar line; `(&` ... `&` ... `&)` one over several bars,
    whose bar lines the first voice has already counted (the second voice is not played)."""
    assert pitches("CDEF G4 & c8 | A8 |]") == [60, 62, 64, 65, 67, 69]
    spanned = timeline("(& C8 | D8 & E,8 | F,8 &) | G8 |]")
    assert [e.pitch for e in spanned.events] == [60, 62, 67]
    assert [e.onset for e in spanned.events] == [0, 4, 8]
    assert not [i for i in check_text(tune_text("(& C8 | D8 & E,8 | F,8 &) | G8 |]"))
                if i.severity == "error"]
