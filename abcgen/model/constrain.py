"""Masks for constrained sampling: per sequence, the characters that keep its tune valid.

The incremental reader (abcgen.notation.incremental) decides; this module makes it cheap.
Reader states are interned to small integers; the next state for (state, character) and the
allowed-character mask of each state are computed once and cached, so a sampling step costs
one dictionary look-up per sequence and one row gather for the batch. The mask rows are
built in a NumPy table on the host (a row set through torch cost some 90 us, a tenth of the
constraint's time over a 1,000-tune batch) and copied to a GPU as they are added.
"""

import threading

import numpy as np
import torch

from abcgen.model.runtime import host_to_device
from abcgen.model.vocab import EOS, SPECIAL_TOKENS, Vocab
from abcgen.notation.incremental import (FIELD_VALUES, FORM_START, LOST, START, ReaderState,
                                        allowed_chars, can_end, finishing, mask_key, step,
                                        step_primed, unsteered)

FINISH_MARGIN = 48
"""Characters before max_chars at which a tune is steered to its end (close the bar, the
repeat and the tune): enough for a bar of the longest notes, its bar line and the end."""
MAX_SHARED_STATES = 100_000
"""A shared table holding more reader states than this is started afresh before the next
batch (memory bound for a long-running server; a 1,000-tune batch makes ~15k)."""


_SHARED: dict[tuple, "ConstraintMasks"] = {}
_SHARED_LOCK = threading.Lock()


def shared_masks(vocab: Vocab, device: torch.device | str = "cpu") -> "ConstraintMasks":
    """One ConstraintMasks per vocabulary and device for the whole process: its caches
    carry over from one batch (one `generate`, one benchmark batch) to the next."""
    key = (vocab.tokens, str(device))
    with _SHARED_LOCK:
        if key not in _SHARED or len(_SHARED[key].states) > MAX_SHARED_STATES:
            _SHARED.clear()  # one model at a time, and a long-running server starts afresh
            _SHARED[key] = ConstraintMasks(vocab, device)
        return _SHARED[key]


class ConstraintMasks:
    """Interned reader states with their cached transitions and (V,) boolean masks. Safe to
    share between threads (the web app samples two jobs at once): a new id or mask row is
    taken and stored under one lock."""

    def __init__(self, vocab: Vocab, device: torch.device | str = "cpu"):
        self.lock = threading.RLock()
        self.vocab, self.device = vocab, device
        self.chars = vocab.tokens[len(SPECIAL_TOKENS):]
        self.index = {char: len(SPECIAL_TOKENS) + i for i, char in enumerate(self.chars)}
        self.states: list[ReaderState] = []
        self.row_of: list[int | None] = []
        """Each state's row in `table`, None until a draw asks for it (masks are lazy)."""
        self.rows_by_key: dict[ReaderState, int] = {}
        """Mask rows by incremental.mask_key: states that allow the same characters share one."""
        self.ids: dict[ReaderState, int] = {}
        self.moves: dict[tuple[int, str, bool], int] = {}
        self.steered: dict[int, int] = {}
        self.host = np.zeros((0, len(vocab)), dtype=bool)
        """Mask rows (rows, V) on the host; rows past len(rows_by_key) are unused."""
        self.on_cpu = torch.device(device).type == "cpu"
        self.table: torch.Tensor | None = None
        """On a GPU, the rows copied there so far (the first `uploaded`); None on the CPU."""
        self.uploaded = 0
        self.free = self.intern(LOST)
        """The state of a sequence the reader can't follow (forced text): every character."""
        self.dead_ends = 0
        """Masks that allowed nothing (should stay 0; such a row falls back to the end marker)."""

    def intern(self, state: ReaderState) -> int:
        """The id of `state` (its mask is computed when first asked for)."""
        sid = self.ids.get(state)
        if sid is None:
            with self.lock:
                sid = self.ids.get(state)
                if sid is None:
                    sid = self.ids[state] = len(self.states)
                    self.states.append(state)
                    self.row_of.append(None)
        return sid

    def _mask(self, state: ReaderState) -> tuple[list[int], bool]:
        """The ids of the allowed next characters, and whether the tune may end. In an M:,
        L: or K: value a character is also refused when the vocabulary can't go on from it
        (a key spelt with a letter it lacks)."""
        allowed = allowed_chars(state, self.chars)
        if state.phase == "head" and state.field in FIELD_VALUES:
            allowed = {char for char in allowed if self._goes_on(step(state, char))}
        ends = can_end(state)
        if not (allowed or ends) and state.finishing:
            return self._mask(unsteered(state))
        if not (allowed or ends):
            self.dead_ends += 1
            ends = True
        return [self.index[char] for char in allowed], ends

    def _goes_on(self, state: ReaderState) -> bool:
        return state.phase != "head" or bool(allowed_chars(state, self.chars))

    def _add_row(self, ids: list[int], ends: bool) -> int:
        """Append a mask row (`ids` allowed, the end marker if `ends`) and return its index;
        the table grows by doubling."""
        count = len(self.rows_by_key)
        if count >= len(self.host):
            grown = np.zeros((max(2 * count, 64), len(self.vocab)), dtype=bool)
            grown[: len(self.host)] = self.host
            self.host = grown
        self.host[count, ids] = True
        self.host[count, EOS] = ends
        return count

    def start(self, text: str, form: bool = True) -> int:
        """The state id after the primed text (each character read in turn); `form`: the
        tune also keeps to the reader's form rule (parts of 4, 8, 12 or 16 bars, two of
        them or one long one)."""
        sid = self.intern(FORM_START if form else START)
        for char in text:
            sid = self.advance(sid, char, primed=True)
        return sid

    def advance(self, sid: int, char: str, primed: bool = False) -> int:
        """The state id after `char` (`primed`: text the user gave, not the model); the free
        state when the character was forced on a sequence (a cut title, a primed value) that
        the reader can't follow."""
        move = self.moves.get((sid, char, primed))
        if move is None:
            state = self.states[sid]
            after = (step_primed if primed else step)(state, char)
            if after is None and state.finishing:  # a character _mask allowed unsteered
                after = step(unsteered(state), char)
            move = self.moves[(sid, char, primed)] = self.intern(after or LOST)  # idempotent
        return move

    def finish(self, sid: int) -> int:
        """The steered-to-end version of a state (near max_chars)."""
        steered = self.steered.get(sid)
        if steered is None:
            steered = self.steered[sid] = self.intern(finishing(self.states[sid]))
        return steered

    def rows(self, sids: list[int]) -> torch.Tensor:
        """(len(sids), V) boolean on the device: the characters allowed next in each
        sequence."""
        with self.lock:  # rows are appended and the table grown under the lock
            for sid in sids:
                if self.row_of[sid] is None:
                    self.row_of[sid] = self._row(self.states[sid])
            picked = [self.row_of[sid] for sid in sids]
            if self.on_cpu:
                return torch.from_numpy(self.host[picked])  # a copy: the table may grow after
            self._upload()
            return self.table[host_to_device(picked, self.table.device)]

    def _upload(self) -> None:
        """Copy the rows added since the last call to the device table (one copy per step
        that added any), growing it as the host table grew."""
        count = len(self.rows_by_key)
        if self.table is None or self.table.size(0) < len(self.host):
            grown = torch.zeros(len(self.host), len(self.vocab), dtype=torch.bool,
                                device=self.device)
            if self.table is not None:
                grown[: self.uploaded] = self.table[: self.uploaded]
            self.table = grown
        if count > self.uploaded:
            added = torch.from_numpy(self.host[self.uploaded:count]).pin_memory()
            self.table[self.uploaded:count] = added.to(self.device, non_blocking=True)
            self.uploaded = count

    def _row(self, state: ReaderState) -> int:
        key = mask_key(state)
        row = self.rows_by_key.get(key)
        if row is None:
            row = self._add_row(*self._mask(key))
            self.rows_by_key[key] = row
        return row
