"""Reading tunebooks: encodings, mojibake, newlines, tune splitting, file headers."""

import pytest

from abcgen.notation import (UnreadableError, build_timeline, check_tune, decode_bytes, dumps,
                             parse_file, parse_tunebook, read_abc, read_tunes)


def test_utf8_with_bom_and_crlf():
    text = decode_bytes("\ufeffX:1\r\nT:Sí Bheag\r\nK:D\r\nABc|\r".encode("utf-8"))
    assert text == "X:1\nT:Sí Bheag\nK:D\nABc|\n"


def test_cp1252_file_is_decoded():
    assert "T:Fáinne Geal" in decode_bytes("X:1\nT:Fáinne Geal\nK:G\n".encode("cp1252"))


@pytest.mark.parametrize("layers", [1, 2, 5])
@pytest.mark.parametrize("misread_as", ["latin-1", "cp1252"])
def test_mojibake_layers_are_mended(layers, misread_as):
    word = "Spárán ‘quoted’"
    for _ in range(layers):  # UTF-8 bytes read back in a single-byte encoding, saved as UTF-8
        word = word.encode("utf-8").decode(misread_as, errors="ignore")
    assert decode_bytes(f"T:{word}\n".encode()) == "T:Spárán ‘quoted’\n"


def test_mojibake_without_its_invisible_byte_is_mended():
    assert decode_bytes("T:SparÃÂ¡n\n".encode()) == "T:Sparán\n"


def test_real_mojibake_corpus_is_mended(shared_corpora):
    text = read_abc(shared_corpora / "ceol_rince_na_heireann" / "CRE_clean.abc")
    assert "Ã" not in text
    assert "Spárán" in text or "Sparán" in text


def test_binary_and_missing_files_are_unreadable(tmp_path):
    garbage = tmp_path / "noise.abc"
    garbage.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(UnreadableError):
        read_abc(garbage)
    with pytest.raises(UnreadableError) as missing:
        read_abc(tmp_path / "nope.abc")
    assert "nope.abc" in str(missing.value)
    with pytest.raises(UnreadableError):
        read_abc(tmp_path)
    with pytest.raises(UnreadableError):
        parse_file(tmp_path / "nope.abc")


BOOK = """%abc-2.1
M:6/8
L:1/8

Free text between tunes is ignored.

X:1
T:First
K:G
GAB c2d|
% a comment line does not end the tune
e3 d3|

X:2
T:Second
M:3/4
K:D
A2 B2 c2|
X:3
T:Third, no blank line before it
K:Em
E4 F2|
"""


def test_tunebook_splits_on_blank_lines_and_x_lines():
    tunes = read_tunes(BOOK)
    assert [t.title for t in tunes] == ["First", "Second", "Third, no blank line before it"]
    assert [t.x for t in tunes] == ["1", "2", "3"]
    assert len(tunes[0].body) == 3  # the comment line stays inside the tune


def test_file_header_gives_defaults_that_a_tune_overrides():
    first, second, _ = read_tunes(BOOK)
    assert first.get("M") == "6/8"
    assert second.get("M") == "3/4"


def test_field_continuation_and_wrapped_header_text():
    tune = read_tunes("X:1\nT:Long\nN:first part\n+:second part\nH:wrapped\nmore history\n"
                      "K:G\nG4|\n")[0]
    assert tune.get("N") == "first part second part"
    assert tune.get("H") == "wrapped more history"
    assert tune.get("K") == "G"


def test_a_comment_ends_every_line_of_a_continued_field():
    tune = read_tunes("X:1\nT:The Long % first\n+:Reel % second\nN:wrapped % a note\nmore "
                      "% and more\nK:G\nG4|\n")[0]
    assert tune.title == "The Long Reel"
    assert tune.get("N") == "wrapped more"


def test_one_bad_tune_does_not_stop_the_book():
    book = ("X:1\nT:Good\nK:G\nGABc|\n\nX:2\nT:Bad\nM:foo\nK:G\nGABc|\n\n"
            "X:3\nT:Also good\nK:D\nDEF|\n")
    tunes, failures = parse_tunebook(book, source="book.abc")
    assert [t.x for t in tunes] == ["1", "3"]
    assert len(failures) == 1
    assert failures[0].x == "2" and failures[0].line == 8
    assert "book.abc" in str(failures[0])


def test_clean_tune_round_trips():
    text = "X:1\nT:Round Trip\nM:4/4\nL:1/8\nK:G\n|:GABc dedB|dBAG A4:|\n"
    tunes, failures = parse_tunebook(text)
    assert not failures
    assert dumps(tunes[0]) == text


def test_parse_file_names_the_file(tmp_path):
    path = tmp_path / "t.abc"
    path.write_text("X:7\nT:T\nK:Gx\nG|\n")
    tunes, failures = parse_file(path)
    assert not tunes and failures[0].x == "7" and str(path) in str(failures[0])


def test_postscript_blocks_are_not_music():
    text = "X:1\nT:t\nM:2/4\nL:1/8\nK:D\n%%beginps\n/x 1 def\nABcd\n%%endps\nABcd|dcBA|]\n"
    tune = read_tunes(text)[0]
    assert not check_tune(tune)
    assert [e.pitch for e in build_timeline(tune).events][:2] == [69, 71]


def test_a_priming_phrase_is_music_only():
    from abcgen.notation.parse import music_only

    assert music_only("|:GAB dBG|\nc2d e2f:|")
    assert not music_only("K:D\n|GAB|") and not music_only("  T:a title")
    assert not music_only("GAB %%beginps") and not music_only("GA\x01B")
