import pytest

from leads.actors import Actor
from leads.models import StageTransition
from leads.stages import Stage
from sales.errors import AlertAlreadyTaken, InvalidSalesInput, SalesActionForbidden
from sales.models import AlertStatus, Notification, NotificationKind
from sales.services import accept_alert, reassign_alert, reject_alert, transition_lead
from tests.sales.conftest import make_alert

pytestmark = pytest.mark.django_db


@pytest.mark.smoke
def test_accepting_makes_the_rep_the_owner_of_a_sales_accepted_lead(unassigned_alert, rep1):
    accept_alert(alert=unassigned_alert, user=rep1)
    lead = unassigned_alert.lead
    lead.refresh_from_db()
    unassigned_alert.refresh_from_db()
    assert lead.stage == Stage.SAL
    assert lead.owner == rep1
    assert unassigned_alert.status == AlertStatus.ACCEPTED
    assert unassigned_alert.acted_by == rep1


def test_the_accept_is_on_the_leads_history_with_the_rep_as_actor(unassigned_alert, rep1):
    accept_alert(alert=unassigned_alert, user=rep1)
    move = StageTransition.objects.filter(lead=unassigned_alert.lead).latest("id")
    assert (move.from_stage, move.to_stage, move.actor_user) == (Stage.MQL, Stage.SAL, rep1)


@pytest.mark.smoke
def test_a_second_accept_is_told_who_took_the_alert(unassigned_alert, rep1, rep2):
    accept_alert(alert=unassigned_alert, user=rep1)
    with pytest.raises(AlertAlreadyTaken) as refusal:
        accept_alert(alert=unassigned_alert, user=rep2)
    assert refusal.value.message == "This alert was already accepted by rep1."
    assert refusal.value.http_status == 409


def test_a_rep_cannot_accept_an_alert_assigned_to_another_rep(rep1, rep2):
    alert = make_alert(assignee=rep1)
    with pytest.raises(SalesActionForbidden):
        accept_alert(alert=alert, user=rep2)


def test_a_manager_may_accept_any_alert(rep1, manager):
    alert = make_alert()
    accept_alert(alert=alert, user=manager)
    alert.lead.refresh_from_db()
    assert alert.lead.owner == manager


def test_a_marketer_cannot_accept(unassigned_alert, marketer):
    with pytest.raises(SalesActionForbidden):
        accept_alert(alert=unassigned_alert, user=marketer)


def test_rejecting_sends_the_lead_back_to_nurture_with_the_reason(unassigned_alert, rep1):
    reject_alert(alert=unassigned_alert, user=rep1, reason_code="no_budget", note="Budget frozen until Q3")
    lead = unassigned_alert.lead
    lead.refresh_from_db()
    move = StageTransition.objects.filter(lead=lead).latest("id")
    assert lead.stage == Stage.NURTURE
    assert lead.recycle_count == 1
    assert move.reason_code == "no_budget"
    assert move.reason == "Rejected: No budget — Budget frozen until Q3"


def test_a_rejected_alert_keeps_its_reason(unassigned_alert, rep1):
    reject_alert(alert=unassigned_alert, user=rep1, reason_code="not_a_fit", note="")
    unassigned_alert.refresh_from_db()
    assert (unassigned_alert.status, unassigned_alert.reject_reason) == (AlertStatus.REJECTED, "not_a_fit")


def test_a_reason_outside_the_configured_list_is_refused_by_field(unassigned_alert, rep1):
    with pytest.raises(InvalidSalesInput) as refusal:
        reject_alert(alert=unassigned_alert, user=rep1, reason_code="because", note="")
    assert "reason" in refusal.value.fields
    unassigned_alert.lead.refresh_from_db()
    assert unassigned_alert.lead.stage == Stage.MQL


def test_the_reasons_list_is_a_setting(unassigned_alert, rep1, settings):
    settings.FUNNEL_REJECT_REASONS = {"wrong_region": "Outside our regions"}
    reject_alert(alert=unassigned_alert, user=rep1, reason_code="wrong_region")
    assert StageTransition.objects.filter(lead=unassigned_alert.lead).latest("id").reason == (
        "Rejected: Outside our regions"
    )


def test_a_manager_reassigns_an_alert_and_the_new_rep_is_told(rep1, rep2, manager):
    alert = make_alert(assignee=rep1)
    reassign_alert(alert=alert, user=manager, to_user=rep2)
    alert.refresh_from_db()
    assert alert.assignee == rep2
    assert Notification.objects.filter(user=rep2, kind=NotificationKind.REASSIGNED).exists()


def test_a_rep_cannot_reassign(rep1, rep2):
    alert = make_alert(assignee=rep1)
    with pytest.raises(SalesActionForbidden):
        reassign_alert(alert=alert, user=rep1, to_user=rep2)


def test_an_alert_cannot_go_to_a_marketer(rep1, manager, marketer):
    with pytest.raises(InvalidSalesInput):
        reassign_alert(alert=make_alert(), user=manager, to_user=marketer)


def test_a_lead_leaving_mql_by_a_direct_move_closes_its_alert(unassigned_alert, manager):
    transition_lead(lead=unassigned_alert.lead, to=Stage.SAL, actor=Actor.for_user(manager))
    unassigned_alert.refresh_from_db()
    assert (unassigned_alert.status, unassigned_alert.acted_by) == (AlertStatus.ACCEPTED, manager)


def test_a_rep_taking_an_unowned_lead_to_sal_by_a_direct_move_becomes_its_owner(unassigned_alert, rep1):
    transition_lead(lead=unassigned_alert.lead, to=Stage.SAL, actor=Actor.for_user(rep1))
    unassigned_alert.lead.refresh_from_db()
    assert unassigned_alert.lead.owner == rep1


def test_a_marketer_cannot_move_an_mql_into_sales_by_a_direct_move(unassigned_alert, marketer):
    with pytest.raises(SalesActionForbidden) as refusal:
        transition_lead(lead=unassigned_alert.lead, to=Stage.SAL, actor=Actor.for_user(marketer))
    assert "sales reps and managers" in refusal.value.message
