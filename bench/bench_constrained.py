"""Constrained sampling benchmark (issue 8, part 3): constrained and unconstrained side by
side in one run, on seeded tunes from the bundled model.

For each mode: the share of raw tunes with no `check` errors and the share abc2midi passes
(no Error, no bar-length Warning outside bar 0 and repeat passes); repairs per tune after
sampling; the model's own bits/char on the tunes it wrote; MGEval overlaps of the repaired
tunes against the corpus's test split (when the corpus and abcgen.evaluate are there); and
sampling tunes/s and characters/s. Targets: >= 90 % abc2midi-clean constrained, repairs
close to 0, the constraint costing at most 25 % of the model's time. That cost is taken in
CPU seconds (the machine this runs on is shared: wall time moves with the other jobs), the
constraint's own replayed work over the rest of the constrained sampling's.
"""

import time
from pathlib import Path

from bench.bench_repair import abc2midi_verdicts

SAMPLES = {True: 64, False: 1000}  # quick, full
BATCH = 100
"""Tunes per sampling batch (seeds SEED, SEED+1, ... one per batch)."""
SEED = 0
CHUNK = 50
"""Tunes per abc2midi run."""
PRIME = "X:1\n"
"""What the sampler primes every tune with when no header option is given."""
NOT_REPAIRS = ("renumber-x",)
"""Edits repair makes to every sampled book (each sample is primed X:1), not mends."""
CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
"""The corpus the bundled model was trained on (`make pretrained` builds it here)."""


def sample_mode(model, vocab, n: int,
                constrained: bool) -> tuple[list[str], float, float, int]:
    """`n` tunes in batches; returns their texts, the sampling's wall and CPU seconds and
    the cut-off count."""
    from abcgen.generate import sample_texts
    from abcgen.model.runtime import Runtime
    from abcgen.model.sample import SampleSettings, sample_tunes

    runtime = Runtime(next(model.parameters()).device, "fp32")
    texts, seconds, cpu, cut = [], 0.0, 0.0, 0
    for start in range(0, n, BATCH):
        settings = SampleSettings(seed=SEED + start // BATCH, constrained=constrained)
        began, began_cpu = time.perf_counter(), time.process_time()
        samples = sample_tunes(model, vocab, min(BATCH, n - start), None, settings, runtime)
        seconds += time.perf_counter() - began
        cpu += time.process_time() - began_cpu
        texts += sample_texts(samples)
        cut += sum(not s.complete for s in samples)
    return texts, seconds, cpu, cut


def constraint_seconds(texts: list[str], vocab, max_chars: int) -> float:
    """The constraint's own work for these tunes, replayed as the sampler does it (fresh
    caches, batches of BATCH): per step, each running lane's reader advances and the batch's
    mask rows are gathered and applied. CPU seconds; compared with the sampling's CPU time
    it gives the cost."""
    import torch

    from abcgen.model.constrain import FINISH_MARGIN, ConstraintMasks

    masks, began = ConstraintMasks(vocab), time.process_time()
    for start in range(0, len(texts), BATCH):
        group = texts[start:start + BATCH]
        sids = [masks.start(PRIME)] * len(group)
        logits = torch.zeros(len(group), len(vocab))
        for index in range(len(PRIME), max(map(len, group))):
            live = [lane for lane, text in enumerate(group) if index < len(text)]
            logits[live].masked_fill(~masks.rows([sids[lane] for lane in live]), -torch.inf)
            for lane in live:
                sid = masks.advance(sids[lane], group[lane][index])
                sids[lane] = masks.finish(sid) if index + 1 >= max_chars - FINISH_MARGIN else sid
    return time.process_time() - began


def abc2midi_ok(texts: list[str]) -> tuple[list[bool], list[str]]:
    """abc2midi's verdict per tune (bench_repair's rule), in books of CHUNK tunes; a book
    that makes abc2midi crash is judged tune by tune, a crash counting as a failure (and
    the tune returned, to report). Empty when abc2midi is not installed."""
    from abcgen.tools.abc2midi import Abc2midiError

    verdicts: list[bool] = []
    crashed: list[str] = []
    for start in range(0, len(texts), CHUNK):
        chunk = texts[start:start + CHUNK]
        try:
            verdicts += abc2midi_verdicts(_book(chunk))
        except Abc2midiError:
            for text in chunk:
                try:
                    verdicts += abc2midi_verdicts(_book([text]))
                except Abc2midiError:
                    verdicts.append(False)
                    crashed.append(text)
    return verdicts, crashed


def _book(texts: list[str]) -> str:
    """The tunes numbered X:1.. as one tunebook (each was sampled as X:1)."""
    return "\n".join(f"X:{i}\n" + t.split("\n", 1)[1] for i, t in enumerate(texts, 1))


def own_bits_per_char(model, vocab, texts: list[str]) -> float:
    """The model's bits/char on the tunes it wrote (end markers included)."""
    from abcgen.model.data import encode_tunes
    from abcgen.model.runtime import Runtime
    from abcgen.model.score import stream_bits_per_char

    runtime = Runtime(next(model.parameters()).device, "fp32")
    stream = encode_tunes([t.rstrip("\n") for t in texts], vocab)
    return stream_bits_per_char(model, stream, runtime)


def mgeval_overlaps(repaired, seed: int = SEED) -> dict:
    """MGEval overlap per feature of the repaired tunes against the test split."""
    try:
        from abcgen.evaluate.pipeline import compare_profiles, load_corpus_splits
        from abcgen.evaluate.profile import profile
    except ImportError as exc:
        return {"skipped": f"abcgen.evaluate not importable: {exc}"}
    if not (CORPUS / "test.abc").exists():
        return {"skipped": f"no corpus at {CORPUS} (make pretrained builds it)"}
    test = load_corpus_splits(CORPUS).test
    compared = compare_profiles(profile(repaired), profile(test), seed)
    return {name: round(c.overlap, 4) for name, c in compared.items()}


def measure_mode(model, vocab, n: int, constrained: bool) -> dict:
    """Every figure of one mode."""
    from abcgen.evaluate.pipeline import repaired_tunes
    from abcgen.notation import check_text, read_tunes

    from abcgen.model.sample import SampleSettings

    texts, seconds, cpu, cut = sample_mode(model, vocab, n, constrained)
    overhead = constraint_seconds(texts, vocab, SampleSettings().max_chars) if constrained else 0.0
    clean = sum(not any(i.severity == "error" for i in check_text(t)) for t in texts)
    verdicts, crashed = abc2midi_ok(texts)
    repaired, summary = repaired_tunes(texts)
    repairs = sum(count for kind, count in summary["repairs_by_kind"].items()
                  if kind not in NOT_REPAIRS)
    return {
        "tunes": n, "cut_at_max_chars": cut,
        "raw_no_check_errors": round(clean / n, 4),
        "raw_abc2midi_ok": round(sum(verdicts) / n, 4) if verdicts else None,
        "abc2midi_crashed_on": crashed[:3],
        "repairs_per_tune": round(repairs / n, 4),
        "repairs_by_kind": summary["repairs_by_kind"],
        "repair_failures": len(summary["failures"]),
        "own_bits_per_char": round(own_bits_per_char(model, vocab, texts), 4),
        "mgeval_overlap_vs_test": mgeval_overlaps(repaired) if repaired else {},
        "tunes_per_s": round(n / seconds, 3),
        "sampling_seconds": round(seconds, 2),
        "sampling_cpu_seconds": round(cpu, 2),
        "constraint_cpu_seconds": round(overhead, 2),
        "chars_per_s": round(sum(map(len, texts)) / seconds, 1),
        "mean_chars": round(sum(map(len, texts)) / n, 1),
        "parsed_tunes": len(read_tunes(_book(texts))),
    }


def run(quick: bool = False, checkpoint: str | Path | None = None) -> dict:
    """Both modes on the bundled model (or `checkpoint`), and their ratios."""
    from abcgen.model.checkpoint import load_model
    from abcgen.model.runtime import limit_threads
    from abcgen.model.sample import PRETRAINED_MODEL

    path = Path(checkpoint or PRETRAINED_MODEL)
    if not path.exists():
        return {"skipped": f"no bundled model at {path}; run again once it exists"}
    limit_threads()
    model, vocab, _ = load_model(path)
    model.eval()
    n = SAMPLES[quick]
    modes = {name: measure_mode(model, vocab, n, constrained)
             for name, constrained in (("constrained", True), ("unconstrained", False))}
    c, u = modes["constrained"], modes["unconstrained"]
    return {**modes, "comparison": {
        "tunes_per_s_ratio": round(c["tunes_per_s"] / u["tunes_per_s"], 3),
        "chars_per_s_ratio": round(c["chars_per_s"] / u["chars_per_s"], 3),
        "constraint_cost": round(c["constraint_cpu_seconds"]
                                 / (c["sampling_cpu_seconds"] - c["constraint_cpu_seconds"]), 3),
        "bits_per_char_change": round(c["own_bits_per_char"] - u["own_bits_per_char"], 4),
        "targets": "constrained raw_abc2midi_ok >= 0.9; repairs_per_tune ~ 0; "
                   "constraint_cost <= 0.25 (the mask's own CPU time over the model's CPU "
                   "time for the same tunes; tunes/s also moves with the tunes' lengths)"}}
