"""Qualifying on the page accepts amounts as people type them, and a refused value
keeps what was typed with the problem next to its field."""

import pytest
from django.test import Client

from leads.models import Deal
from sales.services import accept_alert
from tests.sales.conftest import make_alert

pytestmark = pytest.mark.django_db


@pytest.fixture
def accepted_lead(rep1, round_robin_off):
    alert = make_alert(assignee=rep1)
    accept_alert(alert=alert, user=rep1)
    return alert.lead


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_value_with_thousands_separators_is_accepted(rep1, accepted_lead):
    signed_in(rep1).post(f"/queue/leads/{accepted_lead.pk}/qualify/", {"value": "12,000", "currency": "EUR"})
    assert str(Deal.objects.get(lead=accepted_lead).value) == "12000.00"


def test_a_bad_value_is_shown_by_its_field_and_the_typed_values_stay(rep1, accepted_lead):
    response = signed_in(rep1).post(
        f"/queue/leads/{accepted_lead.pk}/qualify/",
        {"value": "twelve", "currency": "EUR", "expected_close_date": "2026-12-31", "next_step": "Send the proposal"},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert not Deal.objects.filter(lead=accepted_lead).exists()
    assert f'id="deal-value-{accepted_lead.pk}-error">Enter an amount of 0 or more.</p>' in html
    assert 'name="value" value="twelve"' in html
    assert 'value="2026-12-31"' in html
    assert 'value="Send the proposal"' in html
    assert '<li class="message error">' not in html
