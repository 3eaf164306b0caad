"""The rule editor (/scoring/rules/): every change is drafted, previewed in the
background, then published through `scoring.rules`, which writes the new rule version
and starts the full rescore."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from events.event_types import CANONICAL_TYPES
from events.selectors import recent_event_types
from leads import access

from . import previews, selectors
from . import rules as rule_services
from .draft_matches import draft_event_matches
from .forms import MoveForm, RuleForm, ThresholdForm
from .models import ConditionOp, PreviewStatus, RuleKind, RulePreview, ScoringRule


def _require(user, predicate, what: str) -> None:
    if not predicate(user):
        raise PermissionDenied(what)


def _editable_rule(pk: int) -> ScoringRule:
    return get_object_or_404(ScoringRule, pk=pk, archived_at__isnull=True)


@login_required
def rule_list(request):
    _require(request.user, access.can_read_rules, "Scoring rules are for marketers, sales managers and admins.")
    return _rule_list_page(request)


def _rule_list_page(request, *, threshold_form: ThresholdForm | None = None, status: int = 200):
    thresholds = selectors.scoring_settings()
    listed = list(selectors.rules_for_listing())
    moved = _moved(request, listed)
    rows = []
    for number, rule in enumerate(listed, start=1):
        row = {"rule": rule, "scores": _what_it_scores(rule), "number": number, "focus": None}
        if moved and moved[0] == rule.pk:
            # Keep the keyboard where it was: on the button just pressed, or on the other
            # one if the rule has reached the end of the list.
            first, last = number == 1, number == len(listed)
            went = moved[1]
            row["focus"] = "up" if (went == "up" and not first) or (went == "down" and last) else "down"
        rows.append(row)
    return render(
        request,
        "scoring/rules.html",
        {
            "rules": rows,
            "thresholds": thresholds,
            "threshold_form": threshold_form
            or ThresholdForm(
                initial={
                    "mql_threshold": thresholds.mql_threshold,
                    "recycle_threshold": thresholds.recycle_threshold,
                }
            ),
            "threshold_history": selectors.threshold_history(limit=5),
            "job": selectors.latest_rescore_job(),
            "previews": RulePreview.objects.select_related("created_by", "published_by").order_by("-id")[:5],
            "can_edit": access.can_edit_rules(request.user),
        },
        status=status,
    )


def _moved(request, listed) -> tuple[int, str] | None:
    """The rule just moved (?moved=<id>&went=up|down), to put the focus back on it."""
    try:
        rule_id = int(request.GET.get("moved", ""))
    except ValueError:
        return None
    went = request.GET.get("went")
    if went not in ("up", "down") or rule_id not in {rule.pk for rule in listed}:
        return None
    return rule_id, went


def _preview(request, draft: dict):
    preview = previews.start_rule_preview(draft=draft, user=request.user)
    return redirect("scoring:preview", pk=preview.pk)


def _form_context(form, rule) -> dict:
    form.fields["event_type"].widget.attrs["list"] = "received-event-types"
    return {"form": form, "rule": rule, "received_types": sorted(recent_event_types())}


@login_required
def rule_create(request):
    _require(request.user, access.can_edit_rules, "Only marketers and admins edit scoring rules.")
    form = RuleForm(request.POST or None, initial={"active": True, "kind": "behaviour"})
    if request.method == "POST" and form.is_valid():
        return _preview(request, {"action": "create", "rule": form.rule})
    return render(request, "scoring/rule_form.html", _form_context(form, None), status=400 if form.errors else 200)


@login_required
def rule_edit(request, pk: int):
    _require(request.user, access.can_edit_rules, "Only marketers and admins edit scoring rules.")
    rule = _editable_rule(pk)
    form = RuleForm(request.POST or None, initial=RuleForm.initial_for(rule))
    if request.method == "POST" and form.is_valid():
        return _preview(
            request, {"action": "update", "rule_id": rule.pk, "base_version": rule.version, "changes": form.rule}
        )
    return render(request, "scoring/rule_form.html", _form_context(form, rule), status=400 if form.errors else 200)


@login_required
@require_POST
def rule_toggle(request, pk: int):
    _require(request.user, access.can_edit_rules, "Only marketers and admins edit scoring rules.")
    rule = _editable_rule(pk)
    return _preview(
        request,
        {"action": "update", "rule_id": rule.pk, "base_version": rule.version, "changes": {"active": not rule.active}},
    )


@login_required
@require_POST
def rule_move(request, pk: int):
    """Up or down one place. No preview: the order changes explanations, not scores."""
    _require(request.user, access.can_edit_rules, "Only marketers and admins edit scoring rules.")
    rule = _editable_rule(pk)
    form = MoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Move a rule up or down.")
        return _rule_list_page(request, status=400)
    try:
        ordered = rule_services.move_rule(rule_id=rule.pk, offset=form.offset, user=request.user)
    except rule_services.RuleInvalid as refused:
        messages.error(request, str(refused))
        return _rule_list_page(request, status=400)
    number = [item.pk for item in ordered].index(rule.pk) + 1
    messages.success(request, f"“{rule.label}” is now number {number} of {len(ordered)}.")
    went = form.cleaned_data["direction"]
    # No #fragment: browsers skip `autofocus` when the URL names a target.
    return redirect(f"{reverse('scoring:rules')}?moved={rule.pk}&went={went}")


@login_required
@require_POST
def thresholds(request):
    _require(request.user, access.can_edit_rules, "Only marketers and admins edit scoring rules.")
    form = ThresholdForm(request.POST)
    if not form.is_valid():
        return _rule_list_page(request, threshold_form=form, status=400)
    current = selectors.scoring_settings()
    return _preview(request, {"action": "thresholds", "base_version": current.version, **form.cleaned_data})


@login_required
def preview(request, pk: int):
    _require(request.user, access.can_read_rules, "Scoring rules are for marketers, sales managers and admins.")
    preview = get_object_or_404(RulePreview.objects.select_related("created_by", "published_by"), pk=pk)
    draft = preview.draft
    rule = None
    if draft.get("rule_id"):
        rule = ScoringRule.objects.filter(pk=draft["rule_id"]).first()
    stalled = preview.lost_its_worker()
    return render(
        request,
        "scoring/preview.html",
        {
            "preview": preview,
            "rule": rule,
            "changes": _describe(draft, rule),
            "matches": draft_event_matches(draft, rule),
            "thresholds": selectors.scoring_settings(),
            "can_edit": access.can_edit_rules(request.user),
            "stalled": stalled,
            "running": preview.status in (PreviewStatus.QUEUED, PreviewStatus.RUNNING) and not stalled,
        },
    )


@login_required
def preview_progress(request, pk: int):
    _require(request.user, access.can_read_rules, "Scoring rules are for marketers, sales managers and admins.")
    preview = get_object_or_404(RulePreview, pk=pk)
    return JsonResponse(
        {
            "status": preview.status,
            "done": preview.done,
            "total": preview.total,
            "percent": preview.percent,
            "stalled": preview.lost_its_worker(),
        }
    )


@login_required
@require_POST
def preview_restart(request, pk: int):
    _require(request.user, access.can_edit_rules, "Only marketers and admins edit scoring rules.")
    get_object_or_404(RulePreview, pk=pk)
    try:
        previews.restart_rule_preview(preview_id=pk)
    except previews.PreviewNotRestartable as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, "The preview starts again.")
    return redirect("scoring:preview", pk=pk)


@login_required
@require_POST
def preview_publish(request, pk: int):
    _require(request.user, access.can_edit_rules, "Only marketers and admins edit scoring rules.")
    get_object_or_404(RulePreview, pk=pk)
    try:
        previews.publish_rule_preview(preview_id=pk, user=request.user)
    except previews.PreviewNotPublishable as refused:
        messages.error(request, refused.message)
        return redirect("scoring:preview", pk=pk)
    messages.success(request, "Published. Every lead is being rescored in the background.")
    return redirect("scoring:rules")


@login_required
def rescore_progress(request):
    _require(request.user, access.can_read_rules, "Scoring rules are for marketers, sales managers and admins.")
    job = selectors.latest_rescore_job()
    if job is None:
        return JsonResponse({"status": None, "percent": 100, "done": 0, "total": 0})
    return JsonResponse({"status": job.status, "percent": job.percent, "done": job.done, "total": job.total})


FIELD_LABELS = {
    "label": "Name",
    "kind": "Kind",
    "event_type": "Event type",
    "conditions": "Conditions",
    "points": "Points",
    "daily_cap": "Daily cap",
    "half_life_days": "Half-life (days)",
    "active": "Active",
}


def _describe(draft: dict, rule: ScoringRule | None) -> list[dict]:
    """The draft as "what changes" rows: field, before, after."""
    action = draft.get("action")
    if action == "create":
        return [
            {"field": FIELD_LABELS.get(name, name), "before": "—", "after": _show_field(name, value)}
            for name, value in draft.get("rule", {}).items()
        ]
    if action == "thresholds":
        current = selectors.scoring_settings()
        return [
            {"field": "MQL threshold", "before": current.mql_threshold, "after": draft["mql_threshold"]},
            {"field": "Recycle threshold", "before": current.recycle_threshold, "after": draft["recycle_threshold"]},
        ]
    rows = []
    for name, value in (draft.get("changes") or {}).items():
        before = getattr(rule, name, None) if rule else None
        if before != value:
            rows.append(
                {
                    "field": FIELD_LABELS.get(name, name),
                    "before": _show_field(name, before),
                    "after": _show_field(name, value),
                }
            )
    return rows


def _what_it_scores(rule: ScoringRule) -> str:
    """ "page_view where url contains /pricing" or "job_title contains VP, Head"."""
    tests = " and ".join(
        f"{_field_words(condition.get('field'))} {_op_label(condition.get('op'))} {_quoted(condition.get('value'))}"
        for condition in rule.conditions or []
        if isinstance(condition, dict)
    )
    if rule.event_type:
        event = _event_words(rule.event_type)
        return f"{event} where {tests}" if tests else event
    return tests or "every lead"


def _event_words(event_type: str) -> str:
    """ "form_submitted" → "A form submitted"; a custom name is quoted as sent."""
    if event_type in CANONICAL_TYPES:
        return "A " + event_type.replace("_", " ")
    return f"The event “{event_type}”"


def _field_words(field) -> str:
    return str(field or "").replace("attributes.", "attribute ").replace("_", " ")


def _quoted(value) -> str:
    if isinstance(value, list):
        return " or ".join(f"“{item}”" for item in value)
    return f"“{value}”" if isinstance(value, str) else _show(value)


def _op_label(op) -> str:
    return ConditionOp(op).label if op in ConditionOp.values else str(op)


def _show_field(name: str, value) -> str:
    """A draft's value as a marketer reads it: the kind by its label, not its code."""
    if name == "kind" and value in RuleKind.values:
        return RuleKind(value).label
    return _show(value)


def _show(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        if all(isinstance(item, dict) for item in value):
            return (
                "; ".join(f"{item.get('field')} {item.get('op')} {_show(item.get('value'))}" for item in value) or "—"
            )
        return ", ".join(str(item) for item in value)
    return str(value)
