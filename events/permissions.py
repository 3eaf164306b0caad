"""Scope checks for every app's API views: they live in funnel/scopes.py (below every
app, so the doors of `leads` can use them); re-exported here for the events app's views."""

from funnel.scopes import (
    SCOPE_ROLES,
    ScopePermission,
    api_key_of,
    check_scope,
    key_has_scope,
    require_scope,
    role_allows,
)

__all__ = [
    "SCOPE_ROLES",
    "ScopePermission",
    "api_key_of",
    "check_scope",
    "key_has_scope",
    "require_scope",
    "role_allows",
]
