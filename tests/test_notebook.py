"""notebooks/tour.ipynb runs from top to bottom (nbclient), small, with the bundled model."""

import json
import os
from pathlib import Path

import pytest

from abcgen.model.sample import PRETRAINED_MODEL

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "tour.ipynb"
CELL_TIMEOUT_S = 300

pytestmark = pytest.mark.slow


def test_the_notebook_is_committed_without_outputs():
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert code and all(not cell["outputs"] and cell["execution_count"] is None for cell in code)


def _model_for_the_tour() -> str | None:
    """ABCGEN_TOUR_MODEL when set (a checkpoint to tour with), else the bundled model."""
    chosen = os.environ.get("ABCGEN_TOUR_MODEL")
    if chosen:
        return chosen
    if not PRETRAINED_MODEL.exists():
        pytest.skip(f"no bundled model at {PRETRAINED_MODEL} (run `make pretrained`)")
    return None


def test_the_tour_runs_with_small_sizes(tmp_path, monkeypatch):
    missing = "{} not installed (pip install -e .[dev])"
    nbformat = pytest.importorskip("nbformat", reason=missing.format("nbformat"))
    nbclient = pytest.importorskip("nbclient", reason=missing.format("nbclient"))
    from evaluate_helpers import write_eval_corpus

    model = _model_for_the_tour()
    monkeypatch.setenv("ABCGEN_TOUR_SMALL", "1")
    monkeypatch.setenv("ABCGEN_TOUR_CORPUS", str(write_eval_corpus(tmp_path / "corpus")))
    monkeypatch.setenv("ABCGEN_TOUR_OUT", str(tmp_path / "out"))
    if model is not None:
        monkeypatch.setenv("ABCGEN_TOUR_MODEL", model)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT)}}).execute()
    out = tmp_path / "out"
    assert (out / "tune.mid").stat().st_size > 0 and (out / "tune.wav").stat().st_size > 44
    assert (out / "songbook" / "index.html").exists()
    metrics = json.loads((out / "report" / "metrics.json").read_text())
    assert metrics["validity"]["generated"]["tunes"] == 8
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    kinds = {key for o in outputs for key in o.get("data", {})}
    assert {"image/png", "text/html"} <= kinds  # the plots, and the inline audio player
