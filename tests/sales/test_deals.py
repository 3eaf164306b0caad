from datetime import date
from decimal import Decimal

import pytest

from leads.actors import Actor
from leads.models import Activity, Deal, DealStatus, StageTransition
from leads.stages import Stage, StageMoveRefused
from sales.errors import InvalidSalesInput, SalesActionForbidden
from sales.forms import ActivityForm
from sales.services import (
    accept_alert,
    log_activity,
    lose_lead,
    mark_proposal_accepted,
    mark_proposal_sent,
    qualify_lead,
    transition_lead,
    win_lead,
)
from tests.sales.conftest import make_alert

pytestmark = pytest.mark.django_db

DEAL = {"value": "24000", "currency": "eur", "expected_close_date": "2026-12-31", "next_step": "Send proposal"}


@pytest.fixture
def accepted_lead(rep1, round_robin_off):
    alert = make_alert()
    accept_alert(alert=alert, user=rep1)
    alert.lead.refresh_from_db()
    return alert.lead


@pytest.fixture
def qualified_lead(accepted_lead, rep1):
    qualify_lead(lead=accepted_lead, user=rep1, deal=DEAL)
    return accepted_lead


@pytest.mark.smoke
def test_qualifying_opens_the_cycles_deal(accepted_lead, rep1):
    qualify_lead(lead=accepted_lead, user=rep1, deal=DEAL)
    deal = Deal.objects.get(lead=accepted_lead)
    assert accepted_lead.stage == Stage.SQL
    assert (deal.status, deal.value, deal.currency, deal.owner) == (DealStatus.OPEN, Decimal("24000"), "EUR", rep1)
    assert str(deal.expected_close_date) == "2026-12-31"


def test_a_bad_deal_value_is_refused_naming_the_field(accepted_lead, rep1):
    with pytest.raises(InvalidSalesInput) as refusal:
        qualify_lead(lead=accepted_lead, user=rep1, deal={**DEAL, "value": "-5"})
    assert list(refusal.value.fields) == ["deal.value"]
    accepted_lead.refresh_from_db()
    assert accepted_lead.stage == Stage.SAL


def test_an_unknown_deal_field_is_refused(accepted_lead, rep1):
    with pytest.raises(InvalidSalesInput) as refusal:
        qualify_lead(lead=accepted_lead, user=rep1, deal={**DEAL, "discount": "10%"})
    assert "deal.discount" in refusal.value.fields


def test_another_rep_cannot_qualify_my_lead(accepted_lead, rep2):
    with pytest.raises(SalesActionForbidden):
        qualify_lead(lead=accepted_lead, user=rep2, deal=DEAL)


def test_proposal_sent_and_accepted_are_marked_on_the_deal(qualified_lead, rep1):
    mark_proposal_sent(lead=qualified_lead, user=rep1)
    deal = mark_proposal_accepted(lead=qualified_lead, user=rep1)
    assert deal.proposal_sent_at is not None
    assert deal.proposal_accepted_at >= deal.proposal_sent_at


def test_a_proposal_needs_an_open_deal(accepted_lead, rep1):
    with pytest.raises(InvalidSalesInput):
        mark_proposal_sent(lead=accepted_lead, user=rep1)


@pytest.mark.smoke
def test_winning_closes_the_deal_won_with_its_final_value(qualified_lead, rep1):
    win_lead(lead=qualified_lead, user=rep1, value="26500")
    deal = Deal.objects.get(lead=qualified_lead)
    assert qualified_lead.stage == Stage.CUSTOMER
    assert (deal.status, deal.value) == (DealStatus.WON, Decimal("26500.00"))
    assert deal.closed_at is not None


def test_winning_without_a_deal_is_refused(rep1):
    alert = make_alert(owner=rep1)
    lead = alert.lead
    transition_lead(lead=lead, to=Stage.SAL, actor=Actor.for_user(rep1))
    transition_lead(lead=lead, to=Stage.SQL, actor=Actor.for_user(rep1))
    Deal.objects.filter(lead=lead).delete()
    with pytest.raises(StageMoveRefused):
        win_lead(lead=lead, user=rep1)


def test_losing_closes_the_deal_lost_and_recycles_the_lead(qualified_lead, rep1):
    lose_lead(lead=qualified_lead, user=rep1, reason_code="competitor", note="Chose a cheaper tool")
    deal = Deal.objects.get(lead=qualified_lead)
    assert qualified_lead.stage == Stage.NURTURE
    assert qualified_lead.recycle_count == 1
    assert deal.status == DealStatus.LOST
    assert deal.lost_reason == "Lost: Went with a competitor — Chose a cheaper tool"
    assert StageTransition.objects.filter(lead=qualified_lead).latest("id").reason_code == "competitor"


def test_a_rep_logs_a_call_with_a_next_step(accepted_lead, rep1):
    activity = log_activity(
        lead=accepted_lead,
        user=rep1,
        kind="call",
        outcome="Interested, wants pricing",
        next_step="Send pricing",
        next_step_due=date(2026, 12, 1),
    )
    assert Activity.objects.get() == activity
    assert (activity.user, activity.next_step, str(activity.next_step_due)) == (rep1, "Send pricing", "2026-12-01")


def test_an_activity_of_an_unknown_kind_is_refused_by_field(accepted_lead, rep1):
    with pytest.raises(InvalidSalesInput) as refusal:
        log_activity(lead=accepted_lead, user=rep1, kind="fax", next_step_due=date(2026, 12, 1))
    assert set(refusal.value.fields) == {"kind", "next_step"}


def test_the_activity_form_refuses_an_unreadable_date_by_field():
    form = ActivityForm({"kind": "fax", "next_step_due": "soon"})
    assert not form.is_valid()
    assert set(form.problems()) == {"kind", "next_step_due"}
    assert form.problems()["next_step_due"] == ["Use a date like 2026-12-01."]


def test_a_marketer_does_not_log_sales_activities(accepted_lead, marketer):
    with pytest.raises(SalesActionForbidden):
        log_activity(lead=accepted_lead, user=marketer, kind="note", note="hi")
