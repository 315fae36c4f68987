"""`abcgen train`, `abcgen generate`, `abcgen score`: the char-LSTM's commands (torch loaded lazily)."""

import json
import os
import random
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from abcgen.cli.app import app, err_console, fail, out_console, user_errors
from abcgen.errors import AbcgenError
from abcgen.fileio import atomic_write_text


ModelOption = Annotated[Path | None, typer.Option(
    help="Checkpoint (.pt); default: the bundled model.")]


def _opt(kind: type, text: str, *names: str):
    """Shorthand for an annotated option: its type and help text."""
    return Annotated[kind, typer.Option(*names, help=text)]


@app.command("train")
def train_cmd(
    corpus: _opt(Path, "Corpus folder with train.abc, val.abc, test.abc (abcgen corpus build)."),
    out: _opt(Path, "Run folder: best.pt, last.pt, metrics.jsonl, loss.png."),
    preset: _opt(str, "Model size: tiny, small, base or large.") = "small",
    hidden: _opt(int | None, "LSTM units per layer (overrides the preset).") = None,
    layers: _opt(int | None, "LSTM layers (overrides the preset).") = None,
    dropout: _opt(float | None, "Dropout in [0, 1) (overrides the preset).") = None,
    batching: _opt(str, "tunes (each tune whole, from a fresh state, shuffled every epoch) or "
                   "stream (truncated BPTT through the tunes in order).") = "tunes",
    keys: _opt(str, "written (each tune in its own key) or tonic (every tune moved to the "
               "tonic C; sampled tunes moved to keys drawn from the corpus's).") = "written",
    augment_semitones: _opt(int, "Draw each training tune, each epoch, moved by a random "
                            "shift of up to N semitones (0: as written).") = 0,
    seq_len: _opt(int, "Characters per truncated-BPTT window (--batching stream).") = 64,
    batch_size: _opt(int, "Parallel sequences per step.") = 32,
    lr: _opt(float, "Peak learning rate (AdamW).") = 2e-3,
    max_steps: _opt(int | None, "Stop after this many steps.") = None,
    eval_interval: _opt(int, "Steps between validations (each saves last.pt).") = 500,
    max_minutes: _opt(float | None, "Stop cleanly (and save) after this many minutes, "
                      "resumed parts included.") = None,
    device: _opt(str, "auto (CUDA when present), cpu, cuda or mps.") = "auto",
    seed: _opt(int, "Seeds the weights, dropout and data order.") = 1,
    resume: _opt(bool, "Continue the run in --out from its last.pt, exactly where it stopped.",
                 "--resume") = False,
) -> None:
    """Train a char-LSTM on a corpus; multi-GPU: torchrun --nproc_per_node N -m abcgen train ..."""
    from abcgen.model.train import TrainConfig, train

    cfg = TrainConfig(corpus=str(corpus), out=str(out), preset=preset, hidden=hidden,
                      layers=layers, dropout=dropout, batching=batching,
                      keys=keys, augment_semitones=augment_semitones, seq_len=seq_len,
                      batch_size=batch_size, lr=lr, max_steps=max_steps,
                      eval_interval=eval_interval, max_minutes=max_minutes, device=device,
                      seed=seed, resume=resume)
    with user_errors(), _TrainBar(enabled=os.environ.get("RANK", "0") == "0") as bar:
        best = train(cfg, on_progress=bar.update)
    if bar.last is not None:
        _print_train_summary(best, bar.last)


class _TrainBar:
    """A rich progress bar fed by train's progress callback: loss, val bits/char, chars/s, ETA."""

    def __init__(self, enabled: bool):
        self.last = None
        self.bar = Progress(
            TextColumn("[bold]train[/bold]"), BarColumn(), MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}  val {task.fields[val]} bits/char  "
                       "{task.fields[speed]} chars/s  ETA {task.fields[eta]}"),
            console=err_console, disable=not enabled, transient=True)
        self.task = self.bar.add_task("train", total=None, loss="-", val="-", speed="-", eta="-")

    def __enter__(self) -> "_TrainBar":
        self.bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.__exit__(*exc)

    def update(self, progress) -> None:
        self.last = progress
        fields = {"eta": _minutes(progress.eta_s)}
        if progress.loss is not None:
            fields.update(loss=f"{progress.loss:.3f}", speed=f"{progress.chars_per_s:,.0f}")
        if progress.best_val_bpc is not None:
            fields["val"] = f"{progress.val_bpc:.3f} (best {progress.best_val_bpc:.3f})"
        self.bar.update(self.task, completed=progress.step, total=progress.planned_steps, **fields)


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def _print_train_summary(best: Path, progress) -> None:
    out_console.print(f"stopped at step {progress.step}: {progress.message}")
    out_console.print(f"best val {progress.best_val_bpc:.4f} bits/char -> {best}", highlight=False)


@app.command("generate")
def generate_cmd(
    model: ModelOption = None,
    n: _opt(int, "Number of tunes, sampled together (a batch of up to --rows at a time).",
            "-n") = 1,
    output: _opt(Path | None, "Write the tunebook here (default: print it).",
                 "-o", "--output") = None,
    seed: _opt(int | None, "Same seed, same tunes (default: a random seed, shown).") = None,
    temperature: _opt(float, "Above 0; lower is safer, higher wilder.") = 1.0,
    top_k: _opt(int | None, "Draw among the k likeliest characters only.") = None,
    top_p: _opt(float | None, "Nucleus sampling: draw from the smallest set of characters "
                "with probability p (default 0.95; 1: the whole distribution).") = None,
    title: _opt(str | None, "T: line (default: the model names the tune).") = None,
    meter: _opt(str | None, "M: line, e.g. 6/8.") = None,
    key: _opt(str | None, "K: line, e.g. G or Ador; the body follows it.") = None,
    rhythm: _opt(str | None, "R: line, e.g. jig or reel.") = None,
    max_chars: _opt(int, "Cut a tune off at this many characters.") = 3000,
    raw: _opt(bool, "Write the samples exactly as drawn (no repair).", "--raw") = False,
    unconstrained: _opt(bool, "Let the model write any character (default: only characters "
                        "that keep the tune valid, steered to a proper end).",
                        "--unconstrained") = False,
    free_form: _opt(bool, "Let a tune close its parts after any number of bars and end "
                    "after one short strain (default: parts of 4, 8, 12 or 16 bars, two of "
                    "them or one of 16 bars or more).", "--free-form") = False,
    rows: _opt(int | None, "Tunes sampled at once (default 256); where one ends, the next "
               "starts in its row.") = None,
) -> None:
    """Write new tunes with a char-LSTM, primed with the header fields given."""
    from abcgen.generate import generate
    from abcgen.model.sample import DEFAULT_TOP_P, SampleSettings, header_template

    chosen_seed = random.SystemRandom().randrange(2**31) if seed is None else seed
    settings = SampleSettings(temperature=temperature, top_k=top_k,
                              top_p=DEFAULT_TOP_P if top_p is None else top_p,
                              max_chars=max_chars, seed=chosen_seed,
                              constrained=not unconstrained, form=not free_form,
                              rows=SampleSettings.rows if rows is None else rows)
    try:
        settings.check()
        if n < 1:
            raise AbcgenError(f"-n must be at least 1, got {n}")
        template = header_template(title=title, meter=meter, key=key, rhythm=rhythm)
    except AbcgenError as exc:
        fail(str(exc))
    with user_errors(), _sampling_bar(n) as (progress, task):
        generated = generate(model, n, template, settings, repair=not raw,
                             on_tune=lambda ended, _: progress.update(task, completed=ended))
    _report_generated(generated.text, generated.samples, output)
    if generated.summary:
        _print_repair_summary(generated.summary)
    if seed is None:
        err_console.print(f"seed {chosen_seed} (pass --seed {chosen_seed} to get these tunes again)")


@contextmanager
def _sampling_bar(n: int):
    """A progress bar of tunes written (on stderr, on a terminal only: stdout may be ABC)."""
    with Progress(TextColumn("sampling"), BarColumn(), MofNCompleteColumn(),
                  console=err_console, transient=True,
                  disable=not err_console.is_terminal) as progress:
        yield progress, progress.add_task("sampling", total=n)


def _print_repair_summary(summary: dict) -> None:
    """Asked for, written, repaired, repairs by kind, failures (on stderr: stdout may be ABC)."""
    kinds = ", ".join(f"{kind} {count}" for kind, count in summary["repairs_by_kind"].items())
    err_console.print(f"{summary['asked']} asked, {summary['written']} written: "
                      f"{summary['clean']} valid as sampled, {summary['repaired']} repaired"
                      + (f" ({kinds})" if kinds else ""), highlight=False)
    for failure in summary["failures"]:
        err_console.print(f"[yellow]sample {failure['sample'] + 1} dropped:[/yellow] "
                          f"{failure['reason']}", highlight=False)


def _report_generated(book: str, samples, output: Path | None) -> None:
    cut = sum(not s.complete for s in samples)
    if cut:
        err_console.print(f"[yellow]{cut} tune(s) reached --max-chars and were cut off[/yellow]")
    if output is None:
        typer.echo(book, nl=False)  # verbatim: no rich markup or wrapping
        return
    with user_errors():
        try:
            atomic_write_text(output, book)
        except OSError as exc:
            raise AbcgenError(f"{output}: cannot write: {exc.strerror or exc}") from None
    err_console.print(f"wrote {len(samples)} tune(s) to {output}", highlight=False)


@app.command("score")
def score_cmd(
    file: Annotated[Path, typer.Argument(help="ABC tunebook (tunes separated by blank lines).")],
    model: ModelOption = None,
    as_json: _opt(bool, "Print the result as JSON.", "--json") = False,
) -> None:
    """Bits per character of a tunebook under a model (lower: the model finds it likelier)."""
    from abcgen.model.score import score_file

    with user_errors():
        result = score_file(model, file)
    if as_json:
        out_console.print_json(json.dumps(asdict(result)))
        return
    out_console.print(f"{result.path}: {result.bits_per_char:.4f} bits/char over {result.tunes} "
                      f"tune(s), {result.characters:,} characters", highlight=False)
    if result.unknown_characters:
        err_console.print(f"[yellow]characters the model never saw: "
                          f"{''.join(result.unknown_characters)!r}[/yellow]")
