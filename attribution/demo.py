"""For `seed_demo`: UTM-tagged touches and a few months of campaign spend on top of the
demo history, so `/analytics/attribution/` has campaigns, channels and returns to show
the moment `make run` opens it.

The demo's own events already carry campaigns (email and ad clicks) and its leads a
source and campaign at capture; this adds landing-page visits with UTM parameters the
way real ad platforms and newsletters write them (mixed case, encoded spaces, a
fragment), spread over the weeks before each lead's milestones."""

import random
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from events.models import EngagementEvent, EventSource
from leads.models import Lead, StageTransition

from .models import AttributionRefresh, CampaignSpend
from .services import refresh_attribution

# (utm_source, utm_medium, utm_campaign as ad platforms write it, channel for spend)
TAGGED_VISITS = [
    ("Google", "cpc", "Spring-Launch", "Paid search"),
    ("google", "CPC", "Pricing%20Push", "Paid search"),
    ("LinkedIn", "paid_social", "Webinar-Series", "Paid social"),
    ("linkedin", "social", "ebook-playbook", "Social"),
    ("newsletter", "email", "Ebook-Playbook", "Email"),
    ("facebook", "paid_social", "retargeting-q3", "Paid social"),
    ("bing", "cpc", "brand+search", "Paid search"),
    ("partner-site", "referral", "partner-co-marketing", "Referral"),
]
LANDINGS = ["/", "/pricing", "/product", "/blog/lead-scoring-guide", "/webinars", "/demo"]
SPEND_RANGE = {  # campaign → monthly spend range (EUR)
    "spring-launch": (4000, 9000),
    "pricing push": (2500, 6000),
    "webinar-series": (1500, 3500),
    "ebook-playbook": (800, 2000),
    "retargeting-q3": (1200, 4000),
    "brand search": (600, 1500),
    "partner-co-marketing": (500, 1200),
}
SPEND_CHANNEL = {
    campaign.replace("%20", " ").replace("+", " ").casefold(): channel for _, _, campaign, channel in TAGGED_VISITS
}
MONTHS = 9


def _months_back(today: date, count: int) -> list[date]:
    months, month = [], today.replace(day=1)
    for _ in range(count):
        months.append(month)
        month = (month - timedelta(days=1)).replace(day=1)
    return months


@transaction.atomic
def load_demo_attribution(*, seed: int = 7) -> dict[str, int]:
    if CampaignSpend.objects.exists():
        return {"touches": 0, "spend": 0}
    rng = random.Random(seed)
    now = timezone.now()
    last_move = {}
    for lead_id, occurred_at in StageTransition.objects.values_list("lead_id", "occurred_at"):
        if occurred_at > last_move.get(lead_id, occurred_at - timedelta(seconds=1)):
            last_move[lead_id] = occurred_at
    events = []
    for lead_id, created_at in (
        Lead.objects.filter(merged_into__isnull=True).values_list("pk", "created_at").order_by("pk")
    ):
        end = min(now, last_move.get(lead_id, created_at))
        start = created_at - timedelta(days=21)
        for index in range(rng.choice([0, 1, 1, 2, 3, 4])):
            source, medium, campaign, _ = rng.choice(TAGGED_VISITS)
            at = start + (end - start) * rng.random()
            fragment = "#pricing-table" if rng.random() < 0.2 else ""
            url = (
                f"https://funnel.example{rng.choice(LANDINGS)}?utm_source={source}&utm_medium={medium}"
                f"&utm_campaign={campaign}&utm_content=variant-{rng.choice('ab')}{fragment}"
            )
            events.append(
                EngagementEvent(
                    message_id=f"demo-utm-{lead_id}-{index}",
                    lead_id=lead_id,
                    type="page_view",
                    occurred_at=at,
                    received_at=at,
                    properties={"url": url, "title": "landing page"},
                    source=EventSource.DEMO,
                )
            )
    EngagementEvent.objects.bulk_create(events, batch_size=1000, ignore_conflicts=True)
    spend = []
    for month in _months_back(now.date(), MONTHS):
        for campaign, (low, high) in SPEND_RANGE.items():
            spend.append(
                CampaignSpend(
                    campaign=campaign,
                    month=month,
                    amount=round(rng.uniform(low, high), -1),
                    currency="EUR",
                    channel=SPEND_CHANNEL.get(campaign, ""),
                )
            )
    CampaignSpend.objects.bulk_create(spend)
    return {"touches": len(events), "spend": len(spend)}


def build_demo_attribution() -> AttributionRefresh:
    return refresh_attribution()
