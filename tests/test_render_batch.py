"""`render_file` and `abcgen render`: files per tune, a manifest with one entry per tune, and
one bad tune never stopping the others."""

import gc
import json
import wave

import pytest
from typer.testing import CliRunner

from abcgen.cli.app import _register, app
from abcgen.errors import InputError
from abcgen.render.audio import NO_FLUIDSYNTH_ENV, TAIL_SECONDS
from abcgen.render.batch import RenderOptions, parse_formats, render_file
from abcgen.render.midi import MidiOptions

BOOK = """X:1
T:The Short Jig
R:jig
M:6/8
L:1/8
Q:3/8=120
K:G
"G"GAG GAB|"D"ABA ABd|"G"edd gdd|"D"BAG "G"G3|]

X:2
T:Bad Key
M:4/4
L:1/8
K:Xyzzy
ABcd efga|

X:3
T:Endless Drone
M:4/4
L:1/1
Q:1/4=60
K:D
D64|D64|D64|D64|

X:4
T:Café Reel
R:reel
M:4/4
L:1/8
K:D
|:DFAF dFAF|1 GBdB AFED:|2 GBdB AFD2|]
"""


@pytest.fixture
def book(tmp_path):
    path = tmp_path / "book.abc"
    path.write_text(BOOK, encoding="utf-8")
    return path


def test_manifest_has_one_entry_per_tune_and_bad_tunes_do_not_stop_the_rest(book, tmp_path,
                                                                          monkeypatch):
    monkeypatch.setenv(NO_FLUIDSYNTH_ENV, "1")  # sine audio: fast, and shows the warning
    out = tmp_path / "out"
    manifest = render_file(book, out, RenderOptions(formats=("mid", "wav")))
    assert json.loads((out / "manifest.json").read_text()) == manifest
    entries = manifest["tunes"]
    assert [(e["x"], e["status"]) for e in entries] == [("1", "ok"), ("2", "error"),
                                                        ("3", "error"), ("4", "ok")]
    jig, bad_key, drone, reel = entries
    assert jig["files"] == {"mid": "001-the-short-jig.mid", "wav": "001-the-short-jig.wav"}
    assert jig["seconds"] == pytest.approx(4 * 6 / 2 * 60 / 180)  # 4 bars of 6/8 at 180 qpm
    assert reel["files"]["mid"] == "003-cafe-reel.mid"
    assert reel["seconds"] == pytest.approx(16 * 60 / 200)  # A [1 A [2: 4 bars at R:reel 200
    with wave.open(str(out / jig["files"]["wav"])) as wav:
        assert wav.getnframes() / wav.getframerate() == pytest.approx(
            jig["seconds"] + TAIL_SECONDS, rel=0.01)
    assert "Xyzzy" in bad_key["error"] and bad_key["files"] == {}
    assert "15-minute" in drone["error"] and "X:3" in drone["error"] and drone["files"] == {}
    assert any(NO_FLUIDSYNTH_ENV in w for w in manifest["warnings"])
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["manifest.json", *jig["files"].values(), *reel["files"].values()])


def test_midi_only_with_options_is_recorded(book, tmp_path):
    out = tmp_path / "out"
    options = RenderOptions(formats=("mid",), midi=MidiOptions(instrument="flute", plain=True))
    manifest = render_file(book, out, options)
    assert manifest["options"]["instrument"] == "flute" and manifest["options"]["plain"]
    assert manifest["warnings"] == []
    assert all(set(e["files"]) == {"mid"} for e in manifest["tunes"] if e["status"] == "ok")


def test_jobs_render_the_same_manifest_in_worker_processes(book, tmp_path):
    one = render_file(book, tmp_path / "one", RenderOptions(formats=("mid",)))
    two = render_file(book, tmp_path / "two", RenderOptions(formats=("mid",), jobs=2))
    assert one["tunes"] == two["tunes"]
    for entry in one["tunes"]:
        for name in entry["files"].values():
            assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


@pytest.mark.parametrize("enabled", [True, False])
def test_the_garbage_collector_is_paused_for_a_batch_and_restored(book, tmp_path, enabled):
    collecting = []
    gc_was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        render_file(book, tmp_path / "out", RenderOptions(formats=("mid",)),
                    progress=lambda *_: collecting.append(gc.isenabled()))
        assert collecting and not any(collecting)
        assert gc.isenabled() == enabled
    finally:
        (gc.enable if gc_was else gc.disable)()


def test_formats():
    assert parse_formats("MID, wav,mp3,wav") == ("mid", "wav", "mp3")
    with pytest.raises(InputError, match="aiff"):
        parse_formats("mid,aiff")


def test_files_are_named_by_the_songbooks_rule(tmp_path):
    tune = "X:{x}\nT:{title}\nM:2/4\nL:1/8\nK:D\nABcd|\n"
    book = tmp_path / "book.abc"
    book.write_text("\n".join(tune.format(x=x, title=title) for x, title in
                               enumerate(["The Kesh (Jig)", "The Kesh (Jig)", "???"], start=1)))
    manifest = render_file(book, tmp_path / "out", RenderOptions(formats=("mid",)))
    assert [e["files"]["mid"] for e in manifest["tunes"]] == [
        "001-the-kesh-jig.mid", "002-the-kesh-jig-2.mid", "003-untitled.mid"]


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="nothing.abc"):
        render_file(tmp_path / "nothing.abc", tmp_path / "out")


runner = CliRunner()
_register()


def test_cli_render_writes_files_and_reports_failures(book, tmp_path):
    out = tmp_path / "cli"
    result = runner.invoke(app, ["render", str(book), "--out", str(out), "--formats", "mid",
                                 "--instrument", "fiddle", "--transpose", "2"])
    assert result.exit_code == 0, result.output
    assert "rendered 2 of 4 tunes" in result.output
    assert "Xyzzy" in result.output and "15-minute" in result.output
    assert (out / "001-the-short-jig.mid").is_file()


@pytest.mark.parametrize("args, message", [
    (["--formats", "mid,aiff"], "aiff"),
    (["--instrument", "theremin"], "unknown instrument"),
    (["--program", "300"], "outside 0-127"),
    (["--tempo", "5000"], "outside 1-1000"),
    (["--soundfont", "/no/such.sf2", "--formats", "wav"], "such.sf2"),
])
def test_cli_bad_options_fail_cleanly(book, tmp_path, args, message):
    result = runner.invoke(app, ["render", str(book), "--out", str(tmp_path / "o"), *args])
    assert result.exit_code in (1, 2) and message in result.output
    assert "Traceback" not in result.output
