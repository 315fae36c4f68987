"""Every command that writes: an output it can't write is one line naming the path and why,
exit 1, and no half-written file left behind."""

import errno
import os

import pytest

from abcgen import fileio

BOOK = ("X:1\nT:One\nM:4/4\nL:1/8\nK:G\nGABc dedB|dBAG A4|]\n\n"
        "X:2\nT:Two\nM:3/4\nL:1/8\nK:D\nA2 B2 c2|d6|]\n")


@pytest.fixture
def book(tmp_path):
    path = tmp_path / "book.abc"
    path.write_text(BOOK)
    return path


@pytest.fixture
def blocker(tmp_path):
    """A file where an output folder should be."""
    path = tmp_path / "a-file"
    path.write_text("")
    return path


def one_line_error(result, *fragments: str) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_render_into_a_file_in_the_way(cli, book, blocker):
    one_line_error(cli("render", book, "--out", blocker / "out", "--formats", "mid"),
                   str(blocker / "out"), "in the way")


def test_render_into_a_folder_that_cant_be_made(cli, book):
    one_line_error(cli("render", book, "--out", "/proc/x", "--formats", "mid"), "/proc/x")


def test_repair_into_a_file_in_the_way(cli, book, blocker):
    one_line_error(cli("repair", book, "-o", blocker / "y.abc"), str(blocker / "y.abc"))
    one_line_error(cli("repair", book, "-o", "/proc/x/y.abc"), "/proc/x/y.abc")
    one_line_error(cli("repair", book, "-o", blocker.parent / "ok.abc", "--report",
                       blocker / "r.json"), str(blocker / "r.json"))


def test_repair_on_a_full_disk_leaves_no_half_written_file(cli, book, tmp_path, monkeypatch):
    def full(fd):  # a full disk shows when the data reaches it
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    out = tmp_path / "out" / "repaired.abc"
    out.parent.mkdir()
    monkeypatch.setattr(fileio.os, "fsync", full)
    one_line_error(cli("repair", book, "-o", out), str(out), "No space left on device")
    assert list(out.parent.iterdir()) == []


def test_songbook_into_a_file_in_the_way(cli, book, blocker):
    one_line_error(cli("songbook", book, "--out", blocker / "book", "--formats", "html"),
                   str(blocker / "book"), "in the way")


def test_corpus_build_into_a_file_in_the_way(cli, book, blocker):
    one_line_error(cli("corpus", "build", book, "--out", blocker / "corpus"), "a-file")


def test_generate_into_a_file_in_the_way(cli, blocker, tmp_path):
    from tests.model_helpers import train_tiny, write_tiny_corpus

    checkpoint, _ = train_tiny(write_tiny_corpus(tmp_path / "corpus"), tmp_path / "run",
                               max_steps=2)
    one_line_error(cli("generate", "--model", checkpoint, "-n", "1", "--raw", "--seed", "1",
                       "-o", blocker / "out.abc"), str(blocker / "out.abc"))
