"""`abcgen generate`: sample tunes from a model, then repair them into valid, titled ABC.

This composes the model (sampling) and the repair stage; repair gets a title writer that
asks the same model to finish a `T:` line, so a repaired tune's title is the model's too.
"""

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from abcgen.model.sample import (MAX_MODEL_LINE_CHARS, MODEL_LINE, SampledTune, SampleProgress,
                                 SampleSettings, Template, renumber, resolve_model_path,
                                 sample_tunes)

if TYPE_CHECKING:  # names for the type checker; at run time a LoadedModel holds the objects
    from abcgen.model.lstm import CharLSTM
    from abcgen.model.runtime import Runtime
    from abcgen.model.vocab import Vocab


@dataclass
class Generated:
    """A generated tunebook: its text, the raw samples, and the repair summary (empty when
    the samples were kept raw)."""

    text: str
    samples: list[SampledTune]
    summary: dict = field(default_factory=dict)


def model_title_writer(model, vocab, settings: SampleSettings, runtime):
    """A title writer for repair: the model continues `prompt` (a header ending in `T:`)
    to the end of that line, drawn as the tunes were (`settings`: constrained or not)."""

    calls = iter(range(1, 1 << 30))  # each title its own seed, the whole run still seeded

    def write_title(prompt: str) -> str:
        line_settings = replace(settings, seed=settings.seed + next(calls),
                                max_chars=len(prompt) + MAX_MODEL_LINE_CHARS)
        (sample,) = sample_tunes(model, vocab, 1, [prompt, MODEL_LINE], line_settings, runtime)
        return sample.text[len(prompt):].split("\n", 1)[0].strip()

    return write_title


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to sample: weights on their device, vocabulary, runtime. Load once with
    `load_generator` and reuse (a server does); sampling never changes it."""

    model: "CharLSTM"
    vocab: "Vocab"
    runtime: "Runtime"


def load_generator(model_path: str | Path | None) -> LoadedModel:
    """Load a checkpoint (the bundled model when None). Raises AbcgenError for a bad file."""
    from abcgen.model.checkpoint import load_model
    from abcgen.model.runtime import inference_runtime

    model, vocab, _ = load_model(resolve_model_path(model_path))
    runtime = inference_runtime()
    return LoadedModel(model.to(runtime.device), vocab, runtime)


def generate(model: str | Path | LoadedModel | None, n: int, template: Template,
             settings: SampleSettings, repair: bool = True,
             on_tune: SampleProgress | None = None) -> Generated:
    """Sample `n` tunes in one continuous batch, number them X:1..n, and (unless `repair` is
    False) repair each into valid ABC with a unique title. `model` is a checkpoint path
    (None: the bundled model) or a `LoadedModel`; `on_tune(ended, n)` follows the sampling.
    Raises AbcgenError for a bad model file or settings."""
    loaded = model if isinstance(model, LoadedModel) else load_generator(model)
    samples = sample_tunes(loaded.model, loaded.vocab, n, template, settings, loaded.runtime,
                           on_tune)
    texts = renumber(sample_texts(samples))
    if not repair:
        return Generated("\n".join(texts), samples)
    book, summary = repair_with_titles(loaded, texts, settings)
    return Generated(book, samples, summary)


def sample_texts(samples: list[SampledTune]) -> list[str]:
    """The samples' texts as drawn, each ending with a newline (a tune cut at max_chars
    may not)."""
    return [s.text if s.text.endswith("\n") else s.text + "\n" for s in samples]


def repair_with_titles(loaded: LoadedModel, texts: list[str],
                       settings: SampleSettings) -> tuple[str, dict]:
    """Repair samples into one tunebook as `generate` does, a missing title written by the
    model as the samples were drawn (`settings`); the book and repair's summary."""
    from abcgen.repair import repair_samples

    writer = model_title_writer(loaded.model, loaded.vocab, settings, loaded.runtime)
    return repair_samples(texts, writer)
