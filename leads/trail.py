"""The trail of every change of a lead that is not a stage move: field edits, owner
changes, alert reassignments, deal edits, merges and erasures (leads.models.LeadChange).

The service that makes a change calls `record_lead_change` (or `record_field_changes`)
in its own transaction, so the row commits or rolls back with the change itself. Values
are kept as text, as a person reads them (a user by username, a date in ISO form)."""

import json
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from .actors import Actor, person_name
from .models import ChangeKind, LeadChange

MAX_VALUE = 2000


def display_value(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "get_username"):
        return person_name(value)  # people are named one way on every page, the trail too
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date | Decimal):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)[:MAX_VALUE]
    return str(value)[:MAX_VALUE]


def record_lead_change(
    *, lead, actor: Actor, kind: str, field: str = "", old=None, new=None, reason: str = "", occurred_at=None
) -> LeadChange:
    return LeadChange.objects.create(
        lead_id=lead if isinstance(lead, int) else lead.pk,
        kind=kind,
        field=field,
        old_value=display_value(old),
        new_value=display_value(new),
        reason=reason,
        occurred_at=occurred_at or timezone.now(),
        **actor.change_fields(),
    )


def record_field_changes(*, lead, actor: Actor, before: dict, after: dict, reason: str = "") -> list[LeadChange]:
    """One row per field whose value changed (an owner change is its own kind), in one INSERT."""
    now = timezone.now()
    rows = [
        LeadChange(
            lead_id=lead.pk,
            kind=ChangeKind.OWNER_CHANGE if name == "owner" else ChangeKind.FIELD_EDIT,
            field=name,
            old_value=display_value(before[name]),
            new_value=display_value(after[name]),
            reason=reason,
            occurred_at=now,
            **actor.change_fields(),
        )
        for name in after
        if before.get(name) != after[name]
    ]
    return LeadChange.objects.bulk_create(rows)


def forget_values(*, lead_ids) -> None:
    """Erasure: the trail keeps who changed what and when, not the values any more."""
    LeadChange.objects.filter(lead_id__in=lead_ids).update(old_value="", new_value="", reason="")


def record_deal_changes(*, lead, actor: Actor, deal_before, fields: dict, reason: str = "") -> list[LeadChange]:
    """A deal's fields as set by a move (qualify, win) or an action (proposal sent), against
    what the cycle's deal held before (None: it is new)."""
    before = {name: getattr(deal_before, name, None) if deal_before is not None else None for name in fields}
    now = timezone.now()
    rows = [
        LeadChange(
            lead_id=lead.pk,
            kind=ChangeKind.DEAL_EDIT,
            field=f"deal.{name}",
            old_value=display_value(before[name]),
            new_value=display_value(value),
            reason=reason,
            occurred_at=now,
            **actor.change_fields(),
        )
        for name, value in fields.items()
        if before[name] != value
    ]
    return LeadChange.objects.bulk_create(rows)


def describe(change: LeadChange) -> str:
    """What a change says on the lead's timeline, for a person."""
    old, new = change.old_value or "nobody", change.new_value or "nobody"
    if change.kind == ChangeKind.OWNER_CHANGE:
        return f"Owner: {old} → {new}"
    if change.kind == ChangeKind.REASSIGNMENT:
        return f"Alert reassigned: {old} → {new}"
    if change.kind == ChangeKind.MERGE:
        if change.field == "merged_into":
            return f"Merged into lead {change.new_value}"
        return f"Lead {change.new_value} merged into this one"
    if change.kind == ChangeKind.ERASURE:
        return "Personal data erased"
    if change.kind == ChangeKind.MQL_REARMED:
        # “Mql armed: no → yes” was the field's name; the reason says why (the recycle threshold).
        return "May become MQL again"
    label = change.field.replace("deal.", "deal ").replace("_", " ")
    if not change.old_value and not change.new_value:
        return f"{label.capitalize()} changed"
    return f"{label.capitalize()}: {change.old_value or '(blank)'} → {change.new_value or '(blank)'}"
