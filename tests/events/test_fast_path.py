"""The set-based PostgreSQL path must agree with the plain reference path."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.ingest import record_events_reference
from events.ingest_pg import record_events_fast
from events.models import EngagementEvent
from events.validation import Event
from leads.models import Lead
from tests.factories import AnonymousLeadFactory, LeadFactory
from tests.services import need_postgres

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

EMAILS = [None, None, "ada@example.com", "bob@example.com"]
EXTERNALS = [None, None, None, "u-1", "u-2"]
ANONYMOUS = [None, "an-1", "an-2", "an-3"]
START = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def events(draw):
    email, external_id, anonymous_id = draw(st.sampled_from(EMAILS)), None, None
    external_id = draw(st.sampled_from(EXTERNALS))
    anonymous_id = draw(st.sampled_from(ANONYMOUS))
    if not (email or external_id or anonymous_id):
        anonymous_id = "an-1"
    traits = draw(st.sampled_from([{}, {}, {"first_name": "Ada"}, {"company": "Engines"}]))
    return Event(
        message_id=f"m{draw(st.integers(0, 12))}",
        type=draw(st.sampled_from(["page_view", "form_submitted"])),
        occurred_at=START + timedelta(minutes=draw(st.integers(0, 1000))),
        properties={},
        properties_json="{}",
        email=email,
        external_id=external_id,
        anonymous_id=anonymous_id,
        traits=traits,
    )


class Rollback(Exception):
    pass


def seed():
    LeadFactory(email="ada@example.com", first_name="", company="")
    AnonymousLeadFactory(anonymous_id="an-2")


def identity(lead: Lead) -> tuple:
    return (lead.email or "", lead.external_id or "", lead.anonymous_id or "")


def snapshot(statuses) -> dict:
    leads = {lead.pk: lead for lead in Lead.objects.all()}
    return {
        "statuses": statuses,
        "leads": sorted(
            (
                identity(lead),
                lead.stage,
                identity(leads[lead.merged_into_id]) if lead.merged_into_id else (),
                lead.first_name,
                lead.company,
                # A tombstone's own last_engaged_at is history: the set-based path may store an
                # event on it just before the batch merges it (its survivor carries the latest).
                str(lead.last_engaged_at) if lead.merged_into_id is None else "tombstone",
                lead.transitions.count(),
            )
            for lead in leads.values()
        ),
        "events": sorted(
            (event.message_id, identity(leads[event.lead_id]), event.type, event.occurred_at)
            for event in EngagementEvent.objects.all()
        ),
    }


def run(path, batches) -> list[dict]:
    try:
        with transaction.atomic():
            seed()
            result = [snapshot(path(events=batch, source="api")) for batch in batches]
            raise Rollback(result)
    except Rollback as done:
        return done.args[0]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(events(), min_size=1, max_size=8), min_size=1, max_size=3))
def test_the_set_based_path_stores_what_the_reference_path_stores(batches):
    need_postgres()
    assert run(record_events_fast, batches) == run(record_events_reference, batches)
