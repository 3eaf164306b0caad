from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import EngagementEvent
from leads.models import Lead
from leads.stages import Stage
from tests.factories import EngagementEventFactory, LeadFactory
from tests.sales.conftest import make_alert

pytestmark = pytest.mark.django_db


@pytest.mark.smoke
def test_a_reader_key_lists_leads_newest_first(api_as):
    older = LeadFactory(created_at=timezone.now() - timedelta(days=2))
    newer = LeadFactory()
    response = api_as("leads:read").get("/api/v1/leads")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [newer.pk, older.pk]
    assert response.json()["next"] is None


def test_the_list_walks_every_lead_once_by_cursor(api_as):
    now = timezone.now()
    leads = [LeadFactory(created_at=now - timedelta(minutes=i % 3)) for i in range(7)]
    client, seen, url = api_as("leads:read"), [], "/api/v1/leads?limit=3"
    while url:
        body = client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(lead.pk for lead in leads) and len(seen) == 7


def test_the_list_sorts_by_score_paired_with_id(api_as):
    low, high, tie = LeadFactory(score=5), LeadFactory(score=50), LeadFactory(score=50)
    body = api_as("leads:read").get("/api/v1/leads?sort=-score").json()
    assert [row["id"] for row in body["results"]] == [tie.pk, high.pk, low.pk]


def test_the_list_filters_by_stage_score_source_campaign_owner_created_and_search(api_as, rep1):
    match = LeadFactory(
        stage=Stage.MQL, score=70, source="webinar", utm_campaign="spring", owner=rep1, company="Analytical Engines"
    )
    LeadFactory(stage=Stage.MQL, score=10, source="webinar", utm_campaign="spring", owner=rep1)
    LeadFactory(stage=Stage.NURTURE, score=70, source="webinar", utm_campaign="spring")
    yesterday = (timezone.now() - timedelta(days=1)).isoformat()
    query = (
        f"stage=mql&score_min=50&score_max=90&source=webinar&campaign=spring&owner={rep1.pk}"
        f"&created_after={yesterday.replace('+', '%2B')}&search=analytical"
    )
    body = api_as("leads:read").get(f"/api/v1/leads?{query}").json()
    assert [row["id"] for row in body["results"]] == [match.pk]


def test_unassigned_leads_are_filtered_with_owner_none(api_as, rep1):
    unassigned = LeadFactory()
    LeadFactory(owner=rep1)
    body = api_as("leads:read").get("/api/v1/leads?owner=none").json()
    assert [row["id"] for row in body["results"]] == [unassigned.pk]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("stage=bogus", "stage"),
        ("score_min=lots", "score_min"),
        ("owner=bob", "owner"),
        ("sort=name", "sort"),
        ("limit=0", "limit"),
        ("cursor=forged", "cursor"),
        ("created_after=soon", "created_after"),
    ],
)
def test_a_bad_filter_is_400_naming_the_field(api_as, query, field):
    response = api_as("leads:read").get(f"/api/v1/leads?{query}")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_the_list_costs_the_same_queries_for_5_or_50_leads(session_as, marketer, django_assert_num_queries, rep1):
    client = session_as(marketer)
    LeadFactory.create_batch(5, owner=rep1)
    client.get("/api/v1/leads")  # warm the session and role caches
    with django_assert_num_queries(4) as small:
        assert len(client.get("/api/v1/leads").json()["results"]) == 5
    LeadFactory.create_batch(45, owner=rep1)
    with django_assert_num_queries(len(small.captured_queries)):
        assert len(client.get("/api/v1/leads?limit=200").json()["results"]) == 50
    assert not any("COUNT(" in query["sql"].upper() for query in small.captured_queries)


def test_a_sales_rep_sees_only_their_leads_and_unassigned_mqls(session_as, rep1, rep2):
    own = LeadFactory(owner=rep1, stage=Stage.SAL)
    waiting = make_alert(unassigned=True).lead
    LeadFactory(owner=rep2, stage=Stage.SAL)
    LeadFactory(stage=Stage.NURTURE)
    body = session_as(rep1).get("/api/v1/leads").json()
    assert {row["id"] for row in body["results"]} == {own.pk, waiting.pk}


def test_merged_and_erased_leads_are_not_listed(api_as):
    live = LeadFactory()
    LeadFactory(merged_into=live)
    LeadFactory(erased_at=timezone.now())
    body = api_as("leads:read").get("/api/v1/leads").json()
    assert [row["id"] for row in body["results"]] == [live.pk]


def test_the_detail_shows_recent_events_stage_history_and_the_score_explanation(api_as, lead):
    EngagementEventFactory(message_id="e1", lead=lead, type="page_view")
    body = api_as("leads:read").get(f"/api/v1/leads/{lead.pk}").json()
    assert body["email"] == lead.email
    assert [event["message_id"] for event in body["recent_events"]] == ["e1"]
    assert [step["to_stage"] for step in body["stage_history"]] == ["lead_gen"]
    assert body["score_explanation"]["score"] == lead.score


def test_a_lead_the_caller_may_not_see_is_404(session_as, rep1, rep2):
    other = LeadFactory(owner=rep2, stage=Stage.SAL)
    response = session_as(rep1).get(f"/api/v1/leads/{other.pk}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_writer_key_creates_a_lead_with_its_first_transition(api_as):
    response = api_as("leads:write").post(
        "/api/v1/leads", {"email": "ada@example.com", "first_name": "Ada", "source": "fair"}, format="json"
    )
    assert response.status_code == 201
    lead = Lead.objects.get(pk=response.json()["id"])
    assert lead.stage == Stage.LEAD_GEN and lead.transitions.get().actor_label == "API key Test key"


def test_creating_a_lead_with_a_taken_email_is_400_naming_email(api_as, lead):
    response = api_as("leads:write").post("/api/v1/leads", {"email": lead.email.upper()}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["email"] == ["Another lead already has this email."]


def test_a_reader_key_cannot_create_leads(api_as):
    response = api_as("leads:read").post("/api/v1/leads", {"email": "x@example.com"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "missing_scope"


def test_a_marketer_edits_a_lead_and_cannot_set_its_stage_that_way(session_as, marketer, lead):
    client = session_as(marketer)
    assert client.patch(f"/api/v1/leads/{lead.pk}", {"job_title": "CTO"}, format="json").json()["job_title"] == "CTO"
    response = client.patch(f"/api/v1/leads/{lead.pk}", {"stage": "customer"}, format="json")
    assert response.status_code == 400 and "stage" in response.json()["error"]["fields"]


def test_a_rep_cannot_reassign_a_lead(session_as, rep1, rep2):
    own = LeadFactory(owner=rep1, stage=Stage.SAL)
    response = session_as(rep1).patch(f"/api/v1/leads/{own.pk}", {"owner": rep2.pk}, format="json")
    assert response.status_code == 403


def test_delete_erases_the_person_but_keeps_the_lead_row_for_counts(api_as, lead):
    EngagementEventFactory(message_id="e1", lead=lead, type="page_view")
    response = api_as("leads:write").delete(f"/api/v1/leads/{lead.pk}")
    assert response.status_code == 204
    lead.refresh_from_db()
    assert lead.erased_at is not None and lead.email is None and lead.first_name == ""
    assert not EngagementEvent.objects.filter(lead=lead).exists()
    assert lead.transitions.exists()


def test_a_rep_cannot_erase_a_lead(session_as, rep1):
    own = LeadFactory(owner=rep1, stage=Stage.SAL)
    assert session_as(rep1).delete(f"/api/v1/leads/{own.pk}").status_code == 403


def test_a_transition_moves_the_lead_through_the_stage_service(api_as, lead):
    response = api_as("leads:write").post(f"/api/v1/leads/{lead.pk}/transitions", {"to": "nurture"}, format="json")
    assert response.status_code == 201
    assert response.json()["lead"]["stage"] == "nurture"
    assert response.json()["transition"]["kind"] == "forward"


def test_a_refused_transition_is_409_stage_move_refused(api_as, lead):
    response = api_as("leads:write").post(f"/api/v1/leads/{lead.pk}/transitions", {"to": "customer"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "stage_move_refused"


def test_qualifying_with_a_deal_opens_it(api_as, rep1):
    accepted = LeadFactory(stage=Stage.SAL, owner=rep1)
    response = api_as("leads:write", "queue:write").post(
        f"/api/v1/leads/{accepted.pk}/transitions",
        {"to": "sql", "reason": "Budget confirmed", "deal": {"value": "12000.00", "currency": "EUR"}},
        format="json",
    )
    assert response.status_code == 201
    assert str(accepted.deals.get().value) == "12000.00"


def test_a_negative_deal_value_is_400_naming_the_field(api_as):
    accepted = LeadFactory(stage=Stage.SAL)
    response = api_as("leads:write").post(
        f"/api/v1/leads/{accepted.pk}/transitions", {"to": "sql", "deal": {"value": "-1"}}, format="json"
    )
    assert response.status_code == 400
    assert "deal.value" in response.json()["error"]["fields"]


def test_a_rep_moves_their_own_sal_lead_and_an_unassigned_mql(session_as, rep1):
    client = session_as(rep1)
    own = LeadFactory(owner=rep1, stage=Stage.SAL)
    waiting = make_alert(unassigned=True).lead
    assert client.post(f"/api/v1/leads/{own.pk}/transitions", {"to": "sql"}, format="json").status_code == 201
    assert client.post(f"/api/v1/leads/{waiting.pk}/transitions", {"to": "sal"}, format="json").status_code == 201


def test_a_rep_cannot_move_another_reps_lead_or_their_own_customer(session_as, rep1, rep2):
    client = session_as(rep1)
    theirs = LeadFactory(owner=rep2, stage=Stage.SAL)
    own_customer = LeadFactory(owner=rep1, stage=Stage.CUSTOMER)
    assert client.post(f"/api/v1/leads/{theirs.pk}/transitions", {"to": "sql"}, format="json").status_code == 404
    # A rep's lead leaves their view when it leaves SAL/SQL (CONTRACT.md "Roles").
    response = client.post(f"/api/v1/leads/{own_customer.pk}/transitions", {"to": "nurture"}, format="json")
    assert response.status_code == 404


def test_a_key_bound_to_a_rep_has_only_what_the_rep_may_do(api_as, rep1):
    client = api_as("leads:read", "leads:write", user=rep1)
    LeadFactory(stage=Stage.NURTURE)
    assert client.get("/api/v1/leads").json()["results"] == []
    assert client.post("/api/v1/leads", {"email": "x@example.com"}, format="json").status_code == 403


def test_no_credentials_is_401(client):
    response = client.get("/api/v1/leads")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
