from datetime import timedelta

import pytest
from django.utils import timezone

from sales.models import Notification, NotificationKind, SalesAlert
from sales.services import sweep_slas
from tests.sales.conftest import make_alert

pytestmark = pytest.mark.django_db


def _due_in(alert, delta):
    SalesAlert.objects.filter(pk=alert.pk).update(due_at=timezone.now() + delta)


def test_the_assignee_is_warned_once_when_the_sla_is_near(rep1):
    alert = make_alert()
    _due_in(alert, timedelta(minutes=20))
    assert sweep_slas()["warned"] == 1
    assert sweep_slas()["warned"] == 0
    assert Notification.objects.filter(user=rep1, kind=NotificationKind.SLA_NEAR).count() == 1


def test_an_alert_due_later_is_left_alone(rep1):
    _due_in(make_alert(), timedelta(hours=3))
    assert sweep_slas() == {"warned": 0, "escalated": 0}


@pytest.mark.smoke
def test_an_overdue_alert_is_marked_and_escalated_to_the_managers_once(rep1, manager):
    alert = make_alert()
    _due_in(alert, -timedelta(minutes=1))
    assert sweep_slas()["escalated"] == 1
    assert sweep_slas()["escalated"] == 0
    alert.refresh_from_db()
    assert alert.overdue and alert.escalated_at is not None
    assert Notification.objects.filter(user=manager, kind=NotificationKind.ESCALATED).count() == 1
    assert Notification.objects.filter(user=rep1, kind=NotificationKind.ESCALATED).count() == 1


def test_with_no_manager_escalations_go_to_the_admins(rep1, admin):
    _due_in(make_alert(), -timedelta(minutes=1))
    sweep_slas()
    assert Notification.objects.filter(user=admin, kind=NotificationKind.ESCALATED).exists()


def test_an_accepted_alert_never_escalates(rep1, manager):
    from sales.services import accept_alert

    alert = make_alert()
    accept_alert(alert=alert, user=rep1)
    _due_in(alert, -timedelta(hours=1))
    assert sweep_slas()["escalated"] == 0
