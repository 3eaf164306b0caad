"""Activities on a lead: calls, meetings, e-mails and notes; last touch and next step come from these."""

from datetime import date, datetime, timedelta

from django.utils import timezone

from leads import access
from leads.models import Activity, ActivityKind, Lead

from ..errors import InvalidSalesInput, SalesActionForbidden


def log_activity(
    *,
    lead: Lead,
    user,
    kind: str,
    occurred_at: datetime | None = None,
    outcome: str = "",
    note: str = "",
    next_step: str = "",
    next_step_due: date | None = None,
) -> Activity:
    """Record a call, meeting, email or note on a lead; last touch and next step come from these.
    Takes typed values (the page's ActivityForm parses the POST); refuses by field."""
    if lead.erased_at is not None or lead.merged_into_id is not None:
        raise InvalidSalesInput({"lead": ["This lead was erased or merged; it takes no new activity."]})
    if not access.can_work_lead(user, lead):
        raise SalesActionForbidden("Only the lead's rep or a sales manager logs activities on it.")
    problems: dict[str, list[str]] = {}
    if kind not in ActivityKind.values:
        problems["kind"] = [f"Pick one of: {', '.join(ActivityKind.values)}."]
    if occurred_at is not None and timezone.is_naive(occurred_at):
        occurred_at = timezone.make_aware(occurred_at)
    if occurred_at is not None and occurred_at > timezone.now() + timedelta(minutes=5):
        problems["occurred_at"] = ["An activity is logged once it happened."]
    if next_step_due is not None and not (next_step or "").strip():
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
        occurred_at=occurred_at or timezone.now(),
        outcome=(outcome or "").strip(),
        note=(note or "").strip(),
        next_step=(next_step or "").strip(),
        next_step_due=next_step_due,
    )
