"""`abcgen songbook`: what a user finds in the book folder, with the real tools (abcm2ps,
Ghostscript, FluidSynth, ffmpeg); each test skips with the reason when one is missing."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path

import pytest
from typer.testing import CliRunner

from abcgen.cli.app import _register, app
from abcgen.errors import AbcgenError, InputError
from abcgen.fileio import SLUG_CHARS, inside, slugify, tune_stems
from abcgen.notation.fields import MODE_NAMES
from abcgen.render.audio import NO_FLUIDSYNTH_ENV
from abcgen.songbook import SongbookOptions, make_songbook, parse_book_formats
from abcgen.songbook.pdf import PdfResult
from abcgen.songbook.tunes import MODE_WORDS, read_book

_register()
REPO = Path(__file__).resolve().parents[1]
needs_pdf_tools = pytest.mark.skipif(
    not (shutil.which("abcm2ps") and shutil.which("gs") and shutil.which("pdftotext")),
    reason="abcm2ps, ghostscript and poppler-utils are needed for the PDF")

KESH = """X:1
T:The Kesh
R:jig
M:6/8
L:1/8
K:G
|:GAG GAB|ABA ABd|edd gdd|edB dBA|GAG GAB|ABA ABd|edd gdB|AGF G3:|
"""
# A hostile book: PostScript and file inclusion in the header and body, a path as a title,
# a tune that can't be repaired, one that can, a repeated title and an emoji title.
HOSTILE = KESH + """
X:2
T:../../etc/passwd
%%beginps
/Times-Roman findfont 40 scalefont setfont 100 100 moveto (PWNED) show
%%endps
%%EPS /etc/passwd
R:reel
M:4/4
L:1/8
K:D
%%postscript (PWNED) show
|:d2fd Adfd|d2fd BGBd|d2fd Adfd|BABc dAFA:|

X:3
T:Nothing To Play
M:4/4
K:C
%%text no notes at all

X:4
T:The Kesh
M:6/8
L:1/8
K:G
GAG GABc|ABA ABd|edd gdd|edB dBA|]

X:5
T:\U0001F3BB\U0001F3B5
R:polka
M:2/4
L:1/8
K:A
AB cd|ef ga|]
"""


def _pdf_text(pdf: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(["pdftotext", *pages, str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout


def _files_under(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")
            if p.is_file()}


@pytest.mark.parametrize("title", ["../../etc/passwd", "x" * 5000, "a\x00b\n\r\tc\x1b[31m",
                                   "\U0001F3BB\U0001F3B5", "..", "/", "CON", "Ríl Mhór"])
def test_stems_from_any_title_are_plain_names_inside_the_folder(title, tmp_path):
    stem = tune_stems([title])[0]
    assert re.fullmatch(r"001-[a-z0-9]+(-[a-z0-9]+)*", stem)
    assert len(stem) <= 4 + SLUG_CHARS
    assert inside(tmp_path, f"{stem}.wav").parent == tmp_path


def test_two_tunes_with_one_title_get_distinct_stems():
    stems = tune_stems(["The Kesh", "The Kesh", "the kesh!"])
    assert stems == ["001-the-kesh", "002-the-kesh-2", "003-the-kesh-3"]
    assert slugify("Tom's Jig (No. 2)") == "toms-jig-no-2"


def test_every_mode_notation_reads_is_named_in_the_book(tmp_path):
    keys = ["Edorian", "Bm", "Dion", "F#aeo", "Clyd", "Bloc", "Aphr", "G Mixolydian", "D"]
    book = tmp_path / "modes.abc"
    book.write_text("\n".join(f"X:{n}\nT:T{n}\nM:2/4\nL:1/8\nK:{key}\nABcd|]\n"
                               for n, key in enumerate(keys, start=1)))
    tunes, rejected = read_book(book)
    assert rejected == [] and [t.key for t in tunes] == [
        "E Dorian", "B minor", "D major", "F# minor", "C Lydian", "B Locrian", "A Phrygian",
        "G Mixolydian", "D major"]
    assert set(MODE_WORDS) == set(MODE_NAMES.values())  # a mode notation adds needs a name


def test_inside_refuses_a_name_that_leaves_the_folder(tmp_path):
    with pytest.raises(AbcgenError):
        inside(tmp_path, "../escape.wav")


def test_unknown_formats_and_options_are_input_errors(tmp_path):
    with pytest.raises(InputError, match=r"unknown songbook format\(s\) ogg; choose from pdf,html"):
        parse_book_formats("pdf,ogg")
    assert parse_book_formats(" PDF,html,pdf ") == ("pdf", "html")
    source = tmp_path / "kesh.abc"
    source.write_text(KESH)
    with pytest.raises(InputError):
        make_songbook(source, tmp_path / "book", SongbookOptions(paper="a3"))
    with pytest.raises(InputError):
        make_songbook(tmp_path / "missing.abc", tmp_path / "book")


@pytest.fixture(scope="module")
def hostile_book(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    source = folder / "hostile.abc"
    source.write_text(HOSTILE)
    options = SongbookOptions(title="Session Tunes", formats=("pdf", "html", "mid", "wav"),
                              jobs=1)
    result = make_songbook(source, folder / "book", options)
    return folder, result, json.loads(result.manifest.read_text())


def test_every_tune_is_listed_and_a_bad_one_skipped_with_its_reason(hostile_book):
    _, result, manifest = hostile_book
    by_x = {t["x"]: t for t in manifest["tunes"]}
    assert [t["line"] for t in manifest["tunes"]] == sorted(t["line"] for t in manifest["tunes"])
    assert len(manifest["tunes"]) == 5 and result.tunes == 4
    bad = next(t for t in manifest["tunes"] if t["title"] == "Nothing To Play")
    assert bad["status"] == "failed" and bad["number"] is None and "no notes" in bad["reason"]
    assert [t["status"] for t in manifest["tunes"] if t is not bad] == ["ok"] * 4
    assert "Nothing To Play" in result.report.read_text()
    assert by_x["4"]["repair"] == "repaired" and by_x["4"]["repairs"]
    report = result.report.read_text()
    assert by_x["4"]["repairs"][0]["kind"] in report


def test_files_stay_inside_the_book_folder_and_carry_no_postscript(hostile_book):
    folder, result, manifest = hostile_book
    outside = {p.name for p in folder.iterdir()}
    assert outside == {"hostile.abc", "book"}
    names = sorted(p.name for p in (result.out_dir / "tunes").iterdir())
    assert all(re.fullmatch(r"\d{3}-[a-z0-9-]+\.(abc|mid|wav)", n) for n in names), names
    assert len({n.rsplit(".", 1)[0] for n in names}) == 4
    for abc in (result.out_dir / "tunes").glob("*.abc"):
        text = abc.read_text()
        assert "PWNED" not in text and "%%EPS" not in text and "/etc/passwd\n%%" not in text
    for entry in (t for t in manifest["tunes"] if t["number"]):
        assert all((result.out_dir / "tunes" / name).is_file() for name in entry["files"].values())


@needs_pdf_tools
def test_pdf_has_title_page_tunes_on_their_index_pages_and_both_indexes(hostile_book):
    _, result, manifest = hostile_book
    text = _pdf_text(result.pdf)
    assert "Session Tunes" in _pdf_text(result.pdf, 1)
    assert "PWNED" not in text
    assert "Index of titles" in text and "Index by rhythm" in text
    for entry in (t for t in manifest["tunes"] if t["number"]):
        page_text = _pdf_text(result.pdf, entry["page"])
        assert f"{entry['number']}." in page_text, entry
        assert entry["key"] in page_text and entry["meter"] in page_text
    kesh = manifest["tunes"][0]
    assert "Jig · G major · 6/8" in _pdf_text(result.pdf, kesh["page"])
    index_text = _pdf_text(result.pdf, manifest["pdf"]["pages"] - 1)
    assert re.search(r"The Kesh \(no. 1\)[ .]+" + str(kesh["page"]), index_text)


def test_html_links_existing_files_and_embeds_every_tune(hostile_book):
    _, result, manifest = hostile_book
    page = result.html.read_text()
    for entry in (t for t in manifest["tunes"] if t["number"]):
        assert f'id="tune-{entry["number"]}"' in page
        for name in entry["files"].values():
            assert f'tunes/{name}"' in page
    assert "PWNED" not in page and "<script>" not in page.split("songbook-tunes")[1][:5]
    assert (result.out_dir / "assets" / "songbook.js").is_file()


def test_rerun_skips_up_to_date_tunes_and_redoes_a_missing_file(tmp_path):
    source = tmp_path / "two.abc"
    source.write_text(HOSTILE)
    options = SongbookOptions(formats=("html", "mid", "wav"), jobs=1)
    first = make_songbook(source, tmp_path / "book", options)
    tunes = tmp_path / "book" / "tunes"
    before = _files_under(tunes)
    again = make_songbook(source, tmp_path / "book", options)
    assert (first.rendered, again.rendered, again.up_to_date) == (4, 0, 4)
    assert _files_under(tunes) == before
    next(tunes.glob("002-*.wav")).unlink()
    source.write_text(HOSTILE.replace("AGF G3:|", "AGF G2A:|"))  # the first tune changes
    third = make_songbook(source, tmp_path / "book", options)
    assert (third.rendered, third.up_to_date) == (2, 2)
    assert next(tunes.glob("002-*.wav")).is_file()


def test_without_the_pdf_tools_the_pdf_is_off_with_a_warning(tmp_path, monkeypatch):
    source = tmp_path / "kesh.abc"
    source.write_text(KESH)
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    result = make_songbook(source, tmp_path / "book", SongbookOptions(formats=("pdf", "html")))
    assert result.pdf is None and result.html.is_file()
    assert any("abcm2ps" in w for w in result.warnings)
    assert json.loads(result.manifest.read_text())["pdf"]["status"] == "skipped"


def test_a_pdf_that_failed_is_a_warning_like_one_that_is_off():
    assert PdfResult("error", error="abcm2ps failed (exit 3): x").warning == (
        "PDF failed: abcm2ps failed (exit 3): x")
    assert PdfResult("skipped", error="PDF off: gs not installed").warning == (
        "PDF off: gs not installed")
    assert PdfResult("ok").warning is None and PdfResult("off").warning is None


def test_audio_without_fluidsynth_comes_with_a_warning(tmp_path, monkeypatch):
    source = tmp_path / "kesh.abc"
    source.write_text(KESH)
    monkeypatch.setenv(NO_FLUIDSYNTH_ENV, "1")  # as on a machine without FluidSynth
    heard = make_songbook(source, tmp_path / "book", SongbookOptions(formats=("wav",), jobs=1))
    assert any("FluidSynth is off" in w for w in heard.warnings)
    assert heard.warnings == json.loads(heard.manifest.read_text())["warnings"]
    midi = make_songbook(source, tmp_path / "midi", SongbookOptions(formats=("mid",), jobs=1))
    assert midi.warnings == []


def test_cli_reports_bad_options_without_a_traceback(tmp_path):
    source = tmp_path / "kesh.abc"
    source.write_text(KESH)
    runner = CliRunner()
    bad_paper = runner.invoke(app, ["songbook", str(source), "--out", str(tmp_path / "b"),
                                    "--paper", "a3"])
    assert bad_paper.exit_code == 2 and "a3" in bad_paper.output
    missing = runner.invoke(app, ["songbook", str(tmp_path / "nope.abc"), "--out", "x"])
    assert missing.exit_code == 2 and "nope.abc" in missing.output
    assert "Traceback" not in bad_paper.output + missing.output


def _book_of(count: int) -> str:
    return "\n".join(KESH.replace("X:1", f"X:{n}").replace("The Kesh", f"Kesh {n}")
                     for n in range(1, count + 1))


def _wav_is_whole(path: Path) -> bool:
    with wave.open(str(path)) as audio:
        frames = audio.getnframes() * audio.getnchannels() * audio.getsampwidth()
    return frames > 0 and path.stat().st_size >= frames + 44


@pytest.mark.slow
def test_a_book_killed_mid_run_is_finished_by_a_rerun(tmp_path):
    source = tmp_path / "many.abc"
    source.write_text(_book_of(20))
    out = tmp_path / "book"
    command = [sys.executable, "-m", "abcgen", "songbook", str(source), "--out", str(out),
               "--formats", "mid,wav", "--jobs", "2"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 60
    while len(list((out / ".songbook").glob("*.json"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the CLI and its workers, mid-book
    process.wait()
    for wav in (out / "tunes").glob("*.wav"):  # final names hold whole files only
        assert _wav_is_whole(wav), wav
    finished = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert [t["status"] for t in manifest["tunes"]] == ["ok"] * 20
    assert 2 <= sum(t["up_to_date"] for t in manifest["tunes"]) < 20
    assert not list(out.rglob("*.tmp"))


def test_cli_exits_1_when_no_tune_makes_it_into_the_book(tmp_path):
    source = tmp_path / "empty.abc"
    source.write_text("X:1\nT:Nothing To Play\nM:4/4\nK:C\n")
    out = tmp_path / "book"
    result = CliRunner().invoke(app, ["songbook", str(source), "--out", str(out),
                                      "--formats", "html", "--jobs", "1"])
    assert result.exit_code == 1, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tunes"][0]["status"] == "failed"
    assert "Nothing To Play" in result.output


@needs_pdf_tools
def test_tunes_are_not_split_across_pages_and_letter_paper_is_letter(tmp_path):
    source = tmp_path / "many.abc"
    long_kesh = KESH.replace("AGF G3:|", "AGF G3:|\n" + "|:GAG GAB|ABA ABd|edd gdd|edB dBA:|\n" * 3)
    source.write_text("\n".join(long_kesh.replace("X:1", f"X:{n}") for n in range(1, 9)))
    result = make_songbook(source, tmp_path / "book",
                           SongbookOptions(paper="letter", formats=("pdf",), jobs=1))
    postscript = (tmp_path / "book" / ".songbook" / "tunes.ps").read_text(encoding="latin-1")
    tunes = re.split(r"^% --- xref \d+$", postscript, flags=re.M)[1:]
    assert len(tunes) == 8
    # A page break may come at the end of a tune (before the next one), never amid its notes
    # (abcm2ps draws note heads with `hd`).
    after_breaks = [tune.split("%%Page:", 1)[1] for tune in tunes if "%%Page:" in tune]
    assert after_breaks and not any(re.search(r"\bhd\b", rest) for rest in after_breaks)
    pages = [t["page"] for t in json.loads(result.manifest.read_text())["tunes"]]
    assert pages == sorted(pages) and pages[-1] > pages[0] > 1
    info = subprocess.run(["pdfinfo", str(result.pdf)], capture_output=True, text=True).stdout
    assert "612 x 792" in info
