"""API key scopes (a kernel module below every app: the doors of `leads` use it as much
as those of `sales`). Which roles may use each scope, and the checks of every app's API
views, are the access rulebook's (leads/access.py, leads/permissions.py).

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

Usage (leads.permissions): `permission_classes = [require_scope(Scope.LEADS_READ)]`, or
`permission_classes = [ScopePermission]` with `required_scopes = {"GET": ..., "POST": ...}`
(or a single `required_scope`) on the view.
"""

from django.db import models


class Scope(models.TextChoices):
    EVENTS_WRITE = "events:write", "Write events"
    LEADS_READ = "leads:read", "Read leads"
    LEADS_WRITE = "leads:write", "Write leads"
    QUEUE_WRITE = "queue:write", "Act on the sales queue"
    RULES_WRITE = "rules:write", "Edit scoring rules"
    ADMIN = "admin", "Administer"


def api_key_of(request):
    """The API key a request authenticated with (events.auth puts it in `request.auth`),
    or None for a browser session. Judged by shape, so every app's doors can use it
    without importing the events app that stores keys."""
    auth = getattr(request, "auth", None)
    return auth if auth is not None and hasattr(auth, "scopes") and hasattr(auth, "user_id") else None
