"""Write an evaluation to a report folder: metrics.json, report.md and the PNG plots."""

import json
from pathlib import Path

from abcgen.errors import AbcgenError
from abcgen.evaluate import plots
from abcgen.fileio import atomic_write_text

PLOTS = {
    "features.png": ("profiles", plots.features_plot),
    "mgeval_distances.png": ("comparisons", plots.distances_plot),
    "novelty.png": ("novelty", plots.novelty_plot),
    "form.png": ("profiles", plots.form_plot),
}
VALIDITY_PLOT = "validity.png"
MUSICAL_PLOT = "musical.png"
HEADLINE_NGRAMS = (10, 20)
"""n-gram lengths quoted in the summary table (metrics.json has all of 1..49)."""


def _pct(value: float | None) -> str:
    """A share as a percentage; a dash where there was nothing to measure."""
    return "–" if value is None else f"{value:.1%}"


VALIDITY_SETS = ("generated", "unconstrained", "test")
"""The validity table's columns, in metrics.json's names."""


def _validity_rows(m: dict) -> list[tuple[str, str, str, str]]:
    """(figure, generated, unconstrained, test split) rows of the validity table."""
    v = {name: m["validity"][name] for name in VALIDITY_SETS}
    return [
        ("no `check` errors before repair", *(_pct(v[n]["no_check_errors"]) for n in v)),
        ("bars of the right length (before repair)",
         *(_pct(v[n]["bars_right_length"]) for n in v)),
        ("complete header (X T M L K)", *(_pct(v[n]["header_completeness"]["all"]) for n in v)),
        ("distinct titles per tune", *(_pct(v[n]["title_uniqueness"]) for n in v)),
        ("repaired / failed repair", *(f"{_pct(v[n]['repaired'])} / {_pct(v[n]['failed'])}"
                                       for n in v)),
        ("**valid after repair** (of the tunes written)",
         *(_pct(v[n]["valid_after_repair"]) for n in v)),
    ]


def _summary_rows(m: dict) -> list[tuple[str, str, str]]:
    """(figure, generated, test split) rows of the novelty and form table."""
    nov = m["novelty"]
    form = {name: m["distributions"][name]["structure"] for name in ("generated", "test")}
    rows = [
        ("copies (≥ 50 % of the body found in one training tune run)",
         *(_pct(nov[n]["copies"]) for n in nov)),
        ("mean longest run found in training, share of body",
         *(_pct(nov[n]["copied_share_mean"]) for n in nov)),
    ]
    rows += [(f"novel {k}-grams", *(_pct(nov[n]["novel_ngrams"][k]) for n in nov))
             for k in HEADLINE_NGRAMS]
    rows += [
        ("tunes with a repeated part", *(_pct(form[n]["with_repeats"]) for n in form)),
        ("AABB with 8-bar parts", *(_pct(form[n]["aabb_8_bar"]) for n in form)),
        ("mean parts per tune", *(f"{form[n]['mean_parts']:.2f}" for n in form)),
        ("parts of 8 bars", *(_pct(form[n]["eight_bar_parts"]) for n in form)),
    ]
    return rows


def _quartiles(row: dict) -> str:
    values = [row[f"p{q}"] for q in (25, 50, 75)]
    return "–" if None in values else " / ".join(f"{round(v, 1):g}" for v in values)


def _number(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def set_label(name: str) -> str:
    """A set's column heading."""
    return {"generated": "generated", "unconstrained": "unconstrained",
            "test": "test split"}.get(name, name)


def musical_rows(m: dict) -> tuple[tuple[str, ...], list[tuple]]:
    """(header, rows) of the musical measures table: one column per set."""
    rows_by_set, aucs = m["musical"], m["classifier_auc_vs_test"]
    bpc = m.get("bits_per_char", {})
    names = list(rows_by_set)

    def auc(name: str) -> str:
        row = aucs.get("test_halves" if name == "test" else name, {})
        if row.get("auc") is None:
            return "–"
        text = f"{row['auc']:.2f} ± {row['auc_std']:.2f}"
        return f"{text} (two halves)" if name == "test" else text

    table = [
        ("ends on the tonic (last melody note = K: tonic)",
         *(_pct(rows_by_set[n]["ends_on_tonic"]) for n in names)),
        ("played length in bars, quartiles 25/50/75",
         *(_quartiles(rows_by_set[n]["length_bars"]) for n in names)),
        ("  overlap with the test split's",
         *(_number(rows_by_set[n]["length_bars"]["overlap_vs_test"]) for n in names)),
        ("played length in quarter notes, quartiles 25/50/75",
         *(_quartiles(rows_by_set[n]["length_quarters"]) for n in names)),
        ("  overlap with the test split's",
         *(_number(rows_by_set[n]["length_quarters"]["overlap_vs_test"]) for n in names)),
        ("two or more parts, or a repeat",
         *(_pct(rows_by_set[n]["parts_or_repeats"]) for n in names)),
        ("real-word titles", *(_pct(rows_by_set[n]["real_word_titles"]) for n in names)),
        ("title identical to a training title",
         *(_pct(rows_by_set[n]["titles_identical_to_training"]) for n in names)),
        ("copies of a training tune", *(_pct(rows_by_set[n]["copies"]) for n in names)),
        ("classifier AUC against the test split (0.5: can't tell)", *(auc(n) for n in names)),
        ("bits/char", *(_number(bpc.get(n), 3) for n in names)),
    ]
    return ("measure", *(set_label(n) for n in names)), table


def _table(header: tuple[str, ...], rows: list[tuple]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def _mgeval_rows(m: dict) -> list[tuple]:
    gen, val = m["mgeval_vs_test"]["generated"], m["mgeval_vs_test"]["val"]
    return [(plots.FEATURE_TITLES[f], f"{gen[f]['overlap']:.3f}", f"{gen[f]['kl']:.3f}",
             f"{val[f]['overlap']:.3f}", f"{val[f]['kl']:.3f}") for f in gen]


def _overlap_rows(m: dict) -> list[tuple]:
    gen, val = (m["distribution_overlap_vs_test"][n] for n in ("generated", "val"))
    return [(name, f"{gen[name]:.3f}", f"{val[name]:.3f}") for name in gen]


def _top_shares(shares: dict[str, float], count: int = 6) -> str:
    return ", ".join(f"{k} {v:.0%}" for k, v in list(shares.items())[:count])


def _repair_rows(m: dict) -> list[tuple]:
    """(kind, edits in the generated set, edits in the unconstrained set) rows."""
    sets = [m["validity"][name]["repairs_by_kind"] for name in ("generated", "unconstrained")]
    kinds = dict.fromkeys(kind for repairs in sets for kind in repairs)
    return [(kind, *(repairs.get(kind, 0) for repairs in sets)) for kind in kinds]


def card_lines(m: dict) -> list[str]:
    """The model card's musical measures (abcgen.model.bundle): the report's table, with the
    outside collections named; nothing for a metrics.json from before these measures."""
    if "musical" not in m or "classifier_auc_vs_test" not in m:
        return []
    outside = m["settings"].get("outside", {})
    named = "; ".join(f"{name}: `{path}`" for name, path in outside.items())
    return [
        "### Musical measures", "",
        "Each set against the test split (`abcgen evaluate"
        + "".join(f" --outside {path}" for path in outside.values())
        + "`): tonic endings (the last melody note on the K: tonic), played lengths (repeats "
        "expanded; overlap of the two distributions), parts or repeats, titles made of real "
        "words (every word in an English word list or a real tune title; no digit or `:`; "
        "not all capitals), copies, a logistic regression's cross-validated AUC telling the "
        "set from the test split (0.5: indistinguishable; in the test column, two halves of "
        "it) and bits/char (tunes with characters outside the vocabulary left out)."
        + (f" Outside collections: {named}." if named else ""), "",
        *_table(*musical_rows(m)), "",
    ]


def render_markdown(m: dict) -> str:
    """report.md: the tables of metrics.json in words, and the plots."""
    s, bpc = m["settings"], m["bits_per_char"]
    d = m["distributions"]
    repairs = _repair_rows(m)
    lines = [
        "# abcgen evaluation", "",
        f"Model `{s['model']}`; corpus `{s['corpus']}` ({s['train_tunes']} training, "
        f"{s['test_tunes']} test tunes). **Generated**: {s['n']} tunes as `abcgen generate` "
        f"delivers them, sampled with seed {s['seed']} (temperature 1) constrained to what "
        "keeps a tune valid (its default), then repaired, a missing title written by the "
        "model; the figures below are theirs where no other set is named. **Unconstrained**: "
        f"{s['n']} more with the same seeds, the network's own draws (`generate "
        "--unconstrained`), repaired alike: what the network learnt, in the validity table.",
        "",
        "**Bits per character**: " + ", ".join(f"{name} {_number(value, 4)}"
                                               for name, value in bpc.items()) + ".", "",
        "## Validity", "",
        *_table(("figure", "generated (as `generate` delivers)",
                 "unconstrained (the network's own draws)", "test split (real tunes)"),
                _validity_rows(m)), "",
        "## Generated tunes beside the test split", "",
        *_table(("figure", "generated", "test split (real tunes)"), _summary_rows(m)), "",
        "## Musical measures", "",
        "Every set as delivered: generated (as `generate`), unconstrained (the network's own "
        "draws, repaired), the test split and each outside collection. Lengths are played "
        "lengths (repeats expanded); their overlap is that of the two distributions' kernel "
        "density estimates. Real-word titles: every word in an English word list or a word of "
        "a real tune title (all collections), no digit or `:`, not all capitals. The "
        "classifier is a logistic regression on per-tune features (MGEval histograms, pitch "
        "range, notes per bar, lengths, tonic ending, parts, repeats), 5-fold "
        "cross-validated; in the test split's column, two random halves of it. Bits/char: "
        "tunes with a character outside the model's vocabulary are left out "
        "(`bits_per_char_scoring` in metrics.json counts them).", "",
        *_table(*musical_rows(m)), "",
        "## MGEval: distances to the test tunes", "",
        "Overlap area (OA, 1 is best) and KL divergence (0 is best) between the distances among "
        "test tunes and the distances from a set's tunes to the test tunes (Yang & Lerch 2020). "
        "The reference row is the val split: real tunes the model never trained on.", "",
        *_table(("feature", "generated OA", "generated KL", "val OA", "val KL"), _mgeval_rows(m)),
        "", "## Meters, keys, modes, rhythms", "",
        *_table(("distribution", "overlap generated/test", "overlap val/test"), _overlap_rows(m)),
        "",
        *(f"- {what}: generated {_top_shares(d['generated'][key])}; test "
          f"{_top_shares(d['test'][key])}"
          for what, key in (("meters", "meters"), ("modes", "modes"), ("rhythms", "rhythms"))),
        "", "## Repairs by kind", "",
        *(_table(("kind", "generated", "unconstrained"), repairs) if repairs else ["none"]), "",
        "## Plots", "",
        *(f"![{name}]({name})" for name in (*PLOTS, VALIDITY_PLOT, MUSICAL_PLOT)), "",
    ]
    return "\n".join(lines)


def write_report(evaluation, out_dir: Path) -> list[Path]:
    """Write metrics.json, report.md and the plots into `out_dir`; return the files."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AbcgenError(f"{out_dir}: cannot create the report folder: {exc.strerror}") from None
    files = [plot(getattr(evaluation, source), out_dir / name)
             for name, (source, plot) in PLOTS.items()]
    files.append(plots.validity_plot(evaluation.metrics["validity"], out_dir / VALIDITY_PLOT))
    files.append(plots.musical_plot(evaluation.metrics["musical"],
                                    evaluation.metrics["classifier_auc_vs_test"],
                                    evaluation.musical, out_dir / MUSICAL_PLOT))
    files.append(atomic_write_text(out_dir / "metrics.json",
                                   json.dumps(evaluation.metrics, indent=2) + "\n"))
    files.append(atomic_write_text(out_dir / "report.md", render_markdown(evaluation.metrics)))
    return files
