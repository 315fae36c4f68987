"""`check`: each problem class is found, with its code, tune and position; clean tunes pass."""

import json

import pytest

from abcgen.notation import CODES, check_text

HEADER = "X:1\nT:Test\nM:4/4\nL:1/8\nK:G\n"


def codes(text: str) -> set[str]:
    found = {issue.code for issue in check_text(text)}
    assert found <= set(CODES), found - set(CODES)
    return found


def errors(text: str) -> set[str]:
    return {issue.code for issue in check_text(text) if issue.severity == "error"}


@pytest.mark.parametrize("body", [
    "|:GABc dedB|dBAG A4:|",
    "D|:GABc dedB|dBAG A3:|",                   # pickup, and a short last bar that adds up
    "|:GABc dedB|1 dBAG A4:|2 dBAG G4|]",        # first and second endings
    "GA|:B2 c2 d4|e8:||:f8|g6:|",                 # short bars at a section boundary add up
    "[CEG]2 [ce]2 z4|(3ABc d2 e4|{g}A2 ~B2 !trill!c4|]",
    "[M:6/8]EAA AGA|cAA A2:|\nf|aee aee|cAA A2:|",  # each part's pickup completes its last bar
])
def test_clean_tunes_have_no_errors(body):
    assert errors(HEADER + body + "\n") == set()


@pytest.mark.parametrize("text, code", [
    ("T:No number\nM:4/4\nK:G\nGABc|\n", "missing-x"),
    ("X:1\nM:4/4\nK:G\nGABc dedB|\n", "missing-title"),
    ("X:1\nT:\nM:4/4\nK:G\nGABc dedB|\n", "empty-title"),
    ("X:1\nT:t\nK:G\nGABc dedB|\n", "missing-meter"),
    ("X:1\nT:t\nM:foo\nK:G\nGABc|\n", "invalid-meter"),
    ("X:1\nT:t\nM:4/4\nL:0\nK:G\nGABc|\n", "invalid-length"),
    ("X:1\nT:t\nM:4/4\nGABc dedB|\n", "missing-key"),
    ("X:1\nT:t\nM:4/4\nK:Gx\nGABc dedB|\n", "invalid-key"),
    ("X:1\nT:t\nK:G\nM:4/4\nGABc dedB|\n", "key-not-last"),
    (HEADER + "GABc dedB|dBAG A2|GABc dedB|\n", "bar-length"),
    (HEADER + "GABc dedB|dBAG A4 B2|GABc dedB|\n", "bar-length"),
    (HEADER + "|:GABc dedB|dBAG A4|\n", "unclosed-repeat"),
    (HEADER + "GABc dedB|2 dBAG A4|]\n", "bad-ending"),
    (HEADER + "GABc [dedB|dBAG A4|\n", "unclosed-chord"),
    (HEADER + "GABc {ded B4|\n", "unclosed-grace"),
    (HEADER + "GABc (dedB|dBAG A4|\n", "unclosed-slur"),
    (HEADER + "GABc (3de|\n", "unclosed-tuplet"),
    (HEADER + "GABc d4-|e8|\n", "bad-tie"),
    (HEADER + "GABc ded#B|\n", "bad-character"),
    (HEADER + "A99999|\n", "bad-duration"),
    ("", "no-tunes"),
    ("X:1\nT:t\nM:4/4\nQ:fast please\nK:G\nGABc dedB|\n", "invalid-tempo"),
    (HEADER + '"4"GABc dedB|\n', "bad-chord-symbol"),
    ("X:1\nT:t\nM:4/4\nP:AAB\nK:G\nP:A\nGABc dedB|\n", "bad-parts"),
    (HEADER + "GABc dedB:|\nGABc|[1 dedB:|[2 dedB|]\n", "unopened-repeat"),
    (HEADER + "GABc dT(ed)B|\n", "misplaced-decoration"),
    (HEADER + "GABc d2>e dB|\n", "unequal-broken-rhythm"),
    (HEADER + "GABc Hd>e dB|\n", "unequal-broken-rhythm"),
])
def test_each_problem_is_reported_with_its_code(text, code):
    assert code in codes(text)


def test_bar_length_issue_says_where_and_by_how_much():
    text = HEADER + "GABc dedB|\ndBAG A2|GABc dedB|\n"
    (issue,) = [i for i in check_text(text) if i.code == "bar-length"]
    assert (issue.x, issue.line, issue.col) == ("1", 7, 1)
    assert "1/4 too short" in issue.message and "bar 2" in issue.message


def test_duplicate_x_across_a_book():
    book = "X:1\nT:a\nM:C\nK:G\nG8|\n\nX:1\nT:b\nM:C\nK:G\nG8|\n"
    dup = [i for i in check_text(book) if i.code == "duplicate-x"]
    assert len(dup) == 1 and dup[0].line == 7


def test_check_cli_exit_codes_and_json(cli, tmp_path):
    good, bad = tmp_path / "good.abc", tmp_path / "bad.abc"
    good.write_text(HEADER + "GABc dedB|dBAG A4|]\n")
    bad.write_text(HEADER + "GABc dedB|dBAG A2|]\nGABc|\n\nX:2\nT:t\nM:foo\nK:G\nG|\n")
    assert cli("check", good).exit_code == 0
    result = cli("check", bad, "--json")
    assert result.exit_code == 1
    found = json.loads(result.stdout)
    assert {(i["x"], i["code"]) for i in found} >= {("1", "bar-length"), ("2", "invalid-meter")}
    assert all({"line", "col", "severity", "message"} <= set(i) for i in found)


def test_check_cli_prints_one_line_per_issue_with_file_tune_and_position(cli, tmp_path):
    bad = tmp_path / "bad.abc"
    bad.write_text(HEADER + "GABc dedB|dBAG A2|GABc dedB|]\n")
    lines = cli("check", bad).stdout.splitlines()
    assert lines[0] == f"{bad}:X:1 6:11: error bar-length: bar 2 lasts 3/4 of a whole note, " \
        "the meter's bar is 1 (1/4 too short)"
    assert lines[-1] == "1 error(s), 0 warning(s)"


@pytest.mark.parametrize("content", [None, b"\x00\x01\x02binary\xff" * 50])
def test_check_cli_unreadable_input_exits_2_without_traceback(cli, tmp_path, content):
    path = tmp_path / "x.abc"
    if content is not None:
        path.write_bytes(content)
    result = cli("check", path)
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "x.abc" in result.output
