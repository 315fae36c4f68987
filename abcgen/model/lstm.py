"""`CharLSTM`: embedding -> multi-layer fused `nn.LSTM` -> dropout -> linear head over the vocabulary.

The LSTM is PyTorch's fused module (cuDNN on CUDA, oneDNN on CPU): the whole (B, T) window runs
in one call, never a Python loop over time steps. Its config is a dataclass so a checkpoint can
store it as a plain dict and rebuild the same network.
"""

from dataclasses import asdict, dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from abcgen.errors import AbcgenError
from abcgen.model.data import IGNORE_INDEX

State = tuple[torch.Tensor, torch.Tensor]
"""LSTM hidden and cell state, each (layers, B, hidden)."""


@dataclass(frozen=True)
class LSTMConfig:
    """Shape of a `CharLSTM`. `vocab_size` is filled in from the corpus vocabulary."""

    vocab_size: int = 0
    embed: int = 64
    """Character embedding width."""
    hidden: int = 256
    """LSTM units per layer."""
    layers: int = 2
    dropout: float = 0.0
    """Dropout between LSTM layers and before the head (0 disables)."""
    fresh_start: bool = True
    """A tune starts from a zero state, as tune-aligned training ran it; False for a model
    trained on a stream that carried the state from tune to tune (it samples after warm-up
    tunes instead)."""


PRESETS: dict[str, LSTMConfig] = {
    "tiny": LSTMConfig(embed=16, hidden=32, layers=2, dropout=0.0),  # tests: trains in seconds
    "small": LSTMConfig(embed=48, hidden=384, layers=2, dropout=0.25),  # the bundled model
    "base": LSTMConfig(embed=64, hidden=512, layers=2, dropout=0.3),
    "large": LSTMConfig(embed=64, hidden=512, layers=3, dropout=0.5),  # folk-rnn's 3x512, dropout 0.5
}


def preset(name: str, **overrides) -> LSTMConfig:
    """A named preset with some fields replaced (None values leave the preset's field alone)."""
    if name not in PRESETS:
        raise AbcgenError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return replace(PRESETS[name], **{k: v for k, v in overrides.items() if v is not None})


class CharLSTM(nn.Module):
    """A character language model; `forward` maps (B, T) ids to (B, T, vocab) logits."""

    def __init__(self, config: LSTMConfig):
        super().__init__()
        if config.vocab_size < 5 or config.hidden < 1 or config.layers < 1:
            raise AbcgenError(f"invalid model config {asdict(config)}")
        if not 0.0 <= config.dropout < 1.0:
            raise AbcgenError(f"dropout must be in [0, 1), got {config.dropout}")
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.embed)
        self.lstm = nn.LSTM(config.embed, config.hidden, config.layers, batch_first=True,
                            dropout=config.dropout if config.layers > 1 else 0.0)
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden, config.vocab_size)
        self._init_forget_bias()

    def _init_forget_bias(self) -> None:
        # A forget-gate bias of 1 lets memory flow from the start (char-rnn, commit 0dfeaa4).
        # PyTorch gate order is input, forget, cell, output; the two biases add up.
        h = self.config.hidden
        with torch.no_grad():
            for name, bias in self.lstm.named_parameters():
                if name.startswith("bias_ih"):
                    bias[h: 2 * h].fill_(1.0)
                elif name.startswith("bias_hh"):
                    bias[h: 2 * h].zero_()

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, inputs: torch.Tensor, state: State | None = None,
                targets: torch.Tensor | None = None):
        """Run a window of characters.

        Parameters
        ----------
        inputs : (B, T) int64 ids.
        state : hidden state carried from the previous window, or None for zeros.
        targets : (B, T) next ids (IGNORE_INDEX where padded), or None.

        Returns
        -------
        logits (B, T, V), mean cross-entropy in nats (fp32; None without targets), new state.
        """
        x = self.embed(inputs)  # (B, T, E)
        out, state = self.lstm(x, state)  # (B, T, H)
        logits = self.head(self.drop(out))  # (B, T, V)
        loss = None
        if targets is not None:
            # fp32 loss even under bf16 autocast: small probabilities need the mantissa
            loss = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(),
                                   ignore_index=IGNORE_INDEX)
        return logits, loss, state


def detach_state(state: State | None) -> State | None:
    """Cut the graph at a window boundary (truncated BPTT) but keep the values."""
    return None if state is None else (state[0].detach(), state[1].detach())
