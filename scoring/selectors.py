"""Reads of the scoring app: the rules in force, the thresholds, a score's explanation."""

import math
from datetime import datetime

from django.conf import settings as django_settings
from django.db.models import Case, F, JSONField, Subquery, When

from leads.models import Lead, StageTransition
from leads.stages import MoveKind

from .computation import RuleSpec, condition_from_dict
from .models import RescoreJob, RuleKind, ScoreChange, ScoringRule, ScoringSettings, ThresholdVersion


def scoring_settings() -> ScoringSettings:
    """The settings row; created with the defaults if a flush removed it."""
    row = ScoringSettings.objects.filter(pk=1).first()
    if row is None:
        row, _ = ScoringSettings.objects.get_or_create(
            pk=1, defaults={"default_half_life_days": django_settings.FUNNEL_SCORE_HALF_LIFE_DAYS}
        )
    return row


def active_rule_specs(*, default_half_life_days: float | None = None) -> list[RuleSpec]:
    if default_half_life_days is None:
        default_half_life_days = scoring_settings().default_half_life_days
    return [
        RuleSpec(
            id=rule.pk,
            version=rule.version,
            label=rule.label,
            kind=rule.kind,
            event_type=rule.event_type if rule.kind == RuleKind.BEHAVIOUR else "",
            conditions=tuple(condition_from_dict(raw) for raw in rule.conditions or []),
            points=rule.points,
            daily_cap=rule.daily_cap if rule.kind == RuleKind.BEHAVIOUR else None,
            half_life_days=rule.half_life_days or default_half_life_days,
        )
        # In the marketer's order: contributions, and so explanations, follow it.
        for rule in ScoringRule.objects.filter(active=True, archived_at__isnull=True).order_by("position", "id")
    ]


def cycle_started_at(*, lead: Lead) -> datetime | None:
    """When the lead's current cycle began; None for the first cycle (all events count)."""
    if lead.cycle <= 1:
        return None
    return (
        StageTransition.objects.filter(lead=lead, kind=MoveKind.NEW_CYCLE)
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )


def explanation_text(*, score: int, contributions: list[dict]) -> str:
    """ "74 = Demo request +40, 6× Pricing page view +18 (capped), VP title +20, decayed −4"."""
    if not contributions:
        return f"{score} = no scored activity yet"
    parts = []
    for item in contributions:
        count = item.get("events") or 0
        label = f"{count}× {item['label']}" if count > 1 else item["label"]
        sign = "+" if item["points"] >= 0 else "−"
        part = f"{label} {sign}{abs(item['points'])}"
        if item.get("capped"):
            part += " (capped)"
        parts.append(part)
    undecayed = sum(item["points"] for item in contributions)
    decayed_total = math.floor(sum(item.get("value", item["points"]) for item in contributions) + 0.5)
    decay = undecayed - decayed_total
    if decay > 0:
        parts.append(f"decayed −{decay}")
    elif decay < 0:
        parts.append(f"negative points decayed +{-decay}")
    text = f"{score} = " + ", ".join(parts)
    if decayed_total < 0 and score == 0:
        text += " (a score never goes below 0)"
    return text


def score_explanation(*, lead: Lead) -> dict:
    """The lead's score and why, as of its last rescore: the contributions stored with
    the last change (rule versions included), so the text stays true after rule edits."""
    last = ScoreChange.objects.filter(lead=lead).order_by("-at", "-id").first()
    return _explanation(lead, last.new_score if last else None, last.contributions if last else [], last and last.at)


def _explanation(lead: Lead, last_score: int | None, contributions: list, computed_at) -> dict:
    # The score the contributions add up to; every score write goes with a ScoreChange.
    score = lead.score if last_score is None else last_score
    return {
        "score": score,
        "text": explanation_text(score=score, contributions=contributions),
        "contributions": contributions,
        # Points are kept with their decimals as they decay; the score is their sum,
        # rounded once (never below 0), so the rows are shown with a decimal to add up.
        "points_total": math.fsum(item.get("value", item.get("points", 0)) for item in contributions),
        "computed_at": computed_at or None,
    }


def score_explanation_and_history(*, lead: Lead, limit: int = 500) -> tuple[dict, list[dict]]:
    """score_explanation and score_history in one query, for the lead's page: the
    history's newest row is the last change, and only that row brings its contributions."""
    changes = ScoreChange.objects.filter(lead=lead)
    newest = changes.order_by("-at", "-id").values("pk")[:1]
    rows = list(
        changes.annotate(
            newest_contributions=Case(When(pk=Subquery(newest), then=F("contributions")), output_field=JSONField())
        )
        .order_by("-at", "-id")
        .values("at", "old_score", "new_score", "cause", "newest_contributions")[:limit]
    )
    if not rows:
        return _explanation(lead, None, [], None), []
    last = rows[0]
    explanation = _explanation(lead, last["new_score"], last["newest_contributions"] or [], last["at"])
    history = [
        {"at": row["at"], "score": row["new_score"], "old_score": row["old_score"], "cause": row["cause"]}
        for row in reversed(rows)
    ]
    return explanation, history


def score_history(*, lead: Lead, limit: int = 500) -> list[dict]:
    """The score over time, oldest first, for the chart on the lead's page."""
    rows = (
        ScoreChange.objects.filter(lead=lead)
        .order_by("-at", "-id")
        .values("at", "old_score", "new_score", "cause")[:limit]
    )
    return [
        {"at": row["at"], "score": row["new_score"], "old_score": row["old_score"], "cause": row["cause"]}
        for row in reversed(list(rows))
    ]


def latest_rescore_job() -> RescoreJob | None:
    return RescoreJob.objects.order_by("-id").first()


def rules_for_listing():
    return ScoringRule.objects.filter(archived_at__isnull=True).order_by("position", "id")


def threshold_history(*, limit: int = 10) -> list[ThresholdVersion]:
    """The latest threshold versions, newest first, with who changed them."""
    return list(ThresholdVersion.objects.select_related("changed_by").order_by("-version")[:limit])


def thresholds_in_force_at(at: datetime) -> ThresholdVersion | None:
    """The thresholds a crossing at `at` was judged by. Before the first recorded version
    the first one's values held (it records what the first change replaced); None if
    the thresholds never changed (then the current ones are the answer)."""
    return (
        ThresholdVersion.objects.filter(created_at__lte=at).order_by("-created_at", "-version").first()
        or ThresholdVersion.objects.order_by("version").first()
    )
