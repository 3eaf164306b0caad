import pytest

from analytics.models import AnalyticsRefresh, StageEntryDaily
from funnel.celery import app
from tests.analytics.conftest import build_story
from tests.workers import running_worker, wait_for


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_beat_task_rebuilds_the_summaries_in_a_real_worker():
    build_story()
    with running_worker():
        app.send_task("analytics.refresh")
        refreshed = wait_for(lambda: AnalyticsRefresh.objects.filter(refreshed_at__isnull=False).exists(), timeout=60)
    assert refreshed, "no worker rebuilt the summaries"
    assert StageEntryDaily.objects.filter(stage="mql").exists()
