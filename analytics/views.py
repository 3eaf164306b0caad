from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_datetime
from django.utils.http import urlencode

from events.event_types import conventional_names
from leads import access

from . import selectors
from .event_types import event_types_received
from .exports import chart_csv
from .forms import ReportFilterForm
from .sections import build_sections, chart_by_key


def can_read_report(user) -> bool:
    """Marketers steer by the report, managers and admins oversee; reps work the queue."""
    return access.can_view_reports(user)


def _report_or_errors(request):
    if not can_read_report(request.user):
        raise PermissionDenied("The funnel report is for marketers, sales managers and admins.")
    form = ReportFilterForm(request.GET)
    if not form.is_valid():
        return form, None
    return form, form.filters()


@login_required
def funnel(request):
    form, filters = _report_or_errors(request)
    # Read once for both: the choices and the numbers are cached under the same refresh.
    refreshed_at = selectors.summary_refreshed_at()
    context = {"form": form, "choices": selectors.filter_choices(refreshed_at=refreshed_at, filters=filters)}
    if filters is None:
        return render(request, "analytics/funnel.html", context, status=400)
    report = selectors.funnel_report(filters, refreshed_at=refreshed_at)
    context.update(
        filters=filters,
        report=report,
        sections=build_sections(report),
        query=urlencode(filters.as_query()),
        refreshed_at=parse_datetime(report["refreshed_at"]) if report["refreshed_at"] else None,
    )
    return render(request, "analytics/funnel.html", context)


@login_required
def funnel_csv(request, key: str):
    form, filters = _report_or_errors(request)
    if filters is None:
        return HttpResponse(
            "; ".join(f"{field}: {' '.join(errors)}" for field, errors in form.field_errors().items()),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    chart = chart_by_key(build_sections(selectors.funnel_report(filters)), key)
    if chart is None:
        raise Http404("No such chart.")
    response = HttpResponse(chart_csv(chart), content_type="text/csv; charset=utf-8")
    filename = f"funnel-{key}-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def event_types(request):
    """The event types received, their counts, when last seen, and the rules that score
    them: where a marketer finds out why a lead that sends events stays at 0."""
    if not can_read_report(request.user):
        raise PermissionDenied("The event types page is for marketers, sales managers and admins.")
    rows = event_types_received()
    return render(
        request,
        "analytics/event_types.html",
        {"rows": rows, "unscored": [row for row in rows if not row.scored], "conventional": conventional_names()},
    )
