"""MGEval-style comparison of two sets of tunes, and plain distribution distances.

MGEval (Yang & Lerch 2020; RichardYang40148/mgeval `utils.py`) compares a generated set with
real tunes by distances between tunes, not by the features themselves: the intra-set
distances of the real set (every pair of real tunes) and the inter-set distances (every
generated tune against every real tune) are smoothed with a Gaussian kernel density estimate;
the overlap area (OA) of the two densities and their KL divergence say how far the generated
set sits from the real one. OA near 1 and KL near 0: the generated tunes are as close to the
real ones as the real ones are to each other. Densities are taken on a grid and normalised
there, so identical inputs give OA 1.0 and KL 0.0 exactly.
"""

from collections import Counter
from dataclasses import asdict, dataclass

import numpy as np

GRID_POINTS = 512
"""Points of the grid the two densities are compared on (MGEval uses 1,000 samples)."""
KDE_CHUNK = 4096
"""Samples per chunk of the exact kernel sum: bounds memory to GRID_POINTS x KDE_CHUNK floats."""
MAX_DISTANCES = 20_000
"""Distances kept per set (a seeded random subset above this): KDE cost is linear in them."""
PROBABILITY_FLOOR = 1e-12
"""Stands in for zero probabilities in KL divergence, which is infinite otherwise."""


def pairwise_distances(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Euclidean distances between rows of `a` and rows of `b` (scalars: absolute differences).

    With `b` None: the intra-set distances of `a`, each unordered pair once (MGEval's
    leave-one-out intra-set distance leaves out a tune's distance to itself).
    """
    a2 = a.reshape(len(a), -1).astype(float)
    b2 = a2 if b is None else b.reshape(len(b), -1).astype(float)
    # (n, m) distances by |x|^2 + |y|^2 - 2xy; clipped because rounding can go below zero
    squared = (a2 ** 2).sum(1)[:, None] + (b2 ** 2).sum(1)[None, :] - 2 * a2 @ b2.T
    distances = np.sqrt(np.clip(squared, 0, None))
    if b is None:
        return distances[np.triu_indices(len(a2), k=1)]
    return distances.ravel()


def subsample(values: np.ndarray, limit: int = MAX_DISTANCES, seed: int = 0) -> np.ndarray:
    """At most `limit` of `values`, a seeded random choice when there are more."""
    if len(values) <= limit:
        return values
    return np.random.default_rng(seed).choice(values, limit, replace=False)


def scott_bandwidth(samples: np.ndarray) -> float:
    """Scott's rule, std * n^(-1/5) (scipy's gaussian_kde default); a small positive width
    when every sample is equal, so a point mass still has a density."""
    spread = float(np.std(samples, ddof=1)) if len(samples) > 1 else 0.0
    width = spread * len(samples) ** (-1 / 5)
    return width if width > 0 else 1e-3 * max(1.0, float(np.abs(samples).max(initial=0.0)))


def kde_on_grid(samples: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """A Gaussian KDE of `samples` evaluated on `grid` and normalised to sum 1 there."""
    width = scott_bandwidth(samples)
    density = np.zeros(len(grid))
    for start in range(0, len(samples), KDE_CHUNK):
        chunk = samples[start:start + KDE_CHUNK]
        z = (grid[:, None] - chunk[None, :]) / width  # (grid, chunk)
        density += np.exp(-0.5 * z * z).sum(axis=1)
    total = density.sum()
    return density / total if total > 0 else np.full(len(grid), 1 / len(grid))


def density_grid(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A grid covering both sample sets and three kernel widths beyond them."""
    both = np.concatenate([a, b])
    margin = 3 * max(scott_bandwidth(a), scott_bandwidth(b))
    return np.linspace(both.min() - margin, both.max() + margin, GRID_POINTS)


def overlap_area(p: np.ndarray, q: np.ndarray) -> float:
    """Shared probability mass of two distributions on the same support: 1 identical, 0 disjoint."""
    return float(np.minimum(p, q).sum())


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) in nats of two distributions on the same support (0 when identical)."""
    p = np.asarray(p, float)
    q = np.maximum(np.asarray(q, float), PROBABILITY_FLOOR)
    present = p > 0
    return float(max(0.0, (p[present] * np.log(p[present] / q[present])).sum()))


@dataclass
class SetComparison:
    """How one feature of a candidate set compares with the reference set (MGEval)."""

    overlap: float
    """Overlap area of the intra-reference and inter-set distance densities."""
    kl: float
    """KL(intra-reference || inter-set), nats."""
    candidate_mean: float | None
    reference_mean: float | None
    """MGEval's absolute measure: the feature's mean over each set (scalar features only)."""
    grid: list[float]
    intra_density: list[float]
    inter_density: list[float]
    """The two probability densities (per unit of distance) on `grid`, kept for the plots."""

    def summary(self) -> dict:
        """The figures without the densities (what metrics.json's tables hold)."""
        return {k: v for k, v in asdict(self).items() if not isinstance(v, list)}


def compare_sets(candidate: np.ndarray, reference: np.ndarray, seed: int = 0) -> SetComparison:
    """MGEval's relative comparison of one feature: rows are tunes (vectors or scalars)."""
    if len(candidate) < 1 or len(reference) < 2:
        raise ValueError("need at least one candidate tune and two reference tunes to compare")
    intra = subsample(pairwise_distances(reference), seed=seed)
    inter = subsample(pairwise_distances(candidate, reference), seed=seed)
    grid = density_grid(intra, inter)
    p, q = kde_on_grid(intra, grid), kde_on_grid(inter, grid)
    step = float(grid[1] - grid[0])  # probabilities per grid point -> densities, for plotting
    return SetComparison(overlap_area(p, q), kl_divergence(p, q), _centre(candidate),
                         _centre(reference), grid.tolist(), (p / step).tolist(),
                         (q / step).tolist())


def _centre(rows: np.ndarray) -> float | None:
    return float(rows.mean()) if rows.ndim == 1 else None


def pooled_histogram(rows: np.ndarray) -> np.ndarray:
    """The set's histogram: the mean of its tunes' normalised histograms, (classes,)."""
    return rows.mean(axis=0) if len(rows) else np.zeros(rows.shape[1:])


def category_shares(values: list[str]) -> dict[str, float]:
    """Share of each category in `values`, commonest first."""
    total = max(len(values), 1)
    return {name: n / total for name, n in Counter(values).most_common()}


def category_overlap(a: dict[str, float], b: dict[str, float]) -> float:
    """Overlap of two category distributions given as shares (1 identical, 0 disjoint)."""
    return float(sum(min(share, b.get(name, 0.0)) for name, share in a.items()))
