"""Who may work a lead through the sales stages: the access rulebook (leads.access)
decides; these keep the names the lifecycle's callers know."""

from .. import access


def person(user):
    """The acting person, or None for an API key bound to nobody (judged by scopes alone)."""
    return user if getattr(user, "pk", None) else None


def may_work_lead(*, user, lead) -> bool:
    """Deals, proposals and activities: leads.access.can_work_lead."""
    return access.can_work_lead(user, lead)
