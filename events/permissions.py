"""Scope checks for every app's API views: they live in leads/permissions.py (the bottom
app, judged by the access rulebook, so the doors of `leads` can use them too); re-exported
here for the events app's views."""

from funnel.scopes import api_key_of
from leads.access import SCOPE_ROLES, role_allows
from leads.permissions import ScopePermission, check_scope, key_has_scope, require_scope

__all__ = [
    "SCOPE_ROLES",
    "ScopePermission",
    "api_key_of",
    "check_scope",
    "key_has_scope",
    "require_scope",
    "role_allows",
]
