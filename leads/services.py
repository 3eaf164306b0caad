"""Writes to leads besides the lifecycle: profile edits, merges, erasure, bulk actions.

Creating and moving leads live in leads.lifecycle (re-exported here for the callers
that import them from this module); `move_lead` is the only writer of `Lead.stage`.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from funnel.errors import ActionForbidden, InvalidInput

from .actors import Actor, person_name
from .lifecycle import announcements
from .lifecycle.creation import IDENTITY_AND_PROFILE_FIELDS, create_lead, create_leads
from .lifecycle.deals import transition_lead
from .lifecycle.moves import move_lead
from .locks import lock_lead, lock_leads
from .models import Activity, ChangeKind, Deal, Lead, LeadMerge, StageTransition
from .pipeline_counts import (
    bucket_change,
    compact_pipeline_counts,
    pipeline_count_key,
    rebuild_pipeline_counts,
    record_leads_created,
    record_leads_removed,
    record_pipeline_count_changes,
)
from .stages import Stage, StageMoveRefused
from .trail import forget_values, record_field_changes, record_lead_change

__all__ = [
    "IDENTITY_AND_PROFILE_FIELDS",
    "compact_pipeline_counts",
    "create_lead",
    "create_leads",
    "lock_lead",
    "lock_leads",
    "move_lead",
    "on_stage_change",
    "rebuild_pipeline_counts",
    "record_leads_created",
    "record_leads_removed",
]

on_stage_change = announcements.on_stage_change


def update_lead(*, lead: Lead, actor: Actor, **fields) -> Lead:
    """Edit profile fields. The stage is not a field here: it moves through move_lead."""
    if "stage" in fields:
        raise TypeError("Use move_lead to change a lead's stage.")
    unknown = set(fields) - set(IDENTITY_AND_PROFILE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown lead fields: {sorted(unknown)}")
    with transaction.atomic():
        locked = lock_lead(lead_id=lead.pk)
        counted_before = pipeline_count_key(locked)
        before = {name: getattr(locked, name) for name in fields}
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.save(update_fields=[*fields.keys(), "updated_at"])
        record_field_changes(lead=locked, actor=actor, before=before, after=fields)
        if locked.merged_into_id is None and locked.erased_at is None:
            record_pipeline_count_changes(bucket_change(before=counted_before, after=pipeline_count_key(locked)))
    for name, value in fields.items():
        setattr(lead, name, value)
    return locked


# --- Identity: merge and erasure ------------------------------------------------


def merge_leads(*, survivor: Lead, merged: Lead, actor: Actor, reason: str = "") -> Lead:
    """Fold `merged` into `survivor` in one transaction: its events and activities move
    to the survivor, the merge is recorded on the survivor's history, and `merged` stays
    as a tombstone (`merged_into`) that keeps its identities, so late events for them
    land on the survivor. Tombstones that pointed at `merged` now point at the survivor
    (chains are always one hop long)."""
    if survivor.pk == merged.pk:
        raise ValueError("A lead cannot be merged into itself.")
    with transaction.atomic():
        locked = lock_leads(lead_ids=[survivor.pk, merged.pk])
        keep, gone = locked[survivor.pk], locked[merged.pk]
        if gone.merged_into_id is not None:
            raise ValueError(f"Lead {gone.pk} was already merged into lead {gone.merged_into_id}.")
        if keep.merged_into_id is not None:
            raise ValueError(f"Lead {keep.pk} is a tombstone; merge into lead {keep.merged_into_id} instead.")
        if gone.erased_at is None:
            record_leads_removed(leads=[gone])
        # The events app moves the person's events (it answers which it moved).
        moved = announcements.leads_merged(survivor_id=keep.pk, merged_id=gone.pk)
        gone.activities.update(lead_id=keep.pk)
        Lead.objects.filter(merged_into_id=gone.pk).update(merged_into_id=keep.pk)
        gone.merged_into = keep
        gone.save(update_fields=["merged_into", "updated_at"])
        if gone.last_engaged_at and (keep.last_engaged_at is None or gone.last_engaged_at > keep.last_engaged_at):
            keep.last_engaged_at = gone.last_engaged_at
            keep.save(update_fields=["last_engaged_at", "updated_at"])
        LeadMerge.objects.create(
            survivor=keep,
            merged=gone,
            reason=reason,
            events_moved=len(moved),
            moved_event_ids=moved,
            **actor.transition_fields(),
        )
        record_lead_change(
            lead=keep, actor=actor, kind=ChangeKind.MERGE, field="merged_lead", new=f"#{gone.pk}", reason=reason
        )
        record_lead_change(
            lead=gone, actor=actor, kind=ChangeKind.MERGE, field="merged_into", new=f"#{keep.pk}", reason=reason
        )
        if moved:
            # The survivor's score now has more to go on: the scoring app marks it.
            announcements.evidence_changed(lead_ids=[keep.pk])
    return keep


ERASED_TEXT_FIELDS = ["first_name", "last_name", "company", "job_title", "phone", "country"]


def erase_lead(*, lead: Lead, actor: Actor) -> Lead:
    """Erase a person (and any tombstones merged into them): their events, activities
    and personal fields go; the lead row stays with its stage history and deals, so
    the funnel's anonymous counts do not change retroactively."""
    with transaction.atomic():
        ids = [lead.pk, *Lead.objects.filter(merged_into_id=lead.pk).values_list("pk", flat=True)]
        locked = lock_leads(lead_ids=ids)
        live = [row for row in locked.values() if row.merged_into_id is None and row.erased_at is None]
        record_leads_removed(leads=live)
        # Each app erases its copies of the person (the events app their events).
        announcements.lead_erased(lead_ids=ids)
        Activity.objects.filter(lead_id__in=ids).delete()
        now = timezone.now()
        Lead.objects.filter(pk__in=ids).update(
            email=None,
            anonymous_id=None,
            external_id=None,
            attributes={},
            erased_at=now,
            updated_at=now,
            **dict.fromkeys(ERASED_TEXT_FIELDS, ""),
        )
        Deal.objects.filter(lead_id__in=ids).update(next_step="", lost_reason="")
        StageTransition.objects.filter(lead_id__in=ids).update(reason="")
        forget_values(lead_ids=ids)
        record_lead_change(lead=lead, actor=actor, kind=ChangeKind.ERASURE)
    lead.refresh_from_db()
    return lead


# --- Moves and bulk actions asked for on the pages ---------------------------------


class MoveNotAllowed(Exception):
    """A move the rules allow but this person may not make (who may work the lead)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def move_lead_for_person(*, lead: Lead, to: str, actor: Actor, reason: str = "", expected_from: str | None = None):
    """A move asked for on a page. It goes through the lifecycle's `transition_lead`,
    which keeps the deal rules (qualifying opens the cycle's deal, winning closes it won,
    losing closes it lost) and checks who may work the lead; an open MQL alert closes
    because the sales app hears of the move. Raises StageMoveRefused, or MoveNotAllowed."""
    if expected_from is not None and lead.stage != expected_from:
        raise StageMoveRefused(
            f"The lead is at {lead.stage_label} now, not {Stage(expected_from).label}.",
            from_stage=lead.stage,
            to_stage=to,
        )
    try:
        return transition_lead(lead=lead, to=to, actor=actor, reason=reason)
    except (ActionForbidden, InvalidInput) as refused:
        raise MoveNotAllowed(refused.message) from refused


@dataclass(frozen=True)
class LeadOutcome:
    lead_id: int
    name: str
    ok: bool
    message: str


def bulk_move_leads(*, leads: Iterable[Lead], to: str, actor: Actor, reason: str = "") -> list[LeadOutcome]:
    """Each lead moves in its own transaction: a refused move is reported and the
    others still happen."""
    outcomes = []
    for lead in leads:
        try:
            move_lead_for_person(lead=lead, to=to, actor=actor, reason=reason)
            outcomes.append(LeadOutcome(lead.pk, lead.display_name, True, f"Moved to {Stage(to).label}."))
        except (StageMoveRefused, MoveNotAllowed) as refused:
            outcomes.append(LeadOutcome(lead.pk, lead.display_name, False, refused.message))
    return outcomes


def bulk_assign_owner(*, leads: Iterable[Lead], owner, actor: Actor) -> list[LeadOutcome]:
    outcomes = []
    for lead in leads:
        if lead.owner_id == (owner.pk if owner else None):
            outcomes.append(LeadOutcome(lead.pk, lead.display_name, False, "Already has this owner."))
            continue
        update_lead(lead=lead, actor=actor, owner=owner)
        who = person_name(owner) if owner else "nobody"
        outcomes.append(LeadOutcome(lead.pk, lead.display_name, True, f"Assigned to {who}."))
    return outcomes
