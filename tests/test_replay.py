"""`manage.py replay --from <URL>` rebuilds an empty database from a small history
(events, a rule change with its full rescore, a rep's accept and reject, more events)
and finds every lead's score, system-made transitions and alerts identical."""

import subprocess
import sys

import psycopg2
import pytest
from django.db import connection

from events.services import ingest_batch
from leads.models import Lead
from sales.models import SalesAlert
from sales.services import accept_alert, reject_alert
from scoring.models import RescoreJob, ScoringRule
from scoring.rules import install_default_rules, update_rule
from scoring.services import rescore_leads, run_rescore_job
from tests import factories
from tests.services import need_postgres
from tests.workers import ROOT, worker_env
from tests.workers import test_database_url as source_url

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def post(emails_and_urls):
    items = [{"type": kind, "email": email, "properties": properties} for email, kind, properties in emails_and_urls]
    ingest_batch(items=items, api_key=None)
    # What a worker does when the marks come due, without waiting for the burst to settle.
    rescore_leads(lead_ids=Lead.objects.values_list("pk", flat=True), cause="events")


def small_history():
    install_default_rules()
    rep = factories.sales_rep(username="replay-rep")
    demo = ("form_submitted", {"form": "demo-request"})
    pricing = ("page_view", {"url": "/pricing"})
    blog = ("page_view", {"url": "/blog/a"})
    post(
        [(f"hot-{n}@replay.example", *demo) for n in range(6)] + [(f"cold-{n}@replay.example", *blog) for n in range(6)]
    )
    post([(f"hot-{n}@replay.example", *pricing) for n in range(6)] * 2)
    alerts = list(SalesAlert.objects.order_by("lead__email"))
    accept_alert(alert=alerts[0], user=rep)
    reject_alert(alert=alerts[1], user=rep, reason_code="bad_timing")
    blog_rule = ScoringRule.objects.get(label="Blog view")
    update_rule(rule=blog_rule, changes={"points": 30}, user=rep)
    for job in RescoreJob.objects.all():
        run_rescore_job(job_id=job.pk)
    post(
        [(f"cold-{n}@replay.example", *pricing) for n in range(3)]
        + [(f"hot-{n}@replay.example", *blog) for n in range(6)]
    )
    return len(alerts)


@pytest.fixture
def empty_database():
    url = source_url()
    name = f"{connection.settings_dict['NAME']}_replay"
    admin = psycopg2.connect(url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_replaying_a_small_history_into_an_empty_database_gives_identical_scores_transitions_and_alerts(empty_database):
    need_postgres()
    alerts = small_history()
    assert alerts >= 6
    replayed = subprocess.run(
        [sys.executable, "manage.py", "replay", "--from", source_url()],
        cwd=ROOT,
        env=worker_env(DATABASE_URL=empty_database),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert replayed.returncode == 0, replayed.stderr
    lines = replayed.stdout.strip().splitlines()
    assert "leads compared 12, identical 12" in lines[-2]
    assert lines[-1] == "identical 1.000", replayed.stdout


def test_replay_refuses_a_database_that_already_holds_leads(lead):
    need_postgres()
    replayed = subprocess.run(
        [sys.executable, "manage.py", "replay", "--from", source_url()],
        cwd=ROOT,
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert replayed.returncode != 0
    assert "must be empty or new" in replayed.stderr
