"""Writes of the sales app: alerts, the queue's actions, deals, activities, SLAs.

Lock order, the same in every writer here so none can deadlock another:
the lead (leads.services.lock_lead) → its alert row (→ the round-robin cursor row, on
SQLite only; PostgreSQL takes turns from a sequence and locks nothing for them).
Stage changes go through leads.services.move_lead, the only writer of Lead.stage.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.formats import date_format

from funnel.roles import Role, can_act_on_queue, is_sales_manager, role_of
from leads.actors import Actor
from leads.models import Activity, ActivityKind, Deal, DealStatus, Lead, StageTransition
from leads.services import lock_lead, move_lead
from leads.stages import MoveKind, Stage, StageMoveRefused

from . import payloads
from .business_hours import add_business_hours
from .doorbell import Doorbell
from .errors import AlertAlreadyTaken, InvalidSalesInput, SalesActionForbidden
from .models import AlertStatus, AssignmentCursor, NotificationKind, SalesAlert, WebhookEventType
from .notifications import notify
from .txcache import cached
from .webhooks import emit_webhook_event

User = get_user_model()


# --- Who may do what -------------------------------------------------------------


def _person(user):
    """The acting person, or None for an API key bound to nobody (judged by scopes alone)."""
    return user if getattr(user, "pk", None) else None


def _may_work(*, user, holder_id: int | None) -> bool:
    """Reps work what is theirs or nobody's; managers and admins everything; an API key
    bound to nobody is judged by its scopes alone (checked before this)."""
    if _person(user) is None:
        return getattr(user, "is_authenticated", False)
    if is_sales_manager(user):
        return True
    return role_of(user) == Role.SALES_REP and holder_id in (None, user.pk)


def may_act_on_alert(*, user, alert: SalesAlert) -> bool:
    """Reps act on unassigned alerts and their own; managers and admins on every alert."""
    return _may_work(user=user, holder_id=alert.assignee_id)


def may_work_lead(*, user, lead: Lead) -> bool:
    """Reps work their own leads (and unowned ones); managers and admins every lead."""
    return _may_work(user=user, holder_id=lead.owner_id)


def _check_alert_access(user, alert: SalesAlert) -> None:
    if _person(user) is not None and not can_act_on_queue(user):
        raise SalesActionForbidden("Only sales reps and managers act on the queue.")
    if not may_act_on_alert(user=user, alert=alert):
        who = alert.assignee.get_username() if alert.assignee_id else "another rep"
        raise SalesActionForbidden(f"This alert is assigned to {who}; a manager can reassign it.")


# --- Assignment and alerts -------------------------------------------------------------


def active_reps():
    return User.objects.filter(is_active=True, groups__name=Role.SALES_REP).order_by("pk")


def active_managers():
    managers = list(User.objects.filter(is_active=True, groups__name=Role.SALES_MANAGER).order_by("pk"))
    # With no sales manager, escalations go to the admins rather than to nobody.
    return managers or list(User.objects.filter(is_active=True, is_superuser=True).order_by("pk"))


def _locked_cursor() -> AssignmentCursor:
    cursor = AssignmentCursor.objects.select_for_update().filter(pk=1).first()
    if cursor is None:
        try:
            with transaction.atomic():
                AssignmentCursor.objects.create(pk=1)
        except IntegrityError:
            pass  # another transaction created it first; lock theirs
        cursor = AssignmentCursor.objects.select_for_update().get(pk=1)
    return cursor


def next_assignee():
    """The next active rep in turn (id order); None when round-robin is off or there is
    no active rep. Deactivated reps are not in the list, so they get none.

    On PostgreSQL the turn is a sequence's nextval(), which never waits on another
    transaction: raising an alert inside a long rescoring transaction holds no lock that
    other workers would queue behind (a rolled-back turn is merely skipped). SQLite runs
    one writer at a time anyway and keeps the turn in a locked cursor row."""
    if not settings.FUNNEL_ROUND_ROBIN:
        return None
    reps = cached("active_reps", lambda: list(active_reps()))
    if not reps:
        return None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval('sales_round_robin_turn')")
            turn = cursor.fetchone()[0]
        return reps[(turn - 1) % len(reps)]
    cursor = _locked_cursor()
    after = cursor.last_assignee_id or 0
    chosen = next((rep for rep in reps if rep.pk > after), reps[0])
    cursor.last_assignee = chosen
    cursor.updated_at = timezone.now()
    cursor.save(update_fields=["last_assignee", "updated_at"])
    return chosen


def _insert_alert(alert: SalesAlert) -> bool:
    if SalesAlert.objects.filter(lead_id=alert.lead_id, cycle=alert.cycle, crossing=alert.crossing).exists():
        return False
    try:
        with transaction.atomic():
            alert.assignee = next_assignee()
            alert.save(force_insert=True)
    except IntegrityError:
        return False
    return True


def _insert_alert_taking_a_turn(alert: SalesAlert) -> bool:
    """PostgreSQL: insert the alert, take the round-robin turn and skip a duplicate in
    one statement (INSERT … ON CONFLICT DO NOTHING RETURNING), instead of an existence
    check, a savepoint, nextval() and the INSERT: a crossing pays one round trip, not
    five. The turn is nextval() of the sequence, as in next_assignee(); a duplicate (a
    retry, never expected under the lead's lock) skips a turn, like a rolled-back one."""
    reps = cached("active_reps", lambda: list(active_reps())) if settings.FUNNEL_ROUND_ROBIN else []
    quote = connection.ops.quote_name
    fields = [field for field in SalesAlert._meta.concrete_fields if not field.primary_key]
    values, params = [], []
    for field in fields:
        if field.attname == "assignee_id" and reps:
            # (turn - 1) % n picks reps in id order, as next_assignee() does; arrays are 1-based.
            values.append("(%s::bigint[])[(nextval('sales_round_robin_turn') - 1) %% %s + 1]")
            params += [[rep.pk for rep in reps], len(reps)]
        else:
            values.append("%s")
            params.append(field.get_db_prep_save(field.pre_save(alert, add=True), connection))
    sql = (
        f"INSERT INTO {quote(SalesAlert._meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
        f"VALUES ({', '.join(values)}) ON CONFLICT DO NOTHING RETURNING {quote('id')}, {quote('assignee_id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    alert.pk, assignee_id = row
    alert._state.adding = False
    alert.assignee = next((rep for rep in reps if rep.pk == assignee_id), None)
    return True


def raise_sales_alert(*, lead: Lead, cycle: int, crossing: int, score: int, contributions: list) -> SalesAlert | None:
    """Raise the alert for one MQL crossing, exactly once, assign it and start its SLA.

    The unique constraint (lead, cycle, crossing) is the guarantee: a retried task or a
    second worker that gets here for the same crossing inserts nothing and gets None.
    Must run inside the caller's transaction (the one that moved the lead to MQL), which
    holds the lead's lock; the notification and webhooks go out after its commit.
    """
    now = timezone.now()
    alert = SalesAlert(
        lead=lead,
        cycle=cycle,
        crossing=crossing,
        score=score,
        contributions=contributions,
        raised_at=now,
        status=AlertStatus.OPEN,
        due_at=add_business_hours(now, settings.FUNNEL_SLA_HOURS),
    )
    inserted = _insert_alert_taking_a_turn(alert) if connection.vendor == "postgresql" else _insert_alert(alert)
    if not inserted:
        return None
    assignee = alert.assignee
    # The rep's email and the lead.mql deliveries: one broker message after commit, not one each.
    doorbell = Doorbell()
    if assignee is not None:
        notify(
            user=assignee,
            kind=NotificationKind.ASSIGNED,
            title=f"New MQL assigned to you: {lead.display_name}",
            body=f"Score {score}. Respond by {timezone.localtime(alert.due_at):%a %d %b %H:%M}.",
            url=reverse("sales:queue_lead", args=[lead.pk]),
            alert=alert,
            doorbell=doorbell,
        )
    emit_webhook_event(
        event_type=WebhookEventType.LEAD_MQL,
        data={"lead": payloads.lead(lead), "alert": payloads.alert(alert)},
        occurred_at=now,
        doorbell=doorbell,
    )
    doorbell.ring_on_commit()
    return alert


def _locked_alert(alert: SalesAlert) -> SalesAlert:
    lock_lead(lead_id=alert.lead_id)
    return SalesAlert.objects.select_for_update().get(pk=alert.pk)


def accept_alert(*, alert: SalesAlert, user, actor: Actor | None = None) -> SalesAlert:
    """MQL → SAL: the rep takes the lead and the alert closes as accepted.

    Of N concurrent accepts exactly one wins: each takes the lead's lock then the
    alert's, so they run one after another and every later one sees the alert already
    accepted and gets AlertAlreadyTaken (409 alert_already_taken, naming the winner).
    """
    person = _person(user)
    if person is None:
        raise SalesActionForbidden("Accepting an alert makes a person the owner: use a key bound to a sales rep.")
    actor = actor or Actor.for_user(person)
    with transaction.atomic():
        locked = _locked_alert(alert)
        if locked.status != AlertStatus.OPEN:
            raise AlertAlreadyTaken(locked)
        _check_alert_access(person, locked)
        now = timezone.now()
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
        )
        lead = Lead.objects.get(pk=locked.lead_id)
        emit_webhook_event(
            event_type=WebhookEventType.ALERT_ACCEPTED,
            data={"alert": payloads.alert(locked), "lead": payloads.lead(lead)},
        )
    _refresh(alert, locked)
    return locked


def _due_text(due_at) -> str:
    """A due time as the pages write it, with its zone (a mail has no browser zone)."""
    moment = timezone.localtime(due_at)
    return f"{date_format(moment, 'j M Y H:i')} {moment.tzname()}"


def reject_reason_label(code: str) -> str:
    return settings.FUNNEL_REJECT_REASONS.get(code, code)


def _valid_reason(reason_code: str, field: str = "reason") -> str:
    code = (reason_code or "").strip()
    if code not in settings.FUNNEL_REJECT_REASONS:
        known = ", ".join(settings.FUNNEL_REJECT_REASONS)
        raise InvalidSalesInput({field: [f"Pick one of: {known}."]})
    return code


def reject_alert(*, alert: SalesAlert, user, reason_code: str, note: str = "", actor: Actor | None = None):
    """MQL → nurture with a reason from the configured list (and free text); the alert
    closes as rejected and the reason is on the lead's transition."""
    code = _valid_reason(reason_code)
    note = (note or "").strip()
    if len(note) > 2000:
        raise InvalidSalesInput({"note": ["At most 2,000 characters."]})
    person = _person(user)
    actor = actor or Actor.for_user(person)
    with transaction.atomic():
        locked = _locked_alert(alert)
        if locked.status != AlertStatus.OPEN:
            raise AlertAlreadyTaken(locked)
        _check_alert_access(user, locked)
        locked.status, locked.acted_by, locked.acted_at = AlertStatus.REJECTED, person, timezone.now()
        locked.reject_reason, locked.reject_note = code, note
        locked.save(update_fields=["status", "acted_by", "acted_at", "reject_reason", "reject_note"])
        reason = f"Rejected: {reject_reason_label(code)}" + (f" — {note}" if note else "")
        move_lead(
            lead=locked.lead_id, to=Stage.NURTURE, actor=actor, reason=reason, reason_code=code, expected_from=Stage.MQL
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
    if not is_sales_manager(user):
        raise SalesActionForbidden("Only sales managers reassign alerts.")
    if to_user is None or not to_user.is_active or role_of(to_user) not in (Role.SALES_REP, Role.SALES_MANAGER):
        raise InvalidSalesInput({"assignee": ["Pick an active sales rep or manager."]})
    with transaction.atomic():
        locked = _locked_alert(alert)
        if locked.status != AlertStatus.OPEN:
            raise AlertAlreadyTaken(locked)
        if locked.assignee_id == to_user.pk:
            return locked
        locked.assignee = to_user
        locked.near_due_notified_at = None
        locked.save(update_fields=["assignee", "near_due_notified_at"])
        lead = Lead.objects.get(pk=locked.lead_id)
        notify(
            user=to_user,
            kind=NotificationKind.REASSIGNED,
            title=f"{user.get_username()} assigned you {lead.display_name}",
            body=f"Score {locked.score}.",
            url=reverse("sales:queue_lead", args=[lead.pk]),
            alert=locked,
        )
    _refresh(alert, locked)
    return locked


def _refresh(original: SalesAlert, locked: SalesAlert) -> None:
    for field in ("status", "acted_by_id", "acted_at", "assignee_id", "reject_reason", "reject_note"):
        setattr(original, field, getattr(locked, field))


# --- Stage moves with their deal rules ---------------------------------------------------

DEAL_FIELDS = ("value", "currency", "expected_close_date", "next_step")


def clean_deal(deal: dict | None) -> dict:
    """Check a deal's fields; errors are named `deal.<field>` as in the API body."""
    if not deal:
        return {}
    if not isinstance(deal, dict):
        raise InvalidSalesInput({"deal": ["Send the deal as an object."]})
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
        raise InvalidSalesInput(problems)
    return clean


def transition_lead(
    *, lead: Lead, to: str, actor: Actor, reason: str = "", reason_code: str = "", deal: dict | None = None
):
    """A stage move asked for by a person or an API client, with the deal rules of the
    sales stages: qualifying (→ SQL) opens the cycle's deal, winning (SQL → customer)
    closes it won with its final value, losing (SQL → nurture) closes it lost.

    A rep moves only their own (or unowned) leads through the sales stages; an open MQL
    alert is closed by the stage-change listener, as if accepted or rejected."""
    fields = clean_deal(deal)
    with transaction.atomic():
        locked = lock_lead(lead_id=lead.pk)
        from_stage = locked.stage
        sales_move = to in (Stage.SAL, Stage.SQL, Stage.CUSTOMER) or from_stage in (Stage.MQL, Stage.SAL, Stage.SQL)
        if sales_move and _person(actor.user) is not None:
            if not can_act_on_queue(actor.user):
                raise SalesActionForbidden("Leads move through the sales stages by sales reps and managers.")
            if not may_work_lead(user=actor.user, lead=locked):
                raise SalesActionForbidden("This lead belongs to another rep.")
        existing = Deal.objects.filter(lead=locked, cycle=locked.cycle).first()
        if to == Stage.CUSTOMER and from_stage == Stage.SQL and existing is None and "value" not in fields:
            raise StageMoveRefused("Winning a lead needs its deal's value.", from_stage=from_stage, to_stage=to)
        # A rep who takes an unowned lead into the sales stages becomes its owner.
        owner = None
        if to in (Stage.SAL, Stage.SQL) and locked.owner_id is None and role_of(actor.user) == Role.SALES_REP:
            owner = actor.user
        transition = move_lead(lead=locked, to=to, actor=actor, reason=reason, reason_code=reason_code, owner=owner)
        deal_owner = locked.owner or actor.user
        now = timezone.now()
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
            emit_webhook_event(
                event_type=WebhookEventType.DEAL_WON, data={"deal": payloads.deal(won), "lead": payloads.lead(locked)}
            )
        elif to == Stage.NURTURE and from_stage == Stage.SQL and existing is not None:
            Deal.objects.filter(pk=existing.pk, status=DealStatus.OPEN).update(
                status=DealStatus.LOST, lost_reason=reason[:300], closed_at=now
            )
            existing.refresh_from_db()
            emit_webhook_event(
                event_type=WebhookEventType.DEAL_LOST,
                data={"deal": payloads.deal(existing), "lead": payloads.lead(locked)},
            )
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
    code = _valid_reason(reason_code)
    reason = f"Lost: {reject_reason_label(code)}" + (f" — {note.strip()}" if note and note.strip() else "")
    return transition_lead(lead=lead, to=Stage.NURTURE, actor=Actor.for_user(user), reason=reason, reason_code=code)


def send_back_to_nurture(*, lead: Lead, user, reason_code: str, note: str = "") -> StageTransition:
    """SAL → nurture: the rep disqualifies a lead they had accepted."""
    code = _valid_reason(reason_code)
    reason = f"Rejected: {reject_reason_label(code)}" + (f" — {note.strip()}" if note and note.strip() else "")
    return transition_lead(lead=lead, to=Stage.NURTURE, actor=Actor.for_user(user), reason=reason, reason_code=code)


def _mark_proposal(*, lead: Lead, user, field: str, label: str) -> Deal:
    with transaction.atomic():
        locked = lock_lead(lead_id=lead.pk)
        if not may_work_lead(user=user, lead=locked) or not can_act_on_queue(user):
            raise SalesActionForbidden("This lead belongs to another rep.")
        deal = Deal.objects.filter(lead=locked, cycle=locked.cycle, status=DealStatus.OPEN).first()
        if deal is None:
            raise InvalidSalesInput({"deal": [f"Qualify the lead with a deal before marking the proposal {label}."]})
        if getattr(deal, field) is None:
            setattr(deal, field, timezone.now())
            deal.save(update_fields=[field])
    return deal


def mark_proposal_sent(*, lead: Lead, user) -> Deal:
    return _mark_proposal(lead=lead, user=user, field="proposal_sent_at", label="sent")


def mark_proposal_accepted(*, lead: Lead, user) -> Deal:
    deal = _mark_proposal(lead=lead, user=user, field="proposal_accepted_at", label="accepted")
    if deal.proposal_sent_at is None:
        Deal.objects.filter(pk=deal.pk).update(proposal_sent_at=deal.proposal_accepted_at)
        deal.proposal_sent_at = deal.proposal_accepted_at
    return deal


# --- Activities -----------------------------------------------------------------------


def log_activity(
    *,
    lead: Lead,
    user,
    kind: str,
    occurred_at: datetime | str | None = None,
    outcome: str = "",
    note: str = "",
    next_step: str = "",
    next_step_due: date | str | None = None,
) -> Activity:
    """Record a call, meeting, email or note on a lead; last touch and next step come from these."""
    if not can_act_on_queue(user) or not may_work_lead(user=user, lead=lead):
        raise SalesActionForbidden("Only the lead's rep or a sales manager logs activities on it.")
    problems: dict[str, list[str]] = {}
    if kind not in ActivityKind.values:
        problems["kind"] = [f"Pick one of: {', '.join(ActivityKind.values)}."]
    when = occurred_at
    if isinstance(when, str):
        when = parse_datetime(when) if when.strip() else None
        if when is None and occurred_at.strip():
            problems["occurred_at"] = ["Use a date and time like 2026-11-26T14:30."]
    if when is not None and timezone.is_naive(when):
        when = timezone.make_aware(when)
    if when is not None and when > timezone.now() + timedelta(minutes=5):
        problems["occurred_at"] = ["An activity is logged once it happened."]
    due = next_step_due
    if isinstance(due, str):
        try:
            due = parse_date(due) if due.strip() else None
        except ValueError:
            due = None
        if due is None and next_step_due.strip():
            problems["next_step_due"] = ["Use a date like 2026-12-01."]
    if due is not None and not (next_step or "").strip():
        problems["next_step"] = ["Say what the next step is when it has a due date."]
    for name, value, limit in (("outcome", outcome, 300), ("next_step", next_step, 300), ("note", note, 5000)):
        if len(value or "") > limit:
            problems[name] = [f"At most {limit} characters."]
    if problems:
        raise InvalidSalesInput(problems)
    return Activity.objects.create(
        lead=lead,
        user=user,
        kind=kind,
        occurred_at=when or timezone.now(),
        outcome=(outcome or "").strip(),
        note=(note or "").strip(),
        next_step=(next_step or "").strip(),
        next_step_due=due,
    )


# --- SLAs ----------------------------------------------------------------------------------


def sweep_slas(*, now: datetime | None = None, batch: int = 500) -> dict:
    """Warn assignees of alerts nearly due and escalate overdue ones to the managers.

    Each alert is claimed with a conditional UPDATE before anyone is told, so two
    sweeps running at once (or a retried task) notify once."""
    now = now or timezone.now()
    near_window = now + timedelta(minutes=settings.FUNNEL_SLA_NEAR_MINUTES)
    warned = escalated = 0
    near = SalesAlert.objects.filter(
        status=AlertStatus.OPEN,
        assignee__isnull=False,
        near_due_notified_at__isnull=True,
        due_at__gt=now,
        due_at__lte=near_window,
    ).select_related("lead", "assignee")[:batch]
    for alert in near:
        with transaction.atomic():
            if not SalesAlert.objects.filter(pk=alert.pk, near_due_notified_at__isnull=True).update(
                near_due_notified_at=now
            ):
                continue
            minutes = max(1, int((alert.due_at - now).total_seconds() // 60))
            notify(
                user=alert.assignee,
                kind=NotificationKind.SLA_NEAR,
                title=f"Due in {minutes} min: {alert.lead.display_name}",
                body="Accept or reject this MQL before its SLA runs out.",
                url=reverse("sales:queue_lead", args=[alert.lead_id]),
                alert=alert,
            )
            warned += 1
    overdue = SalesAlert.objects.filter(status=AlertStatus.OPEN, overdue=False, due_at__lte=now).select_related(
        "lead", "assignee"
    )[:batch]
    managers = None
    for alert in overdue:
        with transaction.atomic():
            if not SalesAlert.objects.filter(pk=alert.pk, overdue=False).update(overdue=True, escalated_at=now):
                continue
            managers = managers if managers is not None else active_managers()
            who = alert.assignee.get_username() if alert.assignee_id else "nobody"
            recipients = {manager.pk: manager for manager in managers}
            if alert.assignee_id:
                recipients.setdefault(alert.assignee_id, alert.assignee)
            for recipient in recipients.values():
                notify(
                    user=recipient,
                    kind=NotificationKind.ESCALATED,
                    title=f"Overdue MQL escalated: {alert.lead.display_name}",
                    body=f"Assigned to {who}; its SLA ran out at {_due_text(alert.due_at)}.",
                    url=reverse("sales:queue_lead", args=[alert.lead_id]),
                    alert=alert,
                )
            escalated += 1
    return {"warned": warned, "escalated": escalated}


# --- Listening to every stage change -------------------------------------------------------------


def on_lead_stage_change(lead: Lead, transition: StageTransition) -> None:
    """Registered with leads.services.on_stage_change; runs inside the move's transaction
    (which holds the lead's lock, so taking the alert's lock here keeps the lock order)."""
    if transition.kind == MoveKind.CREATED:
        return
    if transition.from_stage == Stage.MQL:
        outcome = {Stage.NURTURE: AlertStatus.REJECTED}.get(transition.to_stage, AlertStatus.ACCEPTED)
        if transition.to_stage not in (Stage.NURTURE, Stage.SAL, Stage.SQL, Stage.CUSTOMER):
            outcome = AlertStatus.CLOSED
        for alert in SalesAlert.objects.select_for_update().filter(lead=lead, status=AlertStatus.OPEN):
            alert.status, alert.acted_by_id, alert.acted_at = outcome, transition.actor_user_id, transition.occurred_at
            alert.reject_reason = transition.reason_code[:50] if outcome == AlertStatus.REJECTED else ""
            alert.reject_note = transition.reason if outcome == AlertStatus.REJECTED else ""
            alert.save(update_fields=["status", "acted_by", "acted_at", "reject_reason", "reject_note"])
            event_type = {
                AlertStatus.ACCEPTED: WebhookEventType.ALERT_ACCEPTED,
                AlertStatus.REJECTED: WebhookEventType.ALERT_REJECTED,
            }.get(outcome)
            if event_type:
                emit_webhook_event(
                    event_type=event_type, data={"alert": payloads.alert(alert), "lead": payloads.lead(lead)}
                )
    emit_webhook_event(
        event_type=WebhookEventType.LEAD_STAGE_CHANGED,
        data={"lead": payloads.lead(lead), "transition": payloads.transition(transition)},
        occurred_at=transition.occurred_at,
    )
