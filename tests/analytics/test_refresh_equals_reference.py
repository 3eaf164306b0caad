"""The set-based refresh against the plain Python reference, over random lead paths
that follow the lifecycle's rules (forward, jumps, falls back, new cycles)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import reference
from analytics.models import DurationDaily, StageEntryDaily
from analytics.services import refresh_analytics
from leads.models import Lead, StageTransition
from leads.stages import MoveKind, Stage, allowed_targets
from tests import factories

START = datetime(2026, 2, 1, 9, tzinfo=UTC)

# A path: each step picks one of the moves allowed from where the lead is, after a
# whole number of hours (whole hours keep the test about the SQL, not float rounding).
steps = st.lists(st.tuples(st.integers(0, 6), st.integers(0, 60)), max_size=8)
paths = st.lists(
    st.tuples(st.sampled_from(["website", "linkedin"]), st.sampled_from(["", "spring"]), steps), min_size=1, max_size=4
)


def build(paths_to_build, owner) -> None:
    for source, campaign, moves in paths_to_build:
        lead = factories.LeadFactory(
            stage=Stage.LEAD_GEN,
            created_at=START,
            stage_entered_at=START,
            source=source,
            utm_campaign=campaign,
            owner=owner if source == "linkedin" else None,
        )
        stage, cycle, at = Stage.LEAD_GEN.value, 1, START
        for choice, hours in moves:
            at += timedelta(hours=hours)
            if stage == Stage.CUSTOMER:
                stage, cycle, kind = Stage.LEAD_GEN.value, cycle + 1, MoveKind.NEW_CYCLE
            else:
                stage = allowed_targets(stage)[choice % len(allowed_targets(stage))]
                kind = MoveKind.FORWARD
            StageTransition.objects.create(
                lead=lead, cycle=cycle, to_stage=stage, kind=kind, actor_kind="system", occurred_at=at
            )
        Lead.objects.filter(pk=lead.pk).update(stage=stage, cycle=cycle)


def summarised_entries():
    return {
        (row.day, row.stage, row.source, row.campaign, row.owner_id): (
            row.entered,
            row.reached_next,
            row.reached_customer,
        )
        for row in StageEntryDaily.objects.all()
    }


def summarised_stays():
    return {
        (row.day, row.measure, row.source, row.campaign, row.owner_id, row.hours): row.count
        for row in DurationDaily.objects.exclude(measure__in=["sales_cycle", "first_touch"])
    }


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(paths=paths)
def test_set_based_stage_summaries_equal_the_plain_reference(paths):
    with transaction.atomic():
        owner = factories.sales_rep(username="owner")
        build(paths, owner)
        refresh_analytics()
        assert summarised_entries() == dict(reference.stage_entries())
        assert summarised_stays() == dict(reference.stage_durations())
        transaction.set_rollback(True)
