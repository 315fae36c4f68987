"""Checkpoints: plain dicts of tensors and primitives, written atomically, loaded weights-only.

A checkpoint never pickles a Python object: configs are stored with `dataclasses.asdict`, the
vocabulary as a list of strings, so `torch.load(weights_only=True)` reads it and refuses anything
else. Tensors are saved on the CPU, so a GPU-trained checkpoint loads anywhere without conversion.
"""

import io
import pickle
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from abcgen.errors import AbcgenError, InputError
from abcgen.fileio import atomic_write_bytes
from abcgen.model.lstm import CharLSTM, LSTMConfig
from abcgen.model.vocab import Vocab

FORMAT = "abcgen-charlstm"
FORMAT_VERSION = 1
REQUIRED_KEYS = ("format", "version", "model", "model_config", "vocab")


def to_cpu(value: Any) -> Any:
    """Copy every tensor of a nested dict/list/tuple to the CPU (device-neutral checkpoints)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, Mapping):
        return {k: to_cpu(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(to_cpu(v) for v in value)
    return value


def save_checkpoint(path: str | Path, payload: dict) -> Path:
    """Write `payload` (plus the format marker) to `path` atomically: temp file, fsync, rename."""
    record = {"format": FORMAT, "version": FORMAT_VERSION, **to_cpu(payload)}
    buffer = io.BytesIO()
    torch.save(record, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint onto the CPU, or raise a one-line `InputError` naming the file.

    Truncated files, other programs' files and files holding pickled Python objects (which
    `weights_only=True` refuses to run) are all rejected.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: checkpoint not found")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's pickle-protocol notes on foreign files
            record = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "unsafe content"
        if "weights only" in reason.lower() or "unsupported global" in str(exc).lower():
            reason = "it holds pickled Python objects, which are never loaded"
        raise InputError(f"{path}: refused as a checkpoint: {reason}") from None
    except Exception as exc:  # noqa: BLE001 - a foreign byte stream can make the unpickler raise anything
        detail = f": {str(exc).strip().splitlines()[0]}" if str(exc).strip() else ""
        raise InputError(f"{path}: not a readable checkpoint (truncated or foreign file){detail}") from None
    _check_format(path, record)
    return record


def _check_format(path: Path, record: Any) -> None:
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise InputError(f"{path}: not an abcgen char-LSTM checkpoint")
    if record.get("version") != FORMAT_VERSION:
        raise InputError(f"{path}: checkpoint format version {record.get('version')} is not "
                         f"supported (this abcgen reads version {FORMAT_VERSION})")
    missing = [key for key in REQUIRED_KEYS if key not in record]
    if missing:
        raise InputError(f"{path}: checkpoint lacks {', '.join(missing)}")


def model_from_checkpoint(record: dict, path: str | Path = "checkpoint") -> tuple[CharLSTM, Vocab]:
    """Rebuild the model (on the CPU, in eval mode) and its vocabulary from a loaded checkpoint."""
    try:
        config = LSTMConfig(**record["model_config"])
        vocab = Vocab.from_list(record["vocab"], record.get("title_words", ()),
                                record.get("key_table", ()))
        model = CharLSTM(config)
        model.load_state_dict(record["model"])
    except (TypeError, KeyError, RuntimeError, AbcgenError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise InputError(f"{path}: checkpoint does not match the model: {first}") from None
    if len(vocab) != config.vocab_size:
        raise InputError(f"{path}: vocabulary of {len(vocab)} does not match the model's {config.vocab_size}")
    return model.eval(), vocab


def load_model(path: str | Path) -> tuple[CharLSTM, Vocab, dict]:
    """Load a checkpoint file and return (model, vocab, record)."""
    record = load_checkpoint(path)
    model, vocab = model_from_checkpoint(record, path)
    return model, vocab, record
