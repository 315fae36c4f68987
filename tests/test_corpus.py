"""`abcgen corpus build`: sources, cleaning, rejections, deduplication, splits, determinism, CLI."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from abcgen.cli.app import _register, app
from abcgen.corpus import (
    BAD_CHARACTER_CODE,
    BAR_LENGTH_CODE,
    NO_NOTES_CODE,
    MUSIC21_LICENCE,
    SPLITS,
    UNKNOWN_LICENCE,
    build_corpus,
    licence_of,
    normalised_body,
    resolve_sources,
)
from abcgen.errors import AbcgenError, InputError
from abcgen.notation import CODES, check_tune, dumps, parse_file

# Hand-written tunes; the reel's bars are all 4/4 and the jig's 6/8 (pickup and final bar add up).
JIG = """X:1
T:The Test Jig
C:Trad.
S:written for abcgen's tests
N:a note the model should never see
M:6/8
L:1/8
R:jig
K:D
% a comment line
A|:d2e fed|cBA ABc|d2e fed|e3 e2A|
d2e fed|cBA ABc|dcB AGF|1 E3 D2A:|2 E3 D3|]
"""
REEL = """X:2
T:The Test Reel
M:4/4
L:1/8
K:G
|:GABc dBGB|cBAG FGAF|GABc dBGB|cAFA G4:|
|:g2bg dgbg|afdf afdf|g2bg dgbg|afge d4:|
"""
# The jig again under another title and X: (an exact duplicate of its body).
JIG_AGAIN = JIG.replace("X:1", "X:7").replace("T:The Test Jig", "T:Another Name For It")
# The reel with other spacing and line breaks and a history field: a near duplicate.
REEL_RESPACED = """X:3
T:Reel Respaced
H:collected somewhere
M:4/4
L:1/8
K:G
|: GABc dBGB | cBAG FGAF | GABc dBGB | cAFA G4 :|
|: g2bg dgbg | afdf afdf |
g2bg dgbg | afge d4 :|
"""
NO_KEY = """X:4
T:Headless
M:3/4
L:1/8
"""
WALTZ_LATIN1 = """X:5
T:Valse du Café
M:3/4
L:1/8
K:A
E2|A2 c2 e2|a4 gf|e2 c2 A2|B4 E2|A2 c2 e2|a4 ag|f2 d2 B2|A4|]
"""
BAD_BARS = """X:6
T:Wrong Lengths Everywhere
M:4/4
L:1/8
K:C
CDEF GABc|CDE GABc|CDEF GAc|CDEF GABcd|CD GABc|CDEF GABc|CDEF G|]
"""
STRAY_LETTERS = """X:9
T:Stray Characters
M:2/4
L:1/8
K:D
#D2 #C2|DEFG|ABcd|#d4|]
"""
TINY = """X:8
T:Tiny
M:4/4
L:1/4
K:C
C4|]
"""


def _write_sources(root: Path) -> Path:
    """A folder of tunebooks: nested folders, a Latin-1 file, a binary file, a non-ABC file."""
    (root / "nested" / "deeper").mkdir(parents=True)
    (root / "book.abc").write_text("\n".join([JIG, REEL, JIG_AGAIN]), encoding="utf-8")
    more = [REEL_RESPACED, NO_KEY, BAD_BARS, STRAY_LETTERS, TINY]
    (root / "nested" / "more.abc").write_text("\n".join(more))
    (root / "nested" / "deeper" / "latin1.abc").write_bytes(WALTZ_LATIN1.encode("latin-1"))
    (root / "nested" / "noise.abc").write_bytes(bytes(range(256)) * 8)
    (root / "readme.txt").write_text(REEL.replace("Test Reel", "Not Read"))
    return root


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    return _write_sources(tmp_path / "sources")


def _read_splits(out: Path) -> dict[str, list]:
    books = {}
    for name in SPLITS:
        tunes, failures = parse_file(out / f"{name}.abc")
        assert failures == []
        books[name] = tunes
    return books


def test_build_keeps_clean_distinct_tunes_and_says_why_others_went(sources, tmp_path):
    out = tmp_path / "corpus"
    stats = build_corpus([str(sources)], out, min_chars=60)

    books = _read_splits(out)
    titles = sorted(t.title for book in books.values() for t in book)
    assert titles == ["Stray Characters", "The Test Jig", "The Test Reel", "Valse du Café"]
    assert stats.kept == 4 and stats.duplicates == 2
    assert (stats.kept_as_written, stats.kept_after_repair) == (3, 1)
    assert stats.repairs == {"bad-character": 1}
    assert any("book.abc X:7 repeats" in line for line in stats.examples["duplicates"])
    assert stats.rejected == {"unreadable": 1, "no_key": 1, "repair_too_large": 1,
                              "too_short": 1}
    assert "rewrites 4 of 7 bars" in stats.examples["repair_too_large"][0]
    saved = json.loads((out / "stats.json").read_text())
    assert saved["kept"] == 4 and saved["rejected"] == stats.rejected
    assert saved["sources"][str(sources)]["files"] == 4
    assert {name: saved["splits"][name]["tunes"] for name in SPLITS} == \
        {name: len(books[name]) for name in SPLITS}
    assert sum(saved["splits"][name]["chars"] for name in SPLITS) == \
        sum(len((out / f"{name}.abc").read_text()) for name in SPLITS)


def test_cleaned_tunes_carry_only_music_and_are_numbered_per_file(sources, tmp_path):
    out = tmp_path / "corpus"
    build_corpus([str(sources)], out, min_chars=60, split=(1, 1, 1))
    for name, tunes in _read_splits(out).items():
        assert [t.x for t in tunes] == [str(n) for n in range(1, len(tunes) + 1)]
        for tune in tunes:
            assert tune.header[0].name == "X" and tune.header[-1].name == "K"
        text = (out / f"{name}.abc").read_text()
        for gone in ("Trad.", "written for", "a note the model", "a comment line", "collected"):
            assert gone not in text
        assert "\n\n\n" not in text and not text.startswith("\n")
        assert text.count("\n\nX:") == max(len(tunes) - 1, 0)


def test_no_duplicate_crosses_splits(sources, tmp_path):
    out = tmp_path / "corpus"
    build_corpus([str(sources)], out, min_chars=60, split=(1, 1, 1))
    bodies = [normalised_body(t) for tunes in _read_splits(out).values() for t in tunes]
    assert len(bodies) == len(set(bodies)) == 4


def test_same_input_gives_byte_identical_output(sources, tmp_path):
    # The second build runs in a fresh process, so nothing may hang on Python's per-process
    # string hashing or on the order of a set.
    first, second = tmp_path / "a", tmp_path / "b"
    build_corpus([str(sources)], first, min_chars=60, seed=3)
    subprocess.run([sys.executable, "-m", "abcgen", "corpus", "build", str(sources), "--out",
                    str(second), "--min-chars", "60", "--seed", "3"], check=True,
                   capture_output=True)
    for name in [*SPLITS, "stats"]:
        suffix = ".json" if name == "stats" else ".abc"
        assert (first / f"{name}{suffix}").read_bytes() == (second / f"{name}{suffix}").read_bytes()


def test_adding_a_source_keeps_each_tune_in_its_split(sources, tmp_path):
    extra = tmp_path / "extra.abc"
    extra.write_text(REEL.replace("T:The Test Reel", "T:Reel Two").replace("d4:|", "g4:|"))

    def split_by_title(out: Path) -> dict[str, str]:
        return {t.title: name for name, tunes in _read_splits(out).items() for t in tunes}

    build_corpus([str(sources)], tmp_path / "before", min_chars=60, split=(1, 1, 1))
    build_corpus([str(extra), str(sources)], tmp_path / "after", min_chars=60, split=(1, 1, 1))
    before, after = split_by_title(tmp_path / "before"), split_by_title(tmp_path / "after")
    assert "Reel Two" in after
    assert {title: after[title] for title in before} == before


def test_the_first_of_duplicates_is_kept_in_source_order(sources, tmp_path):
    respaced = tmp_path / "respaced.abc"
    respaced.write_text(REEL_RESPACED)
    build_corpus([str(respaced), str(sources)], tmp_path / "out", min_chars=60)
    titles = {t.title for tunes in _read_splits(tmp_path / "out").values() for t in tunes}
    assert "Reel Respaced" in titles and "The Test Reel" not in titles


def test_length_limits_and_the_repair_bound_are_options(sources, tmp_path):
    stats = build_corpus([str(sources)], tmp_path / "out", min_chars=0, max_chars=10_000,
                         max_repair_share=1.0)
    assert "too_short" not in stats.rejected and "repair_too_large" not in stats.rejected
    assert stats.kept == 6 and stats.repairs["bar-length"] == 1


def test_no_repair_keeps_flagged_tunes_out(sources, tmp_path):
    stats = build_corpus([str(sources)], tmp_path / "out", min_chars=60, max_repair_share=0)
    assert stats.kept_after_repair == 0
    assert stats.rejected["not_abc"] == 1 and stats.rejected["bar_errors"] == 1


def test_a_repaired_tune_is_written_as_repaired_and_reads_back_clean(sources, tmp_path):
    build_corpus([str(sources)], tmp_path / "out", min_chars=60)
    tunes = [t for book in _read_splits(tmp_path / "out").values() for t in book]
    stray = next(t for t in tunes if t.title == "Stray Characters")
    assert "#" not in dumps(stray) and "D2 C2|DEFG|ABcd|d4|]" in dumps(stray)
    assert all(issue.severity != "error" for t in tunes for issue in check_tune(t))


# Titles as O'Neill's, Ryan's and Ceol Rince print them, and the R: each names.
BOOK_TITLES = {
    "Billy Pat:terson's Favorite": ("Billy Patterson's Favorite", ""),
    "BRIDE OF KILDARE -- REEL": ("Bride of Kildare", "reel"),
    "Tinware Lass., The": ("The Tinware Lass", ""),
    "Girls of the County Mayo (reel), The ": ("The Girls of the County Mayo", "reel"),
    "Out With the Boys. 2nd Setting.": ("Out With the Boys", ""),
}


def test_titles_are_normalised_and_a_named_rhythm_moves_into_r(tmp_path):
    book = "\n".join(REEL.replace("X:2", f"X:{n}").replace("The Test Reel", title)
                      .replace("dgbg|afdf", "dgbg|af" + "gab"[n % 3] + "f")
                      .replace("GABc dBGB|cBAG", f"GABc dBGB|cB{'ABG'[n // 3]}G")
                      for n, title in enumerate(BOOK_TITLES))
    (tmp_path / "book.abc").write_text(book)
    build_corpus([str(tmp_path / "book.abc")], tmp_path / "out", split=(1, 0, 0))
    tunes, _ = parse_file(tmp_path / "out" / "train.abc")
    assert {t.title: t.get("R", "") for t in tunes} == dict(BOOK_TITLES.values())


def test_stats_say_where_each_tune_came_from_under_which_licence(sources, tmp_path):
    build_corpus([str(sources), "music21:miscFolk"], tmp_path / "out", min_chars=60)
    saved = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert saved["licences"] == {UNKNOWN_LICENCE: 4,
                                 MUSIC21_LICENCE: saved["kept"] - 4}
    for name in SPLITS:
        assert len(saved["tunes"].get(name, [])) == saved["splits"][name]["tunes"]
    first = saved["tunes"]["train"][0]
    assert set(first) == {"source", "file", "x", "licence"}
    assert licence_of(Path("../shared/corpora/ceol_rince_na_heireann/CRE_clean.abc")) == \
        "CC BY 4.0"


def test_the_title_vocabulary_holds_the_words_of_every_title_read(sources, tmp_path):
    extra = tmp_path / "extra.abc"
    extra.write_text(REEL.replace("The Test Reel", "Humours of Quilty"))
    build_corpus([str(sources)], tmp_path / "out", min_chars=60, title_sources=[str(extra)])
    words = set((tmp_path / "out" / "title_words.txt").read_text().split())
    assert {"test", "jig", "valse", "café", "wrong", "humours", "quilty"} <= words


def test_rejections_use_codes_the_checker_has():
    assert {BAR_LENGTH_CODE, BAD_CHARACTER_CODE, NO_NOTES_CODE} <= CODES.keys()


def test_an_unwritable_output_folder_is_a_user_error(sources, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(AbcgenError, match="a-file"):
        build_corpus([str(sources)], blocker / "corpus", min_chars=60)


def test_missing_source_and_unknown_collection_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="nowhere.abc"):
        build_corpus([str(tmp_path / "nowhere.abc")], tmp_path / "out")
    with pytest.raises(InputError, match="noSuchCollection"):
        resolve_sources(["music21:noSuchCollection"])
    assert not (tmp_path / "out").exists()


def test_music21_default_names_the_folk_collections():
    names = [source.name for source in resolve_sources(["music21"])]
    assert names == ["music21:oneills1850", "music21:ryansMammoth", "music21:airdsAirs",
                     "music21:miscFolk"]


def test_builds_a_music21_collection(tmp_path):
    stats = build_corpus(["music21:miscFolk"], tmp_path / "out")
    assert stats.sources["music21:miscFolk"].files == 2
    assert stats.kept > 100
    assert all(_read_splits(tmp_path / "out")[name] for name in SPLITS)


runner = CliRunner()
_register()


def test_cli_builds_and_reports(sources, tmp_path):
    out = tmp_path / "corpus"
    result = runner.invoke(app, ["corpus", "build", str(sources), "--out", str(out),
                                 "--min-chars", "60"])
    assert result.exit_code == 0, result.output
    assert "kept" in result.stdout and "no_key" in result.stdout
    assert json.loads((out / "stats.json").read_text())["kept"] == 4


def test_cli_missing_source_is_one_red_line_and_exit_2(tmp_path):
    result = runner.invoke(app, ["corpus", "build", str(tmp_path / "missing"), "--out",
                                 str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "missing" in result.stderr and "Traceback" not in result.output


def test_cli_rejects_a_bad_split(sources, tmp_path):
    result = runner.invoke(app, ["corpus", "build", str(sources), "--out", str(tmp_path / "o"),
                                 "--split", "0.9,0.1"])
    assert result.exit_code == 2 and "--split" in result.stderr


# The reel again as some books write it: chord symbols, L:1/4 and lengths in halves, R: in capitals.
REEL_IN_QUARTERS = """X:9
T:The Test Reel in Quarters
M:4/4
L:1/4
R:Reel
K:G
|:"G"G/A/B/c/ "G"d/B/G/B/|"C"c/B/A/G/ "D"F/G/A/F/|"G"G/A/B/c/ d/B/G/B/|"D7"c/A/F/A/ "G"G2:|
|:gb/g/ d/g/b/g/|a/f/d/f/ a/f/d/f/|gb/g/ d/g/b/g/|a/f/g/e/ d2:|
"""


def test_the_corpus_keeps_the_melody_written_in_eighths_unless_told_not_to(tmp_path):
    (tmp_path / "book.abc").write_text(REEL_IN_QUARTERS)
    build_corpus([str(tmp_path / "book.abc")], tmp_path / "out", split=(1, 0, 0))
    (tune,), _ = parse_file(tmp_path / "out" / "train.abc")
    assert dumps(tune).split("\n")[2:] == [
        "M:4/4", "L:1/8", "R:reel", "K:G", "|:GABc dBGB|cBAG FGAF|GABc dBGB|cAFA G4:|",
        "|:g2bg dgbg|afdf afdf|g2bg dgbg|afge d4:|", ""]
    build_corpus([str(tmp_path / "book.abc")], tmp_path / "kept", split=(1, 0, 0),
                 keep_chords=True, keep_unit=True)
    (kept,), _ = parse_file(tmp_path / "kept" / "train.abc")
    assert kept.get("L") == "1/4" and '"D7"c/A/F/A/' in dumps(kept)
