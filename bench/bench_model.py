"""Char-LSTM speed and quality, each as a ratio measured in one run (`python -m bench.run model`).

1. train_speed_ratio: characters/s of `train` (data pipeline, carried state, clipping, logging)
   over a bare forward/backward/AdamW step of the same network (CharLSTM of the preset) on
   random data in the same precision; the median of 3 alternating rounds. Target >= 0.9.
2. bpc_gain_vs_char_rnn: 1 - (val bits/char of the default recipe) / (val bits/char of
   char-rnn's recipe: 2x128, seq 50, batch 50, RMSprop lr 2e-3, no dropout), both trained for
   the same wall time on the same corpus. Target >= 0.10.
3. batch_sampling_speedup: tunes/s of `generate -n 512` (one continuous batch: a row whose
   tune ends starts the next) over one tune at a time, with the bundled model. Target >= 40.

The corpus is data/corpus (built from music21 by `abcgen corpus build music21` if missing).
"""

import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch

from abcgen.generate import LoadedModel, load_generator
from abcgen.model.data import load_corpus
from abcgen.model.runtime import setup_runtime
from abcgen.model.sample import SampleSettings, sample_tunes, sampling_threads
from abcgen.model.train import TrainConfig, read_metrics, train

CORPUS = Path("data/corpus")
CHAR_RNN_RECIPE = dict(preset="tiny", embed=64, hidden=128, layers=2, dropout=0.0, seq_len=50,
                       batch_size=50, optimizer="rmsprop", lr=2e-3, warmup_steps=0,
                       min_lr_ratio=1.0, grad_clip=5.0, eval_interval=1000)
"""char-rnn's defaults (its one-hot input becomes an embedding; clipping is by norm here)."""
SAMPLE_CHARS = 600
SPEED_ROUNDS = 3
"""Rounds of `train` against the bare loop, alternating; the ratio is their median."""
BATCHES = (64, 512)
"""`generate -n N` sizes timed against single tunes; the last is the issue's target."""
SINGLES_PER_ROUND = 16


def ensure_corpus(folder: Path = CORPUS) -> Path:
    if not (folder / "stats.json").exists():
        from abcgen.corpus import build_corpus

        build_corpus(["music21"], folder)
    return folder


def bare_lstm_chars_per_s(vocab_size: int, cfg: TrainConfig, steps: int) -> float:
    """Characters/s of a minimal training loop of the same network (CharLSTM of the preset:
    embedding, nn.LSTM, output dropout, head, fp32 loss) on random ids: forward, backward,
    AdamW step; no data pipeline, carried state, clipping, schedule or logging."""
    from abcgen.model.lstm import CharLSTM, preset

    runtime = setup_runtime(cfg.device, cfg.dtype)
    model = CharLSTM(preset(cfg.preset, vocab_size=vocab_size)).to(runtime.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    ids = torch.randint(0, vocab_size, (cfg.batch_size, cfg.seq_len + 1), device=runtime.device)
    for step in range(steps + 3):  # three warm-up steps
        if step == 3:
            started = time.perf_counter()
        with runtime.autocast():
            _, loss, _ = model(ids[:, :-1], None, ids[:, 1:])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    float(loss.detach())  # wait for the device before stopping the clock
    return steps * cfg.batch_size * cfg.seq_len / (time.perf_counter() - started)


def _train_chars_per_s(corpus: Path, out: Path, steps: int) -> tuple[float, TrainConfig]:
    """Characters/s `train` logged over `steps` steps (its first window, which pays one-off
    start-up costs, left out)."""
    cfg = TrainConfig(corpus=str(corpus), out=str(out), max_steps=steps,
                      eval_interval=10 * steps, log_interval=max(1, steps // 5), patience=0)
    train(cfg)
    logged = [e["chars_per_s"] for e in read_metrics(out / "metrics.jsonl")
              if "chars_per_s" in e][1:]
    return sum(logged) / len(logged), cfg


def train_speed(corpus: Path, work: Path, steps: int, rounds: int = SPEED_ROUNDS) -> dict:
    """`train` against the bare loop, alternating in `rounds` rounds (so a busy spell on the
    shared machine slows both sides); the median of the rounds' ratios."""
    vocab_size = len(load_corpus(corpus).vocab)
    ours, bare = [], []
    for index in range(rounds):
        rate, cfg = _train_chars_per_s(corpus, work / f"speed{index}", steps)
        ours.append(rate)
        bare.append(bare_lstm_chars_per_s(vocab_size, cfg, steps))
    ratios = [a / b for a, b in zip(ours, bare, strict=True)]
    return {"train_chars_per_s": statistics.median(ours),
            "bare_lstm_chars_per_s": statistics.median(bare),
            "train_speed_ratio": statistics.median(ratios),
            "train_speed_ratios": [round(r, 3) for r in ratios], "preset": cfg.preset}


def recipe_race(corpus: Path, work: Path, minutes: float) -> dict:
    results = {}
    for name, recipe in (("default", {}), ("char_rnn", CHAR_RNN_RECIPE)):
        out = work / name
        train(TrainConfig(corpus=str(corpus), out=str(out), max_minutes=minutes, **recipe))
        vals = [e["val_bpc"] for e in read_metrics(out / "metrics.jsonl") if "val_bpc" in e]
        results[f"{name}_val_bpc"] = min(vals)
    results["bpc_gain_vs_char_rnn"] = 1 - results["default_val_bpc"] / results["char_rnn_val_bpc"]
    results["minutes_each"] = minutes
    return results


def _timed_sample(loaded: LoadedModel, n: int, seed: int) -> tuple[float, list[int]]:
    """Seconds to sample `n` tunes as `generate -n N` does (one continuous batch of
    SampleSettings.rows rows), and the tunes' lengths."""
    # unconstrained: the network's own speed (bench_constrained measures the constraint's)
    settings = SampleSettings(seed=seed, max_chars=SAMPLE_CHARS, constrained=False)
    started = time.perf_counter()
    tunes = sample_tunes(loaded.model, loaded.vocab, n, settings=settings, runtime=loaded.runtime)
    return time.perf_counter() - started, [len(tune.text) for tune in tunes]


def sampling_speed(rounds: int) -> dict:
    """Tunes/s of `generate -n 512` (and -n 64) over tunes sampled one at a time, from the
    bundled model (the one `generate` uses; a model from the 1-minute race ends its tunes at
    lengths that depend on how far it got). Same settings, max_chars and runtime on all
    sides, each call its own seed; rounds alternate the batches and SINGLES_PER_ROUND single
    tunes, so a busy spell on a shared machine slows every side."""
    loaded = load_generator(None)
    _timed_sample(loaded, 2, seed=0)  # warm-up
    batches: dict[int, list] = {size: [] for size in BATCHES}
    singles = []
    for r in range(rounds):
        for size in BATCHES:
            batches[size].append(_timed_sample(loaded, size, seed=1 + r))
        singles += [_timed_sample(loaded, 1, seed=1 + rounds + r * SINGLES_PER_ROUND + i)
                    for i in range(SINGLES_PER_ROUND)]
    single_rate = len(singles) / sum(seconds for seconds, _ in singles)
    rows = SampleSettings().rows
    result = {"sampling_dtype": loaded.runtime.dtype, "sampling_rows": rows,
              "sampling_threads": {"single": sampling_threads(1), "batch": sampling_threads(rows)},
              "single_tunes_per_s": single_rate,
              "single_mean_chars": sum(lengths[0] for _, lengths in singles) / len(singles)}
    for size, runs in batches.items():
        rate = size * rounds / sum(seconds for seconds, _ in runs)
        chars = sum(sum(lengths) for _, lengths in runs)
        result.update({f"batch{size}_tunes_per_s": rate,
                       f"batch{size}_sampling_speedup": rate / single_rate,
                       f"batch{size}_mean_chars": chars / (size * rounds)})
    result["batch_sampling_speedup"] = result[f"batch{BATCHES[-1]}_sampling_speedup"]
    return result


def run(quick: bool = False, race_minutes: float | None = None) -> dict:
    """All three ratios; quick: shorter runs (1-minute race instead of 10)."""
    corpus = ensure_corpus()
    runtime = setup_runtime()
    work = Path(tempfile.mkdtemp(prefix="bench_model_"))
    try:
        result = {"device": str(runtime.device), "dtype": runtime.dtype,
                  "threads": torch.get_num_threads()}
        result.update(train_speed(corpus, work, steps=30 if quick else 200))
        result.update(recipe_race(corpus, work, race_minutes or (1.0 if quick else 10.0)))
        result.update(sampling_speed(rounds=2 if quick else 4))
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)
