import threading

import pytest
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads.actors import Actor
from leads.models import Lead, StageTransition
from leads.services import create_lead, move_lead, update_lead
from leads.stages import STAGE_ORDER, Stage, StageMoveRefused
from tests.factories import LeadFactory
from tests.services import need_postgres

pytestmark = pytest.mark.django_db

system = Actor.system("test")


def last_transition(lead):
    return StageTransition.objects.filter(lead=lead).order_by("-occurred_at", "-id").first()


def test_identified_lead_is_created_in_lead_generation_with_its_first_transition():
    lead = create_lead(actor=system, email="ada@example.com")
    assert lead.stage == Stage.LEAD_GEN
    assert last_transition(lead).to_stage == Stage.LEAD_GEN


def test_anonymous_lead_is_created_in_demand_generation():
    lead = create_lead(actor=system, anonymous_id="anon-1")
    assert lead.stage == Stage.DEMAND_GEN


def test_move_records_who_when_and_why(rep1):
    lead = LeadFactory(stage=Stage.MQL)
    move_lead(lead=lead, to=Stage.SAL, actor=Actor.for_user(rep1), reason="Looks good")
    transition = last_transition(lead)
    assert (transition.from_stage, transition.to_stage, transition.actor_user, transition.reason) == (
        Stage.MQL,
        Stage.SAL,
        rep1,
        "Looks good",
    )


def test_rejected_sal_returns_to_nurture_and_counts_a_recycle():
    lead = LeadFactory(stage=Stage.SAL)
    move_lead(lead=lead, to=Stage.NURTURE, actor=system, reason="No budget this year")
    lead.refresh_from_db()
    assert (lead.stage, lead.recycle_count, lead.cycle, lead.mql_armed) == (Stage.NURTURE, 1, 1, False)


def test_customer_new_cycle_increments_the_cycle():
    lead = LeadFactory(stage=Stage.CUSTOMER)
    move_lead(lead=lead, to=Stage.LEAD_GEN, actor=system, new_cycle=True, reason="Upsell interest")
    lead.refresh_from_db()
    assert (lead.stage, lead.cycle) == (Stage.LEAD_GEN, 2)


def test_refused_move_leaves_no_trace():
    lead = LeadFactory(stage=Stage.NURTURE)
    before = StageTransition.objects.filter(lead=lead).count()
    with pytest.raises(StageMoveRefused):
        move_lead(lead=lead, to=Stage.LEAD_GEN, actor=system, reason="try")
    lead.refresh_from_db()
    assert lead.stage == Stage.NURTURE
    assert StageTransition.objects.filter(lead=lead).count() == before


def test_move_is_refused_when_the_lead_is_no_longer_where_the_caller_saw_it():
    lead = LeadFactory(stage=Stage.SAL)
    with pytest.raises(StageMoveRefused, match="now"):
        move_lead(lead=lead, to=Stage.SQL, actor=system, expected_from=Stage.MQL)


def test_stage_cannot_be_set_through_update_lead():
    lead = LeadFactory()
    with pytest.raises(TypeError):
        update_lead(lead=lead, actor=system, stage=Stage.CUSTOMER)


moves = st.lists(st.tuples(st.sampled_from(STAGE_ORDER), st.sampled_from(["", "a reason"]), st.booleans()), max_size=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=moves)
def test_stage_always_equals_the_last_transition_whatever_moves_are_tried(sequence):
    lead = create_lead(actor=system, email=None, anonymous_id=None)
    for to_stage, reason, new_cycle in sequence:
        try:
            move_lead(lead=lead, to=to_stage, actor=system, reason=reason, new_cycle=new_cycle)
        except StageMoveRefused:
            pass
        stored = Lead.objects.get(pk=lead.pk)
        assert stored.stage == last_transition(lead).to_stage
        assert stored.cycle == last_transition(lead).cycle


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_moves_of_one_lead_never_interleave():
    need_postgres()
    lead = LeadFactory(stage=Stage.MQL)
    outcomes = []
    barrier = threading.Barrier(2)

    def accept(actor_label):
        try:
            barrier.wait()
            move_lead(lead=lead.pk, to=Stage.SAL, actor=Actor.system(actor_label), expected_from=Stage.MQL)
            outcomes.append("moved")
        except StageMoveRefused:
            outcomes.append("refused")
        finally:
            close_old_connections()

    threads = [threading.Thread(target=accept, args=(f"worker {n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["moved", "refused"]
    assert StageTransition.objects.filter(lead=lead, to_stage=Stage.SAL).count() == 1
