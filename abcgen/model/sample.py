"""Sample new tunes: N of them in a continuous batch (a row whose tune ends starts the next),
each stopping at its own end of tune.

A header template primes the model. It is a list whose items are either text fed verbatim or
`MODEL_LINE`, a line the model writes itself (up to its newline) before the next verbatim text:
with --meter but no --title the template is "X:1\\nT:", MODEL_LINE, "M:6/8\\n", so the model names
the tune and then carries on under the given meter.
"""

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from weakref import WeakKeyDictionary

import torch

from abcgen.errors import AbcgenError, InputError
from abcgen.model.constrain import FINISH_MARGIN, shared_masks
from abcgen.model.keys import primed_in_tonic, to_written_keys
from abcgen.model.lstm import CharLSTM, State
from abcgen.model.runtime import Runtime, host_to_device, thread_limit
from abcgen.model.titles import title_mask
from abcgen.model.vocab import BOS, EOS, NON_TEXT_IDS, PAD, Vocab
from abcgen.notation.fields import unsafe_header_text
from abcgen.notation.incremental import forced_by_form

MODEL_LINE = None
"""Template item: the model writes this line."""
SAMPLING_THREADS = 1
"""A sampling step is some 20 small ops (about a millisecond for 64 rows); a second thread
syncs at each and, where other jobs share the cores, waits for one at each: on 2 shared cores
a 64-row step took 1.5 ms on one thread and 4 to 30 ms on two."""
WIDE_BATCH_ROWS = 128
"""From this many rows a step is mostly its matmuls (some 8 ms at 256 rows of the bundled
2x512 model), which every core of the process shares out better than the syncs cost."""
PRETRAINED_DIR = Path(__file__).parent / "pretrained"
PRETRAINED_MODEL = PRETRAINED_DIR / "model.pt"
DEFAULT_TOP_P = 0.95
"""The tail a tune is drawn without: from the whole distribution, one unlikely character in
a few hundred (a bar line mid-bar, a stray rest) derails a tune. The bundled model, 500 tunes,
seed 0 (`abcgen evaluate`), against the test split's 79 % tonic endings and quarter-note
quartiles 64/68/96: whole distribution 64 %, 48/64/100, two-sample AUC 0.78; top-p 0.95
71 %, 48/64/96, AUC 0.83; top-p 0.9 77 %, 48/63/81, AUC 0.87 (shorter, plainer tunes)."""
MAX_RETRIES = 3
"""A tune the form rule would end is drawn again at most this many times; the last is kept."""
MAX_MODEL_LINE_CHARS = 120
"""A header line the model writes (the title) is ended here if it has not ended itself."""
HEADER_ORDER = (("T", "title"), ("M", "meter"), ("R", "rhythm"), ("K", "key"))
"""Canonical header order X, T, M, L, R, K (L: is never primed; the model writes it)."""

Template = list[str | None]
SampleProgress = Callable[[int, int], None]
"""`on_tune(ended, n)`: tunes ended so far, of all."""

WARM_UP_TUNES = (
    "X:1\nT:The Kesh\nM:6/8\nL:1/8\nR:jig\nK:G\n|:GAG GAB|ABA ABd|edd gdd|edB dBA:|\n",
    "X:1\nT:The Silver Spear\nM:C|\nL:1/8\nR:reel\nK:D\n|:FA3 BAFA|dfed BddB:|\n",
)
"""Two short traditional tunes a stream-trained model reads before sampling, to put the LSTM
where a tune begins (`LSTMConfig.fresh_start` False)."""


@dataclass(frozen=True)
class SampleSettings:
    """How characters are drawn."""

    temperature: float = 1.0
    """Logits are divided by this (> 0); below 1 is safer, above 1 wilder."""
    top_k: int | None = None
    """Draw only among the k likeliest characters."""
    top_p: float | None = DEFAULT_TOP_P
    """Draw only among the likeliest characters whose probabilities add up to p (nucleus);
    None or 1 draws from the whole distribution."""
    max_chars: int = 3000
    """A tune longer than this many characters is cut off (and marked incomplete)."""
    seed: int = 0
    constrained: bool = True
    """Mask, at each step, the characters that would make the tune fail `check` (the
    incremental reader's subset of ABC; see abcgen.model.constrain). On by default: what
    `abcgen generate` and the web app deliver; False gives the network's own choices (what
    it learnt, as `evaluate` and the repair benchmark measure it)."""
    rows: int = 256
    """Tunes sampled at once: a batch of this many rows, each starting the next tune where
    its tune ends. More rows cost more per step and finish the last tunes later."""
    form: bool = True
    """With `constrained`: parts close after a multiple of four bars, and a tune ends with
    two parts or one of 16 bars or more (incremental.FORM_START)."""

    def check(self) -> None:
        if not self.temperature > 0:
            raise AbcgenError(f"--temperature must be greater than 0, got {self.temperature}")
        if self.top_k is not None and self.top_k < 1:
            raise AbcgenError(f"--top-k must be at least 1, got {self.top_k}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise AbcgenError(f"--top-p must be in (0, 1], got {self.top_p}")
        if self.max_chars < 1:
            raise AbcgenError(f"--max-chars must be positive, got {self.max_chars}")
        if self.rows < 1:
            raise AbcgenError(f"--rows must be at least 1, got {self.rows}")


def header_template(title: str | None = None, meter: str | None = None, key: str | None = None,
                    rhythm: str | None = None) -> Template:
    """The priming template for the given header fields (None: the model chooses)."""
    values = {"title": title, "meter": meter, "key": key, "rhythm": rhythm}
    for name, value in values.items():
        if value is not None and ("\n" in value or "\r" in value or not value.strip()):
            raise AbcgenError(f"--{name} must be one non-empty line, got {value!r}")
        if value is not None and unsafe_header_text(value):
            raise AbcgenError(f"--{name} may not hold % \\ or \" (ABC reads a comment or a "
                              f"continued line there) nor start with |, got {value!r}")
    template: Template = ["X:1\n"]
    if title is None and any(v is not None for v in (meter, key, rhythm)):
        template += ["T:", MODEL_LINE]  # the model titles the tune before the given fields
    for letter, name in HEADER_ORDER:
        if values[name] is not None:
            template.append(f"{letter}:{values[name].strip()}\n")
    return _merge_text(template)


def _merge_text(template: Template) -> Template:
    merged: Template = []
    for item in template:
        if item is not MODEL_LINE and merged and merged[-1] is not MODEL_LINE:
            merged[-1] += item
        else:
            merged.append(item)
    return merged


@dataclass
class SampledTune:
    text: str
    complete: bool
    """False when the tune was cut off at max_chars before its end marker."""


@dataclass
class _Lane:
    """One sequence of the batch: its text so far and the template items still to come."""

    template: deque
    text: list[str] = field(default_factory=list)
    queue: deque = field(default_factory=deque)
    writing_line: bool = False
    done: bool = False
    complete: bool = False
    length: int = 0
    """Characters written so far."""
    line: str = ""
    """The text written since the last newline."""
    in_header: bool = True
    """No `K:` line has ended yet."""
    retries: int = 0
    """Times this tune's body was drawn again (`_BatchSampler._drawn_again`)."""
    header: "_Header | None" = None
    """Where the body began, to draw it again from there."""

    def write(self, text: str) -> None:
        self.text.append(text)
        self.length += len(text)
        *ended, self.line = (self.line + text).split("\n")
        if self.in_header and any(line.startswith("K:") for line in ended):
            self.in_header = False

    @property
    def heading(self) -> bool:
        """Still in the header or the primed text: what a retry keeps."""
        return self.in_header or self.template_open

    @property
    def line_chars(self) -> int:
        """Characters written since the last newline."""
        return len(self.line)

    @property
    def drawing_title(self) -> bool:
        """The model draws this lane's next character on a header `T:` line."""
        return self.in_header and self.line.startswith("T:") and not self.queue

    def advance(self) -> None:
        """Load the next template items once the current ones are used up."""
        while self.template and not self.queue and not self.writing_line:
            item = self.template.popleft()
            if item is MODEL_LINE:
                self.writing_line = True
            else:
                self.queue.extend(item)

    @property
    def template_open(self) -> bool:
        return bool(self.template or self.queue or self.writing_line)


@dataclass(frozen=True)
class _Header:
    """A tune as the last character of its header and primed text is fed: the text, that
    character's id, the LSTM state before it (per layer, (H,) h and c), the reader after."""

    text: str
    last: int
    state: list[tuple[torch.Tensor, torch.Tensor]]
    reader: int


def draw(probs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One character id per row of `probs` (rows, vocab): one uniform number per row placed
    on the cumulative distribution, a tenth of torch.multinomial's time at 64 rows."""
    cumulative = probs.float().cumsum(1)
    total = cumulative[:, -1:]
    point = torch.rand(total.shape, generator=generator, device=probs.device) * total
    point = torch.minimum(point, total.nextafter(torch.zeros_like(total)))  # stay below the top
    return torch.searchsorted(cumulative, point, right=True).squeeze(1)


@lru_cache(maxsize=8)
def _non_text_index(device: torch.device) -> torch.Tensor:
    """NON_TEXT_IDS on `device`, made once (a Python list as an index is copied there, and
    waited for, at every step)."""
    return torch.tensor(NON_TEXT_IDS, device=device)


def filter_logits(logits: torch.Tensor, settings: SampleSettings) -> torch.Tensor:
    """Temperature, top-k and top-p applied to (N, V) logits; removed entries become -inf."""
    logits = logits.float() / settings.temperature
    logits.index_fill_(1, _non_text_index(logits.device), -torch.inf)  # markers, <unk>: never
    if settings.top_k is not None and settings.top_k < logits.size(1):
        kth = torch.topk(logits, settings.top_k, dim=1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, -torch.inf)
    if settings.top_p is not None and settings.top_p < 1:
        ordered, order = torch.sort(logits, dim=1, descending=True)
        cumulative = torch.softmax(ordered, dim=1).cumsum(dim=1)
        drop = cumulative - torch.softmax(ordered, dim=1) >= settings.top_p  # keeps the first
        logits = logits.scatter(1, order, ordered.masked_fill(drop, -torch.inf))
    return logits


StepState = list[tuple[torch.Tensor, torch.Tensor]]
"""Per layer, h (rows, H) in the step's matmul precision and c (rows, H) in fp32."""


class _Stepper:
    """The model's next character for every running row, from its weights laid out for
    one-character inputs: one matmul per layer, the gate functions and the head. Called on a
    one-character window, nn.LSTM took 1.3 ms a step for one row on a 2-core CPU, this 0.35 ms
    (fp32, one thread). Matmuls run in the runtime's precision (bf16 where the hardware has
    it, weights cast once rather than by autocast at every step); the cell state stays fp32
    over thousands of steps."""

    def __init__(self, model: CharLSTM, runtime: Runtime):
        self.dtype = torch.bfloat16 if runtime.dtype == "bf16" else torch.float32
        self.hidden = model.lstm.hidden_size
        w = dict(model.lstm.named_parameters())
        # layer 0 reads only embeddings, so its input-side gates are a (V, 4H) table of rows
        self.table = (model.embed.weight @ w["weight_ih_l0"].T + w["bias_ih_l0"]
                      + w["bias_hh_l0"]).to(self.dtype)
        self.weights = [w["weight_hh_l0"].to(self.dtype)]  # (4H, H)
        self.biases = [None]
        for layer in range(1, model.lstm.num_layers):
            # (4H, 2H): the layer's input and recurrent matmuls as one, on [h below, own h]
            self.weights.append(torch.cat([w[f"weight_ih_l{layer}"], w[f"weight_hh_l{layer}"]],
                                          dim=1).to(self.dtype))
            self.biases.append((w[f"bias_ih_l{layer}"] + w[f"bias_hh_l{layer}"]).to(self.dtype))
        self.head_weight = model.head.weight.to(self.dtype)  # (V, H); dropout is off in eval
        self.head_bias = model.head.bias.to(self.dtype)

    def __call__(self, ids: torch.Tensor, state: StepState) -> tuple[torch.Tensor, StepState]:
        """(rows,) ids and their state -> (rows, V) next-character logits and the new state."""
        below, new = None, []
        for layer, (h, c) in enumerate(state):
            if layer == 0:
                base, inputs = self.table[ids], h
            else:
                base, inputs = self.biases[layer], torch.cat([below, h], dim=1)
            gates = torch.addmm(base, inputs, self.weights[layer].T).float()  # (rows, 4H)
            below, c = self._cell(gates, c)
            new.append((below, c))
        return torch.addmm(self.head_bias, below, self.head_weight.T), new

    def _cell(self, gates: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """nn.LSTM's cell update; its gate order is input, forget, cell, output."""
        H = self.hidden
        in_forget = gates[:, : 2 * H].sigmoid()
        c = torch.addcmul(in_forget[:, H:] * c, in_forget[:, :H], gates[:, 2 * H: 3 * H].tanh())
        return (gates[:, 3 * H:].sigmoid() * c.tanh()).to(self.dtype), c

    def from_lstm(self, state: State) -> StepState:
        """nn.LSTM's (layers, rows, H) pair as this step's per-layer list."""
        return [(h.to(self.dtype), c.float()) for h, c in zip(*state, strict=True)]

    @staticmethod
    def select(state: StepState, rows: torch.Tensor) -> StepState:
        """Keep only `rows` (finished tunes leave the batch)."""
        return [(h.index_select(0, rows), c.index_select(0, rows)) for h, c in state]


def _run_window(model: CharLSTM, runtime: Runtime, inputs: torch.Tensor,
                state: State | None) -> tuple[torch.Tensor, State]:
    """A window of characters through the fused LSTM: the next-character logits (rows, V)
    after its last character, and the state there."""
    with runtime.autocast():
        logits, _, state = model(inputs, state)
    return logits[:, -1], state


@dataclass
class _Prepared:
    """What sampling needs of a model that no batch changes, made once per model (and its
    runtime) and reused by every sample_tunes call: generate's title writer makes one per
    title, each of which used to read the warm-up tunes and lay out the weights again."""

    key: tuple
    step: _Stepper
    boundary: State
    """The LSTM state a tune starts from, (layers, 1, H): zeros for a model trained on whole
    tunes (`fresh_start`), where every training tune started, so no neighbour's style leaks
    in. A stream-trained model carried the state from tune to tune and learnt how tunes
    begin from there, not from zeros (from a zero state one wrote `T:` after `X:1` 3 % of
    the time): it starts after WARM_UP_TUNES."""


_PREPARED: "WeakKeyDictionary[CharLSTM, _Prepared]" = WeakKeyDictionary()


def _prepared_key(model: CharLSTM, vocab: Vocab, runtime: Runtime) -> tuple:
    """What a _Prepared depends on. A parameter's _version counts its in-place changes (an
    optimizer step, load_state_dict, an edit under no_grad), its data_ptr a new tensor (.to),
    so a model changed since stays right."""
    weights = tuple((p.data_ptr(), -1 if p.is_inference() else p._version)
                    for p in model.parameters())
    return str(runtime.device), runtime.dtype, vocab.tokens, weights


def _prepared(model: CharLSTM, vocab: Vocab, runtime: Runtime) -> _Prepared:
    """The model's _Prepared, made on first use or when its weights or runtime changed."""
    key = _prepared_key(model, vocab, runtime)
    ready = _PREPARED.get(model)
    if ready is None or ready.key != key:
        ready = _PREPARED[model] = _Prepared(key, _Stepper(model, runtime),
                                             _start_state(model, vocab, runtime))
    return ready


def _start_state(model: CharLSTM, vocab: Vocab, runtime: Runtime) -> State:
    """The state a sampled tune starts from (see `_Prepared.boundary`)."""
    config = model.config
    if config.fresh_start:
        zeros = torch.zeros(config.layers, 1, config.hidden, device=runtime.device)
        return zeros, zeros.clone()
    ids = [i for tune in WARM_UP_TUNES for i in (BOS, *vocab.encode(tune), EOS)]
    _, state = _run_window(model, runtime, torch.tensor([ids], device=runtime.device), None)
    return state


class _BatchSampler:
    """Runs the model one character at a time for a batch of `rows` tunes at once; where a
    tune ends, the next of the `n` starts in its row (continuous batching), so no row waits
    for the batch's longest tune. Every tune starts the same way, from the model's start
    state with BOS fed (`_start_rows`) and its template text fed one character a step."""

    def __init__(self, model: CharLSTM, vocab: Vocab, n: int, template: Template,
                 settings: SampleSettings, runtime: Runtime,
                 on_tune: SampleProgress | None = None):
        self.vocab, self.settings, self.runtime = vocab, settings, runtime
        self.on_tune, self.ended = on_tune, 0
        self.template = template
        self.generator = torch.Generator(runtime.device).manual_seed(settings.seed)
        self.newline = vocab.encode("\n")[0]
        self.lanes: list[_Lane] = []
        """Every tune begun so far, in the order they began (the order they are returned)."""
        self.n = n
        self.masks = shared_masks(vocab, runtime.device) if settings.constrained else None
        self.titles = (title_mask(vocab.title_words, vocab, runtime.device)
                       if settings.constrained and vocab.title_words else None)
        self.readers: list[int] = []
        """Per lane, the id of its incremental reader state (constrained sampling only)."""
        self.primed: set[int] = set()
        """Lanes whose character this step is template text (fed whatever is drawn)."""
        ready = _prepared(model, vocab, runtime)
        self.step, self.boundary = ready.step, ready.step.from_lstm(ready.boundary)
        rows = min(n, settings.rows)
        self.active = [self._begin_lane() for _ in range(rows)]
        """Lane numbers of the batch rows still running, in row order."""
        self.state = [(h.expand(rows, -1).contiguous(), c.expand(rows, -1).contiguous())
                      for h, c in self.boundary]
        self.logits, self.state = self.step(
            torch.full((rows,), BOS, device=runtime.device), self.state)

    def _begin_lane(self) -> int:
        """A new tune: its template waits in its queue, its reader at the start."""
        lane = _Lane(deque(self.template))
        lane.advance()
        self.lanes.append(lane)
        self.readers.append(self.masks.start("", self.settings.form) if self.masks else 0)
        return len(self.lanes) - 1

    def sample(self) -> list[SampledTune]:
        """The step loop. It reads the device once a step (the drawn characters); what it
        sends there is copied without waiting (host_to_device)."""
        device = self.runtime.device
        while self.active:
            drawn = self._draw().tolist()  # the one device sync per character
            heading = [row for row, lane in enumerate(self.active) if self.lanes[lane].heading]
            fed = [self._take(self.lanes[lane], d) for lane, d in zip(self.active, drawn, strict=True)]
            if self.masks is not None:
                self._advance_readers()
                self._keep_headers([row for row in heading
                                    if not self.lanes[self.active[row]].heading], fed)
            retried = [row for row, lane in enumerate(self.active) if self._drawn_again(lane)]
            for row in retried:
                fed[row] = self._body_again(row)
            finished = [row for row, lane in enumerate(self.active)
                        if self.lanes[lane].done and row not in retried]
            if finished and self.on_tune is not None:
                self.ended += len(finished)
                self.on_tune(self.ended, self.n)
            restarted = finished[: self.n - len(self.lanes)]
            for row in restarted:
                self.active[row] = self._begin_lane()
            if restarted:
                self._start_rows(restarted, fed)
            keep = [row for row, lane in enumerate(self.active) if not self.lanes[lane].done]
            if not keep:
                break
            if len(keep) < len(self.active):  # no tune left to start: the row leaves
                self.state = self.step.select(self.state, host_to_device(keep, device))
                self.active, fed = [self.active[r] for r in keep], [fed[r] for r in keep]
            self.logits, self.state = self.step(host_to_device(fed, device), self.state)
        return [SampledTune("".join(lane.text), lane.complete) for lane in self.lanes]

    def _drawn_again(self, number: int) -> bool:
        """Whether tune `number`'s body is to be drawn again: the form rule, not the model,
        would end it (it goes into a MAX_PARTS-th part unit) and it has retries left. Such a
        tune stops wherever that part does: on the tonic one time in six, against three in
        four where the model ends it (200 tunes, the 2x512 model half-trained). Its header
        stays, so retries leave the meters, keys and rhythms as the model drew them."""
        lane = self.lanes[number]
        if lane.header is None or lane.retries >= MAX_RETRIES or (lane.done and not lane.complete):
            return False
        return forced_by_form(self.masks.states[self.readers[number]])

    def _keep_headers(self, rows: list[int], fed: list[int]) -> None:
        """Remember where the model's body of each tune in `rows` begins (its header and
        primed text just ended with the character `fed` this step)."""
        for row in rows:
            lane = self.lanes[self.active[row]]
            state = [(h[row].clone(), c[row].clone()) for h, c in self.state]
            lane.header = _Header("".join(lane.text), fed[row], state,
                                  self.readers[self.active[row]])

    def _body_again(self, row: int) -> int:
        """Put `row`'s tune back where the model's body began; the id to feed (the last
        character before it, from the state before it)."""
        number = self.active[row]
        old = self.lanes[number]
        lane = self.lanes[number] = _Lane(deque(), retries=old.retries + 1, header=old.header)
        lane.write(old.header.text)
        self.readers[number] = old.header.reader
        for (h, c), (h_row, c_row) in zip(self.state, old.header.state, strict=True):
            h[row], c[row] = h_row, c_row
        return old.header.last

    def _start_rows(self, rows: list[int], fed: list[int]) -> None:
        """Start `rows` (each given its new tune) from the start state, BOS the character
        fed this step."""
        index = host_to_device(rows, self.runtime.device)
        for (h, c), (h0, c0) in zip(self.state, self.boundary, strict=True):
            h.index_copy_(0, index, h0.expand(len(rows), -1))
            c.index_copy_(0, index, c0.expand(len(rows), -1))
        for row in rows:
            fed[row] = BOS

    def _draw(self) -> torch.Tensor:
        """(rows,): each running row's drawn id. Where the model would end a tune that may
        not end yet (a repeat open, a bar short), the end is masked and it writes on: steering
        such a tune to a quick end made its last bar up, and 37 % of tunes ended on the tonic
        against 55 % left to close themselves (100 tunes, seed 0, 2x512 model)."""
        logits = self.logits
        if self.masks is not None:
            self.primed = {lane for lane in self.active if self.lanes[lane].queue}
            allowed = self.masks.rows([self.masks.free if lane in self.primed  # fed as given
                                       else self.readers[lane] for lane in self.active])
            self._title_words_only(allowed)
            self._blank_line_ends(allowed)
            logits = logits.masked_fill(~allowed, -torch.inf)
        logits = filter_logits(logits, self.settings)
        open_rows = [row for row, lane in enumerate(self.active) if self.lanes[lane].template_open]
        if open_rows:  # a tune cannot end inside its primed header
            rows = host_to_device(open_rows, self.runtime.device)
            logits[:, EOS].index_fill_(0, rows, -torch.inf)
        return draw(torch.softmax(logits, dim=1), self.generator)

    def _blank_line_ends(self, allowed: torch.Tensor) -> None:
        """A newline at the start of a line is a blank line, which ends the tune (`_take`):
        allow it only where the tune may end."""
        rows = [row for row, lane in enumerate(self.active)
                if self.lanes[lane].line_chars == 0 and not self.lanes[lane].queue]
        if rows:
            index = host_to_device(rows, self.runtime.device)
            allowed[index, self.newline] = allowed[index, EOS]

    def _title_words_only(self, allowed: torch.Tensor) -> None:
        """Narrow `allowed` (rows, V) to real words on rows drawing a title (TitleMask)."""
        if self.titles is None:
            return
        for row, number in enumerate(self.active):
            lane = self.lanes[number]
            if lane.drawing_title:
                narrowed = allowed[row] & self.titles.allowed(lane.line[2:])
                # never leave a row with nothing to draw; chosen on the device (no sync)
                allowed[row] = torch.where(narrowed.any(), narrowed, allowed[row])

    def _advance_readers(self) -> None:
        """Feed each running lane's new character to its reader; near max_chars, steer."""
        steer_at = self.settings.max_chars - FINISH_MARGIN
        for number in self.active:
            lane = self.lanes[number]
            if not lane.done:
                sid = self.masks.advance(self.readers[number], lane.text[-1],
                                         primed=number in self.primed)
                # no steering inside the primed header: its given values must still be read
                steer = lane.length >= steer_at and not lane.template_open
                self.readers[number] = self.masks.finish(sid) if steer else sid

    def _take(self, lane: _Lane, drawn: int) -> int:
        """Append this step's character to a lane; return the id fed to the model next."""
        if lane.done:
            return PAD
        if lane.queue:
            char = lane.queue.popleft()
            lane.write(char)
            lane.advance()
            return self.vocab.encode(char)[0]
        if lane.writing_line and lane.line_chars >= MAX_MODEL_LINE_CHARS:
            drawn = self.newline
        char = self.vocab.decode([drawn])
        if drawn == EOS or (char == "\n" and lane.line_chars == 0):  # end marker or a blank line
            lane.done = lane.complete = True
            return PAD
        lane.write(char)
        if lane.writing_line and char == "\n":
            lane.writing_line = False
            lane.advance()
        lane.done = lane.length >= self.settings.max_chars
        return drawn


def sample_tunes(model: CharLSTM, vocab: Vocab, n: int, template: Template | None = None,
                 settings: SampleSettings = SampleSettings(),
                 runtime: Runtime | None = None,
                 on_tune: SampleProgress | None = None) -> list[SampledTune]:
    """Sample `n` tunes in a continuous batch of `settings.rows` rows; the same seed, n, rows
    and runtime give the same tunes (a tune's draws depend on when its row freed up, so
    another n or rows gives other tunes). `on_tune(ended, n)` follows the tunes as they end.

    Returns each tune's text, starting with the template's text; a tune ends at its end
    marker (or a blank line), or is cut at `settings.max_chars` and marked incomplete.
    `runtime` sets the precision (default: fp32 on the model's device).
    """
    if n < 1:
        raise AbcgenError(f"-n must be at least 1, got {n}")
    settings.check()
    runtime = runtime or Runtime(next(model.parameters()).device, "fp32")
    template, shift = _in_model_key(template or header_template(), vocab)
    model.eval()
    with torch.inference_mode(), thread_limit(sampling_threads(min(n, settings.rows))):
        tunes = _BatchSampler(model, vocab, n, template, settings, runtime, on_tune).sample()
    if not vocab.key_table:
        return tunes
    texts = to_written_keys([tune.text for tune in tunes], vocab.key_table, settings.seed, shift)
    return [replace(tune, text=text) for tune, text in zip(tunes, texts, strict=True)]


def sampling_threads(rows: int) -> int:
    """Intra-op threads for a batch of `rows` rows: SAMPLING_THREADS, or every one the
    process has from WIDE_BATCH_ROWS."""
    return torch.get_num_threads() if rows >= WIDE_BATCH_ROWS else SAMPLING_THREADS


def _in_model_key(template: Template, vocab: Vocab) -> tuple[Template, int | None]:
    """For a model that reads every tune in C (`Vocab.key_table`): the template with a
    primed K: moved to C, and the shift back to it (None: keys drawn from the corpus's)."""
    if not vocab.key_table:
        return template, None
    moved: Template = []
    shift = None
    for item in template:
        if item is not MODEL_LINE:
            item, item_shift = primed_in_tonic(item)
            shift = item_shift if item_shift is not None else shift
        moved.append(item)
    return moved, shift


def renumber(tunes: list[str]) -> list[str]:
    """Give the tunes X:1..N by rewriting their first line (the sampler primed it as X:1)."""
    return [f"X:{i}\n" + tune.split("\n", 1)[1] for i, tune in enumerate(tunes, start=1)]


def resolve_model_path(path: str | Path | None) -> Path:
    """The checkpoint to use: `path`, or the bundled pretrained model."""
    if path is not None:
        return Path(path)
    if not PRETRAINED_MODEL.exists():
        raise InputError(f"no bundled model at {PRETRAINED_MODEL}; run `make pretrained` "
                         "or pass --model PATH")
    return PRETRAINED_MODEL
