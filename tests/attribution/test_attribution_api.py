"""GET /api/v1/analytics/attribution and GET|POST /api/v1/campaign-spend (CONTRACT.md)."""

from datetime import date

import pytest

from attribution.models import AttributionChange, CampaignSpend
from tests import factories

pytestmark = pytest.mark.django_db
MARCH = "from=2026-03-01&to=2026-03-31"


def test_reply_has_exactly_the_contract_shape(session_as, marketer, refreshed):
    reply = session_as(marketer).get(f"/api/v1/analytics/attribution?model=w_shaped&milestone=mql&by=campaign&{MARCH}")
    assert reply.status_code == 200
    body = reply.json()
    assert set(body) == {"model", "milestone", "by", "from", "to", "conversions", "rows"}
    assert (body["model"], body["milestone"], body["by"], body["from"], body["to"]) == (
        "w_shaped",
        "mql",
        "campaign",
        "2026-03-01",
        "2026-03-31",
    )
    for row in body["rows"]:
        assert set(row) == {"key", "credit", "revenue", "spend", "cost_per_conversion", "roi"}


@pytest.mark.parametrize(
    "model", ["first_touch", "last_touch", "linear", "time_decay", "u_shaped", "w_shaped", "full_path"]
)
@pytest.mark.parametrize("by", ["campaign", "channel", "source"])
def test_credits_of_every_model_sum_to_the_conversions(session_as, marketer, refreshed, model, by):
    body = session_as(marketer).get(f"/api/v1/analytics/attribution?model={model}&milestone=mql&by={by}&{MARCH}").json()
    assert body["conversions"] == 2  # Anna's and Ben's MQLs
    assert sum(row["credit"] for row in body["rows"]) == pytest.approx(2.0, abs=1e-5)


def test_a_conversion_without_touches_is_credited_to_direct(session_as, marketer, refreshed):
    body = session_as(marketer).get(f"/api/v1/analytics/attribution?model=linear&milestone=mql&{MARCH}").json()
    assert {"key": "Direct", "credit": 1.0} in [{"key": r["key"], "credit": r["credit"]} for r in body["rows"]]


def test_spend_gives_cost_per_conversion_and_return(session_as, marketer, refreshed):
    CampaignSpend.objects.create(campaign="spring", month=date(2026, 3, 1), amount=2000)
    body = (
        session_as(marketer).get(f"/api/v1/analytics/attribution?model=first_touch&milestone=customer&{MARCH}").json()
    )
    spring = next(row for row in body["rows"] if row["key"] == "spring")
    # First touch: the whole 10,000 deal is spring's; March's 2,000 all falls in the range.
    assert spring == {
        "key": "spring",
        "credit": 1.0,
        "revenue": 10000.0,
        "spend": 2000.0,
        "cost_per_conversion": 2000.0,
        "roi": 4.0,
    }


def test_spend_of_a_month_half_in_the_range_counts_half(session_as, marketer, refreshed):
    CampaignSpend.objects.create(campaign="spring", month=date(2026, 4, 1), amount=3000)
    body = session_as(marketer).get("/api/v1/analytics/attribution?from=2026-03-01&to=2026-04-15").json()
    assert next(row for row in body["rows"] if row["key"] == "spring")["spend"] == 1500.0


def test_an_unknown_model_is_a_400_naming_the_field(session_as, marketer):
    reply = session_as(marketer).get("/api/v1/analytics/attribution?model=magic")
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "invalid"
    assert "model" in reply.json()["error"]["fields"]


def test_the_path_with_a_trailing_slash_is_the_same_view(session_as, marketer):
    assert session_as(marketer).get("/api/v1/analytics/attribution/").status_code == 200


def test_a_sales_rep_may_not_read_attribution(session_as, rep1):
    assert session_as(rep1).get("/api/v1/analytics/attribution").status_code == 403


def test_no_key_is_401_with_bearer_challenge(client):
    reply = client.get("/api/v1/analytics/attribution")
    assert reply.status_code == 401
    assert reply["WWW-Authenticate"].startswith("Bearer")


def test_a_key_with_leads_read_may_read(api_as):
    assert api_as("leads:read").get("/api/v1/analytics/attribution").status_code == 200


def test_a_key_without_leads_read_is_403(api_as):
    assert api_as("events:write").get("/api/v1/analytics/attribution").status_code == 403


def test_marketer_enters_spend_through_the_api_with_a_trail_row(session_as, marketer):
    reply = session_as(marketer).post(
        "/api/v1/campaign-spend",
        {"campaign": "Spring Sale", "month": "2026-03", "amount": 1250.5, "channel": "Paid search"},
        format="json",
    )
    assert reply.status_code == 201
    assert reply.json()["campaign"] == "spring sale"
    assert reply.json()["month"] == "2026-03"
    assert CampaignSpend.objects.get().amount == 1250.5
    assert AttributionChange.objects.get().user == marketer


def test_entering_a_months_spend_again_replaces_it(session_as, marketer):
    client = session_as(marketer)
    for amount in (100, 250):
        client.post(
            "/api/v1/campaign-spend", {"campaign": "spring", "month": "2026-03", "amount": amount}, format="json"
        )
    assert list(CampaignSpend.objects.values_list("amount", flat=True)) == [250]
    assert AttributionChange.objects.count() == 2


def test_negative_spend_is_a_400_naming_the_field(session_as, marketer):
    reply = session_as(marketer).post(
        "/api/v1/campaign-spend", {"campaign": "spring", "month": "March", "amount": -5}, format="json"
    )
    assert reply.status_code == 400
    assert set(reply.json()["error"]["fields"]) == {"month", "amount"}


def test_a_manager_reads_spend_but_may_not_enter_it(session_as, manager):
    client = session_as(manager)
    assert client.get("/api/v1/campaign-spend").status_code == 200
    reply = client.post("/api/v1/campaign-spend", {"campaign": "x", "month": "2026-03", "amount": 1}, format="json")
    assert reply.status_code == 403


def test_a_key_needs_leads_write_to_enter_spend(api_as):
    body = {"campaign": "x", "month": "2026-03", "amount": 1}
    assert api_as("leads:read").post("/api/v1/campaign-spend", body, format="json").status_code == 403
    assert api_as("leads:write").post("/api/v1/campaign-spend", body, format="json").status_code == 201


def test_a_key_bound_to_a_rep_may_not_enter_spend(api_as):
    rep = factories.sales_rep()
    body = {"campaign": "x", "month": "2026-03", "amount": 1}
    assert api_as("leads:write", user=rep).post("/api/v1/campaign-spend", body, format="json").status_code == 403
