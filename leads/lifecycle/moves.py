"""Moving a lead between stages: `move_lead` is the only writer of `Lead.stage`.

stages.py decides which moves are allowed; this module applies them under the lead's
lock, writes the transition and the board's count change, keeps the cycle's counters
(recycles, crossings, arming) and announces the move to whoever subscribed.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from ..actors import Actor
from ..locks import lock_lead
from ..models import Lead, StageTransition
from ..pipeline_counts import bucket_change, pipeline_count_key, record_pipeline_count_changes
from ..stages import MoveKind, Stage, StageMoveRefused, classify_move
from . import announcements


def move_lead(
    *,
    lead: Lead | int,
    to: str,
    actor: Actor,
    reason: str = "",
    reason_code: str = "",
    new_cycle: bool = False,
    expected_from: str | None = None,
    occurred_at: datetime | None = None,
    owner=None,
    already_locked: bool = False,
) -> StageTransition:
    """Move a lead to stage `to`, or raise StageMoveRefused.

    The lead's row is locked for the whole move, so two moves of one lead never
    interleave: the second sees the first one's stage and is judged against it.
    `expected_from` refuses the move if the lead is no longer where the caller saw it.
    `already_locked`: `lead` is a Lead the caller read with `lock_lead` in this
    transaction, so it is current and is used (and updated) as it is, without a second
    read of the row.
    """
    if already_locked and not isinstance(lead, Lead):
        raise TypeError("already_locked needs the locked Lead, not its id")
    lead_id = lead if isinstance(lead, int) else lead.pk
    # No savepoint inside a caller's transaction (two round trips on every move, and a
    # crossing moves inside the scorer's transaction): a refusal is decided before any
    # write and raised after the block, so it leaves the caller's transaction usable.
    with transaction.atomic(savepoint=False):
        locked = lead if already_locked else lock_lead(lead_id=lead_id)
        try:
            move = _allowed_move(locked, to=to, reason=reason, new_cycle=new_cycle, expected_from=expected_from)
        except StageMoveRefused as refusal:
            refused = refusal
        else:
            refused = None
            transition = _apply_move(
                locked, move, actor=actor, reason=reason, reason_code=reason_code, when=occurred_at, owner=owner
            )
    if refused is not None:
        raise refused
    if isinstance(lead, Lead) and not already_locked:
        # Keep the caller's object truthful after the move.
        for field in ("stage", "stage_entered_at", "recycle_count", "mql_armed", "cycle", "mql_crossings", "owner_id"):
            setattr(lead, field, getattr(locked, field))
    return transition


def _allowed_move(locked: Lead, *, to: str, reason: str, new_cycle: bool, expected_from: str | None):
    if locked.merged_into_id:
        raise StageMoveRefused("This lead was merged into another lead.", from_stage=locked.stage, to_stage=to)
    if locked.erased_at:
        raise StageMoveRefused("This lead was erased.", from_stage=locked.stage, to_stage=to)
    if expected_from is not None and locked.stage != expected_from:
        raise StageMoveRefused(
            f"The lead is at {locked.stage_label} now, not {Stage(expected_from).label}.",
            from_stage=locked.stage,
            to_stage=to,
        )
    return classify_move(from_stage=locked.stage, to_stage=to, reason=reason, new_cycle=new_cycle)


def _apply_move(locked: Lead, move, *, actor: Actor, reason: str, reason_code: str, when, owner) -> StageTransition:
    counted_before = pipeline_count_key(locked)
    when = when or timezone.now()
    update_fields = ["stage", "stage_entered_at", "updated_at"]
    locked.stage = move.to_stage
    locked.stage_entered_at = when
    if move.kind == MoveKind.FALL_BACK:
        # A recycle: re-armed for MQL only once the score drops below the recycle threshold.
        locked.recycle_count += 1
        locked.mql_armed = False
        update_fields += ["recycle_count", "mql_armed"]
    if move.kind == MoveKind.NEW_CYCLE:
        locked.cycle += 1
        locked.mql_crossings = 0
        locked.mql_armed = True
        update_fields += ["cycle", "mql_crossings", "mql_armed"]
    if owner is not None:
        locked.owner = owner
        update_fields.append("owner")
    locked.save(update_fields=update_fields)
    transition = StageTransition.objects.create(
        lead=locked,
        cycle=locked.cycle,
        from_stage=move.from_stage,
        to_stage=move.to_stage,
        kind=move.kind,
        reason=reason,
        reason_code=reason_code,
        occurred_at=when,
        **actor.transition_fields(),
    )
    record_pipeline_count_changes(bucket_change(before=counted_before, after=pipeline_count_key(locked)))
    announcements.stage_changed(locked, transition)
    return transition


def start_new_cycle(*, lead_id: int, occurred_at: datetime, quiet_days: int, actor: Actor) -> StageTransition:
    """CONTRACT "Cycles": a customer engaged again after a quiet period opens a new cycle
    at lead generation, at that engagement; its behaviour score starts afresh."""
    return move_lead(
        lead=lead_id,
        to=Stage.LEAD_GEN,
        new_cycle=True,
        actor=actor,
        reason=f"Engaged again after {quiet_days} quiet days as a customer",
        reason_code="customer_engaged_again",
        occurred_at=occurred_at,
    )
