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


def _print_summary(metrics: dict, out: Path) -> None:
    validity, novelty = metrics["validity"], metrics["novelty"]
    bpc = metrics["bits_per_char"]
    gen, raw, test = validity["generated"], validity["unconstrained"], validity["test"]
    out_console.print(
        f"bits/char val {bpc['val']:.3f}, test {bpc['test']:.3f}\n"
        f"no check errors before repair: {gen['no_check_errors']:.1%} as generate delivers "
        f"(constrained), {raw['no_check_errors']:.1%} unconstrained, test split "
        f"{test['no_check_errors']:.1%}\n"
        f"valid after repair: {gen['valid_after_repair']:.1%} (unconstrained "
        f"{raw['valid_after_repair']:.1%})\n"
        f"copies (>= 50% found in training): {novelty['generated']['copies']:.1%} "
        f"(test split {novelty['test']['copies']:.1%})\n"
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
) -> None:
    """Measure how valid, tuneful and new a model's tunes are, beside the test split."""
    from abcgen.evaluate import evaluate

    if n < 2:
        fail(f"-n must be at least 2 (a set to compare), got {n}")
    with user_errors(), _StageBar() as bar:
        metrics = evaluate(model, corpus, n=n, seed=seed, out_dir=out, progress=bar.update)
    _print_summary(metrics, out)
