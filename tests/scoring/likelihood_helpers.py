"""A small published likelihood model, trained on synthetic encoded rows, for tests
that need one without months of history."""

import numpy as np
from django.utils import timezone
from sklearn.linear_model import LogisticRegression

from scoring.likelihood import metrics
from scoring.likelihood.features import FeatureSpec
from scoring.models import LikelihoodModel


def publish_small_model(*, version: int = 1, seed: int = 3) -> tuple[LikelihoodModel, LogisticRegression, object]:
    spec = FeatureSpec.build(categories={"country": ["Germany"], "source": ["website"]}, score_edges=[0, 1, 25, 50, 75])
    rng = np.random.default_rng(seed)
    x = (rng.random((400, len(spec.names))) < 0.08).astype(float)
    y = (x[:, : len(spec.names) // 2].sum(axis=1) + rng.normal(0, 1, 400) > 2).astype(int)
    regression = LogisticRegression(C=0.5, max_iter=2000).fit(x, y)
    p = regression.predict_proba(x)[:, 1]
    summary = metrics.summary(y, p, p, np.zeros(len(y)), 50)
    row = LikelihoodModel.objects.create(
        version=version,
        feature_names=spec.names,
        feature_labels=spec.labels,
        coefficients=[float(v) for v in regression.coef_[0]],
        intercept=float(regression.intercept_[0]),
        bins=spec.as_json(),
        train_snapshots=400,
        train_positives=int(y.sum()),
        holdout_snapshots=400,
        holdout_positives=int(y.sum()),
        metrics={"model": summary, "rules": summary, "naive_bayes": summary, "k": 50, "current_on_holdout": None},
        reliability=metrics.reliability(y, p),
        lift=metrics.lift_by_decile(y, p),
        published=True,
        published_at=timezone.now(),
        decision="Published: the first version.",
    )
    return row, regression, x
