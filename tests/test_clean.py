"""`clean_tune`: the normalised form the corpus keeps."""

import pytest

from abcgen.notation import build_timeline, check_tune, clean_tune, dumps, read_tunes


def clean(text: str) -> str:
    return dumps(clean_tune(read_tunes(text)[0]))


def test_header_is_canonical_and_non_music_fields_go():
    text = ("X:3\nT:The Kesh\nT:The Castle Jig\nC:Trad.\nO:Ireland\nR:jig\nS:a book\nN:note\n"
            "M:6/8\nZ:someone\nL:1/8\nK:G\n% comment\n|:GAG GAB|ABA ABd:|\nw:la la\n")
    assert clean(text) == "X:3\nT:The Kesh\nM:6/8\nL:1/8\nR:jig\nK:G\n|:GAG GAB|ABA ABd:|\n"


def test_fields_written_after_k_move_into_the_header():
    cleaned = clean_tune(read_tunes("X:1\nT:t\nM:2/4\nK:D\nL:1/16\nABcd ABcd|ABcd ABcd|]\n")[0])
    assert [f.name for f in cleaned.header] == ["X", "T", "M", "L", "K"]
    assert not check_tune(cleaned)


def test_undefined_decoration_letters_and_extra_voices_are_dropped():
    text = "X:1\nT:t\nM:2/4\nL:1/8\nK:D\nV:1\nkD2 ~C2|DEFG|]\nV:2\nA,4|A,4|]\n"
    assert clean(text).endswith("K:D\nD2 ~C2|DEFG|]\n")


def test_file_header_defaults_are_written_into_the_tune():
    book = "M:3/4\nL:1/8\n\nX:1\nT:Waltz\nK:A\nA2 c2 e2|a6|]\n"
    assert clean(book) == "X:1\nT:Waltz\nM:3/4\nL:1/8\nK:A\nA2 c2 e2|a6|]\n"


def test_double_repeat_is_written_the_way_abc2midi_reads_it():
    text = "X:1\nT:t\nM:2/4\nL:1/8\nK:D\n|:ABcd|dcBA:|:defg|gfed:|\n"
    assert clean(text).endswith("|:ABcd|dcBA::defg|gfed:|\n")


@pytest.mark.parametrize("unit, body, cleaned_body", [
    # ties between different pitches are removed, real ties kept
    ("1/16", "G3-A (Bcd=e)|f4 d2-d2|[FA]2-[FA]2 G3.-A|]", "G3A (Bcd=e)|f4 d2-d2|[FA]2-[FA]2 G3A|]"),
    # marks that are no chord become annotations, and the tune ends with a final bar
    ("1/8", '"D"AB "4"cd|" Em"dcBA|"^ok"ABcd|', '"D"AB "^4"cd|"^ Em"dcBA|"^ok"ABcd|]'),
], ids=["ties", "annotations"])
def test_cleaning_mends_the_body_into_a_tune_check_accepts(unit, body, cleaned_body):
    text = f"X:1\nT:t\nM:2/4\nL:{unit}\nK:D\n{body}\n"
    cleaned = clean_tune(read_tunes(text)[0])
    assert dumps(cleaned).endswith(f"K:D\n{cleaned_body}\n")
    assert not check_tune(cleaned)


def test_hornpipes_in_cut_time_are_written_in_common_time():
    text = "X:1\nT:t\nM:C|\nL:1/8\nR:Hornpipe\nK:D\nABcd efga|gfed cBAG|]\n"
    cleaned = clean_tune(read_tunes(text)[0])
    assert cleaned.get("M") == "C" and not check_tune(cleaned)


def test_cleaning_keeps_the_header_values_in_force():
    text = "X:1\nT:t\nM:3/4\nM:2/4\nL:1/4\nL:1/8\nK:D\nABcd|dcBA|]\n"
    cleaned = clean_tune(read_tunes(text)[0])
    assert dumps(cleaned) == "X:1\nT:t\nM:2/4\nL:1/8\nK:D\nABcd|dcBA|]\n"
    assert build_timeline(cleaned).events == build_timeline(read_tunes(text)[0]).events
