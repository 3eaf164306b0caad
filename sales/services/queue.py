"""The queue's actions on an alert: accept, reject, reassign.

Lock order, the same in every writer so none can deadlock another: the lead
(leads.locks.lock_lead) → its alert row. Stage changes go through the lifecycle's
move_lead, the only writer of Lead.stage.
"""

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from leads import access
from leads.actors import Actor, person_name
from leads.lifecycle import move_lead, reject_reason_label, valid_reason
from leads.lifecycle.permissions import person as _person
from leads.locks import lock_lead
from leads.models import ChangeKind, Lead
from leads.stages import Stage
from leads.trail import record_lead_change

from .. import payloads
from ..errors import AlertAlreadyTaken, InvalidSalesInput, SalesActionForbidden
from ..models import AlertStatus, NotificationKind, SalesAlert, WebhookEventType
from ..notifications import notify
from ..webhooks import emit_webhook_event


def may_act_on_alert(*, user, alert: SalesAlert) -> bool:
    """Reps act on unassigned alerts and their own; managers and admins on every alert."""
    return access.can_work_alert(user, alert)


def _check_alert_access(who, alert: SalesAlert) -> None:
    refusal = access.alert_refusal(who, alert)
    if refusal is not None:
        raise SalesActionForbidden(refusal)


def _locked_alert(alert: SalesAlert) -> SalesAlert:
    lock_lead(lead_id=alert.lead_id)
    return SalesAlert.objects.select_for_update().get(pk=alert.pk)


def accept_alert(*, alert: SalesAlert, user, actor: Actor | None = None, occurred_at=None) -> SalesAlert:
    """MQL → SAL: the rep takes the lead and the alert closes as accepted.

    Of N concurrent accepts exactly one wins: each takes the lead's lock then the
    alert's, so they run one after another and every later one sees the alert already
    accepted and gets AlertAlreadyTaken (409 alert_already_taken, naming the winner).
    `occurred_at`: when the rep decided (now; a replay of the log passes the recorded moment).
    """
    person = _person(user)
    if person is None:
        raise SalesActionForbidden(
            "Accepting an alert makes a person the owner: use a key bound to a sales rep.", code="owner_required"
        )
    actor = actor or Actor.for_user(person)
    with transaction.atomic():
        locked = _locked_alert(alert)
        if locked.status != AlertStatus.OPEN:
            raise AlertAlreadyTaken(locked)
        _check_alert_access(actor, locked)
        now = occurred_at or timezone.now()
        # Closed before the move, so the stage-change listener finds no open alert to close.
        locked.status, locked.acted_by, locked.acted_at = AlertStatus.ACCEPTED, person, now
        locked.save(update_fields=["status", "acted_by", "acted_at"])
        move_lead(
            lead=locked.lead_id,
            to=Stage.SAL,
            actor=actor,
            reason="Accepted from the sales queue",
            reason_code="accepted",
            expected_from=Stage.MQL,
            owner=person,
            occurred_at=now,
        )
        lead = Lead.objects.get(pk=locked.lead_id)
        emit_webhook_event(
            event_type=WebhookEventType.ALERT_ACCEPTED,
            data={"alert": payloads.alert(locked), "lead": payloads.lead(lead)},
        )
    _refresh(alert, locked)
    return locked


def reject_alert(
    *, alert: SalesAlert, user, reason_code: str, note: str = "", actor: Actor | None = None, occurred_at=None
):
    """MQL → nurture with a reason from the configured list (and free text); the alert
    closes as rejected and the reason is on the lead's transition. `occurred_at` as for
    accept_alert."""
    code = valid_reason(reason_code)
    note = (note or "").strip()
    if len(note) > 2000:
        raise InvalidSalesInput({"note": ["At most 2,000 characters."]})
    person = _person(user)
    actor = actor or Actor.for_user(person)
    with transaction.atomic():
        locked = _locked_alert(alert)
        if locked.status != AlertStatus.OPEN:
            raise AlertAlreadyTaken(locked)
        _check_alert_access(actor, locked)
        now = occurred_at or timezone.now()
        locked.status, locked.acted_by, locked.acted_at = AlertStatus.REJECTED, person, now
        locked.reject_reason, locked.reject_note = code, note
        locked.save(update_fields=["status", "acted_by", "acted_at", "reject_reason", "reject_note"])
        reason = f"Rejected: {reject_reason_label(code)}" + (f" — {note}" if note else "")
        move_lead(
            lead=locked.lead_id,
            to=Stage.NURTURE,
            actor=actor,
            reason=reason,
            reason_code=code,
            expected_from=Stage.MQL,
            occurred_at=now,
        )
        lead = Lead.objects.get(pk=locked.lead_id)
        emit_webhook_event(
            event_type=WebhookEventType.ALERT_REJECTED,
            data={"alert": payloads.alert(locked), "lead": payloads.lead(lead)},
        )
    _refresh(alert, locked)
    return locked


def reassign_alert(*, alert: SalesAlert, user, to_user) -> SalesAlert:
    """A manager hands an open alert to another rep (or manager)."""
    if not access.can_reassign(user):
        raise SalesActionForbidden("Only sales managers reassign alerts.")
    if not access.is_valid_owner(to_user):
        raise InvalidSalesInput({"assignee": ["Pick an active sales rep or manager."]})
    with transaction.atomic():
        locked = _locked_alert(alert)
        if locked.status != AlertStatus.OPEN:
            raise AlertAlreadyTaken(locked)
        if locked.assignee_id == to_user.pk:
            return locked
        previous = locked.assignee
        locked.assignee = to_user
        locked.near_due_notified_at = None
        locked.save(update_fields=["assignee", "near_due_notified_at"])
        record_lead_change(
            lead=locked.lead_id,
            actor=Actor.for_user(user),
            kind=ChangeKind.REASSIGNMENT,
            field="assignee",
            old=previous,
            new=to_user,
        )
        lead = Lead.objects.get(pk=locked.lead_id)
        notify(
            user=to_user,
            kind=NotificationKind.REASSIGNED,
            title=f"{person_name(user)} assigned you {lead.display_name}",
            body=f"Score {locked.score}.",
            url=reverse("sales:queue_lead", args=[lead.pk]),
            alert=locked,
        )
    _refresh(alert, locked)
    return locked


def _refresh(original: SalesAlert, locked: SalesAlert) -> None:
    for field in ("status", "acted_by_id", "acted_at", "assignee_id", "reject_reason", "reject_note"):
        setattr(original, field, getattr(locked, field))
