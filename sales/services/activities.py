"""Activities on a lead: calls, meetings, e-mails and notes; last touch and next step come from these."""

from datetime import date, datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from funnel.roles import can_act_on_queue
from leads.lifecycle.permissions import may_work_lead
from leads.models import Activity, ActivityKind, Lead

from ..errors import InvalidSalesInput, SalesActionForbidden


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
