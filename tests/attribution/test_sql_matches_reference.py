"""The set-based SQL (`attribution.sql`) and the plain Python reference (`attribution.credit`)
give the same credits on random funnels: random touches (some outside the window, some
at the same instant), random stage paths with and without MQL, deals opened, won or lost,
second cycles. Runs on whichever database DATABASE_URL names (PostgreSQL or SQLite)."""

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attribution.credit import attribute
from attribution.models import MODELS, AttributionCredit, Touchpoint
from attribution.selectors import load_conversions, load_touches
from attribution.services import refresh_attribution
from events.models import EngagementEvent
from leads.models import Deal, DealStatus, Lead, PipelineCount, StageTransition
from leads.stages import MoveKind, Stage
from tests import factories

pytestmark = pytest.mark.django_db
BASE = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW = 30

touch_spec = st.tuples(
    st.integers(min_value=0, max_value=80 * 24),  # hour of the touch
    st.sampled_from(["ad_clicked", "email_clicked", "page_view", "form_submitted", "webinar_attended"]),
    st.sampled_from(["", "spring", "Spring", "autumn", "brand search"]),
    st.sampled_from(["", "google", "LinkedIn", "newsletter"]),
    st.sampled_from(["", "cpc", "email", "social"]),
)
lead_spec = st.fixed_dictionaries(
    {
        "created": st.integers(min_value=0, max_value=40 * 24),
        "anonymous_first": st.booleans(),
        "steps": st.lists(st.integers(min_value=0, max_value=15 * 24), min_size=0, max_size=4),
        "mql": st.booleans(),
        "deal": st.sampled_from(["none", "open", "won", "lost"]),
        "value": st.integers(min_value=0, max_value=50000),
        "second_cycle": st.booleans(),
        "touches": st.lists(touch_spec, min_size=0, max_size=6),
        "utm_campaign": st.sampled_from(["", "spring", "Autumn "]),
    }
)


def at(hours: int) -> datetime:
    return BASE + timedelta(hours=hours)


def transition(lead, cycle, to_stage, when, kind=MoveKind.FORWARD):
    StageTransition.objects.create(
        lead=lead, cycle=cycle, from_stage="", to_stage=to_stage, kind=kind, actor_kind="system", occurred_at=when
    )


def build(spec: dict, index: int) -> None:
    created = at(spec["created"])
    lead = factories.LeadFactory(
        stage=Stage.DEMAND_GEN if spec["anonymous_first"] else Stage.LEAD_GEN,
        created_at=created,
        stage_entered_at=created,
        utm_campaign=spec["utm_campaign"],
        source="",
    )
    when = created
    stages = ([Stage.LEAD_GEN] if spec["anonymous_first"] else []) + [Stage.NURTURE]
    if spec["mql"]:
        stages.append(Stage.MQL)
    if spec["deal"] != "none":
        stages += [Stage.SAL, Stage.SQL]
    for stage, gap in zip(stages, spec["steps"] + [24] * len(stages), strict=False):
        when += timedelta(hours=gap)
        transition(lead, 1, stage, when)
    if spec["deal"] != "none":
        won = spec["deal"] == "won"
        closed = when + timedelta(days=3) if spec["deal"] != "open" else None
        Deal.objects.create(
            lead=lead,
            cycle=1,
            value=spec["value"],
            created_at=when,
            status={"open": DealStatus.OPEN, "won": DealStatus.WON, "lost": DealStatus.LOST}[spec["deal"]],
            closed_at=closed,
        )
        if won:
            transition(lead, 1, Stage.CUSTOMER, closed)
            if spec["second_cycle"]:
                transition(lead, 2, Stage.LEAD_GEN, closed + timedelta(days=10), kind=MoveKind.NEW_CYCLE)
                transition(lead, 2, Stage.MQL, closed + timedelta(days=12))
    for number, (hours, event_type, campaign, source, medium) in enumerate(spec["touches"]):
        url = f"https://x.example/?utm_source={source}&utm_medium={medium}&utm_campaign={campaign}"
        EngagementEvent.objects.create(
            message_id=f"r-{index}-{number}",
            lead=lead,
            type=event_type,
            occurred_at=at(hours),
            properties={"url": url, "campaign": campaign} if event_type != "page_view" else {"url": url},
        )


def wipe() -> None:
    for model in (AttributionCredit, Touchpoint, EngagementEvent, Deal, StageTransition, PipelineCount, Lead):
        model.objects.all().delete()


def stored() -> dict:
    totals = defaultdict(lambda: defaultdict(lambda: [0.0, 0.0]))
    for row in AttributionCredit.objects.filter(window_days=WINDOW).values():
        key = (row["milestone"], row["day"], row["campaign"], row["channel"], row["source"])
        for model in MODELS:
            totals[key][model][0] += row[f"credit_{model}"]
            totals[key][model][1] += row[f"revenue_{model}"]
    return totals


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(lead_spec, min_size=1, max_size=5))
def test_sql_credits_equal_the_reference_on_random_funnels(db, specs):
    wipe()
    for index, spec in enumerate(specs):
        build(spec, index)
    refresh_attribution(windows=[WINDOW])
    fast = stored()
    reference = attribute(load_conversions(), load_touches(), window_days=WINDOW, half_life_days=7)
    assert set(fast) == set(reference)
    for key, cells in reference.items():
        for model in MODELS:
            assert fast[key][model][0] == pytest.approx(cells[model][0], abs=1e-6), (key, model)
            assert fast[key][model][1] == pytest.approx(cells[model][1], abs=1e-4), (key, model)
