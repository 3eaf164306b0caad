from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads.actors import Actor
from leads.models import Lead, PipelineCount
from leads.selectors import BoardFilters, pipeline_counts
from leads.services import (
    compact_pipeline_counts,
    create_lead,
    move_lead,
    rebuild_pipeline_counts,
    record_leads_created,
    record_leads_removed,
    update_lead,
)
from leads.stages import Stage, StageMoveRefused, allowed_targets
from tests.factories import sales_rep

pytestmark = pytest.mark.django_db

system = Actor.system("test")


def summary() -> Counter:
    totals = Counter()
    for row in PipelineCount.objects.all():
        totals[(row.stage, row.owner_id, row.source, row.campaign, row.day)] += row.n
    return +totals  # drop buckets that add up to zero


def rebuilt() -> Counter:
    rebuild_pipeline_counts()
    return summary()


@pytest.mark.smoke
def test_creating_and_moving_a_lead_moves_its_count_between_columns():
    lead = create_lead(actor=system, email="ada@example.com", source="webinar")
    assert pipeline_counts()[Stage.LEAD_GEN] == 1
    move_lead(lead=lead, to=Stage.NURTURE, actor=system)
    counts = pipeline_counts()
    assert (counts[Stage.LEAD_GEN], counts[Stage.NURTURE]) == (0, 1)


def test_counts_follow_owner_source_and_campaign_filters(rep1):
    create_lead(actor=system, email="a@example.com", source="webinar", utm_campaign="spring", owner=rep1)
    create_lead(actor=system, email="b@example.com", source="ads", utm_campaign="spring")
    assert pipeline_counts(filters=BoardFilters(owner=str(rep1.pk)))[Stage.LEAD_GEN] == 1
    assert pipeline_counts(filters=BoardFilters(owner="none"))[Stage.LEAD_GEN] == 1
    assert pipeline_counts(filters=BoardFilters(source="ads"))[Stage.LEAD_GEN] == 1
    assert pipeline_counts(filters=BoardFilters(campaign="spring"))[Stage.LEAD_GEN] == 2


def test_assigning_an_owner_moves_the_count_to_that_owner(rep1):
    lead = create_lead(actor=system, email="a@example.com")
    update_lead(lead=lead, actor=system, owner=rep1)
    assert pipeline_counts(filters=BoardFilters(owner="none"))[Stage.LEAD_GEN] == 0
    assert pipeline_counts(filters=BoardFilters(owner=str(rep1.pk)))[Stage.LEAD_GEN] == 1


def test_bulk_created_and_removed_leads_are_counted_set_based():
    # As ingestion does it: rows inserted in bulk, then counted in the same transaction.
    leads = Lead.objects.bulk_create(Lead(email=f"bulk{n}@example.com", stage=Stage.MQL) for n in range(3))
    record_leads_created(leads=leads)
    assert pipeline_counts()[Stage.MQL] == 3
    record_leads_removed(leads=leads[:1])
    Lead.objects.filter(pk=leads[0].pk).update(merged_into=leads[1])
    assert pipeline_counts()[Stage.MQL] == 2
    assert summary() == rebuilt()


def test_compaction_keeps_the_totals_and_leaves_one_row_per_bucket():
    lead = create_lead(actor=system, email="a@example.com")
    move_lead(lead=lead, to=Stage.NURTURE, actor=system)
    create_lead(actor=system, email="b@example.com")
    before = summary()
    compact_pipeline_counts()
    assert summary() == before
    assert PipelineCount.objects.count() == len(before)
    assert not PipelineCount.objects.filter(n=0).exists()


operations = st.lists(
    st.tuples(st.sampled_from(["create", "move", "assign", "campaign", "compact"]), st.integers(0, 50)),
    min_size=1,
    max_size=25,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations)
def test_incremental_counts_always_equal_a_rebuild_from_scratch(ops):
    PipelineCount.objects.all().delete()
    Lead.objects.all().delete()
    rep = sales_rep(username="counting-rep")
    for number, (op, pick) in enumerate(ops):
        leads = list(Lead.objects.order_by("pk"))
        lead = leads[pick % len(leads)] if leads else None
        if op == "create" or lead is None:
            create_lead(actor=system, email=f"p{number}@example.com", source=["ads", "web"][pick % 2])
        elif op == "move":
            target = (
                allowed_targets(lead.stage)[pick % len(allowed_targets(lead.stage))]
                if lead.stage != "customer"
                else None
            )
            if target:
                try:
                    move_lead(lead=lead, to=target, actor=system, reason="property test")
                except StageMoveRefused:
                    pass
        elif op == "assign":
            update_lead(lead=lead, actor=system, owner=rep if pick % 2 else None)
        elif op == "campaign":
            update_lead(lead=lead, actor=system, utm_campaign=f"c{pick % 3}")
        else:
            compact_pipeline_counts()
    assert summary() == rebuilt()
