"""A small, hand-checkable funnel: five leads over March 2026, with every number the
report shows worked out by hand in the tests that use it.

    d0 = Monday 2 March 2026, 09:00 UTC
    A (website/spring, rep1): lead_gen d0 → nurture d1 → mql d2 → sal d3 → sql d5 → customer d10
                              → new cycle (lead_gen) d20
    B (website/spring, rep1): lead_gen d0 → nurture d2 → mql d4 → nurture d5 (rejected, no_budget)
    C (linkedin/spring, rep2): lead_gen d1 → nurture d2 → mql d3 → sal d5
    D (website/spring, no owner): lead_gen d7
    E (linkedin/autumn, rep2): lead_gen d0 → sql d3 (jump) → nurture d6 (lost)
    F (website/spring, rep1): lead_gen, nurture and mql in January, outside the report's range
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from analytics.selectors import ReportFilters
from analytics.services import refresh_analytics
from events.models import EngagementEvent
from leads.actors import Actor
from leads.models import Activity, Deal, DealStatus
from leads.services import move_lead
from leads.stages import Stage
from sales.models import AlertStatus, SalesAlert
from tests import factories

D0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MARCH = ReportFilters(start=date(2026, 3, 1), end=date(2026, 3, 31))


def day(n: float) -> datetime:
    return D0 + timedelta(days=n)


@dataclass
class Story:
    a: object
    b: object
    c: object
    d: object
    e: object
    f: object
    rep1: object
    rep2: object


def make_lead(at, *, owner=None, source="website", campaign="spring"):
    return factories.LeadFactory(
        stage=Stage.LEAD_GEN, created_at=at, stage_entered_at=at, owner=owner, source=source, utm_campaign=campaign
    )


def move(lead, to, at, reason="", new_cycle=False):
    move_lead(lead=lead.pk, to=to, actor=Actor.system("story"), reason=reason, occurred_at=at, new_cycle=new_cycle)


def alert(lead, at, *, score, status, acted_after=None, reason="", rules=(), cycle=1):
    return SalesAlert.objects.create(
        lead=lead,
        cycle=cycle,
        crossing=1,
        score=score,
        contributions=[{"rule_id": rule_id, "label": label, "points": points} for rule_id, label, points in rules],
        raised_at=at,
        status=status,
        due_at=at + timedelta(hours=8),
        acted_at=at + acted_after if acted_after else None,
        reject_reason=reason,
    )


def event(lead, event_type, at, **properties):
    EngagementEvent.objects.create(
        message_id=f"{lead.pk}-{event_type}-{at.isoformat()}-{EngagementEvent.objects.count()}",
        lead=lead,
        type=event_type,
        occurred_at=at,
        properties=properties,
    )


PRICING = (1, "Visited pricing", 40)
WEBINAR = (2, "Attended a webinar", 22)
EMAIL = (3, "Opened an email", 15)


def build_story() -> Story:
    rep1 = factories.sales_rep(username="rep1")
    rep2 = factories.sales_rep(username="rep2")
    a = make_lead(day(0), owner=rep1)
    b = make_lead(day(0), owner=rep1)
    c = make_lead(day(1), owner=rep2, source="linkedin")
    d = make_lead(day(7))
    e = make_lead(day(0), owner=rep2, source="linkedin", campaign="autumn")
    f = make_lead(datetime(2026, 1, 5, 9, tzinfo=UTC), owner=rep1)

    move(a, Stage.NURTURE, day(1))
    move(a, Stage.MQL, day(2))
    move(a, Stage.SAL, day(3))
    move(a, Stage.SQL, day(5))
    move(a, Stage.CUSTOMER, day(10))
    move(a, Stage.LEAD_GEN, day(20), new_cycle=True)
    move(b, Stage.NURTURE, day(2))
    move(b, Stage.MQL, day(4))
    move(b, Stage.NURTURE, day(5), reason="No budget")
    move(c, Stage.NURTURE, day(2))
    move(c, Stage.MQL, day(3))
    move(c, Stage.SAL, day(5))
    move(e, Stage.SQL, day(3), reason="Booked a demo at a trade fair")
    move(e, Stage.NURTURE, day(6), reason="Chose a competitor")
    move(f, Stage.NURTURE, datetime(2026, 1, 5, 10, tzinfo=UTC))
    move(f, Stage.MQL, datetime(2026, 1, 6, 9, tzinfo=UTC))

    alert(a, day(2), score=62, status=AlertStatus.ACCEPTED, acted_after=timedelta(hours=2), rules=[PRICING, WEBINAR])
    alert(
        b,
        day(4),
        score=55,
        status=AlertStatus.REJECTED,
        acted_after=timedelta(hours=10),
        reason="no_budget",
        rules=[PRICING, EMAIL],
    )
    alert(
        c,
        day(3),
        score=71,
        status=AlertStatus.ACCEPTED,
        acted_after=timedelta(hours=1),
        rules=[WEBINAR, PRICING, EMAIL],
    )
    alert(f, datetime(2026, 1, 6, 9, tzinfo=UTC), score=90, status=AlertStatus.OPEN, rules=[PRICING])

    Deal.objects.create(
        lead=a,
        cycle=1,
        owner=rep1,
        value=10000,
        created_at=day(5),
        proposal_sent_at=day(6),
        proposal_accepted_at=day(8),
        status=DealStatus.WON,
        closed_at=day(10),
    )
    Deal.objects.create(
        lead=e,
        cycle=1,
        owner=rep2,
        value=5000,
        created_at=day(3),
        proposal_sent_at=day(4),
        status=DealStatus.LOST,
        closed_at=day(6),
    )

    Activity.objects.create(lead=a, user=rep1, kind="call", occurred_at=day(1))
    Activity.objects.create(lead=a, user=rep1, kind="call", occurred_at=day(2) + timedelta(hours=3))
    Activity.objects.create(lead=a, user=rep1, kind="meeting", occurred_at=day(7))
    Activity.objects.create(lead=c, user=rep2, kind="meeting", occurred_at=day(3) + timedelta(hours=5))
    Activity.objects.create(lead=e, user=rep2, kind="call", occurred_at=day(4))
    Activity.objects.create(lead=e, user=rep2, kind="email", occurred_at=day(4))

    for _ in range(3):
        event(a, "page_view", day(0), url="/pricing")
    event(a, "form_submitted", day(0), form="demo")
    event(a, "email_sent", day(1))
    event(a, "email_opened", day(1))
    event(a, "email_clicked", day(1), campaign="spring-mail", url="/offer")
    event(b, "page_view", day(0))
    event(b, "email_sent", day(1))
    event(b, "email_opened", day(1))
    event(c, "page_view", day(1))
    event(c, "page_view", day(1))
    event(c, "ad_clicked", day(1), campaign="li-ads")
    event(c, "webinar_registered", day(2))
    event(c, "webinar_attended", day(3), webinar="spring-demo")
    event(e, "email_sent", day(1))
    event(e, "webinar_registered", day(2))
    event(a, "nps_submitted", day(12), score=10)
    event(b, "nps_submitted", day(12), score=7)
    event(c, "nps_submitted", day(12), score="3")
    event(e, "nps_submitted", day(12), score=11)
    event(d, "nps_submitted", day(12), score="abc")
    event(f, "page_view", datetime(2026, 1, 5, 9, tzinfo=UTC))

    return Story(a=a, b=b, c=c, d=d, e=e, f=f, rep1=rep1, rep2=rep2)


@pytest.fixture
def story(db):
    story = build_story()
    refresh_analytics()
    return story
