"""Shared test helpers: the repo's fixture folder, the shared corpora, the CLI runner."""

import os
from pathlib import Path

# OpenMP threads spin while they wait by default; on 2 shared cores that made a tiny training
# step 10x slower. Set before any test imports torch.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
SHARED_CORPORA = REPO.parent / "shared" / "corpora"


@pytest.fixture
def cli():
    """Invoke the abcgen CLI in-process: cli("check", path) -> click Result."""
    from abcgen.cli.app import _register, app

    _register()
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, [str(a) for a in args])

    return invoke


@pytest.fixture
def shared_corpora() -> Path:
    if not SHARED_CORPORA.is_dir():
        pytest.skip("../shared/corpora is not present beside the repository")
    return SHARED_CORPORA
