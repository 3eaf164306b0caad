"""The scope checks of every app's API views, judged by the access rulebook
(leads.access: the key's scopes ∩ the bound user's role; a session by its role alone).

- Not authenticated → 401 (with `WWW-Authenticate: Bearer`); wrong scope or role → 403.

Usage: `permission_classes = [require_scope(Scope.LEADS_READ)]`, or
`permission_classes = [ScopePermission]` with `required_scopes = {"GET": ..., "POST": ...}`
(or a single `required_scope`) on the view. In `leads` (the bottom app) so the doors of
every app, leads' own included, use the same checks.
"""

from rest_framework import exceptions, permissions

from . import access


def key_has_scope(api_key, scope: str) -> bool:
    return access.key_has_scope(api_key.scopes, scope)


def check_scope(request, scope: str) -> None:
    """Raise NotAuthenticated/PermissionDenied unless `request` may use `scope`.
    Also usable from views that decide the scope at run time."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        raise exceptions.NotAuthenticated()
    principal = access.principal_for_request(request)
    if principal.allows(scope):
        return
    if principal.scopes is not None and not access.key_has_scope(principal.scopes, scope):
        raise exceptions.PermissionDenied(f"This API key lacks the “{scope}” scope.", code="missing_scope")
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
