"""`abcgen train`, `generate`, `score` as a user runs them: files written, one-line errors."""

import json

import pytest
from model_helpers import train_tiny, write_tiny_corpus
from typer.testing import CliRunner

from abcgen.cli.app import _register, app
from abcgen.errors import AbcgenError
from abcgen.model import sample
from abcgen.model.data import split_tunes

_register()
runner = CliRunner()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_tiny_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def checkpoint(corpus, tmp_path_factory):
    best, _ = train_tiny(corpus, tmp_path_factory.mktemp("run") / "run", max_steps=8)
    return best


def _one_line_error(result, code: int, *fragments: str) -> None:
    assert result.exit_code == code, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]


def test_train_writes_a_run_folder(corpus, tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["train", "--corpus", str(corpus), "--out", str(out),
                                 "--preset", "tiny", "--max-steps", "6", "--seq-len", "16",
                                 "--batch-size", "4", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "best val" in result.output and (out / "best.pt").exists()
    assert (out / "metrics.jsonl").exists() and (out / "loss.png").exists()


def test_train_without_a_corpus_is_one_line(tmp_path):
    result = runner.invoke(app, ["train", "--corpus", str(tmp_path / "nope"),
                                 "--out", str(tmp_path / "run")])
    _one_line_error(result, 2, "nope", "corpus")


def test_generate_same_seed_same_file(checkpoint, tmp_path):
    files = []
    for name in ("a.abc", "b.abc"):
        result = runner.invoke(app, ["generate", "--model", str(checkpoint), "-n", "3", "--raw",
                                     "--seed", "5", "-o", str(tmp_path / name), "--meter", "6/8"])
        assert result.exit_code == 0, result.output
        files.append((tmp_path / name).read_text())
    assert files[0] == files[1]
    tunes = split_tunes(files[0])
    assert [t.split("\n")[0] for t in tunes] == ["X:1", "X:2", "X:3"]
    assert all(t.split("\n")[2] == "M:6/8" for t in tunes)


def test_generate_prints_to_stdout_with_raw(checkpoint):
    result = runner.invoke(app, ["generate", "--model", str(checkpoint), "--seed", "1", "--raw",
                                 "--title", "Test Tune", "--key", "D"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("X:1\nT:Test Tune\nK:D\n")


@pytest.mark.parametrize("options, fragment", [
    (["-n", "0"], "-n"), (["--temperature", "-0.5"], "--temperature"),
    (["--top-p", "2"], "--top-p"),
    (["--title", "50% Reel"], "--title"),  # % would start a comment inside T:
    (["--title", "|Reel"], "--title")])  # music21 would read the T: line as music
def test_generate_bad_options_are_one_line(checkpoint, options, fragment):
    result = runner.invoke(app, ["generate", "--model", str(checkpoint), *options])
    _one_line_error(result, 2, fragment)


def test_wrong_and_truncated_checkpoints_are_one_line(checkpoint, corpus, tmp_path):
    wrong = tmp_path / "tunes.pt"
    wrong.write_text("X:1\nT:not a model\n")
    truncated = tmp_path / "cut.pt"
    truncated.write_bytes(checkpoint.read_bytes()[:5000])
    for bad in (wrong, truncated, tmp_path / "missing.pt"):
        for command in (["generate", "--model", str(bad)],
                        ["score", "--model", str(bad), str(corpus / "val.abc")]):
            _one_line_error(runner.invoke(app, command), 2, str(bad))


def test_generate_without_a_bundled_model_says_how_to_get_one(monkeypatch, tmp_path):
    monkeypatch.setattr(sample, "PRETRAINED_MODEL", tmp_path / "absent.pt")
    _one_line_error(runner.invoke(app, ["generate", "--seed", "1"]), 2, "make pretrained",
                    "--model")


def test_score_reports_bits_per_character(checkpoint, corpus):
    result = runner.invoke(app, ["score", "--model", str(checkpoint), str(corpus / "train.abc"),
                                 "--json"])
    assert result.exit_code == 0, result.output
    scored = json.loads(result.stdout)
    assert scored["tunes"] == 6 and 0 < scored["bits_per_char"] < 8
    assert scored["characters"] == len((corpus / "train.abc").read_text().replace("\n\n", "\n")) + 6


def test_bundled_model_is_used_without_model_and_has_a_card(checkpoint, monkeypatch, tmp_path):
    from abcgen.model.bundle import bundle
    from abcgen.model.checkpoint import load_checkpoint

    shipped = bundle(checkpoint, tmp_path / "pretrained")
    record = load_checkpoint(shipped)
    assert "optimizer" not in record and "rng" not in record
    assert shipped.stat().st_size < checkpoint.stat().st_size
    card = (tmp_path / "pretrained" / "MODEL_CARD.md").read_text()
    assert "non-commercial" in card and "abcgen train --corpus" in card
    assert f"{record['metrics']['test_bpc']:.4f} bits/char" in card
    monkeypatch.setattr(sample, "PRETRAINED_MODEL", shipped)
    result = runner.invoke(app, ["generate", "--seed", "4", "-n", "2", "--raw"])
    assert result.exit_code == 0 and result.stdout.startswith("X:1\n")


def test_generate_repairs_by_default_and_says_what_it_did(checkpoint, tmp_path):
    from abcgen.notation import check_text, read_tunes

    out = tmp_path / "tunes.abc"
    result = runner.invoke(app, ["generate", "--model", str(checkpoint), "-n", "6", "--seed", "3",
                                 "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "6 asked" in result.stderr
    text = out.read_text()
    written = read_tunes(text)
    assert len(written) + result.stderr.count("dropped:") == 6
    assert written, "a barely trained model still gives some repairable tunes"
    assert not [i for i in check_text(text) if i.severity == "error"]
    assert [t.x for t in written] == [str(i) for i in range(1, len(written) + 1)]
    assert all(t.title for t in written)


def test_train_options_default_to_the_library_defaults():
    import inspect
    from dataclasses import fields

    from abcgen.cli.model_cmds import train_cmd
    from abcgen.model.train import TrainConfig

    library = {f.name: f.default for f in fields(TrainConfig)}
    options = {name: p.default for name, p in inspect.signature(train_cmd).parameters.items()
               if p.default is not inspect.Parameter.empty}
    assert options == {name: library[name] for name in options}


def test_model_card_carries_the_evaluation_figures(checkpoint, tmp_path):
    from abcgen.model.bundle import bundle

    metrics = {
        "settings": {"model": "runs/x/best.pt", "corpus": "data/corpus", "n": 500, "seed": 0},
        "validity": {
            "generated": {"no_check_errors": 0.99, "bars_right_length": 1.0,
                          "header_completeness": {"all": 1.0},
                          "valid_after_repair": 1.0, "failed": 0.0},
            "unconstrained": {"no_check_errors": 0.62, "bars_right_length": 0.97,
                              "header_completeness": {"all": 0.9},
                              "valid_after_repair": 0.98, "failed": 0.004}},
        "novelty": {"generated": {"copies": 0.0, "novel_ngrams": {"10": 0.8}}},
        "mgeval_vs_test": {"generated": {"pitch_class": {"overlap": 0.95},
                                         "note_length": {"overlap": 0.9}}},
    }
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    bundle(checkpoint, tmp_path / "pretrained", evaluation=tmp_path / "metrics.json")
    card = (tmp_path / "pretrained" / "MODEL_CARD.md").read_text()
    assert "## Evaluation" in card and "-n 500 --seed 0" in card
    delivered, raw = (line for line in card.splitlines() if "before repair" in line
                      or "own draws" in line)
    assert "generate` delivers" in delivered and "99.0% with no `check` error" in delivered
    assert "unconstrained" in raw and "62.0% with no `check` error" in raw and "98.0%" in raw
    assert "pitch class 0.95" in card
    # a metrics.json from before the constrained set is refused, not mislabelled
    del metrics["validity"]["unconstrained"]
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(AbcgenError, match="evaluate again"):
        bundle(checkpoint, tmp_path / "pretrained", evaluation=tmp_path / "metrics.json")
