"""Writes of the scoring app, one concern a module:

- doorbell: the broker message that asks a worker to rescore (coalesced);
- marks: marking leads in the caller's transaction, claiming, settling, waking up;
- rescoring: computing and storing scores, and handing crossings to the lifecycle;
- jobs: full rescores in batches after a rule change;
- sweep: what the worker does at start and every minute.
(The rule editor's previews are in scoring/previews.py.)

How a rescore stays correct when workers die or the broker is down:
- `mark_for_rescore` writes a mark in the caller's transaction; the broker message
  after commit is only a doorbell.
- A worker claims marks with `FOR UPDATE SKIP LOCKED` and a lease (`leased_until`) in a
  short transaction, then rescores the chunk in a second transaction that also deletes
  the marks it settled, so the scores, the history, the MQL moves and alerts and the
  marks' removal commit together or not at all.
- Each later mark bumps `generation`; a mark is deleted only if its generation is the
  one claimed, so events that arrive during a rescore are scored by the next one.
"""

from .doorbell import DOORBELL_WINDOW, RESCORE_TASK, _coalesced_countdown, ring_rescore_doorbell
from .jobs import RESCORE_JOB_TASK, _enqueue_job, run_rescore_job, run_rescore_job_batch, start_full_rescore
from .marks import (
    BURST_COOLDOWN,
    BURST_MAX_WAIT,
    BURST_SETTLE,
    Claim,
    claim_marks,
    mark_decaying_leads,
    mark_for_rescore,
    release_claims,
    schedule_wake_up,
    settle_marks,
)
from .rescoring import (
    DRAIN_BUDGET_SECONDS,
    RescoreOutcome,
    compute_score,
    cross_mql_threshold,
    open_new_cycle_if_engaged_again,
    rescore_leads,
    rescore_marked_leads,
    rescore_stored_evidence,
)
from .sweep import sweep

__all__ = [
    "BURST_COOLDOWN",
    "BURST_MAX_WAIT",
    "BURST_SETTLE",
    "DOORBELL_WINDOW",
    "DRAIN_BUDGET_SECONDS",
    "RESCORE_JOB_TASK",
    "RESCORE_TASK",
    "Claim",
    "RescoreOutcome",
    "_coalesced_countdown",
    "_enqueue_job",
    "claim_marks",
    "compute_score",
    "cross_mql_threshold",
    "mark_decaying_leads",
    "mark_for_rescore",
    "open_new_cycle_if_engaged_again",
    "release_claims",
    "rescore_leads",
    "rescore_marked_leads",
    "rescore_stored_evidence",
    "ring_rescore_doorbell",
    "run_rescore_job",
    "run_rescore_job_batch",
    "schedule_wake_up",
    "settle_marks",
    "start_full_rescore",
    "sweep",
]
