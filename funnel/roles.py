"""The four roles of CONTRACT.md and how a user maps onto one.

Roles are Django groups (created by a data migration); a superuser is an admin.
"""

from django.db import models


class Role(models.TextChoices):
    MARKETER = "marketer", "Marketer"
    SALES_REP = "sales_rep", "Sales rep"
    SALES_MANAGER = "sales_manager", "Sales manager"
    ADMIN = "admin", "Admin"


# Most privileged first: a user in several groups gets the widest role.
ROLE_PRECEDENCE = [Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP, Role.MARKETER]


def role_of(user) -> Role | None:
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    cached = getattr(user, "_funnel_role", False)
    if cached is not False:
        return cached
    names = set(user.groups.values_list("name", flat=True))
    role = next((r for r in ROLE_PRECEDENCE if r.value in names), None)
    user._funnel_role = role
    return role


def has_role(user, *roles: Role) -> bool:
    return role_of(user) in roles


def can_read_leads(user) -> bool:
    return role_of(user) is not None


def can_edit_leads(user) -> bool:
    return has_role(user, Role.MARKETER, Role.ADMIN, Role.SALES_MANAGER)


def can_act_on_queue(user) -> bool:
    return has_role(user, Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN)


def is_sales_manager(user) -> bool:
    return has_role(user, Role.SALES_MANAGER, Role.ADMIN)


def home_url_name(user) -> str:
    """`/` sends each role to the page it works from."""
    if has_role(user, Role.SALES_REP, Role.SALES_MANAGER):
        return "sales:queue"
    return "pipeline"


def can_read_attribution(user) -> bool:
    """Attribution and campaign return are for the roles that steer: marketers, managers, admins."""
    return has_role(user, Role.MARKETER, Role.SALES_MANAGER, Role.ADMIN)


def can_edit_marketing_spend(user) -> bool:
    """Campaign spend and channel rules are marketing's to enter (and an admin's)."""
    return has_role(user, Role.MARKETER, Role.ADMIN)
