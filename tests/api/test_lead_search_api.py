"""`GET /api/v1/leads?search=` finds people by the same rules as the lead list page."""

import pytest

from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def umar(db):
    LeadFactory(first_name="Ada", last_name="Lovelace", company="Analytical Engines", job_title="Engineer")
    return LeadFactory(first_name="Umar", last_name="Tanaka", company="Orbital Freight", job_title="Founder")


@pytest.mark.parametrize("text", ["Umar Tanaka", "tanaka umar", "founder", "orbital"])
def test_the_api_search_finds_the_same_person(api_as, umar, text):
    body = api_as("leads:read").get("/api/v1/leads", {"search": text}).json()
    assert [row["id"] for row in body["results"]] == [umar.pk]
