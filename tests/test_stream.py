"""Books read a tune at a time: read boundaries, CRLF, bad bytes in one tune, tunes too long,
binary files, and the streamed JSON of `inspect` and `check`."""

import json
import tracemalloc

import pytest

from abcgen.notation import (UnreadableError, check_text, read_tunes, stream_book,
                             stream_tunes, text)
from abcgen.notation import parse

TUNE = "X:{x}\nT:Tune {x} Sí\nM:4/4\nL:1/8\nK:G\nGABc dedB|dBAG A4|]\n"
GOOD = "".join(TUNE.format(x=x) + "\n" for x in range(1, 14))
NUL_TUNE = "X:14\nT:Broken\nM:4/4\nL:1/8\nK:G\nGABc d\x00edB|dBAG\x01 A4|]\n"


def _shape(tunes) -> list:
    return [(t.x, t.title, t.start_line, [f.value for f in t.header],
             [(b.text, b.line) for b in t.body]) for t in tunes]


@pytest.mark.parametrize("chunk", [1, 2, 7, 64, 1 << 20])
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_a_book_reads_the_same_across_read_boundaries(tmp_path, monkeypatch, chunk, newline):
    book = "%abc-2.1\nM:6/8\n\n" + GOOD + "X:99\nT:Fáinne\n%%beginps\n/x 1 def\n\nABcd\n" \
        "%%endps\nK:D\nABcd|]\n"
    path = tmp_path / "book.abc"
    path.write_bytes(("\ufeff" + book.replace("\n", newline)).encode("utf-8"))
    monkeypatch.setattr(text, "READ_CHUNK", chunk)
    streamed = list(stream_tunes(path))
    assert _shape(streamed) == _shape(read_tunes(book, str(path)))
    assert len(streamed) == 14 and [f.value for f in streamed[0].file_header] == ["6/8"]
    assert streamed[-1].title == "Fáinne"


def test_a_book_merged_from_two_encodings_reads_each_line_right(tmp_path):
    path = tmp_path / "mixed.abc"
    path.write_bytes(TUNE.format(x=1).encode("utf-8") + b"\n" + TUNE.format(x=2).encode("cp1252"))
    assert [t.title for t in stream_tunes(path)] == ["Tune 1 Sí", "Tune 2 Sí"]


def test_a_nul_in_one_tune_fails_that_tune_alone_with_its_place(tmp_path, cli):
    path = tmp_path / "book.abc"
    path.write_bytes((GOOD + NUL_TUNE).encode())
    result = cli("check", path)
    assert result.exit_code == 1
    errors = [line for line in result.stdout.splitlines() if " error " in line]
    assert errors == [f"{path}:X:14 97:7: error control-character: a control character (U+0000) "
                      "in the music: binary data or bytes that are not text, so the tune can't "
                      "be read"]
    assert result.stdout.splitlines()[-1] == "1 error(s), 0 warning(s)"


def test_a_control_character_in_a_title_is_removed_with_a_warning():
    tune = read_tunes("X:1\nT:The\x07 Bell\nM:2/4\nL:1/8\nK:D\nABcd|]\n")[0]
    assert tune.title == "The Bell"
    issues = check_text("X:1\nT:The\x07 Bell\nM:2/4\nL:1/8\nK:D\nABcd|]\n")
    assert [(i.code, i.severity, i.line, i.col) for i in issues] == \
        [("control-character", "warning", 2, 6)]


def test_bytes_no_encoding_defines_fail_the_tune_or_leave_the_title(tmp_path):
    path = tmp_path / "book.abc"
    path.write_bytes(TUNE.format(x=1).encode() + b"\nX:2\nT:Caf\x81e\nK:D\nAB\x9dc|]\n")
    issues = check_text(path.read_text(encoding="latin-1"))
    assert [(i.severity, i.line, i.col) for i in issues] == [("warning", 9, 6), ("error", 11, 3)]
    second = list(stream_tunes(path))[1]
    assert second.title == "Cafe" and [i.severity for i in second.read_issues] == \
        ["warning", "error"]


def test_repair_keeps_the_good_tunes_and_fails_the_one_with_bad_bytes(tmp_path, cli):
    path, out = tmp_path / "book.abc", tmp_path / "out.abc"
    path.write_bytes((GOOD + NUL_TUNE).encode())
    result = cli("repair", path, "-o", out)
    assert result.exit_code == 1
    assert f"{path}:92: X:14 failed: control-character at 97:7" in result.stderr
    assert [t.x for t in read_tunes(out.read_text())] == [str(x) for x in range(1, 14)]
    assert "\x00" not in out.read_text()


def test_render_renders_the_good_tunes_beside_the_one_with_bad_bytes(tmp_path, cli):
    path, out = tmp_path / "book.abc", tmp_path / "out"
    path.write_bytes((GOOD + NUL_TUNE).encode())
    result = cli("render", path, "--out", out, "--formats", "mid", "--jobs", "1")
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert [e["status"] for e in manifest["tunes"]] == ["ok"] * 13 + ["error"]
    assert "X:14 97:7" in manifest["tunes"][-1]["error"]
    assert len(list(out.glob("*.mid"))) == 13


def test_songbook_prints_the_good_tunes_beside_the_one_with_bad_bytes(tmp_path, cli):
    path, out = tmp_path / "book.abc", tmp_path / "book"
    path.write_bytes((GOOD + NUL_TUNE).encode())
    result = cli("songbook", path, "--out", out, "--formats", "html", "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert "songbook of 13 tunes" in result.stdout and "1 failed" in result.stdout
    assert "control-character" in result.stderr


@pytest.mark.parametrize("command", ["check", "inspect", "repair"])
def test_a_binary_file_with_no_tune_is_not_abc(tmp_path, cli, command):
    path = tmp_path / "noise.abc"
    path.write_bytes(bytes(range(256)) * 64)
    result = cli(command, path)
    assert result.exit_code == 2
    assert "not an ABC file" in result.output and "Traceback" not in result.output


def test_a_tune_over_the_cap_is_refused_with_its_x_and_line(tmp_path, monkeypatch):
    monkeypatch.setattr(parse, "MAX_TUNE_CHARS", 2000)
    huge = "X:7\nT:Huge\nM:4/4\nL:1/8\nK:G\n" + "GABc dedB|\n" * 400
    path = tmp_path / "book.abc"
    path.write_text(TUNE.format(x=1) + "\n" + huge + "\n" + TUNE.format(x=8))
    tunes = list(stream_tunes(path))
    assert [t.x for t in tunes] == ["1", "7", "8"]
    issues = check_text(path.read_text())
    assert [(i.code, i.x, i.line) for i in issues] == [("tune-too-long", "7", 8)]


def test_reading_a_book_holds_a_tune_not_the_book(tmp_path, monkeypatch):
    monkeypatch.setattr(text, "READ_CHUNK", 4096)
    path = tmp_path / "big.abc"
    path.write_text("".join(TUNE.format(x=x) + "\n" for x in range(1, 20_001)))  # 1.2 MB
    tracemalloc.start()
    try:
        count = sum(1 for _ in stream_book(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 20_000
    assert peak < path.stat().st_size / 10


def test_a_missing_file_is_unreadable_when_reading_starts(tmp_path):
    with pytest.raises(UnreadableError, match="no such file"):
        next(stream_tunes(tmp_path / "nope.abc"))


def test_inspect_json_is_an_array_of_one_compact_tune_per_line(tmp_path, cli):
    path = tmp_path / "book.abc"
    path.write_bytes((GOOD + NUL_TUNE).encode())
    result = cli("inspect", path, "--json")
    assert result.exit_code == 0
    whole = json.loads(result.stdout)
    lines = result.stdout.splitlines()
    assert lines[0] == "[" and lines[-1] == "]" and len(lines) == len(whole) + 2
    assert [json.loads(line.rstrip(",")) for line in lines[1:-1]] == whole
    first = whole[0]
    assert first["events"][0] == {"pitch": 67, "onset": 0, "duration": 0.5, "bar": 0}
    assert first["bars"][0] == {"number": 1, "onset": 0, "duration": "1"}
    assert set(whole[-1]) == {"x", "line", "title", "errors", "warnings"}
    assert whole[-1]["errors"][0]["code"] == "control-character"


def test_check_json_streams_one_issue_per_line(tmp_path, cli):
    path = tmp_path / "book.abc"
    path.write_bytes((GOOD + NUL_TUNE).encode())
    result = cli("check", path, "--json")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "[" and lines[-1] == "]"
    assert json.loads(result.stdout)[0]["x"] == "14"
