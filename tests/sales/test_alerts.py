from datetime import UTC

import pytest
from django.core import mail

from leads.stages import Stage
from sales.models import AlertStatus, Notification, NotificationKind, SalesAlert
from sales.services import raise_sales_alert
from tests import factories
from tests.sales.conftest import CONTRIBUTIONS, make_alert

pytestmark = pytest.mark.django_db


@pytest.mark.smoke
def test_a_crossing_raises_one_alert_and_a_retry_raises_none(rep1):
    alert = make_alert()
    again = raise_sales_alert(lead=alert.lead, cycle=alert.cycle, crossing=1, score=70, contributions=[])
    assert again is None
    assert SalesAlert.objects.filter(lead=alert.lead).count() == 1


def test_the_alert_keeps_the_score_explanation_of_the_moment_it_was_raised(rep1):
    alert = make_alert(score=65)
    alert.refresh_from_db()
    assert alert.score == 65
    assert alert.contributions == CONTRIBUTIONS
    assert alert.status == AlertStatus.OPEN


def test_new_alerts_go_round_robin_to_the_active_reps(rep1, rep2):
    first, second, third, fourth = (make_alert().assignee for _ in range(4))
    assert {first, second} == {rep1, rep2}
    assert (third, fourth) == (first, second)


def test_a_deactivated_rep_gets_no_new_alerts(rep1, rep2):
    rep1.is_active = False
    rep1.save()
    assert {make_alert().assignee for _ in range(3)} == {rep2}


def test_managers_and_marketers_are_not_in_the_rotation(rep1, manager, marketer):
    assert {make_alert().assignee for _ in range(3)} == {rep1}


def test_with_round_robin_off_alerts_wait_unassigned(rep1, round_robin_off):
    assert make_alert().assignee is None


def test_with_no_active_rep_the_alert_waits_unassigned(manager):
    assert make_alert().assignee is None


def test_the_due_time_counts_business_hours_only(rep1, settings):
    settings.FUNNEL_WORKING_DAYS = [0, 1, 2, 3, 4]
    settings.FUNNEL_WORKING_HOURS = (9, 17)
    settings.FUNNEL_BUSINESS_TIME_ZONE = "UTC"
    settings.FUNNEL_SLA_HOURS = 4
    lead = factories.LeadFactory(stage=Stage.MQL, score=70)
    alert = raise_sales_alert(lead=lead, cycle=1, crossing=1, score=70, contributions=[])
    from sales.business_hours import WorkingWeek

    week = WorkingWeek.from_settings()
    assert week.between(alert.raised_at, alert.due_at).total_seconds() == 4 * 3600
    local = alert.due_at.astimezone(UTC)
    assert local.weekday() in settings.FUNNEL_WORKING_DAYS
    assert 9 <= local.hour <= 17


def test_the_assigned_rep_is_notified_in_the_app_and_by_email(rep1, eager_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        alert = make_alert(first_name="Ada", last_name="Lovelace")
    notification = Notification.objects.get(user=rep1)
    assert notification.kind == NotificationKind.ASSIGNED
    assert "Ada Lovelace" in notification.title
    assert notification.alert == alert
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [rep1.email]
    assert f"/queue/leads/{alert.lead_id}/" in mail.outbox[0].body


def test_a_rolled_back_crossing_notifies_nobody(rep1, eager_tasks):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        make_alert()
        raise RuntimeError("the scoring transaction failed")
    assert not SalesAlert.objects.exists()
    assert not Notification.objects.exists()
    assert mail.outbox == []
