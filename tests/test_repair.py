"""abcgen repair: one hand-written broken tune per repair kind with its expected repair,
clean tunes left alone, idempotence, the book rules, the CLI, and property tests that mutate
real tunes."""

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from abcgen.notation import Tune, check_text, check_tune, clean_tune, dumps, read_abc, read_tunes
from abcgen.notation.writer import read_back
from abcgen.repair import repair_samples, repair_text, repair_tune
FIXTURES = Path(__file__).resolve().parent / "fixtures"

HEAD = "X:1\nT:A\nM:4/4\nL:1/8\nK:D\n"


def repaired(text: str, **kwargs) -> tuple[str, list[str]]:
    """The repaired text of the first tune of `text` and the kinds of its edits."""
    result = repair_tune(read_tunes(text)[0], **kwargs)
    assert result.status == "repaired", result.reason
    assert not [i for i in check_tune(result.tune) if i.severity == "error"]
    return dumps(result.tune), [edit.kind for edit in result.edits]


# One broken tune per repair kind and what repair makes of it.
CASES = {
    "overfull bar, last note too long to shorten nicely: cut": (
        HEAD + "ABcd efga|ABcd efgab|ABcd efga|]\n",
        HEAD + "ABcd efga|ABcd efga|ABcd efga|]\n", "bar-length"),
    "short bar: last note lengthened": (
        HEAD + "ABcd efga|ABcd efg|ABcd efga|]\n",
        HEAD + "ABcd efga|ABcd efg2|ABcd efga|]\n", "bar-length"),
    "overfull bar: last note shortened": (
        HEAD + "ABcd efga|ABcd efg3|ABcd efga|]\n",
        HEAD + "ABcd efga|ABcd efg2|ABcd efga|]\n", "bar-length"),
    "short bar ending in a triplet: padded with a rest": (
        HEAD + "ABcd efga|ABcd (3efg|ABcd efga|]\n",
        HEAD + "ABcd efga|ABcd (3efgz2|ABcd efga|]\n", "bar-length"),
    "misplaced bar line re-placed": (
        HEAD + "ABcd efga|ABcd efgab|cdef gab|ABcd efga|]\n",
        HEAD + "ABcd efga|ABcd efga|bcdef gab|ABcd efga|]\n", "bar-length"),
    "missing bar line added": (
        HEAD + "ABcd efga ABcd efga|ABcd efga|]\n",
        HEAD + "ABcd efga| ABcd efga|ABcd efga|]\n", "bar-length"),
    "missing meter from the bar lengths": (
        "X:1\nT:A\nL:1/8\nK:D\nABc def|ABc def|ABc def|\n",
        "X:1\nT:A\nM:6/8\nL:1/8\nK:D\nABc def|ABc def|ABc def|\n", "missing-meter"),
    "unreadable meter from R: (no bar lines), unit kept": (
        "X:1\nT:A\nM:foo\nR:slip jig\nK:D\nABcdefgab\n",
        "X:1\nT:A\nM:9/8\nR:slip jig\nK:D\nABcdefgab|]\n", "invalid-meter"),
    "invalid unit length from the meter's default": (
        "X:1\nT:A\nM:6/8\nL:0\nK:D\nABc def|]\n",
        "X:1\nT:A\nM:6/8\nL:1/8\nK:D\nABc def|]\n", "invalid-length"),
    "missing key from the melody (dorian)": (
        "X:1\nT:A\nM:6/8\nL:1/8\nE^FG AB^c|d^cB AG^F|E^FE E3|]\n",
        "X:1\nT:A\nM:6/8\nL:1/8\nK:Edor\nE^FG AB^c|d^cB AG^F|E^FE E3|]\n", "missing-key"),
    "unknown mode: key from the melody (mixolydian)": (
        "X:1\nT:A\nM:4/4\nL:1/8\nK:Gx\nDE^FG ABcd|edcA BcA^F|GABc dcBA|D8|]\n",
        "X:1\nT:A\nM:4/4\nL:1/8\nK:Dmix\nDE^FG ABcd|edcA BcA^F|GABc dcBA|D8|]\n",
        "invalid-key"),
    "meter after K: moved into the header": (
        "X:1\nT:A\nM:4/4\nK:D\nM:6/8\nABc def|ABc def|]\n",
        "X:1\nT:A\nM:6/8\nK:D\nABc def|ABc def|]\n", "key-not-last"),
    "meter after K: keeps the notes' unit": (
        "X:1\nT:A\nM:4/4\nK:D\nM:2/4\nABcd|ABcd|]\n",
        "X:1\nT:A\nM:2/4\nL:1/8\nK:D\nABcd|ABcd|]\n", "key-not-last"),
    "missing X:": ("T:A\nM:4/4\nK:D\nABcd efga|]\n", "X:1\nT:A\nM:4/4\nK:D\nABcd efga|]\n",
                   "missing-x"),
    "tie between different pitches removed": (
        HEAD + "ABcd- efga|]\n", HEAD + "ABcd efga|]\n", "bad-tie"),
    "unclosed chord closed": (
        HEAD + "[DF2 A2 d2|ABcd efga|]\n", HEAD + "[DF2 A2 d2]|ABcd efga|]\n",
        "unclosed-chord"),
    "unclosed grace group removed": (
        HEAD + "{gABcd efga|]\n", HEAD + "gABcd efg|]\n", "unclosed-grace"),
    "unclosed slur removed": (
        HEAD + "(ABcd efga|ABcd efga|]\n", HEAD + "ABcd efga|ABcd efga|]\n", "unclosed-slur"),
    "unfinished tuplet removed, final bar added": (
        HEAD + "ABcd efga|ABcd ef(3ga\n", HEAD + "ABcd efga|ABcd efga|]\n", "unclosed-tuplet"),
    "stray character deleted": (
        HEAD + "ABcd e#fga|ABcd efga|]\n", HEAD + "ABcd efga|ABcd efga|]\n", "bad-character"),
    "detached tie deleted": (
        HEAD + "ABcd efga|-ABcd efga|]\n", HEAD + "ABcd efga|ABcd efga|]\n", "bad-character"),
    "unclosed quote deleted": (
        HEAD + '"ABcd efga|]\n', HEAD + "ABcd efga|]\n", "unclosed-quote"),
    "absurd length set to one unit": (
        HEAD + "ABcd efgA99999|]\n", HEAD + "ABcd efgA|]\n", "bad-duration"),
    "|: never closed gets :| at the section's end": (
        HEAD + "|:ABcd efga|ABcd efga|\n", HEAD + "|:ABcd efga|ABcd efga:|\n",
        "unclosed-repeat"),
    "first ending closed by :|": (
        HEAD + "|:ABcd efga|1ABcd efga|2ABcd efga|]\n",
        HEAD + "|:ABcd efga|1ABcd efga:|2ABcd efga|]\n", "bad-ending"),
    "second ending without a repeat loses its number": (
        HEAD + "ABcd efga|ABcd efga|2ABcd efga|]\n",
        HEAD + "ABcd efga|ABcd efga|ABcd efga|]\n", "bad-ending"),
    "repeats opened where their parts begin in a repaired tune": (
        HEAD + "ABcd efga|ABcd efga:|abcd efga|abcd efg:|\n",
        HEAD + "|:ABcd efga|ABcd efga::abcd efga|abcd efg2:|\n", "unopened-repeat"),
    "pickup into a part: the bar before it makes room": (
        "X:1\nT:A\nM:6/8\nL:1/8\nK:G\nGAB c2d|e2d B3:|Bc|d2B G3|]\n",
        "X:1\nT:A\nM:6/8\nL:1/8\nK:G\n|:GAB c2d|e2d B:|Bc|d2B G3|]\n", "bar-length"),
    "broken rhythm with no note before it deleted": (
        HEAD + ">ABcd efga|]\n", HEAD + "ABcd efga|]\n", "bad-broken-rhythm"),
    "unplayable tuplet deleted": (
        HEAD + "(1ABcd efga|]\n", HEAD + "ABcd efga|]\n", "bad-tuplet"),
    "quoted text that is no chord becomes an annotation": (
        HEAD + '"G"ABcd "4"efga|" Em"ABcd efga|]\n',
        HEAD + '"G"ABcd "^4"efga|"^ Em"ABcd efga|]\n', "bad-chord-symbol"),
    "a P: that is no play order is dropped": (
        "X:1\nT:A\nM:4/4\nL:1/8\nP:Play AABA last time\nK:G\nABcd efga|ABcd efga|]\n",
        "X:1\nT:A\nM:4/4\nL:1/8\nK:G\nABcd efga|ABcd efga|]\n", "bad-parts"),
    "an inline P: that is no part label is dropped, the notes after it kept": (
        HEAD + "[P:A1]ABcd efga|[P:B]ABcd efga|]\n", HEAD + "ABcd efga|[P:B]ABcd efga|]\n",
        "bad-parts"),
    "a hornpipe in C| is written in C, the same bar": (
        "X:1\nT:A\nM:C|\nL:1/8\nR:hornpipe\nK:G\nABcd efga|ABcd efga|]\n",
        "X:1\nT:A\nM:C\nL:1/8\nR:hornpipe\nK:G\nABcd efga|ABcd efga|]\n", "hornpipe-meter"),
    "a hornpipe in 3/4 loses its R:": (
        "X:1\nT:A\nM:3/4\nL:1/8\nR:Hornpipe\nK:G\nABcd ef|ABcd ef|]\n",
        "X:1\nT:A\nM:3/4\nL:1/8\nK:G\nABcd ef|ABcd ef|]\n", "hornpipe-meter"),
    "a decoration before a slur is deleted": (
        HEAD + "ABcd eT(fg)a|ABcd efga|]\n", HEAD + "ABcd e(fg)a|ABcd efga|]\n",
        "misplaced-decoration"),
    "a Q: that is no tempo is dropped": (
        "X:1\nT:A\nM:4/4\nL:1/8\nQ:Q/1/8e40\nK:G\nABcd efga|ABcd efga|]\n",
        "X:1\nT:A\nM:4/4\nL:1/8\nK:G\nABcd efga|ABcd efga|]\n", "invalid-tempo"),
    "endings after an earlier :| get their |:": (
        HEAD + "ABcd efga|ABcd efga:|\nabcd efga|[1 abcd efga:|[2 abcd efg2|]\n",
        HEAD + "|:ABcd efga|ABcd efga::\nabcd efga|[1 abcd efga:|[2 abcd efg2|]\n",
        "unopened-repeat"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_each_repair_kind_gives_the_expected_text(name):
    broken, expected, kind = CASES[name]
    text, kinds = repaired(broken)
    assert text == expected
    assert kind in kinds


def test_missing_title_comes_from_the_title_writer_given_the_header_up_to_t():
    prompts = []

    def writer(prompt: str) -> str:
        prompts.append(prompt)
        return "  The Humours of Testing\nsecond line ignored"

    text, kinds = repaired("X:3\nM:6/8\nK:G\nGAB c2d|]\n", title_writer=writer)
    assert prompts == ["X:3\nT:"]
    assert text.startswith("X:3\nT:The Humours of Testing\nM:6/8\n")
    assert kinds == ["missing-title"]


@pytest.mark.parametrize("writer", [None, lambda prompt: "", lambda prompt: 1 / 0])
def test_without_a_usable_title_writer_the_title_comes_from_the_content(writer):
    text, _ = repaired("X:1\nT:\nM:6/8\nK:G\nGAB c2d|]\n", title_writer=writer)
    title = read_tunes(text)[0].title
    assert title and "untitled" not in title.lower()
    assert title.endswith("Jig")  # 6/8 with no R:
    assert repaired("X:1\nT:\nM:6/8\nK:G\nGAB c2d|]\n")[0] == text  # as with no writer


def test_a_tune_with_no_notes_fails_with_its_reason():
    result = repair_tune(read_tunes("X:1\nT:A\nM:4/4\nK:D\n|]\n")[0])
    assert result.status == "failed"
    assert "no-notes" in result.reason


def test_a_huge_tune_fails_at_once_without_hanging():
    tune = read_tunes(HEAD + "ABcd efga|" * 100_000 + "\n")[0]
    result = repair_tune(tune)
    assert result.status == "failed"
    assert "characters" in result.reason


def test_clean_tunes_are_left_byte_for_byte():
    text = (FIXTURES / "folk.abc").read_text()
    report = repair_text(text)
    assert report.count("clean") == len(report.tunes)
    for tune_text in report.text.strip("\n").split("\n\n"):
        assert tune_text.split("\n", 1)[1] in text  # all but the X: line, verbatim


BROKEN_BOOK = "".join(f"X:{x}\n{body}\n" for x, body in (
    (5, "T:One\nM:4/4\nL:1/8\nK:D\n|:ABcd efgab|ABcd e#fg|\n"),
    (5, "T:One\nM:6/8\nK:G\nGAB c2d|e2d (3cBA|\n"),
    (7, "M:3/4\nK:Am\nA2 B2 c2|d2 c2 B|A6|]\n"),
    (8, "T:Empty\nM:4/4\nK:D\n|]\n"),
))


def test_a_book_is_renumbered_titled_uniquely_and_reports_failures():
    report = repair_text(BROKEN_BOOK, title_writer=lambda prompt: "One")
    tunes = read_tunes(report.text)
    assert [t.x for t in tunes] == ["1", "2", "3"]
    assert [t.title for t in tunes] == ["One", "One (2)", "One (3)"]
    assert not [i for i in check_text(report.text) if i.severity == "error"]
    assert [t.status for t in report.tunes] == ["repaired", "repaired", "repaired", "failed"]
    assert "no-notes" in report.tunes[3].reason


def test_repair_is_idempotent():
    first = repair_text(BROKEN_BOOK).text
    second = repair_text(first)
    assert second.text == first
    assert second.count("clean") == len(second.tunes)


def test_repair_samples_summarises_for_generate():
    samples = ["X:1\nT:\nM:6/8\nK:G\nGAB c2d|e2d cBA|\n", "X:1\nT:Two\nM:6/8\nK:G\nGAB c2d|]\n",
               "garbage with no tune", "X:1\nT:Three\nK:G\n|]\n"]
    text, summary = repair_samples(samples, title_writer=None)
    assert [t.x for t in read_tunes(text)] == ["1", "2"]
    assert summary["asked"] == 4 and summary["written"] == 2
    assert summary["repaired"] == 1 and summary["clean"] == 1
    assert summary["repairs_by_kind"]["empty-title"] == 1
    assert [f["sample"] for f in summary["failures"]] == [2, 3]


def test_cli_repairs_writes_a_report_and_exits_1_when_a_tune_fails(cli, tmp_path):
    source = tmp_path / "book.abc"
    source.write_text(BROKEN_BOOK)
    out, report = tmp_path / "out.abc", tmp_path / "report.json"
    result = cli("repair", source, "-o", out, "--report", report)
    assert result.exit_code == 1
    assert cli("check", out).exit_code == 0
    entries = json.loads(report.read_text())["results"]
    assert entries[0]["edits"] and entries[0]["edits"][0]["kind"]
    assert entries[3]["status"] == "failed"


def test_cli_exit_codes_for_valid_and_unreadable_input(cli, tmp_path):
    good = tmp_path / "good.abc"
    good.write_text(HEAD + "ABcd efga|]\n")
    result = cli("repair", good)
    assert result.exit_code == 0
    assert result.stdout.startswith(HEAD)
    binary = tmp_path / "binary.abc"
    binary.write_bytes(bytes(range(256)) * 8)
    assert cli("repair", binary).exit_code == 2
    assert cli("repair", tmp_path / "missing.abc").exit_code == 2
    empty = tmp_path / "empty.abc"
    empty.write_text("")
    assert cli("repair", empty).exit_code == 1


def test_cli_output_dash_is_stdout(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "good.abc").write_text(HEAD + "ABcd efga|]\n")
    result = cli("repair", "good.abc", "-o", "-")
    assert result.exit_code == 0 and result.stdout.startswith(HEAD)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.abc"]


# -- property tests: mutations of real tunes --------------------------------------------------

def _seed_tunes() -> list[str]:
    texts = []
    for path in sorted(FIXTURES.glob("*.abc")):
        for tune in read_tunes(read_abc(path)):
            if tune.get("K") and not [i for i in check_tune(tune) if i.severity == "error"]:
                texts.append(dumps(tune))
    return texts


SEEDS = _seed_tunes()
MUTATIONS = ("delete", "duplicate", "bar", "header", "swap", "truncate")


def mutate(text: str, kind: str, at: int, extra: int) -> str:
    """One random damage to a tune's text (`at`, `extra` pick where and what)."""
    lines = text.split("\n")
    pos = at % max(1, len(text))
    if kind == "delete":
        return text[:pos] + text[pos + 1 + extra % 3:]
    if kind == "duplicate":
        return text[:pos] + text[pos:pos + 1 + extra % 4] + text[pos:]
    if kind == "bar":
        return text[:pos] + ("|", ":|", "|:", "|1", "[2", "|]")[extra % 6] + text[pos:]
    if kind == "header":
        index = at % max(1, len(lines) - 1)
        return "\n".join(lines[:index] + lines[index + 1:])
    if kind == "swap":
        return text[:pos] + text[pos + 1:pos + 2] + text[pos:pos + 1] + text[pos + 2:]
    return text[:pos]


# Mutated tunes the read-back test repairs and cleans (about 15 s; the first run over
# 15,000 found the two cases below in the open collections).
MUTATED_TUNES, MUTATION_SEED = 2000, 18


def mutated_tunes(count: int, seed: int) -> Iterator[Tune]:
    """The tunes a reader finds in `count` damaged copies of the fixtures' valid tunes (one
    to three mutations each, seeded)."""
    rng = random.Random(seed)
    for _ in range(count):
        text = rng.choice(SEEDS)
        for number in range(rng.randint(1, 3)):
            text = mutate(text, rng.choice(MUTATIONS), rng.randrange(5000),
                          rng.randrange(50) + number)
        yield from read_tunes(text)


def errors(tune: Tune) -> list:
    return [issue for issue in check_tune(tune) if issue.severity == "error"]


def test_what_repair_and_clean_write_reads_back_as_the_tune_they_judged():
    """A tune repair passes is the one tune a reader finds in its text, valid, and repair
    leaves it alone; a cleaned tune's text reads back as that tune."""
    for tune in mutated_tunes(MUTATED_TUNES, MUTATION_SEED):
        result = repair_tune(tune)
        if result.ok:
            (back,) = read_back(result.tune)
            assert not errors(back), dumps(result.tune)
            assert repair_tune(back).status == "clean"
        else:
            assert result.reason
        cleaned = clean_tune(tune)
        if cleaned.get("K") is not None:  # the corpus keeps no tune without a key
            assert [dumps(t) for t in read_back(cleaned)] == [dumps(cleaned)]


def test_a_repair_whose_text_reads_back_as_two_tunes_fails():
    """Deleting `D"a2f` leaves `X:|`, a line that starts a new tune, and the first one loses
    its closing repeat: the repair judged its own tune, a reader reads the text."""
    text = 'X:1\nT:t\nM:6/8\nL:1/8\nK:D\n|:d2f e2c|\nXD"a2f:|\n'
    result = repair_tune(read_tunes(text)[0])
    assert result.status == "failed" and "reads back as 2 tunes" in result.reason


def test_cleaning_keeps_the_space_that_makes_a_line_music_not_a_field():
    text = "X:1\nT:t\nM:4/4\nL:1/8\nK:D\nabcd abcd|\n X:|abcd abcd|\n"
    (back,) = read_back(clean_tune(read_tunes(text)[0]))
    assert [line.text for line in back.body] == ["abcd abcd|", " X:|abcd abcd|]"]
