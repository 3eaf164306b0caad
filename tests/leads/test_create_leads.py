"""Every door that creates leads goes through the lifecycle's one path (create_leads):
each new lead starts at a first stage with the same first transition and is counted
once on the board, whichever door it came in by."""

from collections import Counter
from datetime import UTC

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from rest_framework.test import APIClient

from events.services import ingest_batch
from funnel.demo_data import load_demo
from funnel.load import generate_load
from leads import imports
from leads.actors import Actor
from leads.lifecycle import create_lead, create_leads, creation
from leads.models import Lead, PipelineCount, StageTransition
from leads.stages import MoveKind, Stage, StageMoveRefused
from tests.services import need_postgres

pytestmark = pytest.mark.django_db


def first_transition(lead: Lead) -> tuple:
    """What a lead's creation left behind, in a form every door must agree on."""
    first = StageTransition.objects.filter(lead=lead).order_by("occurred_at", "id").first()
    return (
        first.from_stage,
        first.to_stage == (Stage.LEAD_GEN if lead.email else Stage.DEMAND_GEN),
        first.kind,
        first.cycle,
        first.occurred_at == lead.created_at,
    )


EXPECTED_FIRST = ("", True, MoveKind.CREATED, 1, True)


@pytest.fixture
def calls(monkeypatch):
    """How many leads came through create_leads (the behaviour checked is the rows they leave)."""
    seen = Counter()
    real = creation._record_first_transitions

    def counted(leads, **kwargs):
        seen["leads"] += len(leads)
        return real(leads, **kwargs)

    monkeypatch.setattr(creation, "_record_first_transitions", counted)
    return seen


def assert_created_like_every_other_door(leads):
    assert leads
    assert {first_transition(lead) for lead in leads} == {EXPECTED_FIRST}
    buckets = Counter((lead.created_at.astimezone(UTC).date(), lead.source or "") for lead in leads)
    for (day, source), n in buckets.items():
        counted = sum(PipelineCount.objects.filter(day=day, source=source).values_list("n", flat=True))
        assert counted == n, (day, source)


@pytest.mark.parametrize("fast_path", [True, False], ids=["set-based", "reference"])
def test_ingestion_creates_leads_through_the_one_path(fast_path, settings, calls):
    if fast_path:
        need_postgres()
    settings.FUNNEL_INGEST_FAST_PATH = fast_path
    ingest_batch(
        items=[
            {"type": "page_view", "email": "ada@example.com", "properties": {"url": "https://x.test/"}},
            {"type": "page_view", "anonymous_id": "anon-7", "properties": {"url": "https://x.test/"}},
        ],
        api_key=None,
    )
    leads = list(Lead.objects.all())
    assert len(leads) == 2 and calls["leads"] == 2
    assert_created_like_every_other_door(leads)


def test_a_csv_import_creates_leads_through_the_one_path(marketer, calls):
    text = "email,first name,source\nada@example.com,Ada,fair\ngrace@example.com,Grace,fair\n"
    job = imports.create_import_job(upload=SimpleUploadedFile("leads.csv", text.encode()), user=marketer)
    job = imports.start_import(job=job, mapping=imports.guess_mapping(job.columns), on_duplicate="skip")
    imports.run_import(job_id=job.pk)
    leads = list(Lead.objects.all())
    assert len(leads) == 2 and calls["leads"] == 2
    assert_created_like_every_other_door(leads)


def test_generate_load_creates_leads_through_the_one_path(calls):
    generate_load(leads=3, events=0, seed=5)
    leads = list(Lead.objects.all())
    assert len(leads) == 3 and calls["leads"] == 3
    assert_created_like_every_other_door(leads)


@override_settings(FUNNEL_DEMO_PASSWORD="demo-pass-123")
def test_demo_data_creates_leads_through_the_one_path(calls):
    load_demo(leads=12, seed=3, password="demo-pass-123")
    leads = list(Lead.objects.all())
    assert len(leads) == 12 and calls["leads"] == 12
    assert_created_like_every_other_door(leads)


def test_the_api_creates_a_lead_through_the_one_path(marketer, calls):
    client = APIClient()
    client.force_login(marketer)
    response = client.post("/api/v1/leads", {"email": "ada@example.com", "source": "fair"}, format="json")
    assert response.status_code == 201
    assert calls["leads"] == 1
    assert_created_like_every_other_door([Lead.objects.get()])


def test_the_api_refuses_to_create_a_lead_at_a_late_stage(marketer):
    client = APIClient()
    client.force_login(marketer)
    response = client.post("/api/v1/leads", {"email": "ada@example.com", "stage": "customer"}, format="json")
    assert response.status_code == 400
    assert "stage" in response.json()["error"]["fields"]
    assert not Lead.objects.exists()


def test_a_lead_is_never_created_past_lead_generation():
    with pytest.raises(StageMoveRefused):
        create_leads([{"email": "ada@example.com", "stage": Stage.SQL}], actor=Actor.system())
    assert not Lead.objects.exists()


def test_one_by_one_and_set_based_creation_leave_the_same_rows():
    one = create_lead(actor=Actor.system(), email="one@example.com", source="fair")
    (many,) = create_leads([{"email": "many@example.com", "source": "fair"}], actor=Actor.system())
    assert first_transition(one) == first_transition(many) == EXPECTED_FIRST
    fields = ("stage", "cycle", "recycle_count", "mql_crossings", "mql_armed", "score", "owner_id")
    one.refresh_from_db()
    many.refresh_from_db()
    assert [getattr(one, name) for name in fields] == [getattr(many, name) for name in fields]
    assert sum(PipelineCount.objects.values_list("n", flat=True)) == 2
