"""Who gets an alert: round-robin over the active reps, and who is escalated to.

On PostgreSQL the turn is a sequence's nextval(), which never waits on another
transaction; SQLite keeps the turn in a locked cursor row (it runs one writer anyway).
"""

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from leads import access
from leads.access import Role

from ..models import AssignmentCursor
from ..txcache import cached


def active_reps():
    return access.active_with_role(Role.SALES_REP).order_by("pk")


def active_managers():
    managers = list(access.active_with_role(Role.SALES_MANAGER).order_by("pk"))
    # With no sales manager, escalations go to the admins rather than to nobody.
    return managers or list(access.active_with_role(Role.ADMIN).order_by("pk"))


def _locked_cursor() -> AssignmentCursor:
    cursor = AssignmentCursor.objects.select_for_update().filter(pk=1).first()
    if cursor is None:
        try:
            with transaction.atomic():
                AssignmentCursor.objects.create(pk=1)
        except IntegrityError:
            pass  # another transaction created it first; lock theirs
        cursor = AssignmentCursor.objects.select_for_update().get(pk=1)
    return cursor


def next_assignee():
    """The next active rep in turn (id order); None when round-robin is off or there is
    no active rep. Deactivated reps are not in the list, so they get none.

    On PostgreSQL the turn is a sequence's nextval(), which never waits on another
    transaction: raising an alert inside a long rescoring transaction holds no lock that
    other workers would queue behind (a rolled-back turn is merely skipped). SQLite runs
    one writer at a time anyway and keeps the turn in a locked cursor row."""
    if not settings.FUNNEL_ROUND_ROBIN:
        return None
    reps = cached("active_reps", lambda: list(active_reps()))
    if not reps:
        return None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval('sales_round_robin_turn')")
            turn = cursor.fetchone()[0]
        return reps[(turn - 1) % len(reps)]
    cursor = _locked_cursor()
    after = cursor.last_assignee_id or 0
    chosen = next((rep for rep in reps if rep.pk > after), reps[0])
    cursor.last_assignee = chosen
    cursor.updated_at = timezone.now()
    cursor.save(update_fields=["last_assignee", "updated_at"])
    return chosen
