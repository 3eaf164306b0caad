"""Writes to leads. `move_lead` is the only writer of `Lead.stage`."""

from collections.abc import Callable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .actors import Actor
from .models import Lead, StageTransition
from .stages import MoveKind, Stage, StageMoveRefused, classify_move

# Called inside the move's transaction with (lead, transition): other apps register
# what must happen with every stage change (summary counts, webhooks on commit), so
# the stage rules stay here and the side effects stay with the app that owns them.
_stage_change_listeners: list[Callable[[Lead, StageTransition], None]] = []


def on_stage_change(listener: Callable[[Lead, StageTransition], None]) -> Callable:
    if listener not in _stage_change_listeners:
        _stage_change_listeners.append(listener)
    return listener


def lock_leads(*, lead_ids) -> dict[int, Lead]:
    """Lock leads FOR UPDATE in id order: every writer locks through here, so two
    writers that need the same leads cannot deadlock by taking them in other orders."""
    ids = sorted(set(lead_ids))
    return {lead.pk: lead for lead in Lead.objects.select_for_update().filter(pk__in=ids).order_by("pk")}


def lock_lead(*, lead_id: int) -> Lead:
    locked = lock_leads(lead_ids=[lead_id])
    if lead_id not in locked:
        raise Lead.DoesNotExist(f"Lead {lead_id} does not exist.")
    return locked[lead_id]


IDENTITY_AND_PROFILE_FIELDS = [
    "email",
    "anonymous_id",
    "external_id",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "phone",
    "country",
    "company_size",
    "source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "attributes",
    "owner",
]


def create_lead(*, actor: Actor, stage: str | None = None, reason: str = "", **fields) -> Lead:
    """Create a lead with its first transition. An identified lead starts at lead
    generation, an anonymous one at demand generation, unless `stage` says otherwise."""
    unknown = set(fields) - set(IDENTITY_AND_PROFILE_FIELDS) - {"created_at", "owner_id"}
    if unknown:
        raise TypeError(f"Unknown lead fields: {sorted(unknown)}")
    if fields.get("email"):
        fields["email"] = fields["email"].strip()
    start = stage or (Stage.LEAD_GEN if fields.get("email") else Stage.DEMAND_GEN)
    if start not in Stage.values:
        raise StageMoveRefused(f"“{start}” is not a stage.", to_stage=start)
    now = fields.get("created_at") or timezone.now()
    with transaction.atomic():
        lead = Lead.objects.create(stage=start, stage_entered_at=now, **fields)
        transition = StageTransition.objects.create(
            lead=lead,
            cycle=lead.cycle,
            from_stage="",
            to_stage=start,
            kind=MoveKind.CREATED,
            reason=reason,
            occurred_at=now,
            **actor.transition_fields(),
        )
        _notify(lead, transition)
    return lead


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
) -> StageTransition:
    """Move a lead to stage `to`, or raise StageMoveRefused.

    The lead's row is locked for the whole move, so two moves of one lead never
    interleave: the second sees the first one's stage and is judged against it.
    `expected_from` refuses the move if the lead is no longer where the caller saw it.
    """
    lead_id = lead if isinstance(lead, int) else lead.pk
    with transaction.atomic():
        locked = lock_lead(lead_id=lead_id)
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
        move = classify_move(from_stage=locked.stage, to_stage=to, reason=reason, new_cycle=new_cycle)
        when = occurred_at or timezone.now()
        update_fields = ["stage", "stage_entered_at", "updated_at"]
        locked.stage = move.to_stage
        locked.stage_entered_at = when
        if move.kind == MoveKind.FALL_BACK:
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
        _notify(locked, transition)
    if isinstance(lead, Lead):
        # Keep the caller's object truthful after the move.
        for field in ("stage", "stage_entered_at", "recycle_count", "mql_armed", "cycle", "mql_crossings", "owner_id"):
            setattr(lead, field, getattr(locked, field))
    return transition


def update_lead(*, lead: Lead, actor: Actor, **fields) -> Lead:
    """Edit profile fields. The stage is not a field here: it moves through move_lead."""
    if "stage" in fields:
        raise TypeError("Use move_lead to change a lead's stage.")
    unknown = set(fields) - set(IDENTITY_AND_PROFILE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown lead fields: {sorted(unknown)}")
    with transaction.atomic():
        locked = lock_lead(lead_id=lead.pk)
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.save(update_fields=[*fields.keys(), "updated_at"])
    for name, value in fields.items():
        setattr(lead, name, value)
    return locked


def _notify(lead: Lead, transition: StageTransition) -> None:
    for listener in _stage_change_listeners:
        listener(lead, transition)
