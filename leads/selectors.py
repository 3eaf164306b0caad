"""Reads about leads that have rules or need care for queries."""

from django.db.models import Count

from .models import Lead
from .stages import Stage


def live_leads():
    """Leads that are people in the funnel: not merged away, not erased."""
    return Lead.objects.filter(merged_into__isnull=True, erased_at__isnull=True)


def stage_counts() -> list[dict]:
    """Leads per stage, every stage present, in funnel order: one grouped query."""
    counts = dict(live_leads().values_list("stage").annotate(n=Count("id")).order_by())
    return [{"stage": stage.value, "label": stage.label, "count": counts.get(stage.value, 0)} for stage in Stage]


def top_leads_by_stage(*, per_stage: int = 5) -> dict[str, list[Lead]]:
    """The highest-scoring leads of each stage, one indexed query per stage (seven)."""
    return {
        stage.value: list(
            live_leads().filter(stage=stage.value).select_related("owner").order_by("-score", "-id")[:per_stage]
        )
        for stage in Stage
    }
