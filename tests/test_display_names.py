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
