import pytest

from leads.models import Lead
from tests.factories import LeadFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_the_api_gives_likelihood_and_reasons_and_orders_leads_by_likelihood(api_as):
    low, high, none = LeadFactory(), LeadFactory(), LeadFactory()
    reasons = [{"feature": "pricing_7d_2", "label": "Pricing page 2–3× in 7 days", "contribution": 0.9}]
    Lead.objects.filter(pk=low.pk).update(likelihood=0.05)
    Lead.objects.filter(pk=high.pk).update(likelihood=0.6, likelihood_reasons=reasons)
    client = api_as("leads:read")
    listed = client.get("/api/v1/leads?ordering=-likelihood").json()
    assert [row["id"] for row in listed["results"]] == [high.pk, low.pk, none.pk]
    detail = client.get(f"/api/v1/leads/{high.pk}").json()
    assert detail["likelihood"] == 0.6 and detail["likelihood_reasons"] == reasons


def test_the_openapi_schema_documents_likelihood_and_its_ordering(client):
    schema = client.get("/api/schema/?format=json").json()
    detail = schema["components"]["schemas"]["LeadDetail"]["properties"]
    assert "likelihood" in detail and "likelihood_reasons" in detail
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/leads"]["get"]["parameters"]}
    assert "-likelihood" in parameters["ordering"]["schema"]["enum"]
