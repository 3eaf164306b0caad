"""A hand-checkable attribution story, worked out on paper in test_credits_by_hand.py.

d0 = Monday 2 March 2026, 09:00 UTC; half-life 7 days, window 90 days
Anna  captured d0 from google / cpc / "spring"                 capture   Paid search
      d3  clicked the "newsletter" email                       email     Email
      d5  clicked the "retarget" ad                            ad        Paid ads
      d6  MQL
      d8  attended the "Demo Day" webinar                      webinar   Events and webinars
      d10 SQL, deal opened
      d12 clicked the "newsletter" email again                 email     Email
      d14 customer, deal won for 10,000
Ben   captured 200 days before d0 with no source at all, MQL at d0: no touch in
      the 90-day window, so his MQL is credited to Direct.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from events.models import EngagementEvent
from leads.actors import Actor
from leads.models import Deal, DealStatus
from leads.services import move_lead
from leads.stages import Stage
from tests import factories
from tests.api.conftest import api_as, session_as  # noqa: F401 - the API tests' clients

D0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def day(n: float) -> datetime:
    return D0 + timedelta(days=n)


def event(lead, event_type: str, at: datetime, **properties) -> EngagementEvent:
    return EngagementEvent.objects.create(
        message_id=f"{lead.pk}-{event_type}-{at.isoformat()}",
        lead=lead,
        type=event_type,
        occurred_at=at,
        properties=properties,
    )


def move(lead, to: str, at: datetime) -> None:
    move_lead(lead=lead.pk, to=to, actor=Actor.system("story"), occurred_at=at)


@dataclass
class Story:
    anna: object
    ben: object


def build_story() -> Story:
    anna = factories.LeadFactory(
        stage=Stage.LEAD_GEN,
        created_at=day(0),
        stage_entered_at=day(0),
        source="paid_search",
        utm_source="Google",
        utm_medium="CPC",
        utm_campaign="Spring",
    )
    event(anna, "email_clicked", day(3), campaign="newsletter", url="https://funnel.example/pricing")
    event(anna, "ad_clicked", day(5), campaign="retarget")
    move(anna, Stage.NURTURE, day(5.5))
    move(anna, Stage.MQL, day(6))
    event(anna, "webinar_attended", day(8), webinar="Demo Day")
    move(anna, Stage.SAL, day(9))
    move(anna, Stage.SQL, day(10))
    Deal.objects.create(lead=anna, cycle=1, value=10000, created_at=day(10))
    event(anna, "email_clicked", day(12), campaign="newsletter")
    # A blog visit without UTM parameters is no touch.
    event(anna, "page_view", day(13), url="https://funnel.example/blog/scoring")
    move(anna, Stage.CUSTOMER, day(14))
    Deal.objects.filter(lead=anna).update(status=DealStatus.WON, closed_at=day(14))

    ben = factories.LeadFactory(
        stage=Stage.LEAD_GEN, created_at=day(-200), stage_entered_at=day(-200), source="", utm_campaign=""
    )
    move(ben, Stage.NURTURE, day(-199))
    move(ben, Stage.MQL, day(0))
    return Story(anna=anna, ben=ben)


@pytest.fixture(autouse=True)
def default_channel_rules(request):
    """Transactional tests (worker, browser) flush every table, the default-rules data
    migration's rows included; tests that use the database get them back."""
    if "db" not in request.fixturenames and "transactional_db" not in request.fixturenames:
        return
    from attribution.channels import DEFAULT_RULES
    from attribution.models import ChannelRule

    if not ChannelRule.objects.exists():
        ChannelRule.objects.bulk_create(
            ChannelRule(position=(index + 1) * 10, field=field, match=match, values=values, channel=channel)
            for index, (field, match, values, channel) in enumerate(DEFAULT_RULES)
        )


@pytest.fixture
def story(db, settings) -> Story:
    settings.FUNNEL_ATTRIBUTION_WINDOW_DAYS = 90
    settings.FUNNEL_ATTRIBUTION_HALF_LIFE_DAYS = 7
    return build_story()


@pytest.fixture
def refreshed(story) -> Story:
    """The story with its credits built (windows 30, 90 and 180 days)."""
    from attribution.services import refresh_attribution

    refresh_attribution()
    return story
