"""Corpus splits as compact id arrays, and the two ways of cutting them into training batches.

A corpus folder (written by `abcgen corpus build`) holds train.abc, val.abc and test.abc: tunebooks
whose tunes are separated by one blank line. The model sees text only, so a tune here is simply the
text between blank lines (file framing, not ABC parsing). Each split becomes one stream
[BOS tune EOS BOS tune EOS ...] of vocabulary ids, cached as DIR/cache/<split>-<hash>.npy; the hash
covers the split's bytes and the vocabulary, so an edited corpus or another alphabet re-encodes.
"""

import hashlib
import io
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from abcgen.corpus import SPLITS, TITLE_WORDS_FILE
from abcgen.errors import InputError
from abcgen.fileio import atomic_write_bytes
from abcgen.model.keys import key_table, to_tonic
from abcgen.model.vocab import BOS, PAD, Vocab
from abcgen.notation import AbcError, dumps, parse_tune
from abcgen.notation.transpose import transpose_tune

IGNORE_INDEX = -100
"""Target id that `cross_entropy` skips: the padding of tune-aligned batches."""
MAX_PIECE_CHARS = 1536
"""Tune-aligned training cuts longer tunes into pieces of at most this many ids (bounded memory)."""
BUCKET_BATCHES = 50
"""Tune-aligned batches group tunes of similar length within windows of this many batches."""


def split_tunes(text: str) -> list[str]:
    """Cut a tunebook's text into tunes at blank lines; each tune ends with one newline."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    chunks = (chunk.strip("\n") for chunk in text.split("\n\n"))
    return [chunk + "\n" for chunk in chunks if chunk.strip()]


def read_split(path: Path) -> str:
    """Read one split file as UTF-8 text, or raise `InputError` naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file (a corpus folder holds train.abc, val.abc, test.abc; "
                         "make one with `abcgen corpus build`)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read as UTF-8 text: {exc}") from None


SAMPLED_FIRST_LINE = "X:1\n"
"""The line the sampler primes every tune with; training text starts the same way."""


def as_sampled(tune: str) -> str:
    """The tune as the model sees it: its first line, the reference number, written as the
    sampler primes it. A corpus numbers tunes 1..N, so without this "X:1" is mostly the start
    of "X:1234", and a model primed with "X:1\n" starts somewhere it has rarely been."""
    first, _, rest = tune.partition("\n")
    return SAMPLED_FIRST_LINE + rest if first.startswith("X:") else tune


def encode_tunes(tunes: list[str], vocab: Vocab) -> np.ndarray:
    """Encode tunes into one stream [BOS t1 EOS BOS t2 EOS ...] of the vocabulary's dtype."""
    ids: list[int] = []
    for tune in tunes:
        ids.extend(vocab.encode_tune(as_sampled(tune)))
    return np.asarray(ids, dtype=vocab.dtype)


@dataclass
class Corpus:
    """A corpus folder's vocabulary and its splits as id streams (1-D integer arrays)."""

    folder: Path
    vocab: Vocab
    splits: dict[str, np.ndarray]


def load_corpus(folder: str | Path, vocab: Vocab | None = None, tonic: bool = False) -> Corpus:
    """Read (or load from cache) a corpus folder's three splits as id streams.

    Parameters
    ----------
    folder : the corpus folder with train.abc, val.abc and test.abc.
    vocab : the alphabet to encode with (a resumed model's); by default the training split's.
    tonic : every tune moved to the tonic C (abcgen.model.keys); the vocabulary then carries
        the key table of the written tunes, from which sampled tunes are moved back.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: corpus folder not found (make one with `abcgen corpus build`)")
    texts = {name: read_split(folder / f"{name}.abc") for name in SPLITS}
    if not split_tunes(texts["train"]):
        raise InputError(f"{folder / 'train.abc'}: no tunes in the training split")
    table: tuple = ()
    if tonic:  # each tune moved once; the training split's moves make the key table
        moved = {name: [to_tonic(tune) for tune in split_tunes(text)]
                 for name, text in texts.items()}
        table = key_table(moved["train"])
        texts = {name: "\n".join(text for text, _, _ in rows) for name, rows in moved.items()}
    if vocab is None:
        vocab = replace(Vocab.from_texts(split_tunes(texts["train"])),
                        title_words=read_title_words(folder), key_table=table)
    splits = {name: _cached_stream(folder, name, text, vocab) for name, text in texts.items()}
    return Corpus(folder, vocab, splits)


def read_title_words(folder: Path) -> frozenset[str]:
    """The corpus folder's title vocabulary (title_words.txt, written by `corpus build`);
    empty when it has none (titles are then drawn freely)."""
    try:
        return frozenset((folder / TITLE_WORDS_FILE).read_text(encoding="utf-8").split())
    except FileNotFoundError:
        return frozenset()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{folder / TITLE_WORDS_FILE}: cannot read: {exc}") from None


def transposed_tunes(tunes: list[str], semitones: int) -> list[str]:
    """Each tune moved by `semitones` (abcgen.notation.transpose); a tune that can't be moved
    (K:none, a pipe key) stays as written, so every version has the same tunes in order."""
    if semitones == 0:
        return tunes
    moved = []
    for tune in tunes:
        try:
            moved.append(dumps(transpose_tune(parse_tune(tune), semitones)))
        except AbcError:
            moved.append(tune)
    return moved


def key_versions(corpus: Corpus, semitones: int) -> list[np.ndarray]:
    """The training split's stream in every key from `semitones` below to `semitones` above
    as written (cached like the splits); [the split as written] when `semitones` is 0."""
    text = read_split(corpus.folder / "train.abc")
    return [_cached_stream(corpus.folder, f"train{shift:+d}", text, corpus.vocab, shift)
            if shift else corpus.splits["train"] for shift in range(-semitones, semitones + 1)]


def _cached_stream(folder: Path, name: str, text: str, vocab: Vocab,
                   semitones: int = 0) -> np.ndarray:
    digest = hashlib.sha256(text.encode("utf-8"))
    digest.update("\x00".join(vocab.tokens).encode("utf-8"))
    digest.update(SAMPLED_FIRST_LINE.encode("utf-8"))  # streams made before as_sampled differ
    cache = folder / "cache" / f"{name}-{digest.hexdigest()[:16]}.npy"
    if cache.exists():
        try:
            return np.load(cache, allow_pickle=False)
        except (OSError, ValueError):
            pass  # a damaged cache file is re-encoded below and replaced
    stream = encode_tunes(transposed_tunes(split_tunes(text), semitones), vocab)
    buffer = io.BytesIO()
    np.save(buffer, stream, allow_pickle=False)
    try:
        atomic_write_bytes(cache, buffer.getvalue())
    except OSError:
        pass  # a read-only corpus folder still trains, it just re-encodes next time
    return stream


def tune_spans(stream: np.ndarray) -> list[tuple[int, int]]:
    """The (start, end) index of each tune in a stream: stream[start] is BOS, stream[end-1] EOS."""
    starts = np.flatnonzero(stream == BOS).tolist()
    return list(zip(starts, starts[1:] + [len(stream)], strict=True))


@dataclass
class Batch:
    """Inputs and next-character targets, both (B, T) int64 on the target device."""

    inputs: torch.Tensor
    targets: torch.Tensor
    carry_state: bool
    """True when row i continues the text of row i of the previous batch (truncated BPTT)."""
    n_chars: int
    """Number of real (non-padding) targets, for characters/s."""


class StreamBatches:
    """Truncated BPTT: B parallel lanes read the stream in windows of T; hidden state is carried.

    Each epoch shifts the lanes by a seeded offset below T, so windows differ between epochs.
    Under DDP, rank r reads lanes r*B..(r+1)*B-1 of world*B lanes.
    """

    def __init__(self, stream: np.ndarray, batch_size: int, seq_len: int, seed: int,
                 rank: int = 0, world_size: int = 1):
        self.stream = torch.from_numpy(stream.astype(np.int64))
        self.batch_size, self.seq_len, self.seed = batch_size, seq_len, seed
        self.rank, self.world_size = rank, world_size
        self.epoch, self.index = 0, 0
        self._start_epoch()
        if self.windows_per_epoch < 1:
            raise InputError(f"training split too short for {world_size * batch_size} lanes of "
                             f"{seq_len} characters; lower --batch-size or --seq-len")

    def _start_epoch(self) -> None:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        offset = int(torch.randint(0, self.seq_len, (1,), generator=generator))
        lanes = self.world_size * self.batch_size
        lane_len = (len(self.stream) - offset) // lanes
        # (lanes, lane_len) view of the stream; this rank's rows only
        grid = self.stream[offset: offset + lanes * lane_len].view(lanes, lane_len)
        self.lanes = grid[self.rank * self.batch_size: (self.rank + 1) * self.batch_size]
        self.windows_per_epoch = (lane_len - 1) // self.seq_len

    def next_batch(self, device: torch.device) -> Batch:
        if self.index >= self.windows_per_epoch:
            self.epoch, self.index = self.epoch + 1, 0
            self._start_epoch()
        t0 = self.index * self.seq_len
        window = self.lanes[:, t0: t0 + self.seq_len + 1]  # (B, T+1)
        self.index += 1
        inputs, targets = window[:, :-1], window[:, 1:]
        return Batch(inputs.to(device), targets.to(device), self.index > 1, targets.numel())

    def state_dict(self) -> dict:
        return {"kind": "stream", "epoch": self.epoch, "index": self.index}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.index = state["epoch"], state["index"]
        self._start_epoch()


def pad_tunes(pieces: list[torch.Tensor], device: torch.device) -> Batch:
    """Pad tunes (1-D id tensors, BOS first) into one batch; padding targets are ignored."""
    width = max(len(p) for p in pieces) - 1
    inputs = torch.full((len(pieces), width), PAD, dtype=torch.int64)
    targets = torch.full((len(pieces), width), IGNORE_INDEX, dtype=torch.int64)
    for row, piece in enumerate(pieces):
        inputs[row, : len(piece) - 1] = piece[:-1]
        targets[row, : len(piece) - 1] = piece[1:]
    n_chars = sum(len(p) - 1 for p in pieces)
    return Batch(inputs.to(device), targets.to(device), False, n_chars)


def _pieces(stream: np.ndarray) -> list[torch.Tensor]:
    """A stream's tunes as 1-D id tensors, those longer than MAX_PIECE_CHARS cut into pieces."""
    ids = torch.from_numpy(stream.astype(np.int64))
    return [ids[s: e][i: i + MAX_PIECE_CHARS]
            for s, e in tune_spans(stream) for i in range(0, e - s - 1, MAX_PIECE_CHARS)]


class TuneBatches:
    """Tune-aligned batches: B whole tunes of similar length, each from a zero hidden state.

    Tunes longer than MAX_PIECE_CHARS are cut into pieces. The order of an epoch is a seeded
    permutation, bucketed by length, so a (epoch, index) pair fixes the data position. Given
    several versions of the stream (the tunes in other keys, `key_versions`), each epoch
    draws every tune in one of them at random (key augmentation).
    """

    def __init__(self, stream: np.ndarray | list[np.ndarray], batch_size: int, seed: int,
                 rank: int = 0, world_size: int = 1):
        self.versions = [_pieces(s) for s in (stream if isinstance(stream, list) else [stream])]
        self.pieces = self.versions[0]
        if any(len(version) != len(self.pieces) for version in self.versions):
            raise InputError("the key versions of the training split hold different tunes")
        self.batch_size, self.seed = batch_size, seed
        self.rank, self.world_size = rank, world_size
        if len(self.pieces) < batch_size * world_size:
            raise InputError(f"training split has {len(self.pieces)} tunes, fewer than one batch "
                             f"of {batch_size * world_size}; lower --batch-size")
        self.epoch, self.index = 0, 0
        self._start_epoch()

    def _start_epoch(self) -> None:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(len(self.pieces), generator=generator).tolist()
        keys = torch.randint(len(self.versions), (len(self.pieces),), generator=generator)
        self.pieces = [self.versions[k][i] for i, k in enumerate(keys.tolist())]
        group = self.batch_size * self.world_size
        window = group * BUCKET_BATCHES
        batches = []
        for w in range(0, len(order) - group + 1, window):
            bucket = sorted(order[w: w + window], key=lambda i: len(self.pieces[i]))
            batches += [bucket[b: b + group] for b in range(0, len(bucket) - group + 1, group)]
        shuffle = torch.randperm(len(batches), generator=generator).tolist()
        self.batches = [batches[i][self.rank::self.world_size] for i in shuffle]

    @property
    def windows_per_epoch(self) -> int:
        return len(self.batches)

    def next_batch(self, device: torch.device) -> Batch:
        if self.index >= len(self.batches):
            self.epoch, self.index = self.epoch + 1, 0
            self._start_epoch()
        rows = self.batches[self.index]
        self.index += 1
        return pad_tunes([self.pieces[i] for i in rows], device)

    def state_dict(self) -> dict:
        return {"kind": "tunes", "epoch": self.epoch, "index": self.index}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.index = state["epoch"], state["index"]
        self._start_epoch()


def eval_batches(stream: np.ndarray, batch_size: int, device: torch.device):
    """Yield every tune of a stream once, whole, in padded batches sorted by length (scoring)."""
    ids = torch.from_numpy(stream.astype(np.int64))
    tunes = sorted((ids[s:e] for s, e in tune_spans(stream)), key=len)
    for b in range(0, len(tunes), batch_size):
        yield pad_tunes(tunes[b: b + batch_size], device)
