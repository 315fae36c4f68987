"""The report's PNG plots: the generated set beside the test split, panel by panel.

matplotlib runs on its Agg backend (no display needed) and is imported only here.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
import numpy as np  # noqa: E402

from abcgen.evaluate.compare import pooled_histogram  # noqa: E402
from abcgen.evaluate.features import (INTERVAL_CLASSES, NOTE_LENGTH_NAMES,  # noqa: E402
                                      PITCH_CLASS_NAMES)
from abcgen.evaluate.novelty import COPY_SHARE  # noqa: E402
from abcgen.fileio import atomic_write_bytes  # noqa: E402

COLOURS = {"generated": "#d95f02", "unconstrained": "#e6ab02", "test": "#1b9e77",
           "val": "#7570b3"}
LABELS = {"generated": "generated", "unconstrained": "unconstrained (network's own draws)",
          "test": "test split (real)", "val": "val split (real)"}
FEATURE_TITLES = {"pitch_class": "pitch-class histogram", "interval": "interval histogram",
                  "note_length": "note-length histogram", "pitch_range": "pitch range",
                  "notes_per_bar": "notes per bar"}
TOP_CATEGORIES = 8
"""Categories shown per plot: the test split's commonest, and the generated set's top three."""
GENERATED_EXTRA = 3
DPI = 110


def save(figure, path: Path) -> Path:
    """Write a figure as PNG atomically and close it."""
    import io

    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=DPI)
    plt.close(figure)
    return atomic_write_bytes(path, buffer.getvalue())


def paired_bars(ax, labels: list[str], series: dict[str, list[float]], title: str,
                rotate: bool = False) -> None:
    """Side-by-side bars of each named series over the same categories."""
    x = np.arange(len(labels))
    width = 0.8 / max(len(series), 1)
    for k, (name, values) in enumerate(series.items()):
        ax.bar(x + (k - (len(series) - 1) / 2) * width, values, width, label=LABELS[name],
               color=COLOURS[name])
    ax.set_xticks(x, labels, rotation=45 if rotate else 0, ha="right" if rotate else "center",
                  fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel("share", fontsize=8)


def _histogram_panels(axes, profiles: dict) -> None:
    classes = {"pitch_class": list(PITCH_CLASS_NAMES),
               "interval": [str(i) if i % 3 == 0 else "" for i in INTERVAL_CLASSES],
               "note_length": list(NOTE_LENGTH_NAMES)}
    for ax, (feature, labels) in zip(axes, classes.items(), strict=True):
        series = {name: pooled_histogram(profiles[name].features[feature]).tolist()
                  for name in ("generated", "test")}
        paired_bars(ax, labels, series, FEATURE_TITLES[feature], rotate=feature == "note_length")
    axes[1].set_xlabel("semitones", fontsize=8)


def _scalar_panels(axes, profiles: dict) -> None:
    for ax, feature, unit in zip(axes, ("pitch_range", "notes_per_bar"),
                                 ("semitones", "notes"), strict=True):
        values = {name: profiles[name].features[feature] for name in ("generated", "test")}
        top = max(float(v.max()) for v in values.values() if v.size)
        # whole semitones: one bin per value; notes per bar are fractional
        bins = np.arange(-0.5, top + 1.5) if feature == "pitch_range" else np.linspace(0, top + 1, 25)
        for name, data in values.items():
            ax.hist(data, bins=bins, density=True, histtype="stepfilled", alpha=0.45,
                    color=COLOURS[name], label=LABELS[name])
        ax.set_title(f"{FEATURE_TITLES[feature]} per tune", fontsize=10)
        ax.set_xlabel(unit, fontsize=8)
        ax.set_ylabel("density", fontsize=8)


def features_plot(profiles: dict, path: Path) -> Path:
    """The MGEval features: three pooled histograms and two per-tune distributions."""
    figure, axes = plt.subplots(2, 3, figsize=(15, 8))
    _histogram_panels(axes[0], profiles)
    _scalar_panels(axes[1][:2], profiles)
    axes[1][2].axis("off")
    handles, labels = axes[0][0].get_legend_handles_labels()
    axes[1][2].legend(handles, labels, loc="center", fontsize=12, frameon=False)
    figure.suptitle("Pitch and rhythm: generated tunes beside the test split", fontsize=13)
    return save(figure, path)


def distances_plot(comparisons: dict, path: Path) -> Path:
    """MGEval's densities: intra-test distances against generated-test (and val-test) ones."""
    features = list(comparisons["generated"])
    figure, grid = plt.subplots(2, 3, figsize=(15, 8))
    axes = grid.ravel()
    for ax, feature in zip(axes, features, strict=False):
        gen, val = comparisons["generated"][feature], comparisons["val"][feature]
        ax.plot(gen.grid, gen.intra_density, color=COLOURS["test"], label="test ↔ test")
        ax.plot(gen.grid, gen.inter_density, color=COLOURS["generated"],
                label="generated ↔ test")
        ax.plot(val.grid, val.inter_density, color=COLOURS["val"], linestyle="--",
                label="val ↔ test (reference)")
        ax.set_title(f"{FEATURE_TITLES[feature]}\ngenerated: OA {gen.overlap:.2f}, KL {gen.kl:.3f}"
                     f"   val: OA {val.overlap:.2f}, KL {val.kl:.3f}", fontsize=10)
        ax.set_xlabel("distance between two tunes", fontsize=9)
        ax.set_ylabel("density", fontsize=9)
    axes[-1].axis("off")
    handles, labels = axes[0].get_legend_handles_labels()
    axes[-1].legend(handles, labels, loc="center", fontsize=12, frameon=False)
    figure.suptitle("MGEval: distances between tunes; overlap area (OA, 1 best) and KL "
                    "(0 best) against the test-test distances", fontsize=12)
    return save(figure, path)


def novelty_plot(novelty: dict, path: Path) -> Path:
    """Longest run found in training as a share of each tune; novel n-gram fractions."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2))
    bins = np.linspace(0, 1, 21)
    for name in ("generated", "test"):
        row = novelty[name]
        left.hist(row["copied_shares"], bins=bins, density=True, histtype="stepfilled",
                  alpha=0.45, color=COLOURS[name],
                  label=f"{LABELS[name]}: {row['copies']:.1%} copies")
        ngrams = {n: f for n, f in row["novel_ngrams"].items() if f is not None}
        right.plot(list(ngrams), list(ngrams.values()), color=COLOURS[name], label=LABELS[name])
    left.axvline(COPY_SHARE, color="black", linestyle=":", label=f"copy threshold ({COPY_SHARE:.0%})")
    left.set_title("longest run of the body found in a training tune", fontsize=10)
    left.set_xlabel("share of the tune's body", fontsize=8)
    left.set_ylabel("density", fontsize=8)
    left.legend(fontsize=8)
    right.set_title("novel n-grams (not in the training split)", fontsize=10)
    right.set_xlabel("n (characters)", fontsize=8)
    right.set_ylabel("fraction novel", fontsize=8)
    right.set_ylim(0, 1.02)
    right.legend(fontsize=8)
    return save(figure, path)


def _top(shares: dict[str, float], keys: list[str]) -> list[float]:
    return [shares.get(k, 0.0) for k in keys]


def _category_panel(ax, profiles: dict, attribute: str, title: str) -> None:
    reference = getattr(profiles["test"], attribute)
    generated = getattr(profiles["generated"], attribute)
    keys = list(dict.fromkeys(list(reference)[:TOP_CATEGORIES] + list(generated)[:GENERATED_EXTRA]))
    series = {name: _top(getattr(profiles[name], attribute), keys) for name in ("generated", "test")}
    paired_bars(ax, keys, series, title, rotate=True)


def form_plot(profiles: dict, path: Path) -> Path:
    """Meters, modes, rhythms and the number of parts, generated beside the test split."""
    figure, axes = plt.subplots(2, 2, figsize=(12, 8))
    _category_panel(axes[0][0], profiles, "meters", "meter (M:)")
    _category_panel(axes[0][1], profiles, "modes", "mode (K:)")
    _category_panel(axes[1][0], profiles, "rhythms", "rhythm (R:)")
    parts = {name: profiles[name].structure["parts"] for name in ("generated", "test")}
    labels = sorted(set(parts["generated"]) | set(parts["test"]))
    aabb = ", ".join(f"{LABELS[n]} {profiles[n].structure['aabb_8_bar']:.0%}" for n in parts)
    paired_bars(axes[1][1], labels, {n: _top(p, labels) for n, p in parts.items()},
                f"parts per tune (AABB with 8-bar parts: {aabb})")
    axes[1][1].set_xlabel("parts", fontsize=8)
    axes[0][0].legend(fontsize=9)
    figure.suptitle("Form and distributions", fontsize=13)
    return save(figure, path)


def validity_plot(validity: dict, path: Path) -> Path:
    """Share of tunes with each `check` error before repair, and repair's edits per tune by
    kind: the generated set beside the unconstrained one (and the test split's errors)."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4.5))
    sampled = ("generated", "unconstrained")
    errors = {n: validity[n]["tunes_with_error"] for n in (*sampled, "test")}
    codes = list(dict.fromkeys(code for n in sampled for code in list(errors[n])[:8]))
    codes = list(dict.fromkeys(codes + list(errors["test"])[:4]))
    paired_bars(left, codes or ["(none)"], {n: _top(e, codes) or [0.0] for n, e in errors.items()},
                "tunes with each check error, before repair", rotate=True)
    left.legend(fontsize=8)
    per_tune = {n: {kind: count / max(validity[n]["tunes"], 1)
                    for kind, count in validity[n]["repairs_by_kind"].items()} for n in sampled}
    kinds = list(dict.fromkeys(kind for n in sampled for kind in list(per_tune[n])[:8]))
    paired_bars(right, kinds or ["(none)"],
                {n: _top(p, kinds) or [0.0] for n, p in per_tune.items()},
                "repairs by kind", rotate=True)
    right.set_ylabel("edits per sampled tune", fontsize=8)
    return save(figure, path)


OUTSIDE_COLOURS = ("#66a61e", "#e7298a", "#a6761d", "#666666", "#1f78b4")


def set_colours(names) -> dict[str, str]:
    """A colour per set: the fixed ones, then one per outside collection in order."""
    outside = [name for name in names if name not in COLOURS]
    return {name: COLOURS.get(name) or OUTSIDE_COLOURS[outside.index(name) % len(OUTSIDE_COLOURS)]
            for name in names}


def _set_label(name: str) -> str:
    return LABELS.get(name, name)


def _length_panel(ax, measured: dict, unit: str, rows: dict) -> None:
    from abcgen.evaluate.compare import density_grid, kde_on_grid

    values = {name: np.asarray(m.lengths(unit), float) for name, m in measured.items()}
    values = {name: v for name, v in values.items() if v.size}
    if not values:
        ax.axis("off")
        return
    reference = values.get("test", next(iter(values.values())))
    colours = set_colours(list(measured))
    for name, data in values.items():
        grid = density_grid(data, reference)
        step = float(grid[1] - grid[0])
        overlap = rows[name][f"length_{unit}"]["overlap_vs_test"]
        label = _set_label(name) + ("" if name == "test" or overlap is None
                                    else f" (overlap {overlap:.2f})")
        ax.plot(grid, kde_on_grid(data, grid) / step, color=colours[name],
                label=label, linestyle="-" if name in COLOURS else "--")
    ax.set_xlim(left=0)
    ax.set_title(f"played length in {'bars' if unit == 'bars' else 'quarter notes'} "
                 "(repeats expanded)", fontsize=10)
    ax.set_xlabel("bars" if unit == "bars" else "quarter notes", fontsize=8)
    ax.set_ylabel("density", fontsize=8)
    ax.legend(fontsize=7)


def musical_plot(rows: dict, aucs: dict, measured: dict, path: Path) -> Path:
    """The musical measures of every set: shares (tonic endings, parts or repeats, real-word
    titles, copies), the played lengths' densities, and the two-sample classifier's AUC."""
    figure, axes = plt.subplots(2, 2, figsize=(13, 9))
    names = list(rows)
    colours = set_colours(names)
    figures = (("ends_on_tonic", "ends on the tonic"),
               ("parts_or_repeats", "2+ parts or a repeat"),
               ("real_word_titles", "real-word titles"),
               ("titles_identical_to_training", "title = a training title"),
               ("copies", "copies of training tunes"))
    ax = axes[0][0]
    x = np.arange(len(figures))
    width = 0.8 / max(len(names), 1)
    for k, name in enumerate(names):
        heights = [rows[name].get(key) or 0.0 for key, _ in figures]
        ax.bar(x + (k - (len(names) - 1) / 2) * width, heights, width, label=_set_label(name),
               color=colours[name])
    ax.set_xticks(x, [label for _, label in figures], rotation=20, ha="right", fontsize=8)
    ax.set_ylim(0, 1.35)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("share of tunes", fontsize=8)
    ax.set_title("endings, form, titles, copies", fontsize=10)
    ax.legend(fontsize=7, ncol=2, loc="upper center")
    _length_panel(axes[0][1], measured, "bars", rows)
    _length_panel(axes[1][0], measured, "quarters", rows)
    ax = axes[1][1]
    shown = [(name, row) for name, row in aucs.items() if row.get("auc") is not None]
    labels = [("test halves (reference)" if name == "test_halves" else _set_label(name))
              for name, _ in shown]
    ax.barh(np.arange(len(shown)), [row["auc"] for _, row in shown],
            xerr=[row["auc_std"] for _, row in shown],
            color=[colours.get("test" if name == "test_halves" else name, "#999999")
                   for name, _ in shown])
    ax.set_yticks(np.arange(len(shown)), labels, fontsize=8)
    ax.axvline(0.5, color="black", linestyle=":", label="0.5: can't tell from real")
    ax.set_xlim(0.3, 1.0)
    ax.set_xlabel("cross-validated AUC (± std over folds)", fontsize=8)
    ax.set_title("classifier two-sample test: telling a set from the test split", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    figure.suptitle("Musical measures: every set beside the test split", fontsize=13)
    return save(figure, path)
