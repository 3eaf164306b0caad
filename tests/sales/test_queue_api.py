import pytest
from rest_framework.test import APIClient

from events.services import create_api_key
from leads.stages import Stage
from sales.services import accept_alert
from tests.sales.conftest import make_alert

pytestmark = pytest.mark.django_db


def key_client(*, scopes, user=None) -> APIClient:
    _, raw = create_api_key(name="test", scopes=scopes, user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def session_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def accept_url(alert) -> str:
    return f"/api/v1/queue/{alert.pk}/accept"


# --- The access matrix --------------------------------------------------------------


@pytest.mark.smoke
def test_anonymous_callers_are_asked_for_a_key(unassigned_alert):
    for response in (APIClient().get("/api/v1/queue"), APIClient().post(accept_url(unassigned_alert))):
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert "error" in response.json()


def test_a_key_without_queue_write_cannot_accept(unassigned_alert, rep1):
    response = key_client(scopes=["leads:read"], user=rep1).post(accept_url(unassigned_alert))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "missing_scope"


def test_a_key_without_leads_read_cannot_read_the_queue(rep1):
    assert key_client(scopes=["queue:write"], user=rep1).get("/api/v1/queue").status_code == 403


def test_a_marketer_reads_the_queue_but_cannot_accept(unassigned_alert, marketer):
    client = key_client(scopes=["leads:read", "queue:write"], user=marketer)
    assert client.get("/api/v1/queue").status_code == 200
    assert client.post(accept_url(unassigned_alert)).status_code == 403


def test_a_rep_cannot_accept_another_reps_alert(rep1, rep2):
    alert = make_alert(assignee=rep1)
    response = key_client(scopes=["queue:write"], user=rep2).post(accept_url(alert))
    assert response.status_code == 403
    assert "rep1" in response.json()["error"]["message"]


def test_a_rep_accepts_their_own_alert(rep1):
    alert = make_alert(assignee=rep1)
    response = key_client(scopes=["queue:write"], user=rep1).post(accept_url(alert))
    assert response.status_code == 200
    assert response.json()["status"] == "accepted"
    assert response.json()["lead"]["stage"] == Stage.SAL


def test_a_rep_accepts_an_unassigned_alert(unassigned_alert, rep2):
    assert key_client(scopes=["queue:write"], user=rep2).post(accept_url(unassigned_alert)).status_code == 200


def test_a_manager_accepts_any_alert(rep1, manager):
    alert = make_alert()
    assert key_client(scopes=["queue:write"], user=manager).post(accept_url(alert)).status_code == 200


def test_a_key_bound_to_nobody_cannot_accept_for_lack_of_an_owner(unassigned_alert):
    response = key_client(scopes=["queue:write"]).post(accept_url(unassigned_alert))
    assert response.status_code == 403


def test_a_signed_in_rep_uses_the_api_with_the_session(unassigned_alert, rep1):
    assert session_client(rep1).post(accept_url(unassigned_alert)).status_code == 200


# --- Outcomes -------------------------------------------------------------------------------


@pytest.mark.smoke
def test_an_alert_already_taken_answers_409_naming_who_took_it(unassigned_alert, rep1, rep2):
    accept_alert(alert=unassigned_alert, user=rep1)
    response = key_client(scopes=["queue:write"], user=rep2).post(accept_url(unassigned_alert))
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "alert_already_taken"
    assert error["taken_by"] == "rep1"
    assert "rep1" in error["message"]


def test_a_trailing_slash_reaches_the_same_view(unassigned_alert, rep1):
    response = key_client(scopes=["queue:write"], user=rep1).post(accept_url(unassigned_alert) + "/")
    assert response.status_code == 200


def test_an_unknown_alert_is_404_in_the_envelope(rep1):
    response = key_client(scopes=["queue:write"], user=rep1).post("/api/v1/queue/999999/accept")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_rejecting_needs_a_known_reason_named_in_the_error(unassigned_alert, rep1):
    client = key_client(scopes=["queue:write"], user=rep1)
    response = client.post(f"/api/v1/queue/{unassigned_alert.pk}/reject", {"note": "x"}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()["error"]["fields"]
    response = client.post(f"/api/v1/queue/{unassigned_alert.pk}/reject", {"reason": "meh"}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()["error"]["fields"]


def test_rejecting_sends_the_lead_to_nurture(unassigned_alert, rep1):
    client = key_client(scopes=["queue:write"], user=rep1)
    response = client.post(
        f"/api/v1/queue/{unassigned_alert.pk}/reject", {"reason": "bad_timing", "note": "Call in spring"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["reject_reason"], body["lead"]["stage"]) == ("rejected", "bad_timing", "nurture")


def test_a_body_that_is_not_json_is_a_400(unassigned_alert, rep1):
    client = key_client(scopes=["queue:write"], user=rep1)
    response = client.post(
        f"/api/v1/queue/{unassigned_alert.pk}/reject", data=b"{nope", content_type="application/json"
    )
    assert response.status_code == 400


# --- Reading ------------------------------------------------------------------------------------


def test_the_queue_lists_open_alerts_by_score_then_age(rep1, round_robin_off):
    low, high, closed = make_alert(score=55), make_alert(score=80), make_alert(score=90)
    accept_alert(alert=closed, user=rep1)
    results = key_client(scopes=["leads:read"], user=rep1).get("/api/v1/queue").json()["results"]
    assert [row["id"] for row in results] == [high.pk, low.pk]
    assert results[0]["contributions"][0]["label"] == "Demo request"
    assert results[0]["sla_seconds_left"] > 0


def test_the_queue_filters_mine_and_unassigned(rep1, rep2, settings):
    mine = make_alert(assignee=rep1)
    make_alert(assignee=rep2)
    settings.FUNNEL_ROUND_ROBIN = False
    nobodys = make_alert()
    client = key_client(scopes=["leads:read"], user=rep1)
    assert [row["id"] for row in client.get("/api/v1/queue?filter=mine").json()["results"]] == [mine.pk]
    assert [row["id"] for row in client.get("/api/v1/queue?filter=unassigned").json()["results"]] == [nobodys.pk]


def test_an_unknown_filter_is_a_400_naming_it(rep1):
    response = key_client(scopes=["leads:read"], user=rep1).get("/api/v1/queue?filter=hot")
    assert response.status_code == 400
    assert "filter" in response.json()["error"]["fields"]


def test_the_queue_pages_with_a_next_link(rep1, round_robin_off):
    for _ in range(3):
        make_alert()
    client = key_client(scopes=["leads:read"], user=rep1)
    first = client.get("/api/v1/queue?limit=2").json()
    assert len(first["results"]) == 2
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None


def test_reading_the_queue_takes_the_same_queries_for_3_or_30_alerts(rep1, round_robin_off, django_assert_num_queries):
    from tests.factories import ActivityFactory

    client = key_client(scopes=["leads:read"], user=rep1)
    for _ in range(3):
        ActivityFactory(lead=make_alert().lead)
    client.get("/api/v1/queue")  # last_used_at is written on the first use only
    # the key (with its user), the user's role, then the page: alerts, leads, assignees
    # and last activity in one query
    with django_assert_num_queries(3):
        assert len(client.get("/api/v1/queue").json()["results"]) == 3
    for _ in range(27):
        ActivityFactory(lead=make_alert().lead)
    with django_assert_num_queries(3):
        assert len(client.get("/api/v1/queue").json()["results"]) == 30


def test_an_alert_id_past_the_integer_range_is_404_not_500(rep1):
    response = key_client(scopes=["queue:write"], user=rep1).post("/api/v1/queue/99999999999999999999999/accept")
    assert response.status_code == 404
