"""`manage.py replay --from <URL>` rebuilds an empty database from a small history
(events, a rule change with its full rescore, a rep's accept and reject, more events)
and finds every lead's score, system-made transitions and alerts identical; and the
cases that need more than events and stage moves: a lead re-armed by a rescore that left
its score unchanged, a merge, an erasure, and the sales decisions replayed as such."""

import subprocess
import sys

import psycopg2
import pytest
from django.db import connection

from events.services import ingest_batch
from funnel.load import generate_load
from leads.actors import Actor
from leads.lifecycle import lose_lead, qualify_lead, send_back_to_nurture, win_lead
from leads.models import Lead
from leads.services import erase_lead, merge_leads
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


def run_replay(target_url: str) -> list[str]:
    replayed = subprocess.run(
        [sys.executable, "manage.py", "replay", "--from", source_url()],
        cwd=ROOT,
        env=worker_env(DATABASE_URL=target_url),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert replayed.returncode == 0, replayed.stderr
    return replayed.stdout.strip().splitlines()


def rows_of(url: str, query: str) -> list[tuple]:
    database = psycopg2.connect(url)
    try:
        with database.cursor() as cursor:
            cursor.execute(query)
            return cursor.fetchall()
    finally:
        database.close()


def rescore_all_with_demo_request_at(points: int, *, user):
    update_rule(rule=ScoringRule.objects.get(label="Demo request"), changes={"points": points}, user=user)
    for job in RescoreJob.objects.filter(finished_at__isnull=True):
        run_rescore_job(job_id=job.pk)


def test_replaying_a_small_history_into_an_empty_database_gives_identical_scores_transitions_and_alerts(empty_database):
    need_postgres()
    alerts = small_history()
    assert alerts >= 6
    lines = run_replay(empty_database)
    assert "leads compared 12, identical 12" in lines[-2], lines
    assert lines[-1] == "identical 1.000", lines


def test_a_lead_rearmed_by_a_rescore_that_left_its_score_unchanged_crosses_again_in_the_replay(empty_database):
    need_postgres()
    install_default_rules()
    rep = factories.sales_rep(username="replay-rep")
    post([("again@replay.example", "form_submitted", {"form": "demo-request"})])
    post([("again@replay.example", "page_view", {"url": "/pricing"})] * 2)
    accept_alert(alert=SalesAlert.objects.get(), user=rep)
    rescore_all_with_demo_request_at(5, user=rep)  # 17: below the recycle threshold, in SAL
    lead = Lead.objects.get(email="again@replay.example")
    send_back_to_nurture(lead=lead, user=rep, reason_code="bad_timing")  # disarmed at 17
    post([("again@replay.example", "page_view", {"url": "/about"})])  # rescored, still 17: re-armed
    rescore_all_with_demo_request_at(40, user=rep)  # 52: crosses a second time
    assert SalesAlert.objects.filter(lead=lead).count() == 2

    lines = run_replay(empty_database)

    assert lines[-1] == "identical 1.000", lines
    assert rows_of(empty_database, "SELECT crossing FROM sales_salesalert ORDER BY crossing") == [(1,), (2,)]


def test_a_merge_is_replayed_at_its_moment_so_both_leads_keep_their_own_crossings(empty_database):
    need_postgres()
    install_default_rules()
    post([("survivor@replay.example", "page_view", {"url": "/blog/a"})])
    post(
        [("merged@replay.example", "form_submitted", {"form": "demo-request"})]
        + [("merged@replay.example", "page_view", {"url": "/pricing"})] * 2
    )
    survivor = Lead.objects.get(email="survivor@replay.example")
    merged = Lead.objects.get(email="merged@replay.example")
    merge_leads(survivor=survivor, merged=merged, actor=Actor.system("test"))
    post([("survivor@replay.example", "page_view", {"url": "/pricing"})])
    assert SalesAlert.objects.filter(lead=merged).count() == 1

    lines = run_replay(empty_database)

    assert "leads compared 2, identical 2" in lines[-2], lines
    assert lines[-1] == "identical 1.000", lines
    assert rows_of(empty_database, f"SELECT merged_into_id FROM leads_lead WHERE id = {merged.pk}") == [(survivor.pk,)]


def test_an_erased_lead_is_compared_as_erased(empty_database):
    need_postgres()
    install_default_rules()
    rep = factories.sales_rep(username="replay-rep")
    post(
        [(f"{name}@replay.example", "form_submitted", {"form": "demo-request"}) for name in ("kept", "erased")]
        + [(f"{name}@replay.example", "page_view", {"url": "/pricing"}) for name in ("kept", "erased")] * 2
    )
    erased = Lead.objects.get(email="erased@replay.example")
    accept_alert(alert=SalesAlert.objects.get(lead=erased), user=rep)
    erase_lead(lead=erased, actor=Actor.for_user(rep))
    post([("kept@replay.example", "page_view", {"url": "/pricing"})])

    lines = run_replay(empty_database)

    assert "leads compared 2, identical 2" in lines[-2], lines
    assert lines[-1] == "identical 1.000", lines
    assert rows_of(empty_database, f"SELECT erased_at IS NOT NULL FROM leads_lead WHERE id = {erased.pk}") == [(True,)]


def test_sales_decisions_are_replayed_as_such_so_alerts_and_deals_end_in_the_same_states(empty_database):
    need_postgres()
    install_default_rules()
    rep = factories.sales_rep(username="replay-rep")
    post([(f"hot-{n}@replay.example", "form_submitted", {"form": "demo-request"}) for n in range(4)])
    post([(f"hot-{n}@replay.example", "page_view", {"url": "/pricing"}) for n in range(4)] * 2)
    alerts = list(SalesAlert.objects.order_by("lead__email"))
    reject_alert(alert=alerts[0], user=rep, reason_code="bad_timing", note="call in spring")
    for alert in alerts[1:]:
        accept_alert(alert=alert, user=rep)
    won, lost = alerts[1].lead, alerts[2].lead
    for lead in (won, lost):
        qualify_lead(lead=lead, user=rep, deal={"value": "1200.00", "currency": "EUR"})
    win_lead(lead=won, user=rep, value="1500.00")
    lose_lead(lead=lost, user=rep, reason_code="bad_timing")

    lines = run_replay(empty_database)

    assert lines[-1] == "identical 1.000", lines
    statuses = "SELECT lead_id, status, reject_reason FROM sales_salesalert ORDER BY lead_id"
    assert rows_of(empty_database, statuses) == rows_of(source_url(), statuses)
    deals = "SELECT lead_id, cycle, status, value, currency FROM leads_deal ORDER BY lead_id"
    assert rows_of(empty_database, deals) == rows_of(source_url(), deals)


def test_a_history_loaded_by_generate_load_replays_identically(empty_database):
    """generate_load writes stage paths directly (jumps without a reason, recycles not
    counted): the replay leaves what the loader left, and the scorer then agrees."""
    need_postgres()
    install_default_rules()
    generate_load(leads=300, events=3000, seed=7)
    rescore_leads(lead_ids=Lead.objects.values_list("pk", flat=True), cause="rescore --all")
    assert SalesAlert.objects.exists()

    lines = run_replay(empty_database)

    assert lines[-2:] == ["leads compared 300, identical 300", "identical 1.000"], lines[-8:]


def test_the_replay_names_each_lead_that_differs_and_in_what(empty_database):
    need_postgres()
    install_default_rules()
    post([(f"lead-{n}@replay.example", "form_submitted", {"form": "demo-request"}) for n in range(3)])
    tampered = Lead.objects.get(email="lead-1@replay.example")
    Lead.objects.filter(pk=tampered.pk).update(score=99)  # not what its events give

    lines = run_replay(empty_database)

    assert f"  lead {tampered.pk} differs in score: source 99 · replay 40" in lines
    assert "leads differing, by what differs: score 1" in lines
    assert lines[-2:] == ["leads compared 3, identical 2", "identical 0.667"]


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
