"""Deals and the moves a person asks for: the deal rules of the sales stages.

Qualifying (→ SQL) opens the cycle's deal, winning (SQL → customer) closes it won with
its final value, losing (SQL → nurture) closes it lost with the reason; each cycle has
at most one deal. A closed deal is announced (the sales app sends deal.won/deal.lost).
Lock order: the lead (locks.lock_lead), then its deal.
"""

from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date

from funnel.errors import ActionForbidden, InvalidInput

from .. import access
from ..actors import Actor
from ..locks import lock_lead
from ..models import Deal, DealStatus, Lead, StageTransition
from ..stages import Stage, StageMoveRefused
from ..trail import record_deal_changes
from . import announcements
from .moves import move_lead
from .send_back import reason_text, valid_reason

DEAL_FIELDS = ("value", "currency", "expected_close_date", "next_step")


def clean_deal(deal: dict | None) -> dict:
    """Check a deal's fields; errors are named `deal.<field>` as in the API body."""
    if not deal:
        return {}
    if not isinstance(deal, dict):
        raise InvalidInput({"deal": ["Send the deal as an object."]})
    problems: dict[str, list[str]] = {}
    clean: dict = {}
    for key in deal:
        if key not in DEAL_FIELDS:
            problems[f"deal.{key}"] = [f"Unknown field; the deal takes {', '.join(DEAL_FIELDS)}."]
    if deal.get("value") not in (None, ""):
        try:
            value = Decimal(str(deal["value"]))
            if not value.is_finite() or value < 0 or value >= Decimal("1e12"):
                raise InvalidOperation
            clean["value"] = value.quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError):
            problems["deal.value"] = ["Enter an amount of 0 or more."]
    if deal.get("currency") not in (None, ""):
        currency = str(deal["currency"]).strip().upper()
        if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
            problems["deal.currency"] = ["Use a three-letter ISO code such as EUR."]
        clean["currency"] = currency
    if deal.get("expected_close_date") not in (None, ""):
        raw = deal["expected_close_date"]
        parsed = raw if isinstance(raw, date) else None
        if parsed is None and isinstance(raw, str):
            try:
                parsed = parse_date(raw)
            except ValueError:
                parsed = None
        if parsed is None:
            problems["deal.expected_close_date"] = ["Use a date like 2026-12-31."]
        clean["expected_close_date"] = parsed
    if deal.get("next_step") not in (None, ""):
        next_step = str(deal["next_step"]).strip()
        if len(next_step) > 300:
            problems["deal.next_step"] = ["At most 300 characters."]
        clean["next_step"] = next_step
    if problems:
        raise InvalidInput(problems)
    return clean


def transition_lead(
    *,
    lead: Lead,
    to: str,
    actor: Actor,
    reason: str = "",
    reason_code: str = "",
    deal: dict | None = None,
    occurred_at=None,
):
    """A stage move asked for by a person or an API client, with the deal rules of the
    sales stages: qualifying (→ SQL) opens the cycle's deal, winning (SQL → customer)
    closes it won with its final value, losing (SQL → nurture) closes it lost.

    A rep moves only their own (or unowned) leads through the sales stages; an open MQL
    alert is closed by the stage-change listener, as if accepted or rejected.
    `occurred_at`: when the person decided (now; a replay of the log passes the recorded moment)."""
    fields = clean_deal(deal)
    with transaction.atomic():
        locked = lock_lead(lead_id=lead.pk)
        from_stage = locked.stage
        refusal = access.move_refusal(actor, locked, to)
        if refusal is not None:
            raise ActionForbidden(refusal.message, code=refusal.code)
        existing = Deal.objects.filter(lead=locked, cycle=locked.cycle).first()
        if to == Stage.CUSTOMER and from_stage == Stage.SQL and existing is None and "value" not in fields:
            raise StageMoveRefused("Winning a lead needs its deal's value.", from_stage=from_stage, to_stage=to)
        # Whoever takes an MQL into SAL/SQL becomes its owner, as accepting from the queue does.
        owner = access.owner_after_move(actor, locked, to)
        owner = owner if owner is not None and owner.pk != locked.owner_id else None
        now = occurred_at or timezone.now()
        transition = move_lead(
            lead=locked, to=to, actor=actor, reason=reason, reason_code=reason_code, owner=owner, occurred_at=now
        )
        deal_owner = locked.owner or actor.user
        if to == Stage.SQL:
            opened, _ = Deal.objects.update_or_create(
                lead=locked, cycle=locked.cycle, defaults={"owner": deal_owner, "status": DealStatus.OPEN, **fields}
            )
        elif to == Stage.CUSTOMER:
            won, _ = Deal.objects.update_or_create(
                lead=locked,
                cycle=locked.cycle,
                defaults={"status": DealStatus.WON, "closed_at": now, "owner": deal_owner, **fields},
            )
            announcements.deal_closed(lead=locked, deal=won, transition=transition)
        if fields and to in (Stage.SQL, Stage.CUSTOMER):
            record_deal_changes(lead=locked, actor=actor, deal_before=existing, fields=fields, reason=reason)
        if to == Stage.NURTURE and from_stage == Stage.SQL and existing is not None:
            Deal.objects.filter(pk=existing.pk, status=DealStatus.OPEN).update(
                status=DealStatus.LOST, lost_reason=reason[:300], closed_at=now
            )
            existing.refresh_from_db()
            announcements.deal_closed(lead=locked, deal=existing, transition=transition)
    lead.refresh_from_db()
    return transition


def qualify_lead(*, lead: Lead, user, deal: dict, note: str = "") -> StageTransition:
    """SAL → SQL, opening the cycle's deal."""
    return transition_lead(lead=lead, to=Stage.SQL, actor=Actor.for_user(user), reason=note, deal=deal)


def win_lead(*, lead: Lead, user, value=None, note: str = "") -> StageTransition:
    """SQL → customer; the deal closes won with its final value."""
    deal = {"value": value} if value not in (None, "") else None
    return transition_lead(lead=lead, to=Stage.CUSTOMER, actor=Actor.for_user(user), reason=note, deal=deal)


def lose_lead(*, lead: Lead, user, reason_code: str, note: str = "") -> StageTransition:
    """SQL → nurture (a recycle); the deal closes lost with the reason."""
    code = valid_reason(reason_code)
    reason = reason_text("Lost", code, note)
    return transition_lead(lead=lead, to=Stage.NURTURE, actor=Actor.for_user(user), reason=reason, reason_code=code)


def send_back_to_nurture(*, lead: Lead, user, reason_code: str, note: str = "") -> StageTransition:
    """SAL → nurture: the rep disqualifies a lead they had accepted."""
    code = valid_reason(reason_code)
    reason = reason_text("Rejected", code, note)
    return transition_lead(lead=lead, to=Stage.NURTURE, actor=Actor.for_user(user), reason=reason, reason_code=code)


def _mark_proposal(*, lead: Lead, user, field: str, label: str) -> Deal:
    with transaction.atomic():
        locked = lock_lead(lead_id=lead.pk)
        if not access.can_work_lead(user, locked):
            raise ActionForbidden("This lead belongs to another rep.")
        deal = Deal.objects.filter(lead=locked, cycle=locked.cycle, status=DealStatus.OPEN).first()
        if deal is None:
            raise InvalidInput({"deal": [f"Qualify the lead with a deal before marking the proposal {label}."]})
        if getattr(deal, field) is None:
            setattr(deal, field, timezone.now())
            deal.save(update_fields=[field])
            record_deal_changes(
                lead=locked, actor=Actor.for_user(user), deal_before=None, fields={field: getattr(deal, field)}
            )
    return deal


def mark_proposal_sent(*, lead: Lead, user) -> Deal:
    return _mark_proposal(lead=lead, user=user, field="proposal_sent_at", label="sent")


def mark_proposal_accepted(*, lead: Lead, user) -> Deal:
    deal = _mark_proposal(lead=lead, user=user, field="proposal_accepted_at", label="accepted")
    if deal.proposal_sent_at is None:
        Deal.objects.filter(pk=deal.pk).update(proposal_sent_at=deal.proposal_accepted_at)
        deal.proposal_sent_at = deal.proposal_accepted_at
    return deal
