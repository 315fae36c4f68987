"""`abcgen evaluate`: sample, repair and measure a model's tunes against a corpus (torch lazily)."""

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from abcgen.cli.app import app, err_console, fail, out_console, user_errors


class _StageBar:
    """A rich progress bar fed by evaluate's (stage, done, total) callback."""

    def __init__(self):
        self.bar = Progress(TextColumn("[bold]{task.description}[/bold]"), BarColumn(),
                            MofNCompleteColumn(), TimeElapsedColumn(), console=err_console,
                            transient=True)
        self.task = self.bar.add_task("evaluate", total=None)

    def __enter__(self) -> "_StageBar":
        self.bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.__exit__(*exc)

    def update(self, stage: str, done: int, total: int) -> None:
        self.bar.update(self.task, description=stage, completed=done, total=total)


def _figure(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _length(value: float | None) -> str:
    return "-" if value is None else f"{round(value, 1):g}"


def _musical_summary(metrics: dict) -> str:
    """One line per set of the musical measures, and the two-sample classifier's AUCs."""
    lines = []
    for name, row in metrics["musical"].items():
        bars, quarters = row["length_bars"], row["length_quarters"]
        lengths = " / ".join(_length(quarters[f"p{q}"]) for q in (25, 50, 75))
        overlap = ("" if name == "test" else
                   f" (overlap {_figure(quarters['overlap_vs_test'], '.2f')}, bars "
                   f"{_figure(bars['overlap_vs_test'], '.2f')})")
        lines.append(
            f"  {name}: ends on the tonic {_figure(row['ends_on_tonic'], '.1%')}; played "
            f"quarter notes 25/50/75 {lengths}{overlap}; bars median "
            f"{_length(bars['p50'])}; 2+ parts or a repeat "
            f"{_figure(row['parts_or_repeats'], '.1%')}; real-word titles "
            f"{_figure(row['real_word_titles'], '.1%')}; title = a training title "
            f"{_figure(row['titles_identical_to_training'], '.1%')}; copies "
            f"{_figure(row['copies'], '.1%')}")
    aucs = metrics["classifier_auc_vs_test"]
    lines.append("classifier two-sample AUC against the test split (0.5 = can't tell): " + ", ".join(
        f"{'test halves (reference)' if name == 'test_halves' else name} "
        f"{_figure(row['auc'], '.2f')}" for name, row in aucs.items()))
    return "musical measures:\n" + "\n".join(lines)


def _print_summary(metrics: dict, out: Path) -> None:
    validity, novelty = metrics["validity"], metrics["novelty"]
    bpc = metrics["bits_per_char"]
    gen, raw, test = validity["generated"], validity["unconstrained"], validity["test"]
    out_console.print(
        "bits/char " + ", ".join(f"{name} {_figure(value, '.3f')}"
                                 for name, value in bpc.items()) + "\n"
        f"no check errors before repair: {gen['no_check_errors']:.1%} as generate delivers "
        f"(constrained), {raw['no_check_errors']:.1%} unconstrained, test split "
        f"{test['no_check_errors']:.1%}\n"
        f"valid after repair: {gen['valid_after_repair']:.1%} (unconstrained "
        f"{raw['valid_after_repair']:.1%})\n"
        f"copies (>= 50% found in training): {novelty['generated']['copies']:.1%} "
        f"(test split {novelty['test']['copies']:.1%})\n"
        f"{_musical_summary(metrics)}\n"
        f"report: {out / 'report.md'}", highlight=False)


@app.command("evaluate")
def evaluate_cmd(
    corpus: Annotated[Path, typer.Option(help="Corpus folder with train.abc, val.abc, "
                                         "test.abc.")],
    out: Annotated[Path, typer.Option(help="Report folder: metrics.json, report.md, PNG plots.")],
    model: Annotated[Path | None, typer.Option(help="Checkpoint (.pt); default: the bundled "
                                               "model.")] = None,
    n: Annotated[int, typer.Option("-n", help="Tunes to sample and measure.")] = 500,
    seed: Annotated[int, typer.Option(help="Seeds the sampling (same seed, same report).")] = 0,
    outside: Annotated[list[Path] | None, typer.Option(
        "--outside", help="An outside collection to measure beside the test split (repeatable): "
        "a corpus folder built with `abcgen corpus build SOURCE --out DIR --split 0,0,1` (its "
        "test.abc), or an .abc file.")] = None,
) -> None:
    """Measure how valid, tuneful and new a model's tunes are, beside the test split."""
    from abcgen.evaluate import evaluate

    if n < 2:
        fail(f"-n must be at least 2 (a set to compare), got {n}")
    with user_errors(), _StageBar() as bar:
        metrics = evaluate(model, corpus, n=n, seed=seed, out_dir=out, progress=bar.update,
                           outside=outside or ())
    _print_summary(metrics, out)
