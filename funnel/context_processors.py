from leads import access


def navigation(request):
    """The header's role badge and which links the user sees."""
    user = getattr(request, "user", None)
    role = access.role_of(user)
    if role is None:
        return {"funnel_role": None}
    return {
        "funnel_role": role,
        "funnel_role_label": access.Role(role).label,
        "funnel_is_sales": access.can_use_queue(user),
        "funnel_is_marketing": access.can_view_board(user),
        "funnel_is_admin": access.can_manage_keys(user),
    }
