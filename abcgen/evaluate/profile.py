"""A set of tunes described the way folk-rnn compared its output with its training tunes:
meters, keys and modes, rhythms, form, and the MGEval features of each tune."""

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from abcgen.evaluate.compare import category_shares
from abcgen.evaluate.features import feature_table, timeline_or_none
from abcgen.evaluate.structure import Part, is_aabb, tune_parts
from abcgen.notation import Meter, Tune

UNKNOWN = "(none)"
"""The category of a tune that lacks the field (no R:, say)."""
CATEGORIES = ("meters", "keys", "modes", "rhythms")
"""The category distributions of a profile."""


@dataclass
class SetProfile:
    """What a set of tunes looks like; `features` holds per-tune MGEval features (not saved)."""

    tunes: int
    playable: int
    meters: dict[str, float]
    keys: dict[str, float]
    modes: dict[str, float]
    rhythms: dict[str, float]
    structure: dict
    features: dict[str, np.ndarray] = field(repr=False, default_factory=dict)

    def summary(self) -> dict:
        """The profile as metrics.json holds it (features left out)."""
        return {"tunes": self.tunes, "playable": self.playable, "meters": self.meters,
                "keys": self.keys, "modes": self.modes, "rhythms": self.rhythms,
                "structure": self.structure}


def rhythm_of(tune: Tune) -> str:
    """The tune's R: field, lower case and trimmed ('reel', 'double jig'), or UNKNOWN."""
    value = " ".join((tune.get("R") or "").lower().split())
    return value or UNKNOWN


def meter_name(meter: Meter) -> str:
    """'6/8', '4/4' for M:C, '2/2' for M:C|, 'free' for none: one name per meter."""
    return "free" if meter.free else f"{meter.numerator}/{meter.denominator}"


def structure_summary(all_parts: list[list[Part]]) -> dict:
    """Form figures over tunes given by their parts (tunes with no bars are left out)."""
    tunes = [parts for parts in all_parts if parts]
    n = max(len(tunes), 1)
    part_counts = Counter(min(len(parts), 5) for parts in tunes)  # 5 stands for "5 or more"
    lengths = [p.bars for parts in tunes for p in parts]
    return {
        "tunes": len(tunes),
        "parts": {("5+" if k == 5 else str(k)): v / n for k, v in sorted(part_counts.items())},
        "mean_parts": float(np.mean([len(p) for p in tunes])) if tunes else 0.0,
        "with_repeats": sum(any(p.repeated for p in parts) for parts in tunes) / n,
        "repeated_parts": sum(p.repeated for parts in tunes for p in parts) / max(len(lengths), 1),
        "eight_bar_parts": sum(round(b) == 8 for b in lengths) / max(len(lengths), 1),
        "aabb_8_bar": sum(is_aabb(parts) for parts in tunes) / n,
    }


def profile(tunes: list[Tune]) -> SetProfile:
    """Describe a set of tunes (any that can't be performed count in `tunes` only)."""
    timelines = [t for t in map(timeline_or_none, tunes) if t is not None]
    return SetProfile(
        tunes=len(tunes),
        playable=len(timelines),
        meters=category_shares([meter_name(t.meter) for t in timelines]),
        keys=category_shares([t.key.name for t in timelines]),
        modes=category_shares([t.key.mode or UNKNOWN for t in timelines]),
        rhythms=category_shares([rhythm_of(tune) for tune in tunes]),
        structure=structure_summary([tune_parts(t) for t in timelines]),
        features=feature_table(tunes),
    )
