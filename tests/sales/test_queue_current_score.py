"""The queue shows a lead's score and explanation as they are now; the score the alert
was raised with stays visible as history."""

import pytest
from django.test import Client

from scoring.models import ScoreChange
from tests.sales.conftest import make_alert

pytestmark = pytest.mark.django_db


def queue_html(user) -> str:
    client = Client()
    client.force_login(user)
    return client.get("/queue/?filter=all").content.decode()


def test_after_a_rescore_the_queue_shows_the_current_score_and_was_n_when_raised(rep1, round_robin_off):
    alert = make_alert(score=65, first_name="Kira")
    lead = alert.lead
    lead.score = 83
    lead.save(update_fields=["score"])
    current = [{"rule_id": 3, "label": "Visited the pricing page", "points": 72, "value": 72, "events": 6}]
    ScoreChange.objects.create(lead=lead, old_score=65, new_score=83, contributions=current, cause="rules changed")
    html = queue_html(rep1)
    row = html.split(f'data-alert="{alert.pk}"')[1].split("</tr>")[0]
    assert '<span class="score">83</span>' in row
    assert "was 65 when raised" in row
    assert "6× Visited the pricing page +72" in row
    assert "+18" not in row


def test_an_unchanged_score_does_not_say_was(rep1, round_robin_off):
    make_alert(score=65)
    html = queue_html(rep1)
    assert '<span class="score">65</span>' in html
    assert "when raised" not in html


def test_a_reps_queue_opens_on_their_alerts_and_the_unassigned_ones(rep1, rep2, round_robin_off):
    mine, unassigned, theirs = make_alert(assignee=rep1), make_alert(), make_alert(assignee=rep2)
    client = Client()
    client.force_login(rep1)
    html = client.get("/queue/").content.decode()
    assert f'data-alert="{mine.pk}"' in html and f'data-alert="{unassigned.pk}"' in html
    assert f'data-alert="{theirs.pk}"' not in html
    # Another rep's alert stays out of "all" too: a rep reads the alerts they may take (leads.access).
    assert f'data-alert="{theirs.pk}"' not in client.get("/queue/?filter=all").content.decode()


def test_accepting_an_alert_reads_its_notifications(rep1, settings):
    from sales.models import Notification

    settings.FUNNEL_ROUND_ROBIN = True
    alert = make_alert()
    assert Notification.objects.filter(alert=alert, read_at__isnull=True).exists()
    client = Client()
    client.force_login(alert.assignee)
    client.post(f"/queue/alerts/{alert.pk}/accept/")
    assert not Notification.objects.filter(alert=alert, read_at__isnull=True).exists()
