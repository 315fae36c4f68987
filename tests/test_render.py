"""MIDI rendering: each construct written to a MIDI file, read back with pretty_midi, checked
for the pitches, onsets, durations and velocities a listener would hear.

Hand-made timelines test the performance rules (accents, rolls, swing, accompaniment) without
the parser; ABC snippets test the whole parse -> timeline -> MIDI path.
"""

import io
from fractions import Fraction as F

import pretty_midi
import pytest

from abcgen.notation import check_text, parse_tunebook
from abcgen.notation.model import Bar, ChordSymbolEvent, Key, Meter, NoteEvent, Timeline
from abcgen.tools import abc2midi
from abcgen.render.midi import (
    MAX_SECONDS,
    MidiOptions,
    RenderError,
    TooLongError,
    midi_bytes,
    timeline_to_midi,
    tune_to_midi,
)


def read_back(performance) -> pretty_midi.PrettyMIDI:
    return pretty_midi.PrettyMIDI(io.BytesIO(midi_bytes(performance.midi)))


def track(midi: pretty_midi.PrettyMIDI, name: str) -> pretty_midi.Instrument:
    return next(i for i in midi.instruments if i.name == name)


def quarters(midi: pretty_midi.PrettyMIDI, name: str = "melody") -> list[tuple]:
    """(pitch, onset, duration) in quarter notes, from the file's own tick grid."""
    res = midi.resolution
    notes = sorted(track(midi, name).notes, key=lambda n: (n.start, n.pitch))
    return [(n.pitch, F(midi.time_to_tick(n.start), res),
             F(midi.time_to_tick(n.end) - midi.time_to_tick(n.start), res)) for n in notes]


COMMON_TIME = Meter(4, 4, "4/4")
C_MAJOR = Key()


def bar_timeline(pitches_per_bar, meter=COMMON_TIME, step=F(1, 2), chords=(),
                 key=C_MAJOR, tempo=None, velocity=90, decorations=()) -> Timeline:
    """A timeline of equal notes (`step` quarters each), one list of pitches per bar."""
    events, bars, onset = [], [], F(0)
    for index, pitches in enumerate(pitches_per_bar):
        bars.append(Bar(index, onset / 4, step * len(pitches) / 4, meter.bar))
        for pitch in pitches:
            events.append(NoteEvent(pitch, onset, step, velocity, decorations=decorations,
                                    bar=index))
            onset += step
    return Timeline(events=events, chord_symbols=list(chords), bars=bars, tempo_qpm=tempo,
                    meter=meter, key=key, total=onset)


def tune(text: str):
    tunes, failures = parse_tunebook(text)
    assert not failures, failures
    return tunes[0]


# ---- tracks, programs, tempo --------------------------------------------------------------

def test_melody_track_is_named_and_uses_the_instrument_program():
    midi = read_back(timeline_to_midi(bar_timeline([[60, 62]]), MidiOptions(instrument="fiddle")))
    assert [i.name for i in midi.instruments] == ["melody"]
    assert track(midi, "melody").program == 40  # GM Violin


@pytest.mark.parametrize("instrument, program", [("flute", 73), ("whistle", 78),
                                                 ("Accordion", 21), ("uilleann pipes", 109)])
def test_instrument_names_choose_general_midi_programs(instrument, program):
    midi = read_back(timeline_to_midi(bar_timeline([[60]]), MidiOptions(instrument=instrument)))
    assert track(midi, "melody").program == program


def test_program_number_wins_and_unknown_names_are_refused():
    options = MidiOptions(instrument="flute", program=105)
    assert track(read_back(timeline_to_midi(bar_timeline([[60]]), options)),
                 "melody").program == 105
    with pytest.raises(RenderError, match="unknown instrument"):
        timeline_to_midi(bar_timeline([[60]]), MidiOptions(instrument="kazoo-organ"))


@pytest.mark.parametrize("q, rhythm, override, expected", [
    (90.0, "reel", None, 90.0),  # Q: wins over R:
    (None, "Reel", None, 200.0),
    (None, "single jig", None, 165.0),
    (None, "Slip Jig", None, 150.0),
    (None, None, None, 120.0),  # abc2midi's default
    (90.0, "reel", 60.0, 60.0),  # --tempo wins over everything
])
def test_tempo_comes_from_q_then_rhythm_then_120(q, rhythm, override, expected):
    performance = timeline_to_midi(bar_timeline([[60, 62, 64, 65]], tempo=q),
                                   MidiOptions(tempo=override), rhythm=rhythm)
    midi = read_back(performance)
    assert midi.get_tempo_changes()[1][0] == pytest.approx(expected, rel=1e-4)  # whole µs
    assert track(midi, "melody").notes[1].start == pytest.approx(0.5 * 60 / expected, abs=1e-3)
    assert performance.seconds == pytest.approx(2 * 60 / expected)



def test_a_tempo_too_slow_to_play_is_what_check_refuses():
    text = "X:1\nT:t\nM:4/4\nL:1/8\nR:reel\nQ:1/8=1\nK:C\nCDEF GABc|]\n"  # 1/2 qpm
    assert "invalid-tempo" in {issue.code for issue in check_text(text)}
    assert tune_to_midi(tune(text)).tempo_qpm == 200.0  # as if it had no Q:, by R:

# ---- accents and dynamics -----------------------------------------------------------------

def test_beat_accents_in_four_four_are_strong_medium_weak():
    midi = read_back(timeline_to_midi(bar_timeline([[60] * 8, [62] * 8])))
    velocities = [n.velocity for n in track(midi, "melody").notes]
    assert velocities[:8] == [105, 80, 95, 80, 95, 80, 95, 80]
    assert velocities[8] == 105  # next bar's downbeat


def test_compound_meter_beats_are_dotted_quarters():
    timeline = bar_timeline([[60] * 6], meter=Meter(6, 8, "6/8"))
    velocities = [n.velocity for n in track(read_back(timeline_to_midi(timeline)), "melody").notes]
    assert velocities == [105, 80, 80, 95, 80, 80]


def test_six_four_beats_are_dotted_halves_as_the_web_form_counts_them():
    timeline = bar_timeline([[60] * 6], meter=Meter(6, 4, "6/4"), step=F(1))
    velocities = [n.velocity for n in track(read_back(timeline_to_midi(timeline)), "melody").notes]
    assert velocities == [105, 80, 80, 95, 80, 80]


def test_pickup_bar_counts_beats_back_from_its_end():
    # one eighth of pickup in 4/4: it falls on the off-beat before the downbeat
    events = [NoteEvent(60, F(0), F(1, 2), bar=0), NoteEvent(62, F(1, 2), F(4), bar=1)]
    bars = [Bar(0, F(0), F(1, 8), F(1)), Bar(1, F(1, 8), F(1), F(1))]
    timeline = Timeline(events=events, bars=bars, total=F(9, 2))
    velocities = [n.velocity for n in track(read_back(timeline_to_midi(timeline)), "melody").notes]
    assert velocities == [80, 105]


def test_septuplet_times_and_accents_stay_exact():
    # 7 notes in a quarter: no whole number of ticks each, so the beat after them must still
    # be found exactly (medium), and each note lands on its nearest tick
    text = "X:1\nT:t\nM:2/4\nL:1/8\nK:C\n(7CDEFGAB c2|\n"
    midi = read_back(tune_to_midi(tune(text)))
    notes = track(midi, "melody").notes
    assert [n.velocity for n in notes] == [105] + [80] * 6 + [95]
    ticks = [midi.time_to_tick(n.start) for n in notes]
    assert ticks == [round(480 * k / 7) for k in range(7)] + [480]


def test_dynamics_shift_the_accent_pattern():
    midi = read_back(timeline_to_midi(bar_timeline([[60] * 4], step=F(1), velocity=60)))
    assert [n.velocity for n in track(midi, "melody").notes] == [75, 65, 65, 65]


# ---- ornaments, graces, articulation ------------------------------------------------------

def test_roll_plays_main_upper_main_lower_main_inside_the_written_note():
    d_major = Key("D", "maj", (("F", 1), ("C", 1)), "D")
    timeline = bar_timeline([[71]], step=F(3, 2), key=d_major, decorations=("roll",),
                            meter=Meter(6, 8, "6/8"))
    notes = quarters(read_back(timeline_to_midi(timeline)))
    assert [p for p, _, _ in notes] == [71, 73, 71, 69, 71]  # B, C#, B, A, B in D major
    assert notes[0][1] == 0 and notes[-1][1] + notes[-1][2] == F(3, 2)
    assert all(d <= F(1, 8) for _, _, d in notes[1::2])  # the cut and tap are short
    plain = quarters(read_back(timeline_to_midi(timeline, MidiOptions(plain=True))))
    assert plain == [(71, 0, F(3, 2))]


def test_grace_notes_are_short_and_taken_from_the_main_note():
    text = "X:1\nT:g\nM:4/4\nL:1/8\nQ:1/4=120\nK:D\n{g}A2 {ag}B2 c4|\n"
    notes = quarters(read_back(tune_to_midi(tune(text))))
    assert notes[0] == (79, 0, F(1, 4))  # g: a quarter of the main note's time
    assert notes[1] == (69, F(1, 4), F(3, 4))  # A starts after it and ends on time
    assert [p for p, _, _ in notes[2:4]] == [81, 79] and notes[4] == (71, F(5, 4), F(3, 4))
    plain = quarters(read_back(tune_to_midi(tune(text), MidiOptions(plain=True))))
    assert plain == [(69, 0, 1), (71, 1, 1), (73, 2, 2)]  # graces gone, time given back


def test_grace_velocity_is_light_and_main_note_keeps_its_downbeat_accent():
    text = "X:1\nT:g\nM:4/4\nL:1/8\nK:D\n{g}A2 B2 c4|\n"
    melody = track(read_back(tune_to_midi(tune(text))), "melody").notes
    assert melody[1].velocity == 105 and melody[0].velocity < melody[1].velocity


def test_staccato_sounds_for_half_its_length():
    text = "X:1\nT:s\nM:2/4\nL:1/4\nK:C\n.c d|\n"
    assert quarters(read_back(tune_to_midi(tune(text)))) == [(72, 0, F(1, 2)), (74, 1, 1)]


# ---- swing ---------------------------------------------------------------------------------

def test_hornpipe_swing_plays_eighth_pairs_two_to_one_only_when_asked():
    timeline = bar_timeline([[60, 62, 64, 65, 67, 69, 71, 72]])
    swung = quarters(read_back(timeline_to_midi(timeline, MidiOptions(swing=True), "Hornpipe")))
    assert [(on, d) for _, on, d in swung[:2]] == [(0, F(2, 3)), (F(2, 3), F(1, 3))]
    assert swung[-1][1] + swung[-1][2] == 4  # the bar keeps its length
    straight = quarters(read_back(timeline_to_midi(timeline, MidiOptions(swing=True), "reel")))
    assert [(on, d) for _, on, d in straight[:2]] == [(0, F(1, 2)), (F(1, 2), F(1, 2))]
    plain = MidiOptions(swing=True, plain=True)
    assert quarters(read_back(timeline_to_midi(timeline, plain, "hornpipe"))) == \
        quarters(read_back(timeline_to_midi(timeline)))


@pytest.mark.skipif(not abc2midi.available(), reason="abc2midi not installed")
@pytest.mark.parametrize("meter, unit, body", [
    ("4/4", "1/8", "CDEF GABc|]"),               # eighths swung
    ("2/4", "1/16", "CDEF GABc|]"),              # sixteenths swung
    ("2/4", "1/8", "C/D/E/F/ G/A/B/c/|]"),       # sixteenths written as a fraction of L:
    ("4/4", "1/16", "C2D2E2F2 G2A2B2c2|]"),      # eighths of two units: abc2midi plays straight
    ("C|", "1/8", "CDEF GABc|]"),                # abc2midi swings no hornpipe in 2/2
])
def test_hornpipe_swing_plays_the_notes_abc2midi_swings(meter, unit, body):
    text = f"X:1\nT:h\nM:{meter}\nL:{unit}\nR:hornpipe\nK:C\n{body}\n"
    swing = MidiOptions(swing=True, accompaniment=False)
    ours = quarters(read_back(tune_to_midi(parse_tunebook(text)[0][0], swing)))
    assert ours == [tuple(note) for note in abc2midi.melody_events(text)]


# ---- accompaniment -------------------------------------------------------------------------

def test_chord_symbols_make_bass_and_chord_tracks_with_the_meter_pattern():
    g_chord = ChordSymbolEvent("G", F(0), 7, "maj")
    d7 = ChordSymbolEvent("D7", F(4), 2, "dom7")
    timeline = bar_timeline([[67] * 8, [66] * 8], chords=[g_chord, d7])
    midi = read_back(timeline_to_midi(timeline))
    assert sorted(i.name for i in midi.instruments) == ["bass", "chords", "melody"]
    bass = quarters(midi, "bass")
    assert [(p, on) for p, on, _ in bass] == [(43, 0), (43, 2), (38, 4), (38, 6)]  # G2, D2
    chords = quarters(midi, "chords")
    assert {p for p, on, _ in chords if on == 1} == {55, 59, 62}  # G B D on beat 2
    assert {p for p, on, _ in chords if on == 5} == {50, 54, 57, 60}  # D F# A C


def test_six_eight_accompaniment_follows_abc2midi_fzcfzc():
    timeline = bar_timeline([[67] * 6], meter=Meter(6, 8, "6/8"),
                            chords=[ChordSymbolEvent("Em", F(0), 4, "min")])
    midi = read_back(timeline_to_midi(timeline))
    assert [on for _, on, _ in quarters(midi, "bass")] == [0, F(3, 2)]
    assert sorted({on for _, on, _ in quarters(midi, "chords")}) == [1, F(5, 2)]


def test_no_accompaniment_and_plain_leave_the_melody_alone():
    timeline = bar_timeline([[67] * 8], chords=[ChordSymbolEvent("G", F(0), 7, "maj")])
    for options in (MidiOptions(accompaniment=False), MidiOptions(plain=True)):
        assert [i.name for i in read_back(timeline_to_midi(timeline, options)).instruments] == \
            ["melody"]


# ---- transpose and limits ------------------------------------------------------------------

def test_transpose_moves_melody_and_accompaniment():
    timeline = bar_timeline([[62, 64] * 4], chords=[ChordSymbolEvent("D", F(0), 2, "maj")])
    moved = read_back(timeline_to_midi(timeline, MidiOptions(transpose=-2)))
    assert [p for p, _, _ in quarters(moved)] == [60, 62] * 4
    assert quarters(moved, "bass")[0][0] == 36
    with pytest.raises(RenderError, match="outside 0-127"):
        timeline_to_midi(bar_timeline([[120]]), MidiOptions(transpose=12))


def test_a_performance_over_the_cap_is_refused():
    minutes = MAX_SECONDS / 60
    timeline = bar_timeline([[60]], step=F(int(2 * minutes * 60) + 4))  # at 120 qpm
    with pytest.raises(TooLongError, match=f"{int(minutes)}-minute"):
        timeline_to_midi(timeline)


def test_a_timeline_without_notes_is_refused():
    with pytest.raises(RenderError, match="no notes"):
        timeline_to_midi(Timeline())


# ---- parsed ABC through the whole path -----------------------------------------------------

CONSTRUCTS = """X:1
T:Constructs
M:4/4
L:1/8
Q:1/4=120
K:D
|:A2 B>c (3def g2-|g2 [DFA]2 c<d e2|1 f8:|2 a8|]
"""


def test_repeats_endings_broken_rhythm_tuplets_ties_and_chords_from_abc():
    notes = quarters(read_back(tune_to_midi(tune(CONSTRUCTS), MidiOptions(plain=True))))
    first_pass = [(69, 0, 1), (71, 1, F(3, 4)), (73, F(7, 4), F(1, 4)),  # B>c
                  (74, 2, F(1, 3)), (76, F(7, 3), F(1, 3)), (78, F(8, 3), F(1, 3)),  # (3def
                  (79, 3, 2),  # g2-|g2 tied
                  (62, 5, 1), (66, 5, 1), (69, 5, 1),  # [DFA]2
                  (73, 6, F(1, 4)), (74, F(25, 4), F(3, 4)), (76, 7, 1),  # c<d e2
                  (78, 8, 4)]  # [1 f8
    assert notes[:len(first_pass)] == first_pass
    second = [(p, on - 12, d) for p, on, d in notes[len(first_pass):]]
    assert second == first_pass[:-1] + [(81, 8, 4)]  # the repeat takes the second ending
    assert read_back(tune_to_midi(tune(CONSTRUCTS))).get_end_time() == pytest.approx(12.0)


@pytest.mark.needs_abc2midi
def test_plain_melody_matches_abc2midi():
    from abcgen.tools import abc2midi

    if not abc2midi.available():
        pytest.skip("abc2midi is not installed")
    text = CONSTRUCTS.replace("[DFA]2", "F2")  # abc2midi staggers chord notes by 10 ticks
    ours = quarters(read_back(tune_to_midi(tune(text), MidiOptions(plain=True))))
    reference = abc2midi.melody_events(text, 1, flags=abc2midi.PLAIN_FLAGS)
    assert [tuple(n) for n in reference] == ours


def test_midi_file_reads_back_like_pretty_midis_own_writer():
    performance = tune_to_midi(tune("X:1\nT:w\nM:3/4\nL:1/8\nQ:1/4=100\nK:G\n"
                                    "\"G\"(3GAB d2 ~g2|\"D7\"f>e d2 [DA]2|\n"))
    ours = read_back(performance)
    buffer = io.BytesIO()
    performance.midi.write(buffer)
    buffer.seek(0)
    theirs = pretty_midi.PrettyMIDI(buffer)
    assert [(i.name, i.program) for i in ours.instruments] == \
        [(i.name, i.program) for i in theirs.instruments]
    for mine, reference in zip(ours.instruments, theirs.instruments, strict=True):
        assert [(n.pitch, n.velocity) for n in mine.notes] == \
            [(n.pitch, n.velocity) for n in reference.notes]
        for a, b in zip(mine.notes, reference.notes, strict=True):
            assert (a.start, a.end) == pytest.approx((b.start, b.end), abs=2e-3)
    signature = ours.time_signature_changes[0]
    assert (signature.numerator, signature.denominator) == (3, 4)
    assert ours.get_tempo_changes()[1][0] == pytest.approx(100, rel=1e-4)
