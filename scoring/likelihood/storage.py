"""The stored model: JSON in the database (coefficients, bins, feature names), turned
back into arrays. Loading reads numbers and strings only, so it cannot run code."""

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from ..models import LikelihoodModel
from .features import FeatureSpec


@dataclass(frozen=True)
class StoredModel:
    pk: int | None
    version: int
    spec: FeatureSpec
    coefficients: np.ndarray
    intercept: float

    @classmethod
    def from_row(cls, row: LikelihoodModel) -> "StoredModel":
        bins = row.bins or {}
        spec = FeatureSpec(
            names=[str(name) for name in row.feature_names],
            labels=[str(label) for label in row.feature_labels],
            categories={key: [str(v) for v in values] for key, values in (bins.get("categories") or {}).items()},
            score_edges=[int(edge) for edge in bins.get("score_edges") or []],
        )
        coefficients = np.array([float(value) for value in row.coefficients], dtype=np.float64)
        if len(coefficients) != len(spec.names):
            raise ValueError(
                f"Likelihood model v{row.version}: {len(coefficients)} weights for {len(spec.names)} features"
            )
        return cls(pk=row.pk, version=row.version, spec=spec, coefficients=coefficients, intercept=float(row.intercept))

    def logits(self, matrix: sparse.csr_matrix) -> np.ndarray:
        return matrix @ self.coefficients + self.intercept

    def probabilities(self, matrix: sparse.csr_matrix) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logits(matrix)))


_loaded: dict[int, StoredModel] = {}


def published_model() -> StoredModel | None:
    """The newest published version; the row's JSON is read once per process and version."""
    pk = (
        LikelihoodModel.objects.filter(published=True)
        .order_by("-published_at", "-version")
        .values_list("pk", flat=True)
        .first()
    )
    if pk is None:
        return None
    if pk not in _loaded:
        _loaded.clear()
        _loaded[pk] = StoredModel.from_row(LikelihoodModel.objects.get(pk=pk))
    return _loaded[pk]
