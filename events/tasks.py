"""Celery tasks of the events app: thin doorbells over events.processing.

No acks_late: the intake table says what is left, so a message lost with a dead
worker costs only the time until the sweep (beat, and every worker's start) rings."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from .doorbell import PROCESS_TASK
from .processing import process_incoming_for_a_while

RETRY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": True,
    "retry_backoff_max": 30,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(name=PROCESS_TASK, **RETRY)
def process_incoming() -> int:
    return process_incoming_for_a_while()
