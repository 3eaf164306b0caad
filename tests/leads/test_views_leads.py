import csv
import io

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from events.models import EngagementEvent
from leads.actors import Actor
from leads.models import Lead, LeadMerge
from leads.services import create_lead, move_lead
from leads.stages import Stage
from tests.factories import ActivityFactory, DealFactory, LeadFactory
from tests.sales.conftest import make_alert

pytestmark = pytest.mark.django_db

system = Actor.system("test")


def add_events(lead, count):
    from django.utils import timezone

    EngagementEvent.objects.bulk_create(
        EngagementEvent(
            message_id=f"m-{lead.pk}-{i}",
            lead=lead,
            type="page_view",
            occurred_at=timezone.now(),
            properties={"url": f"/pricing/{i}"},
        )
        for i in range(count)
    )


def export_rows(response):
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


# --- List ----------------------------------------------------------------------


@pytest.mark.smoke
def test_list_search_finds_a_lead_by_company(client, marketer):
    LeadFactory(company="Acme Rockets")
    LeadFactory(company="Globex")
    client.force_login(marketer)
    response = client.get("/leads/", {"q": "rocket"})
    assert [lead.company for lead in response.context["page"].leads] == ["Acme Rockets"]


def test_list_filters_by_stage_and_score_range(client, marketer):
    LeadFactory(stage=Stage.MQL, score=70)
    LeadFactory(stage=Stage.MQL, score=20)
    LeadFactory(stage=Stage.NURTURE, score=70)
    client.force_login(marketer)
    response = client.get("/leads/", {"stage": "mql", "score_min": 50})
    assert [(lead.stage, lead.score) for lead in response.context["page"].leads] == [("mql", 70)]


def test_cursor_pages_walk_every_lead_once_in_score_order(client, marketer):
    leads = LeadFactory.create_batch(120, score=5)  # ties on score: the id breaks them
    client.force_login(marketer)
    seen, url, params = [], "/leads/", {"sort": "-score"}
    while True:
        response = client.get(url, params)
        seen += [lead.pk for lead in response.context["page"].leads]
        if not response.context["next_query"]:
            break
        url, params = "/leads/?" + response.context["next_query"], None
    assert sorted(seen) == sorted(lead.pk for lead in leads)
    assert len(seen) == len(set(seen))


def test_a_tampered_cursor_shows_the_first_page_with_a_message(client, marketer):
    LeadFactory()
    client.force_login(marketer)
    response = client.get("/leads/", {"after": "not-a-cursor"})
    assert response.status_code == 200
    assert b"no longer valid" in response.content


def test_invalid_filter_values_are_shown_next_to_the_field_not_a_500(client, marketer):
    client.force_login(marketer)
    response = client.get("/leads/", {"score_min": "lots", "created_from": "yesterday"})
    assert response.status_code == 200
    assert "score_min" in response.context["form"].errors


@pytest.mark.parametrize("count", [3, 30])
def test_list_query_count_does_not_grow_with_the_leads(client, marketer, count, rep1):
    LeadFactory.create_batch(count, owner=rep1)
    client.force_login(marketer)
    client.get("/leads/")
    with CaptureQueriesContext(connection) as queries:
        client.get("/leads/", {"q": "example"})
    # A first page that holds every match is its own count: no COUNT (PostgreSQL still
    # asks the planner's estimate, so the count of queries does not depend on the matches;
    # it reads the cached source and campaign choices). SQLite has no estimate to ask.
    expected = 8 if connection.vendor == "postgresql" else 7
    assert len(queries) == expected, [q["sql"][:80] for q in queries.captured_queries]


@pytest.mark.parametrize("count", [51, 60])
def test_a_full_list_page_adds_only_the_estimate_and_a_small_exact_count(client, marketer, count):
    LeadFactory.create_batch(count)
    client.force_login(marketer)
    client.get("/leads/")
    with CaptureQueriesContext(connection) as queries:
        html = client.get("/leads/").content.decode()
    # The planner's estimate (PostgreSQL) and, as the result is small, the exact COUNT;
    # the filter choices come from the cache. SQLite has no estimate to ask.
    expected = 9 if connection.vendor == "postgresql" else 8
    assert len(queries) == expected, [q["sql"][:80] for q in queries.captured_queries]
    assert f"{count} leads" in html


def test_a_rep_lists_only_their_leads_and_unassigned_mqls(client, rep1, rep2):
    mine = LeadFactory(owner=rep1, stage=Stage.SAL)
    waiting = make_alert(unassigned=True).lead
    LeadFactory(owner=rep2, stage=Stage.SAL)
    LeadFactory(stage=Stage.NURTURE)
    client.force_login(rep1)
    listed = {lead.pk for lead in client.get("/leads/").context["page"].leads}
    assert listed == {mine.pk, waiting.pk}


def test_a_rep_gets_404_for_another_reps_lead(client, rep1, rep2):
    theirs = LeadFactory(owner=rep2, stage=Stage.SAL)
    client.force_login(rep1)
    assert client.get(f"/leads/{theirs.pk}/").status_code == 404


def test_a_rep_cannot_edit_a_lead(client, rep1):
    lead = LeadFactory(owner=rep1, stage=Stage.SAL)
    client.force_login(rep1)
    assert client.post(f"/leads/{lead.pk}/edit/", {"email": "x@example.com"}).status_code == 403


# --- Export --------------------------------------------------------------------


def test_export_streams_the_filtered_list(client, marketer):
    LeadFactory(company="Acme", stage=Stage.MQL)
    LeadFactory(company="Globex", stage=Stage.NURTURE)
    client.force_login(marketer)
    response = client.get("/leads/export.csv", {"stage": "mql"})
    assert response.streaming
    rows = export_rows(response)
    assert rows[0][:3] == ["id", "email", "first_name"]
    assert [row[4] for row in rows[1:]] == ["Acme"]


@pytest.mark.smoke
def test_export_neutralises_cells_a_spreadsheet_would_run_as_formulas(client, marketer):
    LeadFactory(
        company='=HYPERLINK("http://evil.example","click")', first_name="@SUM(A1)", last_name="+1", job_title="\tx"
    )
    client.force_login(marketer)
    row = export_rows(client.get("/leads/export.csv"))[1]
    assert row[2] == "'@SUM(A1)" and row[3] == "'+1"
    assert row[4].startswith("'=HYPERLINK")
    assert row[5] == "'\tx"


def test_a_rep_cannot_export(client, rep1):
    client.force_login(rep1)
    assert client.get("/leads/export.csv").status_code == 403


# --- Bulk actions ----------------------------------------------------------------


def test_bulk_move_reports_each_leads_outcome(client, marketer):
    movable = create_lead(actor=system, email="a@example.com")
    stuck = create_lead(actor=system, email="b@example.com")
    move_lead(lead=stuck, to=Stage.NURTURE, actor=system)
    client.force_login(marketer)
    response = client.post("/leads/bulk/", {"action": "move", "to": Stage.NURTURE, "leads": [movable.pk, stuck.pk]})
    outcomes = {outcome.lead_id: outcome for outcome in response.context["outcomes"]}
    assert outcomes[movable.pk].ok
    assert not outcomes[stuck.pk].ok and "already at Nurture" in outcomes[stuck.pk].message
    movable.refresh_from_db()
    assert movable.stage == Stage.NURTURE


def test_bulk_assign_gives_the_leads_an_owner(client, marketer, rep1):
    leads = [create_lead(actor=system, email=f"{n}@example.com") for n in range(2)]
    client.force_login(marketer)
    client.post("/leads/bulk/", {"action": "assign", "owner": str(rep1.pk), "leads": [lead.pk for lead in leads]})
    assert set(Lead.objects.values_list("owner_id", flat=True)) == {rep1.pk}


def test_bulk_action_without_leads_says_so(client, marketer):
    client.force_login(marketer)
    response = client.post("/leads/bulk/", {"action": "assign", "owner": "none"}, follow=True)
    assert b"Pick at least one lead." in response.content


def test_bulk_action_is_refused_without_a_csrf_token(marketer):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(marketer)
    assert browser.post("/leads/bulk/", {"action": "assign", "owner": "none"}).status_code == 403


# --- Detail ----------------------------------------------------------------------


def test_detail_shows_the_stage_path_deal_and_timeline(client, marketer):
    deal = DealFactory(value=12000, currency="EUR")
    lead = deal.lead
    ActivityFactory(lead=lead, outcome="Talked about pricing")
    add_events(lead, 2)
    client.force_login(marketer)
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "Sales qualified (SQL)" in page
    assert "12,000 EUR" in page
    assert "Talked about pricing" in page
    assert "/pricing/1" in page


def test_detail_of_an_unscored_lead_says_so(client, marketer, lead):
    client.force_login(marketer)
    assert b"Not scored yet." in client.get(f"/leads/{lead.pk}/").content


def add_score_changes(lead, scores):
    from datetime import timedelta

    from django.utils import timezone

    from scoring.models import ScoreChange

    start = timezone.now() - timedelta(days=len(scores))
    contributions = [
        {
            "rule_id": 1,
            "version": 1,
            "label": "Visited pricing",
            "kind": "behaviour",
            "points": 10,
            "value": 9.6,
            "events": 1,
            "capped": False,
        }
    ]
    previous = 0
    for day, score in enumerate(scores):
        ScoreChange.objects.create(
            lead=lead,
            old_score=previous,
            new_score=score,
            contributions=contributions,
            cause="event",
            at=start + timedelta(days=day),
        )
        previous = score
    Lead.objects.filter(pk=lead.pk).update(score=scores[-1])


def test_detail_explains_the_score_and_draws_its_history(client, marketer, lead):
    add_score_changes(lead, [10, 35, 20])
    client.force_login(marketer)
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "Visited pricing" in page
    assert "<polyline" in page and "Score went from 10 to 20 over 3 changes, peaking at 35." in page


@pytest.mark.parametrize("count", [3, 30])
def test_detail_query_count_does_not_grow_with_events_or_activities(client, marketer, count):
    lead = LeadFactory()
    add_events(lead, count)
    ActivityFactory.create_batch(count, lead=lead)
    add_score_changes(lead, list(range(count)))
    client.force_login(marketer)
    client.get(f"/leads/{lead.pk}/")
    with CaptureQueriesContext(connection) as queries:
        client.get(f"/leads/{lead.pk}/")
    # 10 for the page itself (the score's explanation and history in one), 3 for attribution's
    # touch-path panel (transitions and deals in one, touches, channel rules), 1 for the trail
    # of changes on the timeline (leads.trail), one query whatever its length.
    assert len(queries) == 14, [q["sql"][:80] for q in queries.captured_queries]


# --- Create, edit, merge, erase --------------------------------------------------------


@pytest.mark.smoke
def test_creating_a_lead_starts_it_in_lead_generation(client, marketer):
    client.force_login(marketer)
    response = client.post("/leads/new/", {"email": "ada@example.com", "first_name": "Ada", "company": "Analytical"})
    lead = Lead.objects.get(email="ada@example.com")
    assert response["Location"] == f"/leads/{lead.pk}/"
    assert lead.stage == Stage.LEAD_GEN and lead.transitions.count() == 1


def test_an_email_taken_in_another_case_is_refused_next_to_the_field(client, marketer):
    LeadFactory(email="ada@example.com")
    client.force_login(marketer)
    response = client.post("/leads/new/", {"email": "ADA@Example.com"})
    assert response.status_code == 400
    assert response.context["form"].errors["email"] == ["Another lead already has this email address."]


def test_editing_a_lead_saves_only_the_changed_fields(client, marketer, lead):
    client.force_login(marketer)
    data = {
        "email": lead.email,
        "first_name": "Grace",
        "last_name": lead.last_name,
        "company": lead.company,
        "job_title": lead.job_title,
        "country": lead.country,
        "source": lead.source,
    }
    response = client.post(f"/leads/{lead.pk}/edit/", data)
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.first_name == "Grace"


def test_an_invalid_email_on_edit_is_shown_next_to_the_field(client, marketer, lead):
    client.force_login(marketer)
    response = client.post(f"/leads/{lead.pk}/edit/", {"email": "not-an-email"})
    assert response.status_code == 400
    assert "email" in response.context["form"].errors


def test_merging_keeps_both_histories_on_the_survivor(client, marketer):
    survivor, duplicate = LeadFactory(), LeadFactory()
    add_events(duplicate, 2)
    client.force_login(marketer)
    response = client.post(f"/leads/{survivor.pk}/merge/", {"other": duplicate.email.upper(), "keep": "this"})
    assert response["Location"] == f"/leads/{survivor.pk}/"
    assert LeadMerge.objects.filter(survivor=survivor, merged=duplicate).exists()
    assert EngagementEvent.objects.filter(lead=survivor).count() == 2
    path = client.get(f"/leads/{survivor.pk}/").context["stage_path"]
    assert sum(len(cycle["transitions"]) for cycle in path) == 2  # both leads' creations


def test_merging_with_an_unknown_lead_explains_it(client, marketer, lead):
    client.force_login(marketer)
    response = client.post(f"/leads/{lead.pk}/merge/", {"other": "nobody@example.com", "keep": "this"})
    assert response.status_code == 400
    assert response.context["form"].errors["other"] == ["No lead with this id or email address."]


def test_erasing_needs_the_typed_confirmation(client, marketer, lead):
    client.force_login(marketer)
    assert client.post(f"/leads/{lead.pk}/erase/", {"confirm": "yes"}).status_code == 400
    lead.refresh_from_db()
    assert lead.erased_at is None


def test_erasing_removes_personal_data_and_the_lead_from_the_list(client, marketer, lead):
    client.force_login(marketer)
    response = client.post(f"/leads/{lead.pk}/erase/", {"confirm": "ERASE"})
    assert response["Location"] == "/leads/"
    lead.refresh_from_db()
    assert (lead.email, lead.first_name, lead.erased_at is not None) == (None, "", True)
    assert client.get(f"/leads/{lead.pk}/").status_code == 404


def test_a_rep_opens_their_own_lead_with_the_sales_actions_and_no_marketing_ones(client, rep1):
    lead = LeadFactory(owner=rep1, stage=Stage.SAL)
    client.force_login(rep1)
    response = client.get(f"/leads/{lead.pk}/")
    assert response.status_code == 200
    assert response.context["sales_actions"] == "sales/_lead_actions.html"
    assert f"/leads/{lead.pk}/erase/".encode() not in response.content
