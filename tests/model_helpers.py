"""Shared by the char-LSTM tests: a tiny hand-written corpus and a quick tiny-model run."""

from pathlib import Path

from abcgen.model.train import TrainConfig, train

TUNES = [
    "X:1\nT:The Kitchen Jig\nM:6/8\nL:1/8\nK:D\n|:A|dfa afd|gfe fdB|AFA dFA|Bee e2A:|\n",
    "X:2\nT:Rolling Reel\nM:4/4\nL:1/8\nK:G\n|:GABc dBGB|cBAG FGAF|GABc dBGB|cAFA G4:|\n",
    "X:3\nT:Slow Air\nM:3/4\nL:1/4\nK:Am\nA2 B|c2 d|e3|c2 A|B2 G|A3|]\n",
    "X:4\nT:Morning Hornpipe\nM:2/4\nL:1/16\nK:A\nAB|c2e2 a2e2|f2d2 B2AB|c2A2 E2A2|B4 A2:|\n",
    "X:5\nT:Harvest Polka\nM:2/4\nL:1/8\nK:D\nA>B AF|ED EF|A>B AF|E2 D2:|\n",
    "X:6\nT:Green Waltz\nM:3/4\nL:1/4\nK:F\nF A c|f2 e|d c B|A3|G B d|c2 B|A G F|F3|]\n",
    "X:7\nT:The Long Road\nM:6/8\nL:1/8\nK:Em\nE2B BAG|FAD FED|E2B BAG|FDF E3:|\n",
    "X:8\nT:Top Of The Hill\nM:4/4\nL:1/8\nK:D\nd2fd Adfd|e2ge cege|d2fd Adfd|egfe d4|]\n",
]


def write_tiny_corpus(folder: Path) -> Path:
    """A corpus folder with the eight tunes: six to train on, one each for val and test."""
    folder.mkdir(parents=True, exist_ok=True)
    parts = {"train": TUNES[:6], "val": TUNES[6:7], "test": TUNES[7:]}
    for name, tunes in parts.items():
        (folder / f"{name}.abc").write_text("\n".join(tunes), encoding="utf-8")
    return folder


def tiny_config(corpus: Path, out: Path, **overrides) -> TrainConfig:
    """Settings for a run of a few seconds on the tiny corpus."""
    settings = dict(corpus=str(corpus), out=str(out), preset="tiny", seq_len=16, batch_size=4,
                    lr=1e-2, warmup_steps=2, max_steps=12, eval_interval=4, log_interval=1,
                    device="cpu", seed=3)
    settings.update(overrides)
    return TrainConfig(**settings)


def train_tiny(corpus: Path, out: Path, **overrides) -> tuple[Path, list]:
    """Train on the tiny corpus; return best.pt and the progress events seen."""
    events = []
    best = train(tiny_config(corpus, out, **overrides), on_progress=events.append)
    return best, events
