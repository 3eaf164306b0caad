from django.contrib.auth import get_user_model
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.functional import SimpleLazyObject

from leads import access

from .models import AlertStatus, Notification, SalesAlert


def _count(queryset):
    counted = queryset.order_by().annotate(one=Value(1)).values("one").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def header_counts(user) -> dict:
    """Unread notifications and overdue open alerts (a rep's own and unassigned ones; every
    one for a manager), in one query."""
    overdue = SalesAlert.objects.filter(status=AlertStatus.OPEN, overdue=True)
    if not access.sees_every_alert(user):
        overdue = overdue.filter(Q(assignee=OuterRef("pk")) | Q(assignee__isnull=True))
    unread = Notification.objects.filter(user=OuterRef("pk"), read_at__isnull=True)
    row = (
        get_user_model()
        .objects.filter(pk=user.pk)
        .annotate(unread=_count(unread), overdue=_count(overdue))
        .values("unread", "overdue")
        .first()
    )
    return row or {"unread": 0, "overdue": 0}


def sales_header(request):
    """The header's unread-notification badge and overdue-alert count.

    Only sales reps and managers get notifications, so other roles cost no query; for
    them both counts come from one query, run only when the page shows them."""
    user = getattr(request, "user", None)
    if not access.gets_sales_notifications(user):
        return {}
    return {"sales_header": SimpleLazyObject(lambda: header_counts(user))}
