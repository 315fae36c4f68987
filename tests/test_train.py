"""Training on a tiny corpus: falling loss, run files, exact resume, stopping rules."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from model_helpers import tiny_config, train_tiny, write_tiny_corpus

from abcgen.errors import AbcgenError, InputError
from abcgen.model.checkpoint import load_checkpoint
from abcgen.model.train import lr_at, train


@pytest.fixture
def corpus(tmp_path):
    return write_tiny_corpus(tmp_path / "corpus")


def _losses(events):
    return {e.step: e.loss for e in events if e.event == "step"}


def test_loss_falls_and_the_run_folder_is_complete(corpus, tmp_path):
    best, events = train_tiny(corpus, tmp_path / "run", max_steps=40, eval_interval=20)
    losses = _losses(events)
    assert sum(losses[s] for s in range(36, 41)) < sum(losses[s] for s in range(1, 6)) - 2.5
    assert {p.name for p in (tmp_path / "run").iterdir()} >= {"best.pt", "last.pt",
                                                             "metrics.jsonl", "loss.png"}
    metrics = load_checkpoint(best)["metrics"]
    assert metrics["test_bpc"] > 0 and metrics["best_val_bpc"] == min(
        e.val_bpc for e in events if e.event == "eval")
    assert events[-1].event == "done" and "40 steps" in events[-1].message


class _Killed(Exception):
    pass


@pytest.mark.parametrize("batching", ["stream", "tunes"])
def test_resumed_run_repeats_the_uninterrupted_losses(corpus, tmp_path, batching):
    # dropout > 0 so the restored RNG state matters; last.pt is written every 4 steps
    settings = dict(batching=batching, dropout=0.3, max_steps=14)
    _, straight = train_tiny(corpus, tmp_path / "straight", **settings)

    def die_at_step_10(progress):
        if progress.step == 10:
            raise _Killed  # like kill -9 after step 10: last.pt holds step 8

    with pytest.raises(_Killed):
        train(tiny_config(corpus, tmp_path / "cut", **settings), on_progress=die_at_step_10)
    _, resumed = train_tiny(corpus, tmp_path / "cut", resume=True, **settings)
    resumed_losses = _losses(resumed)
    assert sorted(resumed_losses) == list(range(9, 15))
    assert resumed_losses == {s: loss for s, loss in _losses(straight).items() if s > 8}
    logged = [json.loads(line)["step"] for line in
              (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()]
    assert logged == sorted(logged)  # steps 9-10 of the killed run were dropped, not repeated


def test_resume_needs_a_last_checkpoint_and_a_new_run_needs_an_empty_folder(corpus, tmp_path):
    with pytest.raises(InputError, match="nothing to resume"):
        train_tiny(corpus, tmp_path / "empty", resume=True)
    train_tiny(corpus, tmp_path / "run", max_steps=4)
    with pytest.raises(AbcgenError, match="--resume"):
        train_tiny(corpus, tmp_path / "run", max_steps=4)


def test_time_budget_stops_cleanly_with_loadable_checkpoints(corpus, tmp_path):
    _, events = train_tiny(corpus, tmp_path / "run", max_steps=None, max_minutes=0.02,
                           eval_interval=10_000)
    assert "time budget" in events[-1].message
    state = load_checkpoint(tmp_path / "run" / "last.pt")["run_state"]
    assert state["wall_seconds"] >= 1.2
    # the schedule length was planned from the measured pace, not left open
    assert state["planned_steps"] is not None and state["planned_steps"] > 2


def test_plateau_stops_early(corpus, tmp_path):
    _, events = train_tiny(corpus, tmp_path / "run", lr=1e-9, warmup_steps=1, max_steps=200,
                           eval_interval=2, patience=2)
    assert "did not improve" in events[-1].message and events[-1].step < 200


def test_bad_settings_are_refused_before_any_work(corpus, tmp_path):
    for field, value in [("seq_len", 0), ("lr", -1.0), ("dropout", 1.0), ("max_steps", 0)]:
        with pytest.raises(AbcgenError, match=field.replace("_", "-")):
            train_tiny(corpus, tmp_path / "run", **{field: value})
    assert not (tmp_path / "run").exists()


def test_learning_rate_warms_up_then_decays(corpus, tmp_path):
    cfg = tiny_config(corpus, tmp_path, lr=1.0, warmup_steps=10, min_lr_ratio=0.1)
    rates = [lr_at(step, cfg, planned=110) for step in range(0, 120, 5)]
    peak = rates.index(max(rates))
    assert rates[:peak] == sorted(rates[:peak]) and rates[peak:] == sorted(rates[peak:], reverse=True)
    assert rates[-1] == pytest.approx(0.1)


@pytest.mark.slow
def test_kill_9_then_resume_finishes_the_run(corpus, tmp_path):
    out = tmp_path / "run"
    script = ("import sys; from model_helpers import tiny_config; from abcgen.model.train import train; "
              f"train(tiny_config({str(corpus)!r}, {str(out)!r}, max_steps=10**6, eval_interval=5))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.path.dirname(__file__), os.getcwd()])}
    child = subprocess.Popen([sys.executable, "-c", script], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not (out / "last.pt").exists() and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.1)
    time.sleep(0.5)  # let it run on, writing more checkpoints, then kill it mid-flight
    child.send_signal(signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL, child.stderr.read().decode()
    stopped = load_checkpoint(out / "last.pt")["run_state"]["step"]
    _, events = train_tiny(corpus, out, resume=True, max_steps=stopped + 8)
    steps = [e.step for e in events if e.event == "step"]
    assert steps == list(range(stopped + 1, stopped + 9))


@pytest.mark.slow
def test_two_process_ddp_run_on_the_cpu(corpus, tmp_path):
    out = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
               "-m", "abcgen", "train", "--corpus", str(corpus), "--out", str(out),
               "--preset", "tiny", "--max-steps", "20", "--seq-len", "16", "--batch-size", "2",
               "--device", "cpu"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240,
                          env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert done.returncode == 0, done.stderr[-2000:]
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()
             if "train_loss" in line]
    assert steps == list(range(10, 21, 10))  # logged once per interval: by rank 0 only
    assert load_checkpoint(out / "best.pt")["metrics"]["world_size"] == 2
