"""Train a `CharLSTM` on a corpus folder: AdamW, warm-up then cosine decay, val in bits/char,
best/last checkpoints, early stop, a time budget, and exact resume.

Everything a run needs to continue bit for bit is in `last.pt`: weights, optimizer, step, the
planned schedule length, RNG states, the data position, the carried hidden state and the best
val so far. The learning rate is a pure function of (step, planned steps), so no separate
scheduler state exists to drift. Under `torchrun` each rank reads its own lanes of the data,
DDP averages the gradients, rank 0 decides when to stop, and only rank 0 logs and saves;
bit-exact resume is guaranteed at world size 1 (other ranks restart their carried hidden state
from zeros). `TrainConfig(batching="tunes")` (tune-aligned batches) is kept for comparison: on the
dev corpus truncated BPTT learnt faster per second (see the issue's report).
"""

import io
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from torch import nn

from abcgen.errors import AbcgenError, InputError
from abcgen.fileio import atomic_write_bytes, atomic_write_text
from abcgen.model.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from abcgen.model.data import StreamBatches, TuneBatches, key_versions, load_corpus
from abcgen.model.lstm import CharLSTM, detach_state, preset
from abcgen.model.runtime import setup_runtime
from abcgen.model.score import LN2, stream_bits_per_char
from abcgen.model.vocab import Vocab

DEFAULT_MAX_STEPS = 20_000
"""Schedule length when neither --max-steps nor --max-minutes is given."""
BATCHINGS = ("stream", "tunes")
KEY_SCHEMES = ("written", "tonic")
OPTIMIZERS = ("adamw", "rmsprop")
RMSPROP_ALPHA = 0.95
"""char-rnn's RMSprop decay rate (its -decay_rate), for the benchmark's char-rnn recipe."""


@dataclass
class TrainConfig:
    """Everything `train` needs; stored in each checkpoint as a plain dict."""

    corpus: str
    out: str
    preset: str = "small"
    embed: int | None = None
    hidden: int | None = None
    layers: int | None = None
    dropout: float | None = None
    """Model fields left None come from the preset."""
    batching: str = "tunes"
    """'tunes' (each tune whole from a zero state, shuffled every epoch: a tune learns nothing
    from its neighbour, and sampling starts where training did) or 'stream' (truncated BPTT,
    hidden state carried across tunes in file order)."""
    keys: str = "written"
    """'written': tunes in their own keys; 'tonic': every tune moved to the tonic C for
    training and scoring, sampled tunes moved to keys drawn from the corpus's (folk-rnn)."""
    augment_semitones: int = 0
    """Key augmentation ('tunes' batching): each epoch draws every training tune moved by a
    random shift in [-N, N] semitones; 0 keeps each tune in its written key."""
    seq_len: int = 64
    """Characters per BPTT window."""
    batch_size: int = 32
    optimizer: str = "adamw"
    """'adamw', or 'rmsprop' (char-rnn's recipe; weight decay unused)."""
    lr: float = 2e-3
    """Peak learning rate, reached after the warm-up (4e-3 diverged on the dev runs)."""
    min_lr_ratio: float = 0.1
    warmup_steps: int = 100
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    """Maximum global gradient norm."""
    max_steps: int | None = None
    max_minutes: float | None = None
    """Wall-clock budget over the whole run (resumed parts included), in minutes."""
    eval_interval: int = 500
    """Steps between validations (each writes last.pt; best.pt when val improves)."""
    log_interval: int = 10
    patience: int = 8
    """Stop after this many validations without improvement (0: never)."""
    eval_batch_size: int = 32
    device: str = "auto"
    dtype: str = "auto"
    seed: int = 1
    resume: bool = False


@dataclass
class TrainProgress:
    """What a progress callback sees after a logged step, a validation, or the end."""

    event: str
    """'step', 'eval' or 'done'."""
    step: int
    planned_steps: int | None
    loss: float | None = None
    """Mean training loss of the last logged steps, nats/char."""
    val_bpc: float | None = None
    best_val_bpc: float | None = None
    chars_per_s: float = 0.0
    elapsed_s: float = 0.0
    eta_s: float | None = None
    message: str = ""


@dataclass
class _RunState:
    """The counters of a run that a checkpoint must restore."""

    step: int = 0
    planned_steps: int | None = None
    best_val_bpc: float = math.inf
    evals_since_best: int = 0
    wall_seconds: float = 0.0
    last_val_bpc: float | None = None


def lr_at(step: int, cfg: TrainConfig, planned: int | None) -> float:
    """Linear warm-up over `warmup_steps`, then cosine decay to `min_lr_ratio * lr` at `planned`."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if planned is None or planned <= cfg.warmup_steps:
        return cfg.lr
    progress = min(1.0, (step - cfg.warmup_steps) / (planned - cfg.warmup_steps))
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + 0.5 * (cfg.lr - floor) * (1.0 + math.cos(math.pi * progress))


def validate_config(cfg: TrainConfig) -> None:
    """Reject impossible settings with one line each, before any work is done."""
    positive = {"--seq-len": cfg.seq_len, "--batch-size": cfg.batch_size, "--lr": cfg.lr,
                "--eval-interval": cfg.eval_interval,
                "--max-steps": cfg.max_steps, "--max-minutes": cfg.max_minutes,
                "--hidden": cfg.hidden, "--layers": cfg.layers}
    for option, value in positive.items():
        if value is not None and value <= 0:
            raise AbcgenError(f"{option} must be positive, got {value}")
    if cfg.dropout is not None and not 0.0 <= cfg.dropout < 1.0:
        raise AbcgenError(f"--dropout must be in [0, 1), got {cfg.dropout}")
    if cfg.batching not in BATCHINGS:
        raise AbcgenError(f"batching must be one of {', '.join(BATCHINGS)}, got {cfg.batching!r}")
    if cfg.keys not in KEY_SCHEMES:
        raise AbcgenError(f"--keys must be one of {', '.join(KEY_SCHEMES)}, got {cfg.keys!r}")
    if not 0 <= cfg.augment_semitones <= 6:
        raise AbcgenError(f"--augment-semitones must be in 0..6, got {cfg.augment_semitones}")
    if cfg.augment_semitones and cfg.keys == "tonic":
        raise AbcgenError("--augment-semitones moves tunes from their written keys; "
                          "with --keys tonic every tune is in C")
    if cfg.augment_semitones and cfg.batching != "tunes":
        raise AbcgenError("--augment-semitones needs --batching tunes")
    if cfg.optimizer not in OPTIMIZERS:
        raise AbcgenError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {cfg.optimizer!r}")


def train(cfg: TrainConfig, on_progress: Callable[[TrainProgress], None] | None = None) -> Path:
    """Train (or resume) a run; return the path of its best checkpoint.

    Parameters
    ----------
    cfg : the run's settings; with `resume`, the run folder's last.pt supplies everything but
        the stopping limits and the device.
    on_progress : called on rank 0 after each logged step, each validation and at the end.
    """
    validate_config(cfg)
    return Trainer(cfg, on_progress or (lambda _p: None)).run()


class Trainer:
    """One training run: set up from a config or a checkpoint, loop, validate, save."""

    def __init__(self, cfg: TrainConfig, on_progress: Callable[[TrainProgress], None]):
        self.out = Path(cfg.out)
        record = self._resume_record(cfg)
        if record is not None:
            stored = TrainConfig(**record["train_config"])
            cfg = replace(stored, out=cfg.out, corpus=cfg.corpus, max_steps=cfg.max_steps,
                          max_minutes=cfg.max_minutes, device=cfg.device, resume=True)
        self.cfg, self.on_progress = cfg, on_progress
        self.runtime = setup_runtime(cfg.device, cfg.dtype)
        torch.manual_seed(cfg.seed + self.runtime.rank)
        vocab = Vocab.from_list(record["vocab"]) if record else None
        self.corpus = load_corpus(cfg.corpus, vocab, tonic=cfg.keys == "tonic")
        self._build(record)

    def _resume_record(self, cfg: TrainConfig) -> dict | None:
        last = self.out / "last.pt"
        if cfg.resume:
            if not last.exists():
                raise InputError(f"{last}: nothing to resume (no last.pt in {self.out})")
            return load_checkpoint(last)
        if last.exists():
            raise AbcgenError(f"{self.out} already holds a run; pass --resume to continue it "
                              "or choose another --out")
        return None

    def _build(self, record: dict | None) -> None:
        cfg, rt = self.cfg, self.runtime
        if record is not None:
            self.raw_model, _ = model_from_checkpoint(record, self.out / "last.pt")
        else:
            mcfg = preset(cfg.preset, vocab_size=len(self.corpus.vocab), embed=cfg.embed,
                          hidden=cfg.hidden, layers=cfg.layers, dropout=cfg.dropout,
                          fresh_start=cfg.batching == "tunes")
            self.raw_model = CharLSTM(mcfg)
        self.raw_model.to(rt.device).train()
        self.model = self.raw_model
        if rt.world_size > 1:
            from torch.nn.parallel import DistributedDataParallel

            self.model = DistributedDataParallel(self.raw_model)
        self.optimizer = self._make_optimizer()
        self.batches = self._make_batches()
        self.state, self.hidden = _RunState(), None
        if record is not None:
            self._restore(record)

    def _make_optimizer(self) -> torch.optim.Optimizer:
        cfg, params = self.cfg, self.raw_model.parameters()
        if cfg.optimizer == "rmsprop":
            return torch.optim.RMSprop(params, lr=cfg.lr, alpha=RMSPROP_ALPHA)
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay,
                                 fused=self.runtime.device.type == "cuda")

    def _make_batches(self) -> StreamBatches | TuneBatches:
        cfg, rt, train_ids = self.cfg, self.runtime, self.corpus.splits["train"]
        if cfg.batching == "tunes":
            versions = key_versions(self.corpus, cfg.augment_semitones)
            return TuneBatches(versions, cfg.batch_size, cfg.seed, rt.rank, rt.world_size)
        return StreamBatches(train_ids, cfg.batch_size, cfg.seq_len, cfg.seed, rt.rank, rt.world_size)

    def _restore(self, record: dict) -> None:
        self.optimizer.load_state_dict(record["optimizer"])
        self.batches.load_state_dict(record["data_state"])
        self.state = _RunState(**record["run_state"])
        if record.get("hidden") and self.runtime.is_main:
            self.hidden = tuple(t.to(self.runtime.device) for t in record["hidden"])
        torch.set_rng_state(record["rng"]["torch"])
        if self.runtime.device.type == "cuda" and record["rng"]["cuda"]:
            torch.cuda.set_rng_state(record["rng"]["cuda"][0], self.runtime.device)
        self._trim_metrics(self.state.step)

    def run(self) -> Path:
        started = time.monotonic() - self.state.wall_seconds
        window = _Window(time.monotonic())
        # a resumed run that had already finished only re-scores and re-plots
        stop_reason = self._stop_reason() if self.state.step else None
        while stop_reason is None:
            window.add(*self._train_step())
            self.state.step += 1
            self.state.wall_seconds = time.monotonic() - started
            if self.state.step % self.cfg.log_interval == 0:
                self._log_step(window)
                window = _Window(time.monotonic())
            stop_reason = self._follow_rank0(self._stop_reason())
            if stop_reason or self.state.step % self.cfg.eval_interval == 0:
                self._validate_and_save()
                stop_reason = stop_reason or self._plateau_reason()
        return self._finish(stop_reason)

    def _train_step(self) -> tuple[torch.Tensor, int]:
        cfg, rt = self.cfg, self.runtime
        lr = lr_at(self.state.step, cfg, self.state.planned_steps)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        batch = self.batches.next_batch(rt.device)
        state = self.hidden if batch.carry_state else None
        with rt.autocast():
            _, loss, new_state = self.model(batch.inputs, state, batch.targets)
        loss.backward()
        nn.utils.clip_grad_norm_(self.raw_model.parameters(), cfg.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.hidden = detach_state(new_state) if cfg.batching == "stream" else None
        return loss.detach(), batch.n_chars

    def _log_step(self, window: "_Window") -> None:
        loss = window.mean_loss()  # one device sync per log interval, not per step
        if not math.isfinite(loss):
            raise AbcgenError(f"training loss became {loss} at step {self.state.step}; "
                              "lower --lr (or --grad-clip) and start again")
        if not self.runtime.is_main:
            return
        speed = window.chars_per_s() * self.runtime.world_size
        lr = self.optimizer.param_groups[0]["lr"]
        self._append_metrics({"step": self.state.step, "train_loss": loss, "train_bpc": loss / LN2,
                              "lr": lr, "chars_per_s": speed, "elapsed_s": self.state.wall_seconds})
        self.on_progress(self._progress("step", loss=loss, chars_per_s=speed))

    def _stop_reason(self) -> str | None:
        cfg, st = self.cfg, self.state
        self._plan_steps()
        if cfg.max_minutes is not None and st.wall_seconds >= cfg.max_minutes * 60.0:
            return f"time budget of {cfg.max_minutes:g} min reached"
        if cfg.max_steps is not None and st.step >= cfg.max_steps:
            return f"{cfg.max_steps} steps done"
        if cfg.max_minutes is None and st.step >= st.planned_steps:
            return f"{st.planned_steps} steps done"
        return None

    def _follow_rank0(self, reason: str | None) -> str | None:
        """Under DDP every rank takes rank 0's stop decision and schedule length: clocks differ,
        and a rank that stopped alone would hang the others in their next all-reduce."""
        if self.runtime.world_size == 1:
            return reason
        import torch.distributed as dist

        planned = self.state.planned_steps
        shared = torch.tensor([int(reason is not None), -1 if planned is None else planned],
                              device=self.runtime.device)
        dist.broadcast(shared, src=0)
        stop, planned = shared.tolist()
        self.state.planned_steps = None if planned < 0 else planned
        return (reason or "stopped with rank 0") if stop else None

    def _plan_steps(self) -> None:
        """Fix the schedule length: --max-steps, or for a timed run an estimate from the pace.

        A timed run re-estimates at each validation (its pace is only known as it goes); the
        estimate is stored in each checkpoint, so a resumed run starts from the same curve.
        """
        cfg, st = self.cfg, self.state
        if cfg.max_minutes is None:
            st.planned_steps = cfg.max_steps or st.planned_steps or DEFAULT_MAX_STEPS
            return
        due = st.planned_steps is None or st.step % cfg.eval_interval == 0
        if due and st.step >= min(cfg.eval_interval, cfg.warmup_steps) and st.wall_seconds > 0:
            fits = int(cfg.max_minutes * 60.0 * 0.97 * st.step / st.wall_seconds)
            st.planned_steps = max(st.step + 1, min(fits, cfg.max_steps or fits))

    def _plateau_reason(self) -> str | None:
        patience = self.cfg.patience
        if patience and self.state.evals_since_best >= patience:
            return f"val bits/char did not improve for {patience} validations"
        return None

    def _validate_and_save(self) -> None:
        st = self.state
        val = stream_bits_per_char(self.raw_model, self.corpus.splits["val"], self.runtime, self.cfg.eval_batch_size)
        st.last_val_bpc = val
        improved = val < st.best_val_bpc - 1e-4
        st.best_val_bpc = min(st.best_val_bpc, val)
        st.evals_since_best = 0 if improved else st.evals_since_best + 1
        if not self.runtime.is_main:
            return
        self._append_metrics({"step": st.step, "val_bpc": val, "best_val_bpc": st.best_val_bpc,
                              "elapsed_s": st.wall_seconds})
        if improved:
            save_checkpoint(self.out / "best.pt", self._payload())
        save_checkpoint(self.out / "last.pt", self._payload())
        self.on_progress(self._progress("eval"))

    def _payload(self) -> dict:
        cuda = self.runtime.device.type == "cuda"
        return {
            "model": self.raw_model.state_dict(),
            "model_config": asdict(self.raw_model.config),
            "vocab": self.corpus.vocab.to_list(),
            "title_words": sorted(self.corpus.vocab.title_words),
            "key_table": [list(row) for row in self.corpus.vocab.key_table],
            "train_config": asdict(self.cfg),
            "optimizer": self.optimizer.state_dict(),
            "data_state": self.batches.state_dict(),
            "run_state": asdict(self.state),
            "hidden": list(self.hidden) if self.hidden is not None else None,
            "rng": {"torch": torch.get_rng_state(),
                    "cuda": [torch.cuda.get_rng_state(self.runtime.device)] if cuda else []},
            "metrics": self._metrics_summary(),
        }

    def _metrics_summary(self) -> dict:
        st = self.state
        return {"step": st.step, "val_bpc": st.last_val_bpc, "best_val_bpc": st.best_val_bpc,
                "wall_seconds": st.wall_seconds, "parameters": self.raw_model.num_parameters(),
                "device": str(self.runtime.device), "dtype": self.runtime.dtype,
                "world_size": self.runtime.world_size}

    def _finish(self, reason: str) -> Path:
        best = self.out / "best.pt"
        if self.runtime.is_main:
            self._score_test_split(best, reason)
            plot_losses(self.out / "metrics.jsonl", self.out / "loss.png")
            self.on_progress(self._progress("done", message=reason))
        if self.runtime.world_size > 1:
            import torch.distributed as dist

            dist.destroy_process_group()
        return best

    def _score_test_split(self, best: Path, reason: str) -> None:
        """Write the best model's test bits/char and the run's totals into best.pt (model card)."""
        record = load_checkpoint(best)
        model, _ = model_from_checkpoint(record, best)
        model.to(self.runtime.device)
        record["metrics"]["test_bpc"] = stream_bits_per_char(model, self.corpus.splits["test"], self.runtime,
                                                 self.cfg.eval_batch_size)
        record["metrics"].update(stop_reason=reason, run_steps=self.state.step,
                                 run_wall_seconds=self.state.wall_seconds)
        save_checkpoint(best, record)

    def _progress(self, event: str, **fields) -> TrainProgress:
        st, cfg = self.state, self.cfg
        eta = None
        if cfg.max_minutes is not None:
            eta = max(0.0, cfg.max_minutes * 60.0 - st.wall_seconds)
        elif st.planned_steps and st.step:
            eta = st.wall_seconds / st.step * (st.planned_steps - st.step)
        best = st.best_val_bpc if math.isfinite(st.best_val_bpc) else None
        return TrainProgress(event, st.step, st.planned_steps, val_bpc=st.last_val_bpc,
                        best_val_bpc=best, elapsed_s=st.wall_seconds, eta_s=eta, **fields)

    def _append_metrics(self, entry: dict) -> None:
        # An append-only log, not a checkpoint: a torn last line after kill -9 is dropped on resume.
        self.out.mkdir(parents=True, exist_ok=True)
        with open(self.out / "metrics.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")

    def _trim_metrics(self, step: int) -> None:
        """Keep only the log lines up to the resumed step (a killed run may have logged more)."""
        path = self.out / "metrics.jsonl"
        if self.runtime.is_main and path.exists():
            kept = [line for line in read_metrics(path) if line["step"] <= step]
            atomic_write_text(path, "".join(json.dumps(line) + "\n" for line in kept))


class _Window:
    """Losses and characters of the steps since the last log line."""

    def __init__(self, started: float):
        self.started, self.losses, self.chars = started, [], 0

    def add(self, loss: torch.Tensor, n_chars: int) -> None:
        self.losses.append(loss)
        self.chars += n_chars

    def mean_loss(self) -> float:
        return float(torch.stack(self.losses).float().mean()) if self.losses else math.nan

    def chars_per_s(self) -> float:
        return self.chars / max(time.monotonic() - self.started, 1e-9)


def read_metrics(path: str | Path) -> list[dict]:
    """The entries of a run's metrics.jsonl, skipping a torn last line."""
    entries = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return entries


def plot_losses(metrics: Path, png: Path) -> Path | None:
    """Draw train and val bits/char against step into `png` (matplotlib, no display needed)."""
    if not metrics.exists():
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entries = read_metrics(metrics)
    train = [(e["step"], e["train_bpc"]) for e in entries if "train_bpc" in e]
    val = [(e["step"], e["val_bpc"]) for e in entries if "val_bpc" in e]
    fig, ax = plt.subplots(figsize=(7, 4))
    for points, label in ((train, "train"), (val, "val")):
        if points:
            ax.plot(*zip(*points, strict=True), label=label, marker="o" if label == "val" else None)
    ax.set(xlabel="step", ylabel="bits per character", title=f"{metrics.parent.name}")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return atomic_write_bytes(png, buffer.getvalue())
