"""Repair benchmark (issue 4, part 3): what `check` flags, what repair mends, and whether the
mended tunes satisfy abc2midi and music21.

1. Nottingham (../shared/corpora/nottingham_jukedeck): each ABC_original file is repaired as
   a book. Reported: tunes `check` flags (any error; the book-level duplicate X: is counted
   apart because the files are checked one at a time), tunes with no errors after repair,
   failures, edits by kind, abc2midi verdicts on the output, and agreement with the
   hand-cleaned ABC_cleaned tune of the same file and X:. Bar structure = the written bars'
   lengths and repeat marks (open, close, ending numbers); it is compared for the tunes whose
   bars repair changed and whose original bar structure differed from the cleaned one.
2. The bundled model (abcgen/model/pretrained/): 1,000 seeded samples, the share with no
   `check` errors raw, and after repair the share with no check errors, no abc2midi Error or
   bar-length Warning, parsed by music21 without an exception and titled. Skipped with a note
   when the model is not there.

abc2midi's verdict on one tune: an `Error` line, or a `Bar N has ...` warning outside the
first bar (abc2midi never checks bar 0 as a pickup on the first pass) and outside repeat
passes (REFERENCES-ABC.md, last table).
"""

from collections import Counter
from pathlib import Path

from abcgen.notation import check_text, check_tune, read_abc, read_tunes
from abcgen.notation.edit import score_groups
from abcgen.repair import repair_samples, repair_text
from abcgen.tools import abc2midi

NOTTINGHAM = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / \
    "nottingham_jukedeck"
SAMPLES = {True: 100, False: 1000}  # quick, full
SEED = 0


def bar_structure(tune, marks: bool = True) -> tuple:
    """The written bars' lengths (ticks) and, with `marks`, their repeat marks."""
    bars = score_groups(tune).bars
    if not marks:
        return tuple(b.duration for b in bars)
    return tuple((b.duration, b.open_repeat, b.close_repeat, b.ending) for b in bars)


def abc2midi_verdicts(text: str) -> list[bool]:
    """Per tune of `text`: True when abc2midi reports no Error and no bar-length Warning
    (outside bar 0 and repeat passes). Empty when abc2midi is not installed."""
    if not abc2midi.available():
        return []
    report = abc2midi.check(text)
    tunes = read_tunes(text)
    ends = [t.start_line for t in tunes[1:]] + [len(text.split("\n")) + 1]
    verdicts = []
    for tune, end in zip(tunes, ends, strict=True):
        verdicts.append(not report.between(tune.start_line, end).complaints)
    return verdicts


def _flagged(text: str, source: str) -> tuple[int, int]:
    """Tunes with a check error of their own; tunes whose X: repeats in the book."""
    tunes = read_tunes(text, source)
    own = sum(1 for t in tunes if any(i.severity == "error" for i in check_tune(t)))
    dup = sum(1 for i in check_text(text, source) if i.code == "duplicate-x"
              and "used again" in i.message)
    return own, dup


def _agreement(original: str, repaired_report, cleaned: str) -> Counter:
    """Bar-structure agreement of repaired tunes with the hand-cleaned tunes of the same X:."""
    counts: Counter = Counter()
    cleaned_by_x = {t.x: t for t in read_tunes(cleaned)}
    original_by_x = {t.x: t for t in read_tunes(original)}
    repaired_by_x = {t.x: t for t in read_tunes(repaired_report.text)}
    for entry in repaired_report.tunes:
        if not any(edit.kind == "bar-length" for edit in entry.edits):
            continue
        counts["bars_edited"] += 1
        x = entry.x
        if x not in cleaned_by_x or x not in repaired_by_x or x not in original_by_x:
            continue
        reference = bar_structure(cleaned_by_x[x])
        if bar_structure(original_by_x[x]) == reference:
            counts["cleaned_kept_original_bars"] += 1
            continue
        counts["compared"] += 1
        counts["agree"] += bar_structure(repaired_by_x[x]) == reference
        counts["agree_lengths"] += bar_structure(repaired_by_x[x], marks=False) == \
            bar_structure(cleaned_by_x[x], marks=False)
    return counts


def nottingham() -> dict:
    """Part 1 (see the module docstring)."""
    if not NOTTINGHAM.is_dir():
        return {"skipped": f"{NOTTINGHAM} is not present"}
    totals, kinds = Counter(), Counter()
    for path in sorted((NOTTINGHAM / "ABC_original").glob("*.abc")):
        original = read_abc(path)
        own, duplicate = _flagged(original, str(path))
        report = repair_text(original, str(path))
        after = [i for i in check_text(report.text) if i.severity == "error"]
        verdicts = abc2midi_verdicts(report.text)
        totals.update(tunes=len(report.tunes), flagged=own, duplicate_x=duplicate,
                      clean_before=report.count("clean"), repaired=report.count("repaired"),
                      failed=report.failed, errors_after=len(after),
                      abc2midi_ok=sum(verdicts), abc2midi_judged=len(verdicts))
        totals.update(_agreement(original, report, read_abc(NOTTINGHAM / "ABC_cleaned" /
                                                             path.name)))
        kinds.update(report.edits_by_kind())
    totals["valid_after"] = totals["tunes"] - totals["failed"] if not totals["errors_after"] \
        else None
    return {**dict(totals), "edits_by_kind": dict(kinds.most_common()),
            "bar_agreement": _share(totals["agree"], totals["compared"]),
            "bar_length_agreement": _share(totals["agree_lengths"], totals["compared"])}


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def model_samples(quick: bool) -> dict:
    """Part 2 (see the module docstring); skipped when the bundled model is missing."""
    from abcgen.model.sample import PRETRAINED_MODEL

    if not PRETRAINED_MODEL.exists():
        return {"skipped": f"no bundled model at {PRETRAINED_MODEL} (issue 4 part 3 needs it; "
                           "run again once it exists)"}
    texts = _samples(SAMPLES[quick])
    raw_ok = sum(1 for t in texts if not any(i.severity == "error" for i in check_text(t)))
    book, summary = repair_samples(texts, title_writer=None)
    tunes = read_tunes(book)
    verdicts = abc2midi_verdicts(book)
    return {"samples": len(texts), "raw_no_check_errors": _share(raw_ok, len(texts)),
            "written": summary["written"], "repairs_by_kind": summary["repairs_by_kind"],
            "failures": len(summary["failures"]),
            "after_no_check_errors": _share(sum(1 for t in tunes if not any(
                i.severity == "error" for i in check_tune(t))), len(texts)),
            "after_abc2midi_ok": _share(sum(verdicts), len(texts)) if verdicts else None,
            "after_music21_ok": _share(_music21_parses(tunes), len(texts)),
            "titled": _share(sum(1 for t in tunes if t.title), len(texts)),
            "titles": "made from content (the model's title writer is wired in generate)"}


def _samples(n: int) -> list[str]:
    from abcgen.model.checkpoint import load_model
    from abcgen.model.runtime import limit_threads
    from abcgen.model.sample import PRETRAINED_MODEL, SampleSettings, sample_tunes

    limit_threads()
    model, vocab, _ = load_model(PRETRAINED_MODEL)
    # the network's own samples: repair is measured on what the constraint would prevent
    settings = SampleSettings(seed=SEED, constrained=False)
    return [s.text for s in sample_tunes(model, vocab, n, settings=settings)]


def _music21_parses(tunes) -> int:
    from music21 import converter

    from abcgen.notation import dumps

    parsed = 0
    for tune in tunes:
        try:
            converter.parse(dumps(tune), format="abc")
            parsed += 1
        except Exception:  # noqa: BLE001 - counting music21's failures is the point
            continue
    return parsed


def run(quick: bool = False) -> dict:
    return {"nottingham": nottingham(), "model_samples": model_samples(quick)}
