"""A likelihood's explanation: the intercept and one weight per active feature, which
add up exactly to the logit; the probability is the logistic of that sum."""

import math

import numpy as np
from scipy import sparse

from leads.models import LIKELIHOOD_HIGH as HIGH
from leads.models import LIKELIHOOD_MEDIUM as MEDIUM

from .storage import StoredModel

BASELINE = "baseline"
REASONS_KEPT = 8


def band(likelihood: float | None) -> str | None:
    if likelihood is None:
        return None
    if likelihood >= HIGH:
        return "high"
    if likelihood >= MEDIUM:
        return "medium"
    return "low"


def contributions(model: StoredModel, row: sparse.csr_matrix) -> list[dict]:
    """[{"feature", "label", "contribution"}] for one encoded row, the baseline (the
    intercept) first; their sum is the row's logit."""
    items = [
        {"feature": BASELINE, "label": "Baseline (a lead with none of the features)", "contribution": model.intercept}
    ]
    for column in row.indices.tolist():
        items.append(
            {
                "feature": model.spec.names[column],
                "label": model.spec.labels[column],
                "contribution": float(model.coefficients[column]) * float(row[0, column]),
            }
        )
    return items


def logit_of(items: list[dict]) -> float:
    return math.fsum(item["contribution"] for item in items)


def reasons(items: list[dict]) -> list[dict]:
    """The strongest contributions (the baseline left out), largest effect first."""
    kept = [item for item in items if item["feature"] != BASELINE and abs(item["contribution"]) >= 0.005]
    kept.sort(key=lambda item: -abs(item["contribution"]))
    return [
        {"feature": item["feature"], "label": item["label"], "contribution": round(item["contribution"], 4)}
        for item in kept[:REASONS_KEPT]
    ]


def explain_matrix(model: StoredModel, matrix: sparse.csr_matrix) -> tuple[np.ndarray, list[list[dict]]]:
    """Probabilities and reasons of every row (the set-based path of `contributions`)."""
    matrix = sparse.csr_matrix(matrix)
    probabilities = model.probabilities(matrix)
    n = matrix.shape[0]
    rows = np.repeat(np.arange(n), np.diff(matrix.indptr))
    weights = model.coefficients[matrix.indices] * matrix.data
    # Each row's entries by falling |weight|, then each entry's rank within its row.
    order = np.lexsort((-np.abs(weights), rows))
    rank = np.arange(len(order)) - matrix.indptr[rows[order]]
    kept = order[(rank < REASONS_KEPT) & (np.abs(weights[order]) >= 0.005)]
    names, labels = model.spec.names, model.spec.labels
    all_reasons: list[list[dict]] = [[] for _ in range(n)]
    for row, column, weight in zip(
        rows[kept].tolist(), matrix.indices[kept].tolist(), np.round(weights[kept], 4).tolist(), strict=True
    ):
        all_reasons[row].append({"feature": names[column], "label": labels[column], "contribution": weight})
    return probabilities, all_reasons


def split_reasons(items: list[dict]) -> tuple[list[dict], list[dict]]:
    """Reasons up (largest first) and down (most negative first), for the lead page."""
    up = [item for item in items if item["contribution"] > 0]
    down = [item for item in items if item["contribution"] < 0]
    return up, down
