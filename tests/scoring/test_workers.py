"""Real worker processes: a worker killed mid-rescore and a broker that is down while
leads are marked lose nothing; every score ends equal to the reference and every
crossing has exactly one alert."""

import subprocess
import sys
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from events.models import EngagementEvent
from leads.models import Lead
from leads.stages import Stage
from sales.models import SalesAlert
from scoring.models import RescoreMark, ScoreChange
from scoring.rules import install_default_rules
from scoring.services import compute_score, mark_for_rescore
from tests.services import need_postgres, need_redis
from tests.workers import ROOT, start_worker, stop_worker, wait_for, worker_env

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def leads_with_events(count: int, *, ready_every: int) -> list[int]:
    """`count` identified leads in bulk; every `ready_every`-th has a demo request and two
    pricing views (52 points: a crossing), the others a blog or pricing view or two."""
    now = timezone.now()
    leads = Lead.objects.bulk_create(
        [Lead(email=f"worker-{n}@example.com", stage=Stage.LEAD_GEN, job_title="Analyst") for n in range(count)]
    )
    events = []
    for n, lead in enumerate(leads):
        kinds = [("form_submitted", {"form": "demo-request"}), ("page_view", {"url": "/pricing"})]
        if n % ready_every == 0:
            kinds.append(("page_view", {"url": "/pricing"}))
        else:
            kinds = [("page_view", {"url": "/blog/x" if n % 2 else "/pricing"})] * (1 + n % 2)
        for index, (event_type, properties) in enumerate(kinds):
            events.append(
                EngagementEvent(
                    message_id=f"w-{lead.pk}-{index}",
                    lead=lead,
                    type=event_type,
                    occurred_at=now - timedelta(hours=index + 1),
                    properties=properties,
                )
            )
    EngagementEvent.objects.bulk_create(events, batch_size=2000)
    return [lead.pk for lead in leads]


def assert_every_score_is_the_reference_and_every_crossing_alerted_once(lead_ids):
    crossings = 0
    for lead in Lead.objects.filter(pk__in=lead_ids):
        last = ScoreChange.objects.filter(lead=lead).order_by("-at", "-id").first()
        as_of = last.at if last else timezone.now()
        expected = compute_score(lead=lead, as_of=as_of).score
        assert lead.score == expected, f"lead {lead.pk}: stored {lead.score}, reference {expected}"
        alerts = SalesAlert.objects.filter(lead=lead).count()
        if expected >= 50:
            crossings += 1
            assert (lead.stage, alerts) == (Stage.MQL, 1), f"lead {lead.pk}"
        else:
            assert alerts == 0
    assert crossings > 0


def no_pending_marks():
    return not RescoreMark.pending().exists()


def test_a_worker_killed_mid_rescore_leaves_its_leads_to_the_next_worker():
    need_postgres()
    install_default_rules()
    lead_ids = leads_with_events(800, ready_every=4)
    # One chunk holds every lead, so the kill lands inside its one transaction.
    env = {"FUNNEL_RESCORE_CHUNK": "5000", "FUNNEL_RESCORE_LEASE_SECONDS": "3"}
    with transaction.atomic():
        mark_for_rescore(lead_ids=lead_ids)

    first = start_worker(**env)
    try:
        assert wait_for(lambda: RescoreMark.objects.filter(leased_until__isnull=False).exists(), timeout=40)
        wait_for(lambda: False, timeout=0.2)  # into the rescore of the chunk (800 leads, 200 crossings)
    finally:
        stop_worker(first, kill=True)
    assert RescoreMark.pending().count() == len(lead_ids), "the kill came after the rescore committed"
    assert not SalesAlert.objects.exists()

    with transaction.atomic():
        mark_for_rescore(lead_ids=lead_ids[:100])  # a repeat mark for some leads changes nothing
    second = start_worker(**env)
    try:
        assert wait_for(no_pending_marks, timeout=40)
    finally:
        stop_worker(second)
    assert_every_score_is_the_reference_and_every_crossing_alerted_once(lead_ids)


def test_leads_marked_while_the_broker_is_down_are_rescored_once_a_worker_sweeps():
    need_redis()
    install_default_rules()
    lead_ids = leads_with_events(300, ready_every=3)
    # The producer is another process whose broker is a closed port: the doorbell is lost.
    producer = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup()\n"
            "from django.db import transaction\n"
            "from scoring.services import mark_for_rescore\n"
            "with transaction.atomic():\n"
            f"    mark_for_rescore(lead_ids={lead_ids!r})\n",
        ],
        cwd=ROOT,
        env={**worker_env(REDIS_URL="redis://127.0.0.1:9/0"), "DJANGO_SETTINGS_MODULE": "funnel.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert producer.returncode == 0, producer.stderr
    assert "the sweep will catch up" in producer.stderr
    assert RescoreMark.pending().count() == len(lead_ids)

    worker = start_worker()
    try:
        assert wait_for(no_pending_marks, timeout=40)
    finally:
        stop_worker(worker)
    assert_every_score_is_the_reference_and_every_crossing_alerted_once(lead_ids)
