"""A classifier two-sample test: how machine-like a set of tunes is, as one number.

Lopez-Paz & Oquab 2017, "Revisiting classifier two-sample tests": train a classifier to tell
the candidate set from the reference set; if it cannot do better than chance on held-out
tunes, the two sets are alike as far as its features see. Here the classifier is a small
L2-regularised logistic regression in plain numpy (features standardised on the training
folds, the two classes weighted equally, full-batch gradient descent), the features one
vector per tune (musical.feature_rows), and the figure the area under the ROC curve on
held-out tunes, averaged over K-fold cross-validation (stratified, a tune found in both
sets kept in one fold): 0.5 means the classifier
cannot tell the sets apart, 1.0 that it always can. The reference figure is the same test
between two random halves of the real tunes.
"""

import numpy as np

FOLDS = 5
STEPS = 300
"""Gradient steps per fit (the loss is smooth and convex: a few hundred suffice)."""
LEARNING_RATE = 0.5
L2 = 0.01
"""Weight of the L2 penalty (on the weights, not the bias), per unit of mean loss."""


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = L2, steps: int = STEPS,
                 learning_rate: float = LEARNING_RATE) -> tuple[np.ndarray, float]:
    """Weights and bias of an L2-regularised logistic regression (labels 0/1), each class
    weighted to half the loss so an unbalanced pair of sets is not a bias."""
    weights = np.where(y == 1, 0.5 / max(int((y == 1).sum()), 1),
                       0.5 / max(int((y == 0).sum()), 1))
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w + b, -30, 30)))
        residual = weights * (p - y)
        w -= learning_rate * (x.T @ residual + l2 * w)
        b -= learning_rate * float(residual.sum())
    return w, b


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve: the chance that a random positive scores above a random
    negative, ties counting half (the Mann-Whitney statistic)."""
    positive, negative = scores[labels == 1], scores[labels == 0]
    if len(positive) == 0 or len(negative) == 0:
        raise ValueError("AUC needs both classes")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(average, counts)
    rank_sum = ranks[labels == 1].sum()
    n_pos, n_neg = len(positive), len(negative)
    return float((rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _grouped_folds(x: np.ndarray, labels: np.ndarray, folds: int,
                   rng: np.random.Generator) -> np.ndarray:
    """A fold number for each row. Rows with the same vector form one group and share a fold
    (else a tune in both sets is learnt with one label and tested with the other, pushing the
    AUC below 0.5); groups are dealt out at random, round-robin within each kind (candidate
    only, reference only, both), so each class spreads evenly over the folds."""
    _, group = np.unique(np.round(x, 9), axis=0, return_inverse=True)
    group = group.ravel()
    groups = group.max() + 1
    kind = np.zeros(groups, dtype=int)
    np.bitwise_or.at(kind, group, np.where(labels == 1, 1, 2))
    fold_of_group = np.empty(groups, dtype=int)
    for value in (1, 2, 3):
        members = np.flatnonzero(kind == value)
        rng.shuffle(members)
        fold_of_group[members] = np.arange(len(members)) % folds
    return fold_of_group[group]


def _standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, spread = train.mean(axis=0), train.std(axis=0)
    spread = np.where(spread > 1e-9, spread, 1.0)  # a constant feature stays 0
    return (train - mean) / spread, (test - mean) / spread


def classifier_auc(candidate: np.ndarray, reference: np.ndarray, folds: int = FOLDS,
                   seed: int = 0) -> dict:
    """Cross-validated AUC of a logistic regression telling `candidate` rows (label 1) from
    `reference` rows (label 0): {'auc', 'auc_std' over the folds, 'folds', 'candidate',
    'reference' (rows)}; 'auc' None when a set has fewer than 2 rows."""
    folds = min(folds, len(candidate), len(reference))
    result = {"auc": None, "auc_std": None, "folds": folds, "candidate": len(candidate),
              "reference": len(reference)}
    if folds < 2:
        return result
    x = np.concatenate([candidate, reference]).astype(float)
    y = np.concatenate([np.ones(len(candidate)), np.zeros(len(reference))])
    assignment = _grouped_folds(x, y, folds, np.random.default_rng(seed))
    aucs = []
    for fold in range(folds):
        held = assignment == fold
        if len(set(y[held])) < 2 or len(set(y[~held])) < 2:
            continue  # a fold without both classes (few, duplicated rows) cannot be scored
        train_x, test_x = _standardise(x[~held], x[held])
        w, b = fit_logistic(train_x, y[~held])
        # rounded: BLAS may sum two identical rows in different orders, and a last-bit
        # difference would break the tie that identical tunes must make
        aucs.append(roc_auc(np.round(test_x @ w + b, 9), y[held]))
    if aucs:
        result.update(auc=float(np.mean(aucs)), auc_std=float(np.std(aucs)))
    return result


def halves_auc(reference: np.ndarray, folds: int = FOLDS, seed: int = 0) -> dict:
    """The reference figure: the same test between two random halves of the real rows."""
    order = np.random.default_rng(seed + 1).permutation(len(reference))
    half = len(reference) // 2
    return classifier_auc(reference[order[:half]], reference[order[half:2 * half]], folds, seed)
