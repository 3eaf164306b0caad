"""The set-based SQL path scores every lead exactly as the reference function does."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads.models import StageTransition
from scoring.computation import Condition, RuleSpec, evaluate
from scoring.services import compute_score
from scoring.sql import read_scores
from tests.factories import LeadFactory
from tests.services import need_postgres

from .conftest import EventFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

BASE = datetime(2026, 6, 15, 0, 0, tzinfo=UTC)
WORDS = [
    "/pricing",
    "/Pricing/team",
    "/blog/a",
    "/careers",
    "demo-request",
    "contact",
    "VP",
    "vp sales",
    "x",
    "a_b%",
    "ab",
]
EVENT_TYPES = ["page_view", "form_submitted", "email_clicked"]

scalar = st.one_of(st.sampled_from(WORDS), st.integers(-5, 120), st.booleans())


@st.composite
def conditions(draw, fields):
    op = draw(st.sampled_from(["equals", "contains", "in", "gte"]))
    field = draw(st.sampled_from(fields))
    if op == "gte":
        return Condition(field, op, (), float(draw(st.integers(0, 100))))
    if op == "equals":
        return Condition(field, op, (draw(st.sampled_from(WORDS + ["50", "true"])),))
    return Condition(field, op, tuple(draw(st.lists(st.sampled_from(WORDS + ["50"]), min_size=1, max_size=3))))


@st.composite
def rules(draw):
    specs = []
    for rule_id in range(1, draw(st.integers(1, 5)) + 1):
        if draw(st.booleans()):
            specs.append(
                RuleSpec(
                    id=rule_id,
                    version=draw(st.integers(1, 3)),
                    label=f"rule {rule_id}",
                    kind="behaviour",
                    event_type=draw(st.sampled_from(EVENT_TYPES)),
                    conditions=tuple(draw(st.lists(conditions(["url", "form", "n"]), max_size=2))),
                    points=draw(st.integers(-20, 40)),
                    daily_cap=draw(st.one_of(st.none(), st.integers(1, 3))),
                    half_life_days=draw(st.sampled_from([0.5, 3.0, 14.0, 30.0, 365.0])),
                )
            )
        else:
            fields = ["job_title", "country", "company_size", "attributes.plan", "email"]
            specs.append(
                RuleSpec(
                    id=rule_id,
                    version=1,
                    label=f"rule {rule_id}",
                    kind="fit",
                    event_type="",
                    conditions=tuple(draw(st.lists(conditions(fields), min_size=1, max_size=2))),
                    points=draw(st.integers(-30, 30)),
                    daily_cap=None,
                    half_life_days=30.0,
                )
            )
    return specs


event = st.tuples(
    st.sampled_from(EVENT_TYPES),
    st.dictionaries(st.sampled_from(["url", "form", "n"]), scalar, max_size=3),
    # Seconds before BASE: up to 40 days, with many near a UTC midnight.
    st.one_of(st.integers(0, 40 * 86400), st.integers(0, 5).map(lambda d: d * 86400 + 1), st.just(0)),
)

lead_profile = st.fixed_dictionaries(
    {
        "job_title": st.sampled_from(["", "VP Sales", "Engineer", "Head of x"]),
        "country": st.sampled_from(["", "Germany", "50", "contact"]),
        "company_size": st.one_of(st.none(), st.integers(0, 200)),
        "attributes": st.dictionaries(st.just("plan"), scalar, max_size=1),
        "events": st.lists(event, max_size=10),
        "new_cycle_days_ago": st.one_of(st.none(), st.integers(0, 30)),
    }
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    specs=rules(), profiles=st.lists(lead_profile, min_size=1, max_size=3), as_of_shift=st.integers(-5 * 86400, 86400)
)
def test_set_based_scores_equal_the_reference_for_random_rules_events_and_times(specs, profiles, as_of_shift):
    need_postgres()
    as_of = BASE + timedelta(seconds=as_of_shift)
    leads = []
    for profile in profiles:
        lead = LeadFactory(
            job_title=profile["job_title"],
            country=profile["country"],
            company_size=profile["company_size"],
            attributes=profile["attributes"],
        )
        if profile["new_cycle_days_ago"] is not None:
            lead.cycle = 2
            lead.save(update_fields=["cycle"])
            StageTransition.objects.create(
                lead=lead,
                cycle=2,
                from_stage="customer",
                to_stage="lead_gen",
                kind="new_cycle",
                actor_kind="system",
                occurred_at=BASE - timedelta(days=profile["new_cycle_days_ago"]),
            )
        for event_type, properties, seconds_before in profile["events"]:
            EventFactory(
                lead=lead, type=event_type, properties=properties, occurred_at=BASE - timedelta(seconds=seconds_before)
            )
        leads.append(lead)

    set_based = read_scores(rules=specs, lead_ids=[lead.pk for lead in leads], as_of=as_of)

    for lead in leads:
        reference = compute_score(lead=lead, as_of=as_of, rules=specs)
        score, contributions = set_based[lead.pk]
        assert score == reference.score
        assert [(c["rule_id"], c["version"], c["points"], c["events"], c["capped"]) for c in contributions] == [
            (c.rule_id, c.version, c.points, c.events, c.capped) for c in reference.contributions
        ]
        assert [c["value"] for c in contributions] == pytest.approx(
            [c.value for c in reference.contributions], abs=2e-3
        )


def test_the_reference_function_and_evaluate_agree_on_an_empty_rule_set():
    assert evaluate(lead=None, events=[], rules=[], as_of=BASE, window_start=None).score == 0
