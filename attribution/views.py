from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods

from leads.access import can_edit_marketing_spend, can_read_attribution

from . import selectors, services
from .charts import GEOMETRY, small_multiples
from .exports import models_csv, table_csv
from .forms import AttributionFilterForm, ChannelRuleForm, SpendForm, SpendImportForm
from .models import AttributionModel, ChannelRule, Milestone


def _readers_only(request):
    if not can_read_attribution(request.user):
        raise PermissionDenied("Attribution is for marketers, sales managers and admins.")


def _editors_only(request):
    if not can_edit_marketing_spend(request.user):
        raise PermissionDenied("Spend and channel rules are edited by marketers and admins.")


@login_required
def attribution(request):
    _readers_only(request)
    form = AttributionFilterForm(request.GET)
    context = {
        "form": form,
        "models": AttributionModel.choices,
        "milestones": Milestone.choices,
        "can_edit": can_edit_marketing_spend(request.user),
    }
    if not form.is_valid():
        return render(request, "attribution/report.html", context, status=400)
    filters = form.filters()
    table = selectors.attribution_table(filters)
    keys, charts = small_multiples(table["by_model"], selected_model=filters.model)
    context.update(
        filters=filters,
        table=table,
        charts=charts,
        chart_keys=keys,
        geometry=GEOMETRY,
        query=urlencode(filters.as_query()),
        refreshed_at=selectors.refreshed_at(),
        model_label=AttributionModel(filters.model).label,
        milestone_label=Milestone(filters.milestone).label,
    )
    return render(request, "attribution/report.html", context)


@login_required
def attribution_csv(request, key: str):
    _readers_only(request)
    form = AttributionFilterForm(request.GET)
    if not form.is_valid():
        return HttpResponse(
            "; ".join(f"{field}: {' '.join(errors)}" for field, errors in form.field_errors().items()),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    filters = form.filters()
    table = selectors.attribution_table(filters)
    if key == "table":
        body = table_csv(table, by=filters.by, model=filters.model)
    elif key == "models":
        body = models_csv(table, by=filters.by, milestone=filters.milestone)
    else:
        raise Http404("No such table.")
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    name = f"attribution-{key}-{filters.by}-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def campaign(request):
    _readers_only(request)
    name = " ".join(request.GET.get("name", "").split()).casefold()
    if not name:
        raise Http404("Name a campaign.")
    return render(
        request,
        "attribution/campaign.html",
        {
            "campaign": name,
            "leads": selectors.campaign_leads(campaign=name),
            "spend": selectors.campaign_spend(campaign=name),
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def spend(request):
    _readers_only(request)
    form, upload = SpendForm(), SpendImportForm()
    status = 200
    if request.method == "POST":
        _editors_only(request)
        if "file" in request.FILES:
            upload = SpendImportForm(request.POST, request.FILES)
            if upload.is_valid():
                text = upload.cleaned_data["file"].read().decode("utf-8-sig", errors="replace")
                saved, errors = services.import_spend_csv(text=text, user=request.user)
                if not errors:
                    messages.success(request, f"Imported {saved} spend rows.")
                    return redirect("attribution:spend")
                for error in errors[:20]:
                    upload.add_error("file", error)
            status = 400
        else:
            form = SpendForm(request.POST)
            if form.is_valid():
                try:
                    entry = services.set_campaign_spend(user=request.user, **form.cleaned_data)
                except services.InvalidSpend as problem:
                    for field, errors in problem.fields.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    messages.success(request, f"Saved spend of {entry.campaign} for {entry.month:%B %Y}.")
                    return redirect("attribution:spend")
            status = 400
    return render(
        request,
        "attribution/spend.html",
        {
            "form": form,
            "upload": upload,
            "entries": selectors.recent_spend(),
            "can_edit": can_edit_marketing_spend(request.user),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@login_required
def channel_rules(request):
    _readers_only(request)
    form = ChannelRuleForm()
    status = 200
    if request.method == "POST":
        _editors_only(request)
        if request.POST.get("delete"):
            rule = get_object_or_404(ChannelRule, pk=request.POST["delete"])
            services.delete_channel_rule(rule=rule, user=request.user)
            messages.success(request, "Rule deleted; the report follows on its next refresh.")
            return redirect("attribution:channels")
        instance = get_object_or_404(ChannelRule, pk=request.POST["rule"]) if request.POST.get("rule") else None
        form = ChannelRuleForm(request.POST, instance=instance)
        if form.is_valid():
            services.save_channel_rule(rule=form.save(commit=False), user=request.user)
            messages.success(request, "Rule saved; the report follows on its next refresh.")
            return redirect("attribution:channels")
        status = 400
    return render(
        request,
        "attribution/channels.html",
        {
            "form": form,
            "rules": list(ChannelRule.objects.order_by("position", "id")),
            "can_edit": can_edit_marketing_spend(request.user),
        },
        status=status,
    )


def touch_path_panel(*, request, lead):
    """The lead detail page's touch-path panel (registered in AttributionConfig.ready)."""
    if not can_read_attribution(request.user):
        return None
    model = request.GET.get("attribution_model") or AttributionModel.LINEAR
    if model not in AttributionModel.values:
        model = AttributionModel.LINEAR
    return (
        "attribution/_lead_touch_path.html",
        {
            "cycles": selectors.lead_touch_paths(lead=lead, model=model),
            "model": model,
            "models": AttributionModel.choices,
            "window": selectors.default_window(),
        },
    )
