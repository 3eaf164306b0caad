"""Who may work a lead through the sales stages (moved here from sales/services.py with
the deal rules that use them, unchanged; the access rulebook is their future home)."""

from funnel.roles import Role, is_sales_manager, role_of


def person(user):
    """The acting person, or None for an API key bound to nobody (judged by scopes alone)."""
    return user if getattr(user, "pk", None) else None


def may_work(*, user, holder_id: int | None) -> bool:
    """Reps work what is theirs or nobody's; managers and admins everything; an API key
    bound to nobody is judged by its scopes alone (checked before this)."""
    if person(user) is None:
        return getattr(user, "is_authenticated", False)
    if is_sales_manager(user):
        return True
    return role_of(user) == Role.SALES_REP and holder_id in (None, user.pk)


def may_work_lead(*, user, lead) -> bool:
    """Reps work their own leads (and unowned ones); managers and admins every lead."""
    return may_work(user=user, holder_id=lead.owner_id)
