"""Ship a trained checkpoint inside the package: `python -m abcgen.model.bundle RUN/best.pt`.

Copies the weights, config, vocabulary and metrics (not the optimizer or resume state) to
abcgen/model/pretrained/model.pt and writes MODEL_CARD.md beside it from the checkpoint itself,
so the card's figures are always those of the shipped weights.
"""

import json
import shlex
import sys
from dataclasses import fields
from pathlib import Path

from abcgen.errors import AbcgenError
from abcgen.fileio import atomic_write_text
from abcgen.model.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from abcgen.model.sample import PRETRAINED_DIR, PRETRAINED_MODEL
from abcgen.model.train import TrainConfig

MAX_BUNDLE_BYTES = 20 * 1024 * 1024
SHIPPED_KEYS = ("model", "model_config", "vocab", "train_config", "metrics")
OPTIONAL_KEYS = ("title_words", "key_table")
"""Shipped when the checkpoint has them: the words a sampled title may use, and the keys a
model trained in C moves its tunes to."""
CLI_OPTIONS = ("corpus", "out", "preset", "hidden", "layers", "dropout", "batching", "keys",
               "augment_semitones", "seq_len", "batch_size", "lr", "max_steps", "eval_interval",
               "max_minutes", "device", "seed")
"""TrainConfig fields that `abcgen train` takes as options, in its order."""
ALWAYS_SHOWN = ("corpus", "out", "preset", "seed")
LICENCE_NOTE = (
    "The bundled model learns only from sources whose terms combine: music21's folk books "
    "(O'Neill's, Ryan's, Aird's, misc; distributed with the encoders' permission, some for "
    "non-commercial use only: music21/corpus/license.txt) and Ceol Rince na hÉireann (Bill "
    "Black's transcriptions as cleaned by the Polifonia project, CC BY 4.0). These weights are "
    "derived from them, so they are shared for **non-commercial use, with attribution** to both. "
    "The GPL and CC BY-SA collections (Nottingham, the Seattle and tuneworks books) stay out of "
    "it and serve as the outside test below (see corpora/README.md). The abcgen code itself is "
    "MIT-licensed."
)


RECIPE_MEASUREMENTS = [
    "## How the recipe was chosen (measured on a 2-core Xeon with AVX-512 bf16, 2026-12-07)", "",
    "- **Keys: one tonic.** Two 2×512 runs on this corpus side by side, 75 min with tunes "
    "as written (`--keys written`, val 1.537 bits/char) and 70 min with every tune moved to "
    "C (`--keys tonic`, val 1.483 on the tunes in C), each `abcgen evaluate -n 200 --seed 0`: "
    "tunes ending on the tonic 55 % (as written) against 68 % (in C; the test split 79 %), "
    "the two-sample AUC 0.84 against 0.71 (both drawn from the whole distribution). A model that writes every tune in C "
    "learns once that a tune ends on C; the written key must be remembered from the header.",
    "- **Key augmentation** (`--augment-semitones 2`, each tune drawn each epoch up to two "
    "semitones from its key) against tunes as written, 2×384, 20 min each on one core side "
    "by side: val 2.410 against 2.386 bits/char on the untransposed val split, so not kept.",
    "- **Whole tunes from a zero state, shuffled every epoch** (`--batching tunes`): sampling "
    "starts where training did, so no neighbour's style leaks in; unprimed tunes' meters "
    "overlap the training split's 0.89–0.92 (0.47 for the stream-trained model before).",
    "- **Sampling lets a tune close itself**: where the model would end a tune that may not "
    "end yet, the end is masked rather than steered to a quick close: tonic endings 37 % → "
    "55 % (100 tunes, the 2×512 model with written keys).",
    "- **Nucleus sampling, top-p 0.95** (`generate`'s default): 500 tunes, seed 0, against "
    "the test split's 79 % tonic endings and quarter-note quartiles 64/68/96: the whole "
    "distribution 64 %, 48/64/100, AUC 0.78; top-p 0.95 71 %, 48/64/96, AUC 0.83; top-p 0.9 "
    "77 %, 48/63/81, AUC 0.87 (shorter, plainer tunes).",
    "- **The corpus writes every tune one way** (`corpus build`'s defaults since 2026-12-07): "
    "the melody only, lengths in the unit most of a tune's notes have, dotted pairs as `>`, "
    "`R:` in one spelling. The model bundled before it spent 30-40 % of its bits on the "
    "outside books' chord symbols (4.7-6.3 bits per character of them) and scored them "
    "3.21 / 3.13 / 2.72 bits/char (Nottingham, Seattle, tuneworks); this recipe on the "
    "rewritten corpus, half-trained (35 min), already scored Seattle 2.15 and tuneworks 1.34.",
    "- **The form rule and its retries** (`generate`'s default, `--free-form` lifts it): 200 "
    "tunes, seed 0, of this recipe half-trained (24 min), against the test split's 78 % tonic "
    "endings, 38.5 % AABB with 8-bar parts and quarter-note quartiles 64/72/96: free, "
    "74 %, 3 %, 48/64/96 (a single strain is the commonest tune); parts of four-bar "
    "multiples, two of them, 63 %, 31 %, 70/96/129; and a tune the rule would end (going "
    "into a fourth part) drawn again, 69 %, 37 %, 65/96/128. Of the tunes the rule ended, "
    "one in six ended on the tonic; of those the model ended, three in four.",
    "", "",
]


def train_command(train_config: dict) -> str:
    """The `abcgen train` command line that reproduces a run's settings."""
    defaults = {f.name: f.default for f in fields(TrainConfig)}
    words = ["abcgen", "train"]
    for name in CLI_OPTIONS:
        value = train_config.get(name)
        if name in ALWAYS_SHOWN or value != defaults.get(name):
            text = f"{value:g}" if isinstance(value, float) else str(value)
            words += [f"--{name.replace('_', '-')}", text]
    return shlex.join(words)


def corpus_lines(corpus: str) -> list[str]:
    """What the corpus folder's stats.json (from `abcgen corpus build`) says about its splits."""
    stats_path = Path(corpus) / "stats.json"
    try:
        stats = json.loads(stats_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [f"- corpus folder: `{corpus}` (no stats.json found)"]
    lines = [f"- corpus folder: `{corpus}`, built by `abcgen corpus build` from: "
             f"{', '.join(stats.get('sources', {})) or 'unknown sources'}"]
    for name, size in stats.get("splits", {}).items():
        lines.append(f"- {name}: {size.get('tunes', '?'):,} tunes, {size.get('chars', '?'):,} characters")
    return lines


def model_card(record: dict) -> str:
    """MODEL_CARD.md text for a checkpoint (figures from its metrics and configs)."""
    metrics, cfg, mcfg = record["metrics"], record["train_config"], record["model_config"]
    minutes = metrics.get("run_wall_seconds", metrics.get("wall_seconds", 0.0)) / 60
    lines = [
        "# abcgen bundled char-LSTM", "",
        "A character-level LSTM that writes folk tunes in ABC notation, titles included. "
        "`abcgen generate` uses it when no `--model` is given.", "",
        "## Training data", "",
        "`make pretrained-corpora` (see the Makefile and corpora/README.md): music21's folk "
        "books and Ceol Rince na hÉireann, each tune checked, mended by `abcgen repair` where "
        "at most one bar in ten changes, its title normalised; title words from every "
        "collection and an English word list.",
        *corpus_lines(cfg["corpus"]), "",
        "## Licence", "", LICENCE_NOTE, "",
        "## Model", "",
        f"- {mcfg['layers']} × {mcfg['hidden']} LSTM, embedding {mcfg['embed']}, dropout "
        f"{mcfg['dropout']}, vocabulary {mcfg['vocab_size']} (characters + 4 markers)",
        f"- parameters: {metrics.get('parameters', 0):,}", "",
        "## Training", "",
        f"- steps: {metrics.get('run_steps', metrics.get('step')):,} (best val at step "
        f"{metrics.get('step'):,}); wall time {minutes:.1f} min on {metrics.get('device')} "
        f"({metrics.get('dtype')}); stopped: {metrics.get('stop_reason', 'unknown')}",
        f"- batches: {_batches(cfg)}; AdamW, peak lr {cfg['lr']}, seed {cfg['seed']}",
        f"- validation: **{metrics['best_val_bpc']:.4f} bits/char**; "
        f"test: **{metrics.get('test_bpc', float('nan')):.4f} bits/char** "
        "(each tune from a zero state, end marker included)", "",
        "Exact command:", "", "```", train_command(cfg),
        f"abcgen evaluate --model {shlex.quote(str(Path(cfg['out']) / 'best.pt'))} --corpus "
        f"{shlex.quote(str(cfg['corpus']))} -n 500 --seed 0 --out "
        f"{shlex.quote(str(Path(cfg['out']) / 'eval'))}",
        f"python -m abcgen.model.bundle {shlex.quote(str(Path(cfg['out']) / 'best.pt'))} "
        f"{shlex.quote(str(Path(cfg['out']) / 'eval' / 'metrics.json'))}", "```", "",
        *RECIPE_MEASUREMENTS,
    ]
    return "\n".join(lines)


def _batches(cfg: dict) -> str:
    if cfg.get("batching") == "stream":
        return f"stream, {cfg['batch_size']} × {cfg['seq_len']} characters (state carried)"
    keys = cfg.get("augment_semitones", 0)
    return (f"{cfg['batch_size']} whole tunes from a zero state, shuffled every epoch"
            + (f", each drawn in a random key up to {keys} semitones from its own" if keys else ""))


def evaluation_lines(metrics: dict) -> list[str]:
    """The model card's evaluation section from `abcgen evaluate`'s metrics.json: what
    `generate` delivers (constrained sampling, the default) and, apart, what the network
    learnt (its unconstrained draws)."""
    from abcgen.evaluate.report import card_lines  # matplotlib only when there is a card

    settings, validity = metrics["settings"], metrics["validity"]
    if "unconstrained" not in validity:
        raise AbcgenError("the metrics.json is from an older `abcgen evaluate` (its one set "
                          "was unconstrained, without a constrained one): evaluate again")
    gen, raw = validity["generated"], validity["unconstrained"]
    novelty, mgeval = metrics["novelty"]["generated"], metrics["mgeval_vs_test"]["generated"]
    overlaps = ", ".join(f"{name.replace('_', ' ')} {row['overlap']:.2f}"
                         for name, row in mgeval.items())
    return [
        "## Evaluation", "",
        f"`abcgen evaluate --model {settings['model']} --corpus {settings['corpus']} "
        f"-n {settings['n']} --seed {settings['seed']}` (full report: `report.md` beside "
        "its metrics.json):",
        f"- as `abcgen generate` delivers them (sampled constrained, its default, then "
        f"repaired): {gen['no_check_errors']:.1%} with no `check` error before repair; "
        f"after repair {gen['valid_after_repair']:.1%} of the tunes written are valid, "
        f"{gen['failed']:.1%} of the samples could not be repaired (dropped)",
        f"- the network's own draws (unconstrained, `generate --unconstrained`): "
        f"{raw['no_check_errors']:.1%} with no `check` error; complete headers (X T M L K): "
        f"{raw['header_completeness']['all']:.1%}; bars of the right length: "
        f"{raw['bars_right_length']:.1%}; after repair {raw['valid_after_repair']:.1%} "
        f"valid, {raw['failed']:.1%} dropped",
        f"- novelty of the generated tunes: {novelty['copies']:.1%} copies of a training "
        f"tune; novel 10-grams {novelty['novel_ngrams']['10']:.1%}",
        f"- MGEval-style overlap of the generated tunes with the test split: {overlaps}", "",
        *card_lines(metrics),
    ]


def bundle(checkpoint: str | Path, out_dir: str | Path = PRETRAINED_DIR,
           evaluation: str | Path | None = None) -> Path:
    """Copy a checkpoint's shippable part to `out_dir`/model.pt and write its model card
    (with an evaluation section when `evaluation`, an `abcgen evaluate` metrics.json, is given)."""
    record = load_checkpoint(checkpoint)
    model_from_checkpoint(record, checkpoint)  # refuse weights that do not rebuild
    missing = [key for key in SHIPPED_KEYS if key not in record]
    if missing or "best_val_bpc" not in record.get("metrics", {}):
        raise AbcgenError(f"{checkpoint}: not a training checkpoint (lacks {', '.join(missing) or 'metrics'})")
    card = model_card(record)
    if evaluation is not None:  # read first: a metrics.json it can't use leaves nothing written
        card += "\n".join(evaluation_lines(json.loads(Path(evaluation).read_text())))
    shipped = {key: record[key] for key in SHIPPED_KEYS + OPTIONAL_KEYS if key in record}
    target = Path(out_dir) / PRETRAINED_MODEL.name
    save_checkpoint(target, shipped)
    if target.stat().st_size > MAX_BUNDLE_BYTES:
        target.unlink()
        raise AbcgenError(f"{checkpoint}: the weights take more than 20 MB; bundle a smaller preset")
    atomic_write_text(Path(out_dir) / "MODEL_CARD.md", card)
    return target


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print("usage: python -m abcgen.model.bundle RUN/best.pt [EVAL/metrics.json]",
              file=sys.stderr)
        return 2
    try:
        target = bundle(argv[0], evaluation=argv[1] if len(argv) == 2 else None)
    except AbcgenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"bundled {argv[0]} -> {target} (+ MODEL_CARD.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
