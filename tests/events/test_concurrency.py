"""Two real processes ingesting at the same moment on PostgreSQL."""

import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from events.models import EngagementEvent
from leads.models import Lead, StageTransition
from tests.services import need_postgres
from tests.workers import worker_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

SCRIPT = Path(__file__).with_name("ingest_process.py")


def ingest_concurrently(tmp_path, *batches) -> list[dict]:
    start_at = time.time() + 2.5  # both processes are up and waiting by then
    processes = []
    for number, batch in enumerate(batches):
        path = tmp_path / f"batch{number}.json"
        path.write_bytes(orjson.dumps(batch))
        processes.append(
            subprocess.Popen(
                [sys.executable, str(SCRIPT), str(path), str(start_at)],
                # Each process also processes what it stored (and what the other left):
                # the two race for the intake as two workers do.
                env={**worker_env(), "FUNNEL_INGEST_INLINE": "1"},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
    replies = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err.decode()[-2000:]
        replies.append(orjson.loads(out))
    return replies


def test_two_processes_replaying_one_batch_store_each_event_once(tmp_path):
    need_postgres()
    batch = [{"message_id": f"m{i}", "type": "page_view", "anonymous_id": f"visitor-{i % 100}"} for i in range(300)]
    replies = ingest_concurrently(tmp_path, batch, batch)
    assert sum(reply["accepted"] for reply in replies) == 300
    assert sum(reply["duplicates"] for reply in replies) == 300
    assert EngagementEvent.objects.count() == 300


def test_concurrent_first_events_for_new_identities_create_one_lead_each(tmp_path):
    need_postgres()
    first = [{"message_id": f"a{i}", "type": "page_view", "anonymous_id": f"visitor-{i}"} for i in range(200)]
    second = [{"message_id": f"b{i}", "type": "page_view", "anonymous_id": f"visitor-{i}"} for i in range(200)]
    replies = ingest_concurrently(tmp_path, first, second)
    assert [reply["accepted"] for reply in replies] == [200, 200]
    assert Lead.objects.count() == 200
    assert StageTransition.objects.filter(kind="created").count() == 200
    assert all(lead.events.count() == 2 for lead in Lead.objects.prefetch_related("events"))
