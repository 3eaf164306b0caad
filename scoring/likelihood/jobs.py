"""Training runs: the button, the weekly beat and the command all go through
`run_training`, which records its progress on a `LikelihoodTraining` row (the model
page's progress bar) and, when a version is published, refreshes every lead."""

import logging

from django.db import transaction
from django.utils import timezone

from ..models import LikelihoodModel, LikelihoodTraining, LikelihoodTrainingStatus
from .refresh import refresh_all_likelihoods
from .training import NotEnoughHistory, train_likelihood_model

logger = logging.getLogger(__name__)

TRAIN_TASK = "scoring.train_likelihood"


def start_training(*, cause: str, user=None, enqueue: bool = True) -> LikelihoodTraining:
    """Queue a training run; one already queued or running is returned instead."""
    running = LikelihoodTraining.objects.filter(
        status__in=[LikelihoodTrainingStatus.QUEUED, LikelihoodTrainingStatus.RUNNING]
    ).first()
    if running is not None:
        return running
    training = LikelihoodTraining.objects.create(cause=cause[:100], requested_by=user)
    if enqueue:
        transaction.on_commit(lambda: _enqueue(training.pk))
    return training


def _enqueue(training_id: int) -> None:
    from funnel.celery import app

    try:
        app.send_task(TRAIN_TASK, args=[training_id])
    except Exception:  # noqa: BLE001 - the page shows the run as queued; the command can run it
        logger.warning("Could not enqueue likelihood training %s.", training_id)


def _record(training: LikelihoodTraining, **fields) -> None:
    for name, value in fields.items():
        setattr(training, name, value)
    LikelihoodTraining.objects.filter(pk=training.pk).update(**fields)


def run_training(*, training_id: int | None = None, cause: str = "command", on_progress=None) -> LikelihoodTraining:
    """Train now (in this process). Below the minimum history the run ends as
    "not enough history" with the reason, and nothing else changes."""
    if training_id is None:
        training = LikelihoodTraining.objects.create(cause=cause[:100])
    else:
        training = LikelihoodTraining.objects.get(pk=training_id)
        if training.is_finished:
            return training

    def progress(percent: int, step: str) -> None:
        _record(training, percent=min(99, percent), step=step[:200])
        if on_progress:
            on_progress(training.percent, step)

    _record(training, status=LikelihoodTrainingStatus.RUNNING, percent=1, step="Starting")
    try:
        outcome = train_likelihood_model(progress=lambda p, s: progress(int(p * 0.9), s))
    except NotEnoughHistory as missing:
        _record(
            training,
            status=LikelihoodTrainingStatus.NOT_ENOUGH_HISTORY,
            message=str(missing),
            percent=100,
            finished_at=timezone.now(),
        )
        return training
    except Exception as error:
        _record(
            training,
            status=LikelihoodTrainingStatus.FAILED,
            message=f"{type(error).__name__}: {error}"[:2000],
            finished_at=timezone.now(),
        )
        raise
    _record(training, model=outcome.model, message=outcome.model.decision)
    if outcome.published:
        refresh_all_likelihoods(
            progress=lambda done, total: progress(90 + 10 * done // max(1, total), f"Updating leads {done} of {total}")
        )
    _record(training, status=LikelihoodTrainingStatus.DONE, percent=100, step="Done", finished_at=timezone.now())
    return training


def start_training_unless_trained(*, cause: str) -> bool:
    """Queue a run when no version was ever trained nor a run tried (a fresh install
    after its data is loaded). True when one was queued."""
    if LikelihoodModel.objects.exists() or LikelihoodTraining.objects.exists():
        return False
    start_training(cause=cause)
    return True
