"""A person is shown by one display name everywhere: their full name, else their user name."""

import pytest
from django.test import Client

from analytics.services import refresh_analytics
from leads.actors import Actor, person_name
from tests import factories
from tests.sales.conftest import make_alert

pytestmark = pytest.mark.django_db


@pytest.fixture
def ravi(db):
    return factories.sales_rep(username="rep1", first_name="Ravi", last_name="Patel")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_person_with_a_full_name_is_shown_by_it_and_one_without_by_the_user_name(ravi):
    assert person_name(ravi) == "Ravi Patel"
    assert person_name(factories.sales_rep(username="rep2")) == "rep2"


def test_the_queue_and_the_header_show_the_display_name(ravi, settings):
    settings.FUNNEL_ROUND_ROBIN = False
    make_alert(assignee=ravi)
    html = signed_in(ravi).get("/queue/?filter=all").content.decode()
    assert '<span class="username">Ravi Patel</span>' in html
    assert '<td data-label="Assignee">Ravi Patel</td>' in html
    assert ">rep1<" not in html


def test_a_move_records_the_display_name_as_its_actor(ravi):
    assert Actor.for_user(ravi).label == "Ravi Patel"


def test_the_report_and_the_lead_list_name_the_rep_the_same_way(ravi, marketer):
    factories.LeadFactory(owner=ravi)
    refresh_analytics()
    client = signed_in(marketer)
    assert ">Ravi Patel</option>" in client.get("/analytics/funnel/").content.decode()
    assert "<td>Ravi Patel</td>" in client.get("/leads/").content.decode()


@pytest.fixture
def maya(db):
    return factories.sales_manager(username="manager", first_name="Maya", last_name="Okafor")


def test_an_escalation_names_the_assignee_by_their_display_name(ravi, maya, settings):
    from datetime import timedelta

    from sales.models import Notification, NotificationKind
    from sales.services import sweep_slas

    settings.FUNNEL_ROUND_ROBIN = False
    alert = make_alert(assignee=ravi)
    sweep_slas(now=alert.due_at + timedelta(minutes=1))
    bodies = set(Notification.objects.filter(kind=NotificationKind.ESCALATED).values_list("body", flat=True))
    assert bodies and all(body.startswith("Assigned to Ravi Patel;") for body in bodies)


def test_a_reassigned_rep_is_told_who_gave_them_the_alert_by_display_name(ravi, maya, settings):
    from sales.models import Notification, NotificationKind
    from sales.services import reassign_alert

    settings.FUNNEL_ROUND_ROBIN = False
    alert = make_alert(unassigned=True)
    reassign_alert(alert=alert, user=maya, to_user=ravi)
    title = Notification.objects.get(kind=NotificationKind.REASSIGNED).title
    assert title.startswith("Maya Okafor assigned you ")


def test_an_owner_change_on_the_lead_timeline_names_people_by_display_name(ravi, maya, marketer):
    from leads.services import bulk_assign_owner

    lead = factories.LeadFactory(owner=None)
    outcome = bulk_assign_owner(leads=[lead], owner=ravi, actor=Actor.for_user(maya))[0]
    assert outcome.message == "Assigned to Ravi Patel."
    page = signed_in(marketer).get(f"/leads/{lead.pk}/").content.decode()
    assert "Owner: nobody → Ravi Patel" in page
    assert "→ rep1" not in page


def test_an_alert_held_by_another_rep_names_them_by_display_name(ravi, settings):
    from leads.access import alert_refusal

    settings.FUNNEL_ROUND_ROBIN = False
    alert = make_alert(assignee=ravi)
    other = factories.sales_rep(username="rep2", first_name="Rosa", last_name="Lindqvist")
    assert alert_refusal(other, alert) == "This alert is assigned to Ravi Patel; a manager can reassign it."
