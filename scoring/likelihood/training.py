"""Training a version: snapshots, the model, the baselines on the same holdout, and the
decision to publish.

"Not worse", the publishing rule: the new version is published when no version is
published yet, or when, on the new holdout (the same rows for both), its log loss is
at most the published version's + 0.005 and its AUC at least the published one's − 0.01.
Both versions are judged on data neither was trained on; the margins keep a
retrain on fresh data from being refused for noise, while a real loss is refused.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from ..models import LikelihoodModel
from ..selectors import scoring_settings
from . import metrics
from .dataset import (
    MIN_HOLDOUT_NEGATIVES,
    MIN_HOLDOUT_POSITIVES,
    MIN_HOLDOUT_SNAPSHOTS,
    MIN_TRAIN_POSITIVES,
    MIN_TRAIN_SNAPSHOTS,
    MINIMUM_TEXT,
    load_history,
    plan_split,
    snapshot_at,
)
from .features import HORIZON_DAYS, FeatureSpec, RawFacts, score_edges_for
from .storage import StoredModel, published_model

# L2 strength of the logistic regression (sklearn's C): mild, so rare one-hot features
# do not get large weights from a few buyers.
REGULARISATION_C = 0.3
LOG_LOSS_MARGIN = 0.005
VERSION_LOCK = 0x4C494B45  # "LIKE": numbers the versions
AUC_MARGIN = 0.01

Progress = Callable[[int, str], None]


class NotEnoughHistory(Exception):
    """Too little history to train and judge a model; the message says what is missing."""


@dataclass
class TrainingOutcome:
    model: LikelihoodModel
    published: bool


def concat_facts(parts: list[RawFacts]) -> RawFacts:
    return RawFacts(
        lead_ids=np.concatenate([p.lead_ids for p in parts]),
        counts={w: np.concatenate([p.counts[w] for p in parts]) for w in parts[0].counts},
        days_since_last=np.concatenate([p.days_since_last for p in parts]),
        seniority=[v for p in parts for v in p.seniority],
        size_band=[v for p in parts for v in p.size_band],
        country=[v for p in parts for v in p.country],
        source=[v for p in parts for v in p.source],
        stage=[v for p in parts for v in p.stage],
        cycle=np.concatenate([p.cycle for p in parts]),
        rule_score=np.concatenate([p.rule_score for p in parts]),
    )


def fit_values(facts: RawFacts) -> list[tuple]:
    """The CRM fit fields the naive Bayes baseline sees (as Odoo's does): no behaviour."""
    return list(zip(facts.seniority, facts.size_band, facts.country, facts.source, strict=True))


def _snapshots(history, moments, rate, progress, low, high, what):
    snapshots = []
    for index, moment in enumerate(moments):
        snapshots.append(snapshot_at(history, moment, rate=rate))
        progress(low + (high - low) * (index + 1) // max(1, len(moments)), f"{what} {index + 1} of {len(moments)}")
    return snapshots


def train_likelihood_model(*, now: datetime | None = None, progress: Progress | None = None) -> TrainingOutcome:
    """Train, compare and store a version; publish it if it is not worse. Raises
    NotEnoughHistory below the minimum (nothing is stored then)."""
    started = time.monotonic()
    now = now or timezone.now()
    progress = progress or (lambda percent, step: None)
    progress(2, "Reading the history")
    history = load_history(until=now)
    if not len(history.lead_ids):
        raise NotEnoughHistory(f"No leads yet. A model needs {MINIMUM_TEXT}.")
    first_created = datetime.fromtimestamp(float(history.created.min()), tz=now.tzinfo)
    split = plan_split(now=now, first_created=first_created)
    if not split.train_moments:
        raise NotEnoughHistory(
            f"The oldest lead is from {first_created:%Y-%m-%d}; training needs moments at least "
            f"{2 * HORIZON_DAYS + 21} days back. A model needs {MINIMUM_TEXT}."
        )
    moments = split.train_moments + split.holdout_moments
    alive = sum(int((history.created <= m.timestamp()).sum()) for m in moments)
    rate = min(1.0, settings.FUNNEL_LIKELIHOOD_MAX_SNAPSHOTS / max(1, alive))
    train = _snapshots(history, split.train_moments, rate, progress, 5, 55, "Training week")
    holdout = _snapshots(history, split.holdout_moments, rate, progress, 55, 75, "Holdout week")
    train_facts, holdout_facts = concat_facts([s.facts for s in train]), concat_facts([s.facts for s in holdout])
    y_train = np.concatenate([s.labels for s in train])
    y_hold = np.concatenate([s.labels for s in holdout])
    hold_moments = np.concatenate([np.full(len(s.labels), index) for index, s in enumerate(holdout)])
    # From here on only the concatenated rows are needed: the history and the
    # per-moment copies go before the fit, which is the peak of a run's memory.
    del history, train, holdout
    _require_minimum(y_train, y_hold)

    progress(78, "Fitting the model")
    # scikit-learn is imported here, not at the top: it costs ~80 MB and seconds of
    # start-up in every web and worker process, and only a training run needs it.
    from sklearn.linear_model import LogisticRegression

    thresholds = scoring_settings()
    spec = FeatureSpec.from_training(
        train_facts, score_edges=score_edges_for(recycle=thresholds.recycle_threshold, mql=thresholds.mql_threshold)
    )
    x_train, x_hold = spec.encode(train_facts), spec.encode(holdout_facts)
    regression = LogisticRegression(C=REGULARISATION_C, max_iter=2000)
    regression.fit(x_train, y_train)
    candidate = StoredModel(
        pk=None,
        version=0,
        spec=spec,
        coefficients=regression.coef_[0].astype(np.float64),
        intercept=float(regression.intercept_[0]),
    )
    progress(88, "Comparing with the rules and naive Bayes on the holdout")
    k = settings.FUNNEL_LIKELIHOOD_WEEKLY_CAPACITY
    p_model = candidate.probabilities(x_hold)
    model_metrics = metrics.summary(y_hold, p_model, p_model, hold_moments, k)
    # The rule score ranks as it is; for log loss and calibration it is turned into a
    # probability by a one-feature logistic fit on the training snapshots (Platt).
    platt = LogisticRegression(C=1e6, max_iter=1000).fit(train_facts.rule_score.reshape(-1, 1), y_train)
    p_rules = platt.predict_proba(holdout_facts.rule_score.reshape(-1, 1))[:, 1]
    rules_metrics = metrics.summary(
        y_hold, p_rules, holdout_facts.rule_score.astype(float) + p_rules * 1e-9, hold_moments, k
    )
    p_bayes = metrics.naive_bayes_probabilities(fit_values(train_facts), y_train, fit_values(holdout_facts))
    bayes_metrics = metrics.summary(y_hold, p_bayes, p_bayes, hold_moments, k)

    current = published_model()
    current_metrics = None
    if current is not None:
        p_current = current.probabilities(current.spec.encode(holdout_facts))
        current_metrics = metrics.summary(y_hold, p_current, p_current, hold_moments, k)
        current_metrics["version"] = current.version
    publish, decision = _decide(model_metrics, current_metrics)

    progress(95, "Storing the version")
    with transaction.atomic():
        # Two runs finishing at once take their version numbers one after the other
        # (SQLite's writers are one at a time already: IMMEDIATE transactions).
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [VERSION_LOCK])
        version = (LikelihoodModel.objects.aggregate(top=Max("version"))["top"] or 0) + 1
        row = LikelihoodModel.objects.create(
            version=version,
            trained_at=now,
            feature_names=spec.names,
            feature_labels=spec.labels,
            coefficients=[float(value) for value in candidate.coefficients],
            intercept=candidate.intercept,
            bins=spec.as_json(),
            horizon_days=HORIZON_DAYS,
            train_snapshots=len(y_train),
            train_positives=int(y_train.sum()),
            holdout_snapshots=len(y_hold),
            holdout_positives=int(y_hold.sum()),
            train_until=split.train_moments[-1],
            holdout_from=split.holdout_moments[0],
            holdout_until=split.holdout_moments[-1],
            metrics={
                "model": model_metrics,
                "rules": rules_metrics,
                "naive_bayes": bayes_metrics,
                "current_on_holdout": current_metrics,
                "k": k,
                "sample_rate": round(rate, 4),
                "train_leads": int(len(np.unique(train_facts.lead_ids))),
                "holdout_leads": int(len(np.unique(holdout_facts.lead_ids))),
            },
            reliability=metrics.reliability(y_hold, p_model),
            lift=metrics.lift_by_decile(y_hold, p_model),
            published=publish,
            published_at=timezone.now() if publish else None,
            decision=decision,
            seconds=round(time.monotonic() - started, 2),
        )
    return TrainingOutcome(model=row, published=publish)


def _require_minimum(y_train: np.ndarray, y_hold: np.ndarray) -> None:
    found = (
        f"found {len(y_train)} training snapshots with {int(y_train.sum())} buyers and "
        f"{len(y_hold)} holdout snapshots with {int(y_hold.sum())} buyers"
    )
    negatives = len(y_hold) - int(y_hold.sum())
    if (
        len(y_train) < MIN_TRAIN_SNAPSHOTS
        or y_train.sum() < MIN_TRAIN_POSITIVES
        or len(y_hold) < MIN_HOLDOUT_SNAPSHOTS
        or y_hold.sum() < MIN_HOLDOUT_POSITIVES
        or negatives < MIN_HOLDOUT_NEGATIVES
    ):
        raise NotEnoughHistory(f"Not enough history yet: {found}. A model needs {MINIMUM_TEXT}.")


def _decide(new: dict, current: dict | None) -> tuple[bool, str]:
    if current is None:
        return True, "Published: the first version."
    worse = []
    if new["log_loss"] > current["log_loss"] + LOG_LOSS_MARGIN:
        worse.append(f"log loss {new['log_loss']:.4f} > {current['log_loss']:.4f} + {LOG_LOSS_MARGIN}")
    if new["auc"] < current["auc"] - AUC_MARGIN:
        worse.append(f"AUC {new['auc']:.4f} < {current['auc']:.4f} − {AUC_MARGIN}")
    if worse:
        return (
            False,
            f"Not published: worse than version {current['version']} on the same holdout ({'; '.join(worse)}).",
        )
    return True, f"Published: not worse than version {current['version']} on the same holdout."
