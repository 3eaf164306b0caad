"""One date format, one money format, a favicon, no duplicate ids, and confirmations
that say from where to where."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from leads.models import DealStatus
from sales.services import accept_alert
from tests.factories import DealFactory, LeadFactory
from tests.sales.conftest import make_alert

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_money_reads_the_same_everywhere_on_a_leads_sales_page(rep1, settings):
    settings.FUNNEL_ROUND_ROBIN = False
    alert = make_alert(assignee=rep1)
    accept_alert(alert=alert, user=rep1)
    DealFactory(
        lead=alert.lead,
        owner=rep1,
        value=12000,
        currency="EUR",
        status=DealStatus.OPEN,
        cycle=alert.lead.cycle,
        expected_close_date=datetime.date(2026, 12, 20),
    )
    html = signed_in(rep1).get(f"/queue/leads/{alert.lead_id}/").content.decode()
    assert "12,000 EUR" in html
    assert "12000.00" not in html and "12,000.00" not in html
    assert "20 Dec 2026" in html and "Dec. 20, 2026" not in html


def test_the_lead_page_writes_dates_one_way(marketer):
    lead = LeadFactory(created_at=timezone.make_aware(datetime.datetime(2026, 4, 27, 9, 30)))
    html = signed_in(marketer).get(f"/leads/{lead.pk}/").content.decode()
    assert "27 Apr 2026" in html and "April 27, 2026" not in html


def test_the_favicon_is_served(client):
    response = client.get("/favicon.ico", follow=True)
    response.close()  # the icon is a file response: an open file is a ResourceWarning
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].endswith("favicon.svg")


def test_the_move_confirmation_names_where_from_and_where_to(marketer):
    lead = LeadFactory(stage="nurture")
    html = signed_in(marketer).get(f"/leads/{lead.pk}/move/").content.decode()
    assert 'data-confirm="Move ' in html and ' from Nurture to {to}?"' in html


def test_a_new_mql_notice_writes_its_due_time_as_the_escalation_does(rep1, settings):
    from datetime import timedelta

    from sales.models import Notification, NotificationKind
    from sales.services import sweep_slas

    settings.FUNNEL_ROUND_ROBIN = True
    alert = make_alert()
    assert alert.assignee == rep1  # round-robin's only rep, told by a "New MQL" notice
    sweep_slas(now=alert.due_at + timedelta(minutes=1))
    due = timezone.localtime(alert.due_at)
    written = f"{due.day} {due:%b %Y %H:%M} {due.tzname()}"
    assigned = Notification.objects.get(kind=NotificationKind.ASSIGNED)
    escalated = Notification.objects.filter(kind=NotificationKind.ESCALATED, user=alert.assignee).get()
    assert assigned.body.endswith(f"Respond by {written}.")
    assert escalated.body.endswith(f"its SLA ran out at {written}.")


def test_a_lost_deal_says_lost_once_with_its_reason(rep1, marketer, settings):
    settings.FUNNEL_ROUND_ROBIN = False
    alert = make_alert(assignee=rep1)
    DealFactory(
        lead=alert.lead, owner=rep1, cycle=alert.lead.cycle, status=DealStatus.LOST, lost_reason="Lost: Bad timing"
    )
    lead_page = signed_in(marketer).get(f"/leads/{alert.lead_id}/").content.decode()
    sales_page = signed_in(rep1).get(f"/queue/leads/{alert.lead_id}/").content.decode()
    assert "Lost: Bad timing" in lead_page and "lost: Bad timing" in sales_page
    assert "Lost: Lost" not in lead_page and "lost: Lost" not in sales_page
