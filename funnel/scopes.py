"""API key scopes and the scope checks of every app's API views (a kernel module below
every app: the doors of `leads` use it as much as those of `sales`).

What a request may do is decided by the API key's scopes and by the person's role:

| scope         | roles that may use it                       | what it allows                         |
|---------------|---------------------------------------------|----------------------------------------|
| events:write  | marketer, sales manager, admin              | POST /events, the Segment endpoints    |
| leads:read    | marketer, sales rep, sales manager, admin   | reading leads, the queue, analytics    |
| leads:write   | marketer, sales rep, sales manager, admin   | creating/editing leads, stage moves (a |
|               |                                             | rep only on their own leads: per object)|
| queue:write   | sales rep, sales manager, admin             | accepting and rejecting alerts         |
| rules:write   | marketer, admin                             | editing scoring rules                  |
| admin         | admin                                       | everything (implies every other scope) |

- An API-key request needs the scope on the key AND, when the key is bound to a user,
  that user's role must allow the scope (CONTRACT.md: the intersection). A key bound to
  no user is judged by its scopes alone.
- A session (browser) request is judged by the user's role alone.
- Not authenticated → 401 (with `WWW-Authenticate: Bearer`); wrong scope or role → 403.

Usage: `permission_classes = [require_scope(Scope.LEADS_READ)]`, or
`permission_classes = [ScopePermission]` with `required_scopes = {"GET": ..., "POST": ...}`
(or a single `required_scope`) on the view.
"""

from django.db import models
from rest_framework import exceptions, permissions

from .roles import Role, role_of


class Scope(models.TextChoices):
    EVENTS_WRITE = "events:write", "Write events"
    LEADS_READ = "leads:read", "Read leads"
    LEADS_WRITE = "leads:write", "Write leads"
    QUEUE_WRITE = "queue:write", "Act on the sales queue"
    RULES_WRITE = "rules:write", "Edit scoring rules"
    ADMIN = "admin", "Administer"


ALL_ROLES = frozenset(Role)
SCOPE_ROLES: dict[str, frozenset] = {
    Scope.EVENTS_WRITE: frozenset({Role.MARKETER, Role.SALES_MANAGER, Role.ADMIN}),
    Scope.LEADS_READ: ALL_ROLES,
    Scope.LEADS_WRITE: ALL_ROLES,
    Scope.QUEUE_WRITE: frozenset({Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN}),
    Scope.RULES_WRITE: frozenset({Role.MARKETER, Role.ADMIN}),
    Scope.ADMIN: frozenset({Role.ADMIN}),
}


def role_allows(role, scope: str) -> bool:
    return role is not None and role in SCOPE_ROLES.get(scope, frozenset())


def api_key_of(request):
    """The API key a request authenticated with (events.auth puts it in `request.auth`),
    or None for a browser session. Judged by shape, so every app's doors can use it
    without importing the events app that stores keys."""
    auth = getattr(request, "auth", None)
    return auth if auth is not None and hasattr(auth, "scopes") and hasattr(auth, "user_id") else None


def key_has_scope(api_key, scope: str) -> bool:
    scopes = api_key.scopes or []
    return scope in scopes or Scope.ADMIN in scopes


def check_scope(request, scope: str) -> None:
    """Raise NotAuthenticated/PermissionDenied unless `request` may use `scope`.
    Also usable from views that decide the scope at run time."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        raise exceptions.NotAuthenticated()
    api_key = api_key_of(request)
    if api_key is not None:
        if not key_has_scope(api_key, scope):
            raise exceptions.PermissionDenied(f"This API key lacks the “{scope}” scope.", code="missing_scope")
        if api_key.user_id is None:
            return
    if not role_allows(role_of(user), scope):
        raise exceptions.PermissionDenied(f"Your role does not allow “{scope}”.", code="role_not_allowed")


class ScopePermission(permissions.BasePermission):
    """Reads the scope from the class (`required_scope`), or from the view
    (`required_scopes` per HTTP method, or `required_scope`)."""

    required_scope: str | None = None

    def scope_for(self, request, view) -> str | None:
        per_method = getattr(view, "required_scopes", None)
        if per_method:
            method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
            return per_method.get(method)
        return self.required_scope or getattr(view, "required_scope", None)

    def has_permission(self, request, view) -> bool:
        scope = self.scope_for(request, view)
        if scope is None:
            # A method the view did not declare a scope for: refuse rather than allow.
            if not request.user or not request.user.is_authenticated:
                raise exceptions.NotAuthenticated()
            if getattr(view, request.method.lower(), None) is None:
                return True  # the view has no such method: DRF answers 405 with `Allow`
            raise exceptions.PermissionDenied("This method is not open to API keys or roles.", code="forbidden")
        check_scope(request, scope)
        return True


def require_scope(scope: str) -> type[ScopePermission]:
    return type(f"Require_{scope.replace(':', '_')}", (ScopePermission,), {"required_scope": scope})
