"""The marketer's pages. Views check who may do what, validate with a form, call
one service or selector, and render; the rules live in services and selectors."""

import csv
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import select_template
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from . import access, details, exports, imports, selectors, services
from .actors import Actor, person_name
from .charts import score_chart
from .forms import (
    SORTS,
    BoardFilterForm,
    BulkActionForm,
    EraseForm,
    ImportMappingForm,
    ImportUploadForm,
    LeadFilterForm,
    LeadForm,
    MergeForm,
    MoveForm,
)
from .models import ImportJob, ImportStatus
from .panels import lead_panels
from .stages import Stage, StageMoveRefused


def requires(predicate, message: str):
    """A page for those `predicate` (a leads.access rule) admits; others get 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not predicate(request.user):
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


marketing_required = requires(access.can_view_board, "Only marketers, sales managers and admins open this page.")
export_required = requires(access.can_export, "Only marketers, sales managers and admins export leads.")
import_required = requires(access.can_import, "Only marketers, sales managers and admins import leads.")
editor_required = requires(access.can_edit_leads, "Your role reads leads but does not edit them.")
reader_required = requires(access.can_read_leads, "Your account has no role yet.")


def _visible_lead(request, lead_id: int):
    lead = selectors.lead_for_viewer(user=request.user, lead_id=lead_id)
    if lead is None:
        raise Http404("No such lead.")
    return lead


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


# --- Pipeline board ----------------------------------------------------------------


@marketing_required
def pipeline(request):
    form = BoardFilterForm(request.GET or None, choices=selectors.board_filter_choices())
    filters = form.filters() if form.is_bound else selectors.BoardFilters()
    counts = selectors.stage_counts(filters=filters)
    top = selectors.top_leads_by_stage(per_stage=5, filters=filters)
    columns = [{**row, "leads": top[row["stage"]]} for row in counts]
    return render(
        request,
        "leads/pipeline.html",
        {
            "columns": columns,
            "total": sum(row["count"] for row in counts),
            "form": form,
            "can_edit": access.can_edit_leads(request.user),
            "query": request.GET.urlencode(),
        },
    )


# --- Lead list, export and bulk actions ------------------------------------------------


def _list_filters(request):
    form = LeadFilterForm(request.GET or None, choices=selectors.board_filter_choices())
    filters = form.list_filters() if form.is_bound else {"board": selectors.BoardFilters()}
    leads = selectors.filtered_leads(user=request.user, **filters)
    job_id = request.GET.get("import", "")
    if job_id.isdigit():
        # "See the leads" after an import: only the ones it created.
        job = ImportJob.objects.filter(pk=int(job_id)).first()
        leads = imports.imported_leads(job, leads) if job else leads.none()
    return form, leads


@reader_required
def lead_list(request):
    form, leads = _list_filters(request)
    sort = form.sort_key() if form.is_bound else "-created"
    try:
        page = selectors.lead_page(leads=leads, sort=sort, cursor=request.GET.get("after"))
    except (signing.BadSignature, ValueError, TypeError):
        messages.error(request, "That page link is no longer valid; showing the first page.")
        page = selectors.lead_page(leads=leads, sort=sort)
    next_query = None
    if page.next_cursor:
        params = request.GET.copy()
        params["after"] = page.next_cursor
        next_query = params.urlencode()
    params = request.GET.copy()
    params.pop("after", None)
    return render(
        request,
        "leads/list.html",
        {
            "form": form,
            "page": page,
            "count": selectors.lead_count(
                leads,
                page=page,
                first_page=not request.GET.get("after"),
                searching=bool(form.is_bound and form.list_filters().get("q")),
            ),
            "sort": sort,
            "sort_links": _sort_links(params, sort),
            "next_query": next_query,
            "filter_query": params.urlencode(),
            "is_later_page": bool(request.GET.get("after")),
            "can_edit": access.can_edit_leads(request.user),
            "can_export": access.can_export(request.user),
            # Its own ids: the filter form above has an `owner` field too.
            "bulk_form": BulkActionForm(auto_id="id_bulk_%s"),
            "sorts": SORTS,
        },
    )


def _sort_links(params, sort: str) -> dict[str, dict]:
    """For each sortable column (the indexed ones), the query that sorts by it, the
    other way round when it is the current sort, and the aria-sort it has now."""
    links = {}
    for column, key in (("score", "score"), ("created", "created")):
        current = sort.lstrip("-") == key
        descending = sort.startswith("-")
        target = (key if descending else f"-{key}") if current else f"-{key}"
        query = params.copy()
        query["sort"] = target
        links[column] = {
            "query": query.urlencode(),
            "aria": ("descending" if descending else "ascending") if current else "none",
            "arrow": ("↓" if descending else "↑") if current else "",
        }
    return links


@export_required
def lead_export(request):
    _, leads = _list_filters(request)
    response = StreamingHttpResponse(exports.lead_csv_lines(leads), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="leads-{stamp}.csv"'
    return response


@require_POST
@editor_required
def lead_bulk(request):
    form = BulkActionForm(request.POST)
    if not form.is_valid():
        for field, problems in form.errors.items():
            for problem in problems:
                messages.error(
                    request, f"{form.fields[field].label or field}: {problem}" if field != "__all__" else problem
                )
        return redirect(_safe_next(request, reverse("lead_list")))
    data = form.cleaned_data
    leads = list(selectors.leads_visible_to(request.user).filter(pk__in=data["leads"]).order_by("pk"))
    actor = Actor.for_user(request.user)
    if data["action"] == "move":
        outcomes = services.bulk_move_leads(leads=leads, to=data["to"], actor=actor, reason=data["reason"])
        title = f"Move to {Stage(data['to']).label}"
    else:
        owner = None
        if data["owner"] != selectors.UNASSIGNED:
            owner = get_object_or_404(selectors.lead_owner_choices(), pk=int(data["owner"]))
        outcomes = services.bulk_assign_owner(leads=leads, owner=owner, actor=actor)
        title = f"Assign to {person_name(owner) if owner else 'nobody'}"
    found = {lead.pk for lead in leads}
    missing = [services.LeadOutcome(pk, f"Lead #{pk}", False, "Not found.") for pk in data["leads"] if pk not in found]
    return render(
        request,
        "leads/bulk_result.html",
        {"title": title, "outcomes": outcomes + missing, "back": _safe_next(request, reverse("lead_list"))},
    )


# --- Lead detail ---------------------------------------------------------------------


def _score_details(lead):
    """The scoring app's explanation ({"text", "contributions", "computed_at"}) and
    history (asked through details.py); (None, []) while the lead has never been scored."""
    explanation, history = details.ask(details.SCORE_EXPLANATION_AND_HISTORY, lead=lead, default=(None, []))
    if not explanation or not explanation.get("computed_at"):
        return None, []
    return explanation, history


def _sales_actions_template():
    try:
        return select_template(["sales/_lead_actions.html"]).template.name
    except TemplateDoesNotExist:
        return None


@reader_required
def lead_detail(request, lead_id: int):
    lead = _visible_lead(request, lead_id)
    history_ids = selectors.lead_history_ids(lead)
    path = selectors.stage_path(lead_ids=history_ids)
    transitions = [transition for cycle in path for transition in cycle["transitions"]]
    explanation, history = _score_details(lead)
    return render(
        request,
        "leads/detail.html",
        {
            "lead": lead,
            "stage_path": path,
            "deals": selectors.lead_deals(lead=lead),
            "timeline": selectors.lead_timeline(lead_ids=history_ids, transitions=transitions),
            "explanation": explanation,
            "chart": score_chart(history),
            "scored": explanation is not None,
            "can_edit": access.can_edit_leads(request.user),
            "sales_actions": _sales_actions_template() if access.can_use_queue(request.user) else None,
            "merged_count": len(history_ids) - 1,
            "extra_panels": lead_panels(request=request, lead=lead),
        },
    )


# --- Create, edit, move, merge, erase ---------------------------------------------------


@require_http_methods(["GET", "POST"])
@editor_required
def lead_create(request):
    form = LeadForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        fields = {name: value for name, value in form.cleaned_data.items() if value not in (None, "")}
        lead = services.create_lead(actor=Actor.for_user(request.user), **fields)
        messages.success(request, f"Created {lead.display_name}.")
        return redirect("lead_detail", lead_id=lead.pk)
    return render(request, "leads/form.html", {"form": form, "title": "New lead"}, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@editor_required
def lead_edit(request, lead_id: int):
    lead = _visible_lead(request, lead_id)
    title = f"Edit {lead.display_name}"
    form = LeadForm(request.POST or None, instance=lead)
    if request.method == "POST" and form.is_valid():
        changed = form.changed_fields()
        if changed:
            services.update_lead(lead=lead, actor=Actor.for_user(request.user), **changed)
            messages.success(request, f"Saved {lead.display_name}.")
        return redirect("lead_detail", lead_id=lead.pk)
    return render(
        request,
        "leads/form.html",
        {"form": form, "lead": lead, "title": title},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@editor_required
def lead_move(request, lead_id: int):
    lead = _visible_lead(request, lead_id)
    back = _safe_next(request, reverse("lead_detail", args=[lead.pk]))
    form = MoveForm(request.POST or None, lead=lead)
    if request.method == "POST" and form.is_valid():
        try:
            services.move_lead_for_person(
                lead=lead,
                to=form.cleaned_data["to"],
                actor=Actor.for_user(request.user),
                reason=form.cleaned_data["reason"],
                expected_from=request.POST.get("expected_from") or None,
            )
        except (StageMoveRefused, services.MoveNotAllowed) as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(request, f"{lead.display_name} is now at {Stage(form.cleaned_data['to']).label}.")
            return redirect(back)
    return render(
        request, "leads/move.html", {"form": form, "lead": lead, "back": back}, status=400 if form.errors else 200
    )


@require_http_methods(["GET", "POST"])
@editor_required
def lead_merge(request, lead_id: int):
    lead = _visible_lead(request, lead_id)
    form = MergeForm(request.POST or None, lead=lead)
    if request.method == "POST" and form.is_valid():
        other = form.cleaned_data["other"]
        survivor, merged = (lead, other) if form.cleaned_data["keep"] == "this" else (other, lead)
        try:
            services.merge_leads(survivor=survivor, merged=merged, actor=Actor.for_user(request.user))
        except ValueError as refused:
            form.add_error("other", str(refused))
        else:
            messages.success(request, f"Merged {merged.display_name} into {survivor.display_name}.")
            return redirect("lead_detail", lead_id=survivor.pk)
    return render(request, "leads/merge.html", {"form": form, "lead": lead}, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@editor_required
def lead_erase(request, lead_id: int):
    lead = _visible_lead(request, lead_id)
    form = EraseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        name = lead.display_name
        services.erase_lead(lead=lead, actor=Actor.for_user(request.user))
        messages.success(request, f"Erased {name}: personal data and events are gone, anonymous counts stay.")
        return redirect("lead_list")
    return render(request, "leads/erase.html", {"form": form, "lead": lead}, status=400 if form.errors else 200)


# --- CSV import ---------------------------------------------------------------------------


def _own_job(request, job_id: int) -> ImportJob:
    jobs = ImportJob.objects.all()
    if not access.can_see_every_import(request.user):
        jobs = jobs.filter(created_by=request.user)
    return get_object_or_404(jobs.defer("text"), pk=job_id)


@require_http_methods(["GET", "POST"])
@import_required
def import_upload(request):
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = imports.create_import_job(upload=form.cleaned_data["file"], user=request.user)
        except imports.ImportRefused as refused:
            form.add_error("file", str(refused))
        else:
            return redirect("import_mapping", job_id=job.pk)
    recent = ImportJob.objects.filter(created_by=request.user).defer("text").order_by("-created_at")[:5]
    return render(
        request, "leads/import_upload.html", {"form": form, "recent": recent}, status=400 if form.errors else 200
    )


@require_http_methods(["GET", "POST"])
@import_required
def import_mapping(request, job_id: int):
    job = get_object_or_404(ImportJob.objects.filter(created_by=request.user), pk=job_id)
    if job.status != ImportStatus.MAPPING:
        return redirect("import_status", job_id=job.pk)
    form = ImportMappingForm(
        request.POST or None, columns=job.columns, initial_mapping=job.mapping, field_choices=imports.IMPORTABLE_FIELDS
    )
    if request.method == "POST" and form.is_valid():
        if "start" in request.POST:
            imports.start_import(job=job, mapping=form.mapping(), on_duplicate=form.cleaned_data["on_duplicate"])
            return redirect("import_status", job_id=job.pk)
        job.mapping = form.mapping()  # "Preview" re-renders with the new mapping, saving nothing yet
    mapping = form.mapping() if form.is_bound and form.is_valid() else job.mapping
    fields = [(field, name) for field, name in imports.IMPORTABLE_FIELDS if field in mapping.values()]
    return render(
        request,
        "leads/import_mapping.html",
        {
            "job": job,
            "form": form,
            "preview_fields": fields,
            "preview": imports.checked_preview_rows(job=job, mapping=mapping),
        },
        status=400 if form.errors else 200,
    )


@import_required
def import_status(request, job_id: int):
    job = _own_job(request, job_id)
    context = {"job": job, "progress": imports.import_progress(job)}
    if request.htmx:
        return render(request, "leads/_import_progress.html", context)
    return render(request, "leads/import_status.html", context)


@import_required
def import_errors(request, job_id: int):
    job = get_object_or_404(
        ImportJob.objects
        if access.can_see_every_import(request.user)
        else ImportJob.objects.filter(created_by=request.user),
        pk=job_id,
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    writer = csv.writer(response)
    for row in imports.error_rows(job):
        writer.writerow([exports.safe_cell(cell) for cell in row])
    return response
