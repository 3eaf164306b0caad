"""Reads of the sales app, each in a constant number of queries whatever the page size."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from events.models import ApiKey
from leads import access
from leads.models import LIKELIHOOD_HIGH, Activity, Deal, DealStatus, Lead, StageTransition
from leads.selectors import leads_visible_to
from leads.stages import Stage
from scoring.models import ScoreChange

from .models import AlertStatus, Notification, SalesAlert, WebhookDelivery, WebhookEndpoint

QUEUE_FILTERS = ("all", "mine", "unassigned", "mine_or_unassigned", "overdue", "decayed", "likely")
QUEUE_SORTS = ("score", "likelihood")


@dataclass(frozen=True)
class QueueFilters:
    view: str = "all"
    sort: str = "score"

    @classmethod
    def parse(cls, data, *, default: str = "all") -> "QueueFilters":
        view = (data.get("filter") or data.get("view") or default).strip().lower()
        sort = (data.get("sort") or "score").strip().lower()
        return cls(view=view if view in QUEUE_FILTERS else default, sort=sort if sort in QUEUE_SORTS else "score")


def open_alert_for(lead_id: int) -> SalesAlert | None:
    """A lead's open alert (at most one per crossing; the newest if ever more), with its assignee."""
    return (
        SalesAlert.objects.filter(lead_id=lead_id, status=AlertStatus.OPEN)
        .select_related("assignee")
        .order_by("-raised_at", "-id")
        .first()
    )


def claimable_lead_ids(user) -> QuerySet:
    """Leads whose open alert `user` (a rep) may see and take: unassigned or theirs."""
    return SalesAlert.objects.filter(Q(assignee__isnull=True) | Q(assignee=user), status=AlertStatus.OPEN).values(
        "lead_id"
    )


def _latest_activity(field: str):
    return Subquery(
        Activity.objects.filter(lead_id=OuterRef("lead_id")).order_by("-occurred_at", "-id").values(field)[:1]
    )


def _current_contributions():
    """The lead's explanation as of its last rescore (what its page shows), not the one
    stored on the alert when it was raised: rules change, and scores decay."""
    return Subquery(
        ScoreChange.objects.filter(lead_id=OuterRef("lead_id")).order_by("-at", "-id").values("contributions")[:1]
    )


def sales_queue_for(*, user, filters: QueueFilters | None = None) -> QuerySet[SalesAlert]:
    """Open MQL alerts, highest score first, then oldest: lead, assignee, last activity
    and the lead's current explanation come in the same query."""
    filters = filters or QueueFilters()
    alerts = SalesAlert.objects.filter(status=AlertStatus.OPEN)
    if not access.sees_every_alert(user):
        # A rep reads the alerts they may take: unassigned and their own (leads.access).
        alerts = alerts.filter(Q(assignee__isnull=True) | Q(assignee_id=getattr(user, "pk", None)))
    alerts = (
        alerts.select_related("lead", "assignee")
        .annotate(
            last_activity_at=_latest_activity("occurred_at"),
            last_activity_kind=_latest_activity("kind"),
            current_contributions=_current_contributions(),
        )
        .order_by("-score", "raised_at", "id")
    )
    if filters.view == "mine":
        alerts = alerts.filter(assignee_id=getattr(user, "pk", None))
    elif filters.view == "unassigned":
        alerts = alerts.filter(assignee__isnull=True)
    elif filters.view == "mine_or_unassigned":
        alerts = alerts.filter(Q(assignee_id=getattr(user, "pk", None)) | Q(assignee__isnull=True))
    elif filters.view == "overdue":
        alerts = alerts.filter(Q(overdue=True) | Q(due_at__lte=timezone.now()))
    elif filters.view == "decayed":
        alerts = alerts.filter(decayed_below_recycle=True)
    elif filters.view == "likely":
        alerts = alerts.filter(lead__likelihood__gte=LIKELIHOOD_HIGH)
    if filters.sort == "likelihood":
        alerts = alerts.order_by(F("lead__likelihood").desc(nulls_last=True), "-score", "raised_at", "id")
    return alerts


def page_of(queryset, *, limit: int, offset: int) -> tuple[list, bool]:
    """One page and whether another follows, without a COUNT(*)."""
    rows = list(queryset[offset : offset + limit + 1])
    return rows[:limit], len(rows) > limit


def my_leads_for(*, user, owner_id: int | None = None) -> QuerySet[Lead]:
    """SAL and SQL leads with their open deal, last touch and next step, the ones that
    need attention first: an overdue or near next step, then the longest untouched.
    A rep sees their own; a manager every rep's (or one rep's with `owner_id`)."""
    leads = Lead.objects.filter(stage__in=[Stage.SAL, Stage.SQL], merged_into__isnull=True)
    if access.sees_every_reps_leads(user):
        leads = leads.filter(owner_id=owner_id) if owner_id else leads.filter(owner__isnull=False)
    else:
        leads = leads.filter(owner_id=getattr(user, "pk", None))
    latest = Activity.objects.filter(lead_id=OuterRef("pk")).order_by("-occurred_at", "-id")
    with_step = latest.exclude(next_step="")
    return (
        leads.select_related("owner")
        .annotate(
            last_touch_at=Subquery(latest.values("occurred_at")[:1]),
            last_touch_kind=Subquery(latest.values("kind")[:1]),
            next_step_text=Subquery(with_step.values("next_step")[:1]),
            next_step_due=Subquery(with_step.values("next_step_due")[:1]),
        )
        .prefetch_related(Prefetch("deals", queryset=Deal.objects.filter(status=DealStatus.OPEN), to_attr="open_deals"))
        .order_by(
            F("next_step_due").asc(nulls_last=True),
            F("last_touch_at").asc(nulls_first=True),
            "stage_entered_at",
            "id",
        )
    )


def sales_leads_for(user) -> QuerySet[Lead]:
    """The leads whose sales page `user` may read: those of the lead page
    (leads.access.visible_leads), and for a rep also, to read only, the leads whose alert
    they accepted or rejected themselves, so a rep who rejected a lead still reads why;
    another rep's SAL/SQL lead stays hidden. The page's actions load leads by the lead
    page's rule alone (sales.views._lead)."""
    visible = leads_visible_to(user)
    if access.sees_every_alert(user):
        return visible
    acted = SalesAlert.objects.filter(acted_by=user).values("lead_id")
    someone_elses = Q(stage__in=[Stage.SAL, Stage.SQL]) & ~Q(owner=user)
    return access.live_leads().filter(Q(pk__in=visible.values("pk")) | (Q(pk__in=acted) & ~someone_elses))


def sales_lead_detail(*, lead_id: int, user) -> Lead:
    """A lead with what its sales page shows: owner, deals, latest activities and
    stage history (reasons included), and its open alert if any; Lead.DoesNotExist
    when it is not one of sales_leads_for(user)."""
    return (
        sales_leads_for(user)
        .select_related("owner")
        .prefetch_related(
            Prefetch("deals", queryset=Deal.objects.order_by("-cycle")),
            Prefetch(
                "activities",
                queryset=Activity.objects.select_related("user").order_by("-occurred_at", "-id")[:50],
                to_attr="recent_activities",
            ),
            Prefetch("transitions", queryset=_ordered_transitions(), to_attr="history"),
            Prefetch(
                "alerts",
                queryset=SalesAlert.objects.select_related("assignee", "acted_by").order_by("-raised_at"),
                to_attr="all_alerts",
            ),
        )
        .get(pk=lead_id)
    )


def _ordered_transitions():
    return StageTransition.objects.select_related("actor_user").order_by("-occurred_at", "-id")


def assignable_users() -> QuerySet:
    """Active sales reps and managers: whom a manager can hand an alert to."""
    return access.owner_choices(get_user_model().objects.all()).order_by("username")


def notifications_for(*, user, limit: int = 50) -> list[Notification]:
    return list(Notification.objects.filter(user=user).order_by("-created_at", "-id")[:limit])


def api_keys_for_settings() -> QuerySet[ApiKey]:
    return ApiKey.objects.select_related("user", "created_by").order_by("revoked_at", "-created_at")


def webhook_endpoints_for_settings() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.order_by("-is_active", "-created_at")


def recent_deliveries(*, limit: int = 50) -> list[WebhookDelivery]:
    return list(WebhookDelivery.objects.select_related("endpoint").order_by("-created_at", "-id")[:limit])


can_view_queue = access.can_view_queue
