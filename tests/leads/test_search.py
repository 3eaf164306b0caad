"""One search for people, used by the lead list page and `GET /api/v1/leads?search=`."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def umar(db):
    LeadFactory(first_name="Ada", last_name="Lovelace", company="Analytical Engines", job_title="Engineer")
    return LeadFactory(
        first_name="Umar",
        last_name="Tanaka",
        email="umar.t@orbital.example",
        company="Orbital Freight",
        job_title="Founder",
    )


def page_names(client, marketer, text):
    client.force_login(marketer)
    response = client.get("/leads/", {"q": text})
    return [f"{lead.first_name} {lead.last_name}" for lead in response.context["page"].leads]


@pytest.mark.parametrize(
    "text",
    ["Umar Tanaka", "tanaka umar", "Tanak", "  umar   tan ", "Orbital", "founder", "umar.t@orbital.example", "orb fou"],
)
def test_the_list_page_finds_a_person_by_name_company_title_or_email(client, marketer, umar, text):
    assert page_names(client, marketer, text) == ["Umar Tanaka"]


def test_every_word_must_match_somewhere(client, marketer, umar):
    assert page_names(client, marketer, "Umar Lovelace") == []


def test_a_search_of_several_words_costs_the_same_queries_as_one(client, marketer, umar):
    client.force_login(marketer)
    client.get("/leads/")  # the filter choices cached, as for both searches below
    with CaptureQueriesContext(connection) as one_word:
        client.get("/leads/", {"q": "umar"})
    with CaptureQueriesContext(connection) as three_words:
        client.get("/leads/", {"q": "umar tanaka founder"})
    assert len(three_words.captured_queries) == len(one_word.captured_queries)


def test_a_word_never_matches_across_the_end_of_one_field_and_the_start_of_the_next(client, marketer, umar):
    assert page_names(client, marketer, "tanakaumar") == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigram index is PostgreSQL's")
def test_each_search_word_is_looked_up_in_the_one_trigram_index_on_postgresql(umar):
    from leads.models import Lead
    from leads.selectors import search_leads

    sql, params = search_leads(Lead.objects.all(), "umar tanaka").query.sql_with_params()
    with connection.cursor() as cursor:
        # A tiny table is read whole (or by another index) by choice; leave only bitmap
        # scans, which need an index whose expression matches the search's.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "lead_search_text_trgm" in plan, plan
