"""Shared by the evaluation and notebook tests: a corpus folder small enough for seconds-long runs."""

from pathlib import Path

from model_helpers import TUNES


def write_eval_corpus(folder: Path) -> Path:
    """The char-LSTM tests' eight tunes as a corpus: four to train on, two each for val and
    test (a comparison needs at least two tunes on each side)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, tunes in {"train": TUNES[:4], "val": TUNES[4:6], "test": TUNES[6:]}.items():
        (folder / f"{name}.abc").write_text("\n".join(tunes), encoding="utf-8")
    return folder


def write_outside(folder: Path) -> Path:
    """An outside collection as `corpus build --split 0,0,1` writes one: its tunes in test.abc
    (the test split's two, then one the corpus has in val)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test.abc").write_text("\n".join(TUNES[6:] + TUNES[4:5]), encoding="utf-8")
    return folder
