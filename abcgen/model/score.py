"""Bits per character of tunes under a model: validation during training and `abcgen score`.

Each tune is read from a zero hidden state, [BOS tune] predicting [tune EOS], exactly the
situation of sampling a new tune; the end marker counts as one character.
"""

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from abcgen.errors import InputError
from abcgen.model.data import encode_tunes, eval_batches, split_tunes
from abcgen.model.runtime import Runtime
from abcgen.model.vocab import Vocab

LN2 = math.log(2.0)
SCORE_BATCH_SIZE = 32


def stream_bits_per_char(model: nn.Module, stream: np.ndarray, runtime: Runtime,
                  batch_size: int = SCORE_BATCH_SIZE) -> float:
    """Mean bits per character over every tune of an id stream (model left in its mode)."""
    was_training = model.training
    model.eval()
    total_nats, total_chars = 0.0, 0
    with torch.no_grad():
        for batch in eval_batches(stream, batch_size, runtime.device):
            with runtime.autocast():
                _, loss, _ = model(batch.inputs, None, batch.targets)
            total_nats += float(loss) * batch.n_chars
            total_chars += batch.n_chars
    model.train(was_training)
    return total_nats / max(total_chars, 1) / LN2


@dataclass
class ScoreResult:
    """How well a model predicts a file."""

    path: str
    bits_per_char: float
    tunes: int
    characters: int
    """Characters scored, end-of-tune markers included."""
    unknown_characters: list[str]
    """Distinct characters the model's vocabulary lacks (scored as <unk>, so costly)."""


def as_model_reads(tunes: list[str], vocab: Vocab) -> list[str]:
    """Tunes as a model reads them: moved to C for one trained in C (`Vocab.key_table`)."""
    from abcgen.model.keys import tonic_texts

    return tonic_texts(tunes) if vocab.key_table else tunes


def score_file(model_path: str | Path | None, abc_path: str | Path) -> ScoreResult:
    """Score a tunebook file (tunes separated by blank lines) under a checkpoint."""
    from abcgen.model.checkpoint import load_model
    from abcgen.model.runtime import inference_runtime
    from abcgen.model.sample import resolve_model_path

    model, vocab, _ = load_model(resolve_model_path(model_path))
    runtime = inference_runtime()
    return score_tunebook(model.to(runtime.device), vocab, runtime, abc_path)


def score_tunebook(model: nn.Module, vocab: Vocab, runtime: Runtime,
                   abc_path: str | Path) -> ScoreResult:
    """Score a tunebook file under a model already loaded on `runtime`'s device."""
    from abcgen.model.data import read_split

    path = Path(abc_path)
    tunes = split_tunes(read_split(path))
    if not tunes:
        raise InputError(f"{path}: no tunes to score")
    tunes = as_model_reads(tunes, vocab)
    stream = encode_tunes(tunes, vocab)
    bpc = stream_bits_per_char(model, stream, runtime)
    characters = len(stream) - len(tunes)  # every id but the BOS markers is predicted
    return ScoreResult(str(path), bpc, len(tunes), characters,
                       vocab.unknown_chars("".join(tunes)))
