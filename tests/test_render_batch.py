"""`render_file` and `abcgen render`: files per tune, a manifest with one entry per tune, and
one bad tune never stopping the others."""

import gc
import json
import os
import subprocess
import sys
import threading
import wave
from pathlib import Path

import pytest
from typer.testing import CliRunner

from abcgen.cli.app import _register, app
from abcgen.errors import InputError
from abcgen.render.audio import NO_FLUIDSYNTH_ENV, TAIL_SECONDS
from abcgen.render.batch import (
    MAX_AUTO_JOBS,
    MIDI_TUNES_PER_JOB,
    RenderOptions,
    parse_formats,
    render_file,
    worker_count,
)
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
    assert [e["title"] for e in entries] == ["The Short Jig", "Bad Key", "Endless Drone",
                                             "Café Reel"]
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


def _same_files(one: dict, one_dir, two: dict, two_dir) -> None:
    assert one["tunes"] == two["tunes"]
    for entry in one["tunes"]:
        for name in entry["files"].values():
            assert (one_dir / name).read_bytes() == (two_dir / name).read_bytes()


def _in_a_thread(action):
    """`action()` run in a second thread: render_file then spawns its workers, as in the web
    app, where forking beside other threads is unsafe."""
    results = []
    thread = threading.Thread(target=lambda: results.append(action()))
    thread.start()
    thread.join()
    return results[0]


def test_jobs_render_the_same_files_in_spawned_worker_processes(book, tmp_path, monkeypatch):
    monkeypatch.setenv(NO_FLUIDSYNTH_ENV, "1")  # sine audio: fast, the same in every process
    formats = ("mid", "wav")
    one = render_file(book, tmp_path / "one", RenderOptions(formats=formats, jobs=1))
    two = _in_a_thread(lambda: render_file(book, tmp_path / "two",
                                           RenderOptions(formats=formats, jobs=2)))
    _same_files(one, tmp_path / "one", two, tmp_path / "two")
    made = sorted(name for entry in two["tunes"] for name in entry["files"].values())
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == sorted(["manifest.json", *made])


def test_a_file_that_cannot_be_written_stops_the_batch_and_leaves_no_temporaries(book,
                                                                                 tmp_path):
    out = tmp_path / "out"
    (out / "003-cafe-reel.mid").mkdir(parents=True)  # a folder holds the reel's file name
    with pytest.raises(OSError):
        render_file(book, out, RenderOptions(formats=("mid",), jobs=2))
    assert sorted(p.name for p in out.iterdir()) == ["001-the-short-jig.mid", "003-cafe-reel.mid"]


def test_the_command_renders_the_same_files_in_forked_worker_processes(book, tmp_path):
    """`abcgen render` runs one thread, so its workers are forked: each parses its share of
    the book, the parent numbers and writes the files in order."""
    text = "\n".join(BOOK for _ in range(3))  # 12 tunes: some parse, some fail, in 2 workers
    (tmp_path / "big.abc").write_text(text, encoding="utf-8")
    one = render_file(tmp_path / "big.abc", tmp_path / "one", RenderOptions(formats=("mid",),
                                                                            jobs=1))
    command = [str(Path(sys.executable).with_name("abcgen")), "render", str(tmp_path / "big.abc"),
               "--out", str(tmp_path / "two"), "--formats", "mid", "--jobs", "2"]
    subprocess.run(command, capture_output=True, check=True)
    two = json.loads((tmp_path / "two" / "manifest.json").read_text(encoding="utf-8"))
    _same_files(one, tmp_path / "one", two, tmp_path / "two")
    assert [e["files"].get("mid") for e in two["tunes"]][4:8] == [
        "004-the-short-jig-2.mid", None, None, "006-cafe-reel-2.mid"]  # the drone takes 005


def test_progress_follows_the_book_order(book, tmp_path):
    seen = []
    manifest = render_file(book, tmp_path / "out", RenderOptions(formats=("mid",), jobs=2),
                           progress=lambda entry, done, total: seen.append((entry["x"], done,
                                                                             total)))
    assert seen == [(e["x"], done, 4) for done, e in enumerate(manifest["tunes"], start=1)]


def test_unset_jobs_use_the_cpus_but_spare_small_books():
    midi = RenderOptions(formats=("mid",), jobs=None)
    audio = RenderOptions(formats=("mid", "wav"), jobs=None)
    cpus = min(len(os.sched_getaffinity(0)), MAX_AUTO_JOBS)
    assert worker_count(midi, MIDI_TUNES_PER_JOB - 1) == 1  # not worth a process
    assert worker_count(midi, 10_000) == cpus
    assert worker_count(audio, 1) == 1 and worker_count(audio, 50) == cpus
    assert worker_count(RenderOptions(jobs=8), 3) == 3
    assert worker_count(RenderOptions(), 10_000) == 1  # the library's default: this process


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


# Exit 2 for what typer or the input check refuses, 1 for what the renderer refuses.
@pytest.mark.parametrize("args, message, code", [
    (["--formats", "mid,aiff"], "aiff", 2),
    (["--instrument", "theremin"], "unknown instrument", 1),
    (["--program", "300"], "outside 0-127", 1),
    (["--tempo", "5000"], "outside 1-1000", 1),
    (["--soundfont", "/no/such.sf2", "--formats", "wav"], "such.sf2", 2),
    (["--jobs", "0"], "at least 1", 2),
])
def test_cli_bad_options_fail_cleanly(book, tmp_path, args, message, code):
    result = runner.invoke(app, ["render", str(book), "--out", str(tmp_path / "o"), *args])
    assert result.exit_code == code and message in result.output
    assert "Traceback" not in result.output
