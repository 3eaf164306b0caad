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


def test_a_refused_form_sent_again_comes_back_to_the_page_it_was_sent_from(rep1, accepted_lead):
    client = signed_in(rep1)
    lead_page = f"/queue/leads/{accepted_lead.pk}/"
    typed = {"value": "12,000", "currency": "E1", "next_step": "Send the proposal", "next": lead_page}
    refused = client.post(f"{lead_page}qualify/", typed).content.decode()
    assert f'name="next" value="{lead_page}"' in refused
    response = client.post(f"{lead_page}qualify/", {**typed, "currency": "EUR", "next": lead_page_next(refused)})
    assert response.status_code == 302 and response["Location"] == lead_page


def lead_page_next(html: str) -> str:
    """The "next" the refused page's qualify form sends back."""
    form = html.split('data-testid="qualify-form"')[1].split("</form>")[0]
    return form.split('name="next" value="')[1].split('"')[0]
