"""Plain, obviously correct versions of the trickiest summaries, computed in Python from
the source rows one lead at a time. Tests hold the set-based SQL of `refresh_sql` to
them (tests/analytics/test_refresh_equals_reference.py); nothing else uses them."""

import math
from collections import Counter, defaultdict
from datetime import UTC

from leads.models import Lead, StageTransition
from leads.stages import STAGE_INDEX, Stage


def _hours(start, end) -> int:
    # SQL's ROUND: half away from zero (durations are never negative).
    return math.floor((end - start).total_seconds() / 3600 + 0.5)


def stage_entries() -> Counter:
    """(day, stage, source, campaign, owner_id) → [entered, reached_next, reached_customer]."""
    leads = {lead.pk: lead for lead in Lead.objects.filter(merged_into__isnull=True)}
    by_cycle: dict[tuple, list] = defaultdict(list)
    for t in StageTransition.objects.filter(lead_id__in=leads).order_by("occurred_at", "id"):
        by_cycle[(t.lead_id, t.cycle)].append(t)
    totals: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (lead_id, _cycle), transitions in by_cycle.items():
        lead = leads[lead_id]
        first_entry = {}
        for t in transitions:
            first_entry.setdefault(t.to_stage, t.occurred_at)
        for stage, entered_at in first_entry.items():
            later = [t for t in transitions if t.occurred_at >= entered_at]
            key = (entered_at.astimezone(UTC).date(), stage, lead.source, lead.utm_campaign, lead.owner_id)
            row = totals[key]
            row[0] += 1
            row[1] += any(STAGE_INDEX[t.to_stage] > STAGE_INDEX[stage] for t in later)
            row[2] += any(t.to_stage == Stage.CUSTOMER for t in later)
    return Counter({key: tuple(value) for key, value in totals.items()})


def stage_durations() -> Counter:
    """(day ended, stage, source, campaign, owner_id, hours) → how many stays."""
    leads = {lead.pk: lead for lead in Lead.objects.filter(merged_into__isnull=True)}
    by_lead: dict[int, list] = defaultdict(list)
    for t in StageTransition.objects.filter(lead_id__in=leads).order_by("occurred_at", "id"):
        by_lead[t.lead_id].append(t)
    stays: Counter = Counter()
    for lead_id, transitions in by_lead.items():
        lead = leads[lead_id]
        for current, following in zip(transitions, transitions[1:], strict=False):
            ended = following.occurred_at
            key = (
                ended.astimezone(UTC).date(),
                current.to_stage,
                lead.source,
                lead.utm_campaign,
                lead.owner_id,
                _hours(current.occurred_at, ended),
            )
            stays[key] += 1
    return stays
