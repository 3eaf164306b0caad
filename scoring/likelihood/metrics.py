"""Holdout figures shared by the model and its two baselines: AUC, log loss, expected
calibration error, precision at a rep's weekly capacity, reliability and lift."""

import numpy as np

RELIABILITY_BINS = 10


def expected_calibration_error(labels: np.ndarray, probabilities: np.ndarray, bins: int = RELIABILITY_BINS) -> float:
    """Σ over equal-width bins of (share of rows) × |mean predicted − observed rate|."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(probabilities, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.mean() * abs(probabilities[inside].mean() - labels[inside].mean())
    return float(total)


def precision_at_capacity(labels: np.ndarray, ranking: np.ndarray, moments: np.ndarray, k: int) -> float:
    """The share of buyers among the top k leads of each holdout week, averaged over weeks."""
    shares = []
    for moment in np.unique(moments):
        inside = np.flatnonzero(moments == moment)
        top = inside[np.argsort(-ranking[inside], kind="stable")[: min(k, len(inside))]]
        if len(top):
            shares.append(labels[top].mean())
    return float(np.mean(shares)) if shares else 0.0


def summary(labels, probabilities, ranking, moments, k: int) -> dict:
    from sklearn.metrics import log_loss, roc_auc_score  # only a training run needs it (see training.py)

    clipped = np.clip(probabilities, 1e-6, 1 - 1e-6)
    return {
        "auc": round(float(roc_auc_score(labels, ranking)), 4),
        "log_loss": round(float(log_loss(labels, clipped, labels=[0, 1])), 4),
        "ece": round(expected_calibration_error(labels, probabilities), 4),
        "precision_at_k": round(precision_at_capacity(labels, ranking, moments, k), 4),
    }


def reliability(labels: np.ndarray, probabilities: np.ndarray, bins: int = RELIABILITY_BINS) -> list[dict]:
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(probabilities, edges[1:-1]), 0, bins - 1)
    rows = []
    for b in range(bins):
        inside = which == b
        count = int(inside.sum())
        rows.append(
            {
                "low": round(float(edges[b]), 2),
                "high": round(float(edges[b + 1]), 2),
                "n": count,
                "predicted": round(float(probabilities[inside].mean()), 4) if count else None,
                "observed": round(float(labels[inside].mean()), 4) if count else None,
            }
        )
    return rows


def lift_by_decile(labels: np.ndarray, ranking: np.ndarray) -> list[dict]:
    """Deciles of the holdout by the model's likelihood, highest first: buyers in each
    and the lift over the holdout's base rate."""
    order = np.argsort(-ranking, kind="stable")
    base = labels.mean() if len(labels) else 0.0
    rows = []
    for decile, part in enumerate(np.array_split(order, 10), start=1):
        rate = float(labels[part].mean()) if len(part) else 0.0
        rows.append(
            {
                "decile": decile,
                "n": int(len(part)),
                "buyers": int(labels[part].sum()),
                "rate": round(rate, 4),
                "lift": round(rate / base, 2) if base else None,
            }
        )
    return rows


def naive_bayes_probabilities(train_values: list, train_labels: np.ndarray, values: list) -> np.ndarray:
    """Odoo-style predictive scoring: per field value, won and lost counts with +0.1
    smoothing; P(won) ∝ prior × Π P(value | won). `*_values` are lists of per-row tuples
    of field values (the fit fields only)."""
    train_labels = np.asarray(train_labels)
    won_total = float(train_labels.sum())
    lost_total = float(len(train_labels) - won_total)
    fields = len(train_values[0]) if train_values else 0
    won_counts = [dict() for _ in range(fields)]
    lost_counts = [dict() for _ in range(fields)]
    for row, label in zip(train_values, train_labels.tolist(), strict=True):
        for index, value in enumerate(row):
            counts = won_counts[index] if label else lost_counts[index]
            counts[value] = counts.get(value, 0) + 1
    log_won = np.full(len(values), np.log(max(won_total, 0.1)))
    log_lost = np.full(len(values), np.log(max(lost_total, 0.1)))
    for index in range(fields):
        known = len(set(won_counts[index]) | set(lost_counts[index])) + 1
        won_p = {v: np.log((c + 0.1) / (won_total + 0.1 * known)) for v, c in won_counts[index].items()}
        lost_p = {v: np.log((c + 0.1) / (lost_total + 0.1 * known)) for v, c in lost_counts[index].items()}
        unseen_won = np.log(0.1 / (won_total + 0.1 * known))
        unseen_lost = np.log(0.1 / (lost_total + 0.1 * known))
        log_won += np.array([won_p.get(row[index], unseen_won) for row in values])
        log_lost += np.array([lost_p.get(row[index], unseen_lost) for row in values])
    return 1.0 / (1.0 + np.exp(log_lost - log_won))
