import uuid

import pytest
from django.core.cache import cache

from funnel.tasks import heartbeat
from tests.workers import running_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.smoke]


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_process_runs_a_task_sent_through_the_broker():
    token = uuid.uuid4().hex
    with running_worker():
        heartbeat.delay(token)
        seen = wait_for(lambda: cache.get(f"heartbeat:{token}"), timeout=60)
    assert seen == "seen"
