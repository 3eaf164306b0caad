from datetime import timedelta

import orjson
import pytest
from django.utils import timezone

from events.models import EngagementEvent
from leads.models import Lead, StageTransition
from leads.stages import Stage
from scoring.models import RescoreMark
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def event(message_id, **fields):
    return {"message_id": message_id, "type": "page_view", "anonymous_id": "anon-1", **fields}


@pytest.mark.smoke
def test_a_batch_is_stored_and_answered_per_event_in_order(post_events):
    response = post_events({"events": [event("m1"), event("m2", type="form_submitted", email="ada@example.com")]})
    assert response.status_code == 202
    body = response.json()
    assert [r["status"] for r in body["results"]] == ["accepted", "accepted"]
    assert [r["index"] for r in body["results"]] == [0, 1]
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 0, 0)
    assert EngagementEvent.objects.count() == 2


@pytest.mark.smoke
def test_a_replayed_batch_is_stored_once_and_answered_duplicate(post_events):
    batch = {"events": [event("m1"), event("m2")]}
    post_events(batch)
    body = post_events(batch).json()
    assert [r["status"] for r in body["results"]] == ["duplicate", "duplicate"]
    assert body["duplicates"] == 2
    assert EngagementEvent.objects.count() == 2


def test_a_message_id_repeated_inside_one_batch_is_stored_once(post_events):
    body = post_events({"events": [event("same"), event("same"), event("other")]}).json()
    assert [r["status"] for r in body["results"]] == ["accepted", "duplicate", "accepted"]
    assert EngagementEvent.objects.filter(message_id="same").count() == 1


def test_a_missing_message_id_is_generated(post_events):
    body = post_events({"type": "page_view", "anonymous_id": "a"}).json()
    assert body["results"][0]["message_id"]
    assert EngagementEvent.objects.get().message_id == body["results"][0]["message_id"]


def test_valid_events_are_stored_when_others_in_the_batch_are_rejected(post_events):
    body = post_events({"events": [event("ok1"), {"message_id": "bad", "type": "x"}, event("ok2")]}).json()
    assert [r["status"] for r in body["results"]] == ["accepted", "rejected", "accepted"]
    assert body["results"][1]["errors"] == {"identity": ["Give at least one of email, external_id or anonymous_id."]}
    assert set(EngagementEvent.objects.values_list("message_id", flat=True)) == {"ok1", "ok2"}


def test_a_rejected_single_event_is_400_with_the_results_shape(post_events):
    response = post_events({"message_id": "x", "type": "page_view", "email": "not-an-email"})
    assert response.status_code == 400
    assert response.json()["results"][0]["errors"]["email"] == ["“not-an-email” is not an email address."]
    assert response.json()["rejected"] == 1


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"type": ""}, "type"),
        ({"type": "x" * 101}, "type"),
        ({"properties": [1, 2]}, "properties"),
        ({"properties": {"a": "nul\u0000"}}, "properties"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": 12}, "occurred_at"),
        ({"message_id": "m" * 201}, "message_id"),
        ({"anonymous_id": {"a": 1}}, "anonymous_id"),
        ({"traits": {"company_size": "big"}}, "traits.company_size"),
        ({"traits": "x"}, "traits"),
    ],
)
def test_each_invalid_field_is_named_in_the_errors(post_events, fields, name):
    response = post_events({**event("m"), **fields})
    assert response.status_code == 400
    assert name in response.json()["results"][0]["errors"]


def test_an_event_far_in_the_future_is_refused(post_events):
    later = (timezone.now() + timedelta(days=3)).isoformat()
    response = post_events(event("m", occurred_at=later))
    assert response.json()["results"][0]["errors"]["occurred_at"][0].startswith("Is too far in the future")


def test_a_body_that_is_not_json_is_400(post_events):
    response = post_events(None, raw=b"{not json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_a_bad_gzip_body_is_400(post_events):
    response = post_events(None, raw=b"definitely not gzip", HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_body"


def test_a_gzip_body_is_accepted(post_events):
    assert post_events({"events": [event("g1")]}, gzipped=True).json()["accepted"] == 1


def test_over_1000_events_is_413_and_nothing_is_stored(post_events):
    response = post_events({"events": [event(f"m{i}") for i in range(1001)]})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_many_events"
    assert not EngagementEvent.objects.exists()


def test_a_body_over_1_mb_is_413(post_events):
    big = {"events": [event("m", properties={"blob": "x" * (1024 * 1024)})]}
    assert post_events(big).status_code == 413


def test_a_small_gzip_hiding_over_1_mb_is_413(post_events):
    big = {"events": [event("m", properties={"blob": "x" * (2 * 1024 * 1024)})]}
    assert post_events(big, gzipped=True).status_code == 413


def test_an_empty_batch_and_a_non_object_are_400(post_events):
    assert post_events({"events": []}).status_code == 400
    assert post_events([1, 2]).status_code == 400


def test_an_unknown_anonymous_id_creates_an_anonymous_lead_in_demand_gen_with_its_first_transition(post_events):
    post_events(event("m1", anonymous_id="visitor-9"))
    lead = Lead.objects.get(anonymous_id="visitor-9")
    assert lead.stage == Stage.DEMAND_GEN and lead.email is None
    transition = StageTransition.objects.get(lead=lead)
    assert transition.kind == "created" and transition.actor_label == "API key Website"


def test_an_email_for_an_anonymous_lead_captures_it_into_lead_gen(post_events):
    post_events(event("m1", anonymous_id="visitor-9"))
    post_events(event("m2", anonymous_id="visitor-9", email="Ada@Example.com", type="form_submitted"))
    lead = Lead.objects.get(anonymous_id="visitor-9")
    assert lead.email == "ada@example.com" and lead.stage == Stage.LEAD_GEN
    assert list(lead.transitions.values_list("to_stage", flat=True)) == ["demand_gen", "lead_gen"]
    assert lead.events.count() == 2


def test_an_anonymous_lead_whose_email_is_known_is_merged_into_the_known_lead(post_events):
    known = LeadFactory(email="ada@example.com")
    post_events({"events": [event("m1", anonymous_id="visitor-9"), event("m2", anonymous_id="visitor-9")]})
    post_events(event("m3", anonymous_id="visitor-9", email="ada@example.com", type="form_submitted"))
    tombstone = Lead.objects.get(anonymous_id="visitor-9")
    assert tombstone.merged_into == known
    assert known.events.count() == 3 and not tombstone.events.exists()
    merge = known.merges.get()
    assert merge.merged == tombstone and merge.events_moved == 2


def test_late_events_for_a_merged_anonymous_id_land_on_the_survivor(post_events):
    known = LeadFactory(email="ada@example.com")
    post_events(event("m1", anonymous_id="visitor-9"))
    post_events(event("m2", anonymous_id="visitor-9", email="ada@example.com"))
    post_events(event("m3", anonymous_id="visitor-9"))
    assert EngagementEvent.objects.get(message_id="m3").lead == known
    assert Lead.objects.count() == 2


def test_traits_update_the_lead(post_events):
    post_events(
        event("m1", email="ada@example.com", traits={"first_name": "Ada", "company": "Engines", "title": "CTO"})
    )
    lead = Lead.objects.get(email="ada@example.com")
    assert (lead.first_name, lead.company, lead.job_title) == ("Ada", "Engines", "CTO")


def test_an_email_in_traits_identifies_the_event(post_events):
    post_events(event("m1", anonymous_id="v", traits={"email": "grace@example.com"}))
    assert Lead.objects.get(anonymous_id="v").email == "grace@example.com"


def test_accepted_events_move_last_engaged_at_and_mark_the_lead_once(post_events):
    when = "2026-01-02T03:04:05+00:00"
    post_events({"events": [event("m1", occurred_at="2026-01-01T00:00:00Z"), event("m2", occurred_at=when)]})
    lead = Lead.objects.get(anonymous_id="anon-1")
    assert lead.last_engaged_at.isoformat() == when
    assert RescoreMark.objects.filter(lead=lead).count() == 1


def test_events_keep_their_type_properties_and_time(post_events):
    post_events(
        event(
            "m1",
            type="email_clicked",
            properties={"campaign": "spring", "url": "https://x.io"},
            occurred_at="2026-03-01T12:00:00Z",
        )
    )
    stored = EngagementEvent.objects.get()
    assert stored.type == "email_clicked"
    assert stored.properties == {"campaign": "spring", "url": "https://x.io"}
    assert stored.occurred_at.isoformat() == "2026-03-01T12:00:00+00:00"
    assert stored.source == "api"


def test_the_trailing_slash_path_reaches_the_same_endpoint(client_for, ingest_key):
    response = client_for(ingest_key.raw).generic(
        "POST", "/api/v1/events/", orjson.dumps(event("m1")), content_type="application/json"
    )
    assert response.status_code == 202
