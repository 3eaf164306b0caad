"""The sales pages: the queue, a lead's sales page, my leads, notifications.

Every action is a POST (CSRF-protected) that calls one service and redirects back with
a message; the services decide who may do what, the views only translate refusals."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from leads import access
from leads.actors import person_name
from leads.models import ActivityKind, Lead
from leads.selectors import leads_visible_to
from leads.stages import Stage, StageMoveRefused

from . import selectors, services
from .errors import AlertAlreadyTaken, InvalidSalesInput, SalesActionForbidden
from .forms import ActivityForm
from .models import SalesAlert
from .notifications import mark_notifications_read, read_alert_notifications

QUEUE_PAGE_SIZE = 50


def _next(request) -> str:
    """The page an action was sent from, when it is one of ours ("" otherwise)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def _back(request, default: str):
    return redirect(_next(request) or default)


def sales_action(view):
    """Run a POST action; refusals become a message (or a 403 for a forbidden actor)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not access.can_read_leads(request.user):
            raise PermissionDenied("You have no role in Funnel.")
        try:
            return view(request, *args, **kwargs)
        except SalesActionForbidden as refusal:
            raise PermissionDenied(refusal.message) from refusal
        except AlertAlreadyTaken as refusal:
            messages.error(request, refusal.message)
        except InvalidSalesInput as refusal:
            for field, problems in refusal.fields.items():
                label = field.split(".")[-1].replace("_", " ").capitalize()
                messages.error(request, f"{label}: {' '.join(problems)}")
        except StageMoveRefused as refusal:
            messages.error(request, refusal.message)
        return _back(request, reverse("sales:queue"))

    return login_required(require_POST(wrapper))


def _queue_actor_or_403(user):
    if not access.can_use_queue(user):
        raise PermissionDenied("Only sales reps and managers act on the queue.")


# --- The queue ----------------------------------------------------------------------------


@login_required
@require_GET
def queue(request):
    if not selectors.can_view_queue(request.user):
        raise PermissionDenied
    # A rep's queue opens on what they can act on; a manager's on every open alert.
    default = "all" if access.sees_every_alert(request.user) else "mine_or_unassigned"
    filters = selectors.QueueFilters.parse(request.GET, default=default)
    try:
        offset = max(0, int(request.GET.get("offset", 0)))
    except ValueError:
        offset = 0
    alerts, has_more = selectors.page_of(
        selectors.sales_queue_for(user=request.user, filters=filters), limit=QUEUE_PAGE_SIZE, offset=offset
    )
    is_manager = access.can_reassign(request.user)
    rows = [{"alert": alert, "may_act": services.may_act_on_alert(user=request.user, alert=alert)} for alert in alerts]
    context = {
        "rows": rows,
        "filters": filters,
        "filter_choices": [
            ("mine_or_unassigned", "Mine and unassigned"),
            ("all", "All open"),
            ("mine", "Mine"),
            ("unassigned", "Unassigned"),
            ("overdue", "Overdue"),
            ("decayed", "Score faded since raised"),
            ("likely", "Likely to buy (30%+)"),
        ],
        "can_act": access.can_use_queue(request.user),
        "is_manager": is_manager,
        "assignees": list(selectors.assignable_users()) if is_manager else [],
        "reasons": _reasons(),
        "now": timezone.now(),
        "next_offset": offset + QUEUE_PAGE_SIZE if has_more else None,
        "prev_offset": max(0, offset - QUEUE_PAGE_SIZE) if offset else None,
    }
    return render(request, "sales/queue.html", context)


def _reasons():
    from django.conf import settings

    return list(settings.FUNNEL_REJECT_REASONS.items())


@sales_action
def accept(request, alert_id: int):
    _queue_actor_or_403(request.user)
    alert = get_object_or_404(SalesAlert, pk=alert_id)
    services.accept_alert(alert=alert, user=request.user)
    read_alert_notifications(alert_id=alert.pk)
    messages.success(request, "Accepted: the lead is yours now.")
    return redirect("sales:queue_lead", alert.lead_id)


@sales_action
def reject(request, alert_id: int):
    _queue_actor_or_403(request.user)
    alert = get_object_or_404(SalesAlert, pk=alert_id)
    services.reject_alert(
        alert=alert, user=request.user, reason_code=request.POST.get("reason", ""), note=request.POST.get("note", "")
    )
    read_alert_notifications(alert_id=alert.pk)
    messages.success(request, "Rejected: the lead is back in nurture.")
    return _back(request, reverse("sales:queue"))


@sales_action
def reassign(request, alert_id: int):
    alert = get_object_or_404(SalesAlert, pk=alert_id)
    to_user = get_user_model().objects.filter(pk=_int(request.POST.get("assignee"))).first()
    services.reassign_alert(alert=alert, user=request.user, to_user=to_user)
    messages.success(request, f"Reassigned to {person_name(to_user)}.")
    return _back(request, reverse("sales:queue"))


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- A lead's sales page and its actions ----------------------------------------------------------


@login_required
@require_GET
def queue_lead(request, lead_id: int):
    return _lead_page(request, lead_id)


def _lead_page(request, lead_id: int, *, extra: dict | None = None, status: int = 200):
    if not access.can_read_leads(request.user):
        raise PermissionDenied
    try:
        lead = selectors.sales_lead_detail(lead_id=lead_id, user=request.user)
    except Lead.DoesNotExist as missing:
        raise Http404("No such lead.") from missing
    deal = next((deal for deal in lead.deals.all() if deal.cycle == lead.cycle), None)
    context = {
        "lead": lead,
        "deal": deal,
        "activities": lead.recent_activities,
        "history": lead.history,
        "alerts": lead.all_alerts,
        "open_alert": next((alert for alert in lead.all_alerts if alert.status == "open"), None),
        **(extra or {}),
    }
    return render(request, "sales/lead.html", context, status=status)


def _lead(request, lead_id: int) -> Lead:
    """The lead an action is about, loaded by the same rule as its page (leads.access):
    a lead the user may not see is not found, an erased or merged one neither."""
    lead = leads_visible_to(request.user).filter(pk=lead_id).first()
    if lead is None:
        raise Http404("No such lead.")
    return lead


@sales_action
def log_activity(request, lead_id: int):
    lead = _lead(request, lead_id)
    form = ActivityForm(request.POST)
    if not form.is_valid():
        raise InvalidSalesInput(form.problems())
    services.log_activity(lead=lead, user=request.user, **form.cleaned_data)
    messages.success(request, f"{ActivityKind(form.cleaned_data['kind']).label} logged.")
    return _back(request, reverse("sales:queue_lead", args=[lead.pk]))


def amount(text: str) -> str:
    """An amount as people type it: “12,000”, “12 000” and “12_000.50” are 12000 and
    12000.50. The service then checks it is a number of 0 or more."""
    return "".join(text.split()).replace(",", "").replace("_", "")


@sales_action
def qualify(request, lead_id: int):
    _queue_actor_or_403(request.user)
    lead = _lead(request, lead_id)
    typed = {key: request.POST.get(key, "") for key in ("value", "currency", "expected_close_date", "next_step")}
    deal = {**typed, "value": amount(typed["value"])}
    try:
        if not deal["value"]:
            raise InvalidSalesInput({"deal.value": ["Enter the deal's value."]})
        services.qualify_lead(lead=lead, user=request.user, deal=deal, note=request.POST.get("note", ""))
    except InvalidSalesInput as refusal:
        # The form again, as typed, with each problem next to its field.
        errors = {field.split(".")[-1]: problems for field, problems in refusal.fields.items()}
        # Its forms go back where the first try came from, not to this POST-only URL.
        back_to = _next(request) or reverse("sales:queue_lead", args=[lead.pk])
        extra = {"qualify_values": typed, "qualify_errors": errors, "next_path": back_to}
        return _lead_page(request, lead.pk, extra=extra, status=400)
    messages.success(request, "Qualified: the deal is open.")
    return _back(request, reverse("sales:queue_lead", args=[lead.pk]))


@sales_action
def proposal(request, lead_id: int, mark: str):
    _queue_actor_or_403(request.user)
    lead = _lead(request, lead_id)
    if mark == "sent":
        services.mark_proposal_sent(lead=lead, user=request.user)
    elif mark == "accepted":
        services.mark_proposal_accepted(lead=lead, user=request.user)
    else:
        raise Http404
    messages.success(request, f"Proposal marked {mark}.")
    return _back(request, reverse("sales:queue_lead", args=[lead.pk]))


@sales_action
def win(request, lead_id: int):
    _queue_actor_or_403(request.user)
    lead = _lead(request, lead_id)
    services.win_lead(lead=lead, user=request.user, value=request.POST.get("value"), note=request.POST.get("note", ""))
    messages.success(request, "Won: the lead is a customer.")
    return _back(request, reverse("sales:queue_lead", args=[lead.pk]))


@sales_action
def lose(request, lead_id: int):
    _queue_actor_or_403(request.user)
    lead = _lead(request, lead_id)
    services.lose_lead(
        lead=lead, user=request.user, reason_code=request.POST.get("reason", ""), note=request.POST.get("note", "")
    )
    messages.success(request, "Lost: the lead is back in nurture.")
    return _back(request, reverse("sales:queue_lead", args=[lead.pk]))


@sales_action
def back_to_nurture(request, lead_id: int):
    _queue_actor_or_403(request.user)
    lead = _lead(request, lead_id)
    if lead.stage != Stage.SAL:
        raise InvalidSalesInput({"stage": ["Only an accepted (SAL) lead is sent back from here."]})
    services.send_back_to_nurture(
        lead=lead, user=request.user, reason_code=request.POST.get("reason", ""), note=request.POST.get("note", "")
    )
    messages.success(request, "Sent back to nurture.")
    return _back(request, reverse("sales:queue_lead", args=[lead.pk]))


# --- My leads and notifications ---------------------------------------------------------------------


@login_required
@require_GET
def my_leads(request):
    if not access.can_see_my_leads(request.user):
        raise PermissionDenied("My leads is the sales reps' page.")
    sees_all = access.sees_every_reps_leads(request.user)
    owner_id = _int(request.GET.get("owner")) if sees_all else None
    leads = list(selectors.my_leads_for(user=request.user, owner_id=owner_id)[:200])
    return render(
        request,
        "sales/my_leads.html",
        {
            "leads": leads,
            "today": timezone.localdate(),
            "is_manager": sees_all,
            "owners": list(selectors.assignable_users()) if sees_all else [],
            "owner_id": owner_id,
        },
    )


@login_required
def notifications(request):
    if request.method == "POST":
        mark_notifications_read(user=request.user, notification_id=_int(request.POST.get("notification")))
        return _back(request, reverse("sales:notifications"))
    return render(
        request, "sales/notifications.html", {"notifications": selectors.notifications_for(user=request.user)}
    )
