import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.actors import Actor
from leads.models import Deal, Lead
from leads.services import create_lead, move_lead
from leads.stages import Stage

pytestmark = pytest.mark.django_db

system = Actor.system("test")


def make_leads(count, **fields):
    return [create_lead(actor=system, email=f"p{Lead.objects.count()}-{i}@example.com", **fields) for i in range(count)]


@pytest.mark.smoke
def test_board_shows_counts_from_the_summary_and_the_top_leads(client, marketer):
    lead = create_lead(actor=system, email="ada@example.com", first_name="Ada", source="webinar")
    move_lead(lead=lead, to=Stage.NURTURE, actor=system)
    make_leads(2)
    client.force_login(marketer)
    response = client.get("/pipeline/")
    counts = {column["stage"]: column["count"] for column in response.context["columns"]}
    assert (counts[Stage.LEAD_GEN], counts[Stage.NURTURE]) == (2, 1)
    assert b"Ada" in response.content


def test_board_filters_by_source_and_date(client, marketer):
    make_leads(2, source="webinar")
    make_leads(1, source="ads")
    client.force_login(marketer)
    response = client.get("/pipeline/", {"source": "ads", "created_from": "2000-01-01"})
    counts = {column["stage"]: column["count"] for column in response.context["columns"]}
    assert counts[Stage.LEAD_GEN] == 1


def test_board_with_an_inverted_date_range_explains_the_problem(client, marketer):
    client.force_login(marketer)
    response = client.get("/pipeline/", {"created_from": "2026-02-01", "created_to": "2026-01-01"})
    assert response.status_code == 200
    assert b"The end date is before the start date." in response.content


def test_sales_rep_cannot_open_the_board(client, rep1):
    client.force_login(rep1)
    assert client.get("/pipeline/").status_code == 403


@pytest.mark.parametrize("count", [3, 30])
def test_board_query_count_does_not_grow_with_the_leads(client, marketer, count, django_assert_num_queries):
    make_leads(count, source="webinar", utm_campaign="spring")
    client.force_login(marketer)
    client.get("/pipeline/")  # warm the session
    with CaptureQueriesContext(connection) as queries:
        client.get("/pipeline/", {"source": "webinar"})
    # PostgreSQL reads the source and campaign choices from the cache on a repeat view
    # (one query for the cache key); SQLite reads them (one query): the same count.
    assert len(queries) == 13, [q["sql"][:80] for q in queries.captured_queries]


def test_a_new_source_is_a_filter_choice_at_once_after_the_choices_were_cached(client, marketer):
    make_leads(1, source="webinar", utm_campaign="spring")
    client.force_login(marketer)
    client.get("/pipeline/")
    make_leads(1, source="podcast", utm_campaign="autumn")
    form = client.get("/leads/").context["form"]
    assert ("podcast", "podcast") in form.fields["source"].choices
    assert ("autumn", "autumn") in form.fields["campaign"].choices


def test_moving_a_lead_back_to_nurture_without_a_reason_shows_the_rule_next_to_the_field(client, marketer):
    lead = make_leads(1)[0]
    move_lead(lead=lead, to=Stage.MQL, actor=system, reason="test")
    client.force_login(marketer)
    response = client.post(f"/leads/{lead.pk}/move/", {"to": Stage.NURTURE, "reason": ""})
    assert response.status_code == 400
    assert "needs a reason" in response.context["form"].errors["reason"][0]
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL


def test_moving_from_the_board_goes_back_to_the_board_with_the_counts_updated(client, marketer):
    lead = make_leads(1)[0]
    client.force_login(marketer)
    response = client.post(
        f"/leads/{lead.pk}/move/", {"to": Stage.NURTURE, "expected_from": Stage.LEAD_GEN, "next": "/pipeline/"}
    )
    assert response.status_code == 302 and response["Location"] == "/pipeline/"
    counts = {c["stage"]: c["count"] for c in client.get("/pipeline/").context["columns"]}
    assert counts[Stage.NURTURE] == 1


def test_a_move_refused_by_the_rules_shows_their_message(client, marketer):
    lead = make_leads(1)[0]
    move_lead(lead=lead, to=Stage.NURTURE, actor=system)
    client.force_login(marketer)
    # The page was opened while the lead was still at lead generation.
    response = client.post(f"/leads/{lead.pk}/move/", {"to": Stage.MQL, "expected_from": Stage.LEAD_GEN})
    assert response.status_code == 400
    assert "is at Nurture now" in response.content.decode()


def test_qualifying_a_lead_from_the_pages_opens_its_deal(client, manager):
    lead = make_leads(1)[0]
    for stage in (Stage.NURTURE, Stage.MQL, Stage.SAL):
        move_lead(lead=lead, to=stage, actor=system)
    client.force_login(manager)
    client.post(f"/leads/{lead.pk}/move/", {"to": Stage.SQL})
    assert Deal.objects.filter(lead=lead, cycle=1).exists()


def test_a_marketer_is_told_that_sales_moves_belong_to_sales(client, marketer):
    lead = make_leads(1)[0]
    for stage in (Stage.NURTURE, Stage.MQL):
        move_lead(lead=lead, to=stage, actor=system)
    client.force_login(marketer)
    response = client.post(f"/leads/{lead.pk}/move/", {"to": Stage.SAL})
    assert response.status_code == 400
    assert response.context["form"].non_field_errors()
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL


def test_move_page_offers_only_the_allowed_targets(client, marketer):
    lead = make_leads(1)[0]
    client.force_login(marketer)
    choices = [value for value, _ in client.get(f"/leads/{lead.pk}/move/").context["form"].fields["to"].choices]
    assert choices == [Stage.NURTURE, Stage.MQL, Stage.SAL, Stage.SQL, Stage.CUSTOMER]


def test_a_one_day_range_shows_the_leads_created_that_day_in_counts_and_cards(client, marketer):
    from datetime import UTC, datetime

    create_lead(actor=system, email="late@example.com", created_at=datetime(2026, 3, 1, 23, 59, tzinfo=UTC))
    create_lead(actor=system, email="next@example.com", created_at=datetime(2026, 3, 2, 0, 0, tzinfo=UTC))
    client.force_login(marketer)
    response = client.get("/pipeline/", {"created_from": "2026-03-01", "created_to": "2026-03-01"})
    column = next(c for c in response.context["columns"] if c["stage"] == Stage.LEAD_GEN)
    assert column["count"] == 1
    assert [lead.email for lead in column["leads"]] == ["late@example.com"]
