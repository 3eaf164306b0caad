from .roles import Role, role_of


def navigation(request):
    """The header's role badge and which links the user sees."""
    user = getattr(request, "user", None)
    role = role_of(user)
    if role is None:
        return {"funnel_role": None}
    return {
        "funnel_role": role,
        "funnel_role_label": Role(role).label,
        "funnel_is_sales": role in (Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN),
        "funnel_is_marketing": role in (Role.MARKETER, Role.ADMIN, Role.SALES_MANAGER),
        "funnel_is_admin": role == Role.ADMIN,
    }
