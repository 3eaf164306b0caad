"""The demo data set behind `manage.py seed_demo`.

It loads months of history at once, the way an import from another CRM would: leads,
their stage paths (several cycles for some), events, alerts, deals and activities,
written with bulk inserts that keep the lifecycle's invariants (a lead's stage is the
to-stage of its last transition; one alert per MQL crossing; one deal per cycle).
Live changes after that go through the services.
"""

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from events.models import EngagementEvent, EventSource
from leads.actors import Actor
from leads.bulk import update_lead_columns
from leads.lifecycle import create_leads
from leads.lifecycle.history import CROSSED_MQL, PastMove, record_past_moves
from leads.models import PROFILE_FIELDS, Activity, Deal, DealStatus, Lead
from leads.stages import Stage
from sales.business_hours import sla_due_at
from sales.models import AlertStatus, SalesAlert
from scoring.computation import evaluate
from scoring.models import ScoreChange
from scoring.selectors import active_rule_specs
from scoring.services import rescore_leads

from .buyers import HISTORY_DAYS, BuyerProfile

DEMO_DOMAIN = "demo.funnel.test"
# Pricing views a demo lead may add after its demo request before the seed gives up on the rules.
MAX_EXTRA_PRICING_VIEWS = 200


class DemoRulesMissing(RuntimeError):
    """The scoring rules in the database cannot produce the demo's MQLs."""


DEMO_USERS = [
    # username, role group, first name, last name
    ("marketer", "marketer", "Mara", "Keting"),
    ("rep1", "sales_rep", "Ravi", "Patel"),
    ("rep2", "sales_rep", "Rosa", "Lindqvist"),
    ("manager", "sales_manager", "Maya", "Okafor"),
]
SOURCES = ["website", "webinar", "paid_search", "linkedin", "referral", "event", "content"]
CAMPAIGNS = ["spring-launch", "pricing-push", "webinar-series", "ebook-playbook", "retargeting-q3", ""]
FIRST = [
    "Ada",
    "Ben",
    "Chloe",
    "Dmitri",
    "Elena",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Liam",
    "Mei",
    "Noah",
    "Olga",
    "Pablo",
    "Quinn",
    "Rita",
    "Sven",
    "Tara",
    "Umar",
    "Vera",
    "Wen",
    "Yara",
    "Zoe",
]
LAST = [
    "Alvarez",
    "Brown",
    "Chen",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Hansen",
    "Ito",
    "Jensen",
    "Kowalski",
    "Larsen",
    "Muller",
    "Nakamura",
    "Olsen",
    "Petrov",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Ueda",
    "Vogel",
    "Weber",
]
COMPANIES = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Tyrell",
    "Soylent",
    "Wonka",
    "Cyberdyne",
    "Aperture",
    "Massive Dynamic",
    "Gringotts",
    "Monarch",
    "Oscorp",
    "Pied Piper",
]
TITLES = [
    "VP Marketing",
    "Head of Growth",
    "Marketing Manager",
    "CMO",
    "Sales Director",
    "Analyst",
    "Demand Gen Lead",
    "Founder",
    "Head of Sales",
    "Operations Manager",
    "Intern",
    "Engineer",
]
COUNTRIES = ["Germany", "United States", "United Kingdom", "France", "Netherlands", "Sweden", "Spain", "Canada"]
# The reasons the product offers (settings.FUNNEL_REJECT_REASONS), so the demo's
# analytics and history read like what a rep can pick.
REJECT_REASONS = ["no_budget", "bad_timing", "not_a_fit", "competitor", "no_response"]
LOST_REASONS = ["competitor", "no_budget", "bad_timing", "no_response"]
# What a demo lead is created with; the rest of it comes from its story.
CREATED_WITH = ["anonymous_id", *PROFILE_FIELDS, "created_at"]


def reason_label(code: str) -> str:
    return settings.FUNNEL_REJECT_REASONS[code]


@dataclass
class LeadPlan:
    lead: Lead
    first: dict = field(default_factory=dict)
    moves: list[PastMove] = field(default_factory=list)
    events: list[EngagementEvent] = field(default_factory=list)
    alerts: list[SalesAlert] = field(default_factory=list)
    deals: list[Deal] = field(default_factory=list)
    activities: list[Activity] = field(default_factory=list)
    score_changes: list[ScoreChange] = field(default_factory=list)


def ensure_demo_users(*, password: str) -> dict[str, object]:
    User = get_user_model()
    users = {}
    for username, group, first, last in DEMO_USERS:
        user, _ = User.objects.get_or_create(
            username=username, defaults={"first_name": first, "last_name": last, "email": f"{username}@{DEMO_DOMAIN}"}
        )
        user.set_password(password)
        user.is_active = True
        user.save()
        user.groups.add(Group.objects.get_or_create(name=group)[0])
        users[username] = user
    admin, _ = User.objects.get_or_create(username="admin", defaults={"email": f"admin@{DEMO_DOMAIN}"})
    admin.is_staff = admin.is_superuser = admin.is_active = True
    admin.set_password(password)
    admin.save()
    admin.groups.add(Group.objects.get_or_create(name="admin")[0])
    users["admin"] = admin
    return users


def demo_already_loaded() -> bool:
    return Lead.objects.filter(email__iendswith=f"@{DEMO_DOMAIN}").exists()


class _Story:
    """Walks one lead through the funnel, writing what each step leaves behind."""

    def __init__(self, rng: random.Random, plan: LeadPlan, reps: list, rules: list, now: datetime):
        self.rng, self.plan, self.reps, self.rules, self.now = rng, plan, reps, rules, now
        self.lead = plan.lead
        self.at = self.lead.created_at
        self.cycle_started_at = None
        self.event_seq = 0
        self.crossings = 0
        self.buyer = BuyerProfile.draw(rng, self.lead)

    def advance(self, low_hours: float, high_hours: float) -> bool:
        """Move the clock on; False when that would run past today (the story stops there)."""
        nxt = self.at + timedelta(hours=self.rng.uniform(low_hours, high_hours))
        if nxt >= self.now:
            return False
        self.at = nxt
        return True

    def event(self, kind: str, **properties) -> None:
        self.event_seq += 1
        self.plan.events.append(
            EngagementEvent(
                message_id=f"demo-{self.lead.email or self.lead.anonymous_id}-{self.event_seq}",
                lead=self.lead,
                type=kind,
                occurred_at=self.at,
                received_at=self.at,
                properties=properties,
                source=EventSource.DEMO,
            )
        )

    def drops(self, chance: float) -> bool:
        """Whether the story ends (or goes badly) here; a returning customer is warmer."""
        return self.rng.random() < self.buyer.drop_chance(chance * 0.3 if self.lead.cycle > 1 else chance)

    def score_now(self):
        """The real rules' score of the lead at the story's clock, over its current cycle."""
        events = [
            (index, event.type, event.occurred_at, event.properties)
            for index, event in enumerate(self.plan.events)
            if self.cycle_started_at is None or event.occurred_at >= self.cycle_started_at
        ]
        return evaluate(
            lead=self.lead, events=events, rules=self.rules, as_of=self.at, window_start=self.cycle_started_at
        )

    def record_score(self):
        """Keep the score's history as it would have been written at the story's clock."""
        result = self.score_now()
        if result.score != self.lead.score:
            self.plan.score_changes.append(
                ScoreChange(
                    lead=self.lead,
                    old_score=self.lead.score,
                    new_score=result.score,
                    contributions=result.contributions_as_dicts(),
                    cause="events",
                    at=self.at,
                )
            )
            self.lead.score = result.score
        return result

    def move(
        self, to: str, *, actor=None, reason: str = "", reason_code: str = "", new_cycle=False, label="system"
    ) -> None:
        """A move of the story, recorded through the lifecycle's rules (leads.lifecycle.history)."""
        lead = self.lead
        self.plan.moves.append(
            PastMove(
                to_stage=to,
                occurred_at=self.at,
                actor=Actor.for_user(actor) if actor else Actor.system(label),
                new_cycle=new_cycle,
                reason=reason,
                reason_code=reason_code,
                owner=lead.owner if to == Stage.SAL else None,
            )
        )
        lead.stage = to
        lead.stage_entered_at = self.at

    def browse(self, count: int) -> None:
        pages = ["/", "/blog/lead-scoring-101", "/blog/funnel-metrics", "/features", "/pricing", "/customers"]
        for _ in range(count):
            if not self.advance(2, 96):
                return
            url = self.rng.choice(pages)
            self.event("page_view", url=f"https://funnel.example{url}", title=url.strip("/") or "home")
        self.record_score()

    def engage(self, count: int) -> None:
        campaign = self.lead.utm_campaign or "newsletter"
        for _ in range(self.buyer.engagements(count)):
            if not self.advance(6, 120):
                return
            roll = self.rng.random()
            if roll < 0.30:
                # Most emails go unopened and most opens unclicked, as in life.
                self.event("email_sent", campaign=campaign)
                if self.rng.random() < 0.45:
                    self.event("email_opened", campaign=campaign)
                    if self.rng.random() < 0.3:
                        self.event("email_clicked", campaign=campaign, url="https://funnel.example/pricing")
            elif roll < 0.5:
                self.event("content_downloaded", asset=self.rng.choice(["ebook-playbook", "benchmark-report"]))
            elif roll < 0.65:
                self.event("webinar_registered", webinar="scoring-masterclass")
                if self.rng.random() < 0.6:
                    self.event("webinar_attended", webinar="scoring-masterclass")
            elif roll < 0.8:
                for _impression in range(self.rng.randint(3, 12)):
                    self.event("ad_impression", campaign=campaign)
                if self.rng.random() < 0.5:
                    self.event("ad_clicked", campaign=campaign)
            else:
                self.event("page_view", url="https://funnel.example/pricing", title="pricing")
        self.record_score()

    def run(self) -> None:
        lead, rng = self.lead, self.rng
        if lead.stage == Stage.DEMAND_GEN:
            self.browse(rng.randint(1, 4))
            return
        self.event("form_submitted", form=rng.choice(["newsletter", "ebook-download", "contact"]))
        for _cycle in range(2):
            if not self.one_cycle():
                return
            # A customer: some come back for more after a quiet period.
            if rng.random() > 0.45 or not self.advance(24 * 31, 24 * 50):
                return
            lead.cycle += 1
            self.move(Stage.LEAD_GEN, new_cycle=True, reason="Upsell interest after a quiet period")
            self.cycle_started_at = self.at
            lead.mql_armed = True
            self.crossings = 0
            self.event("page_view", url="https://funnel.example/pricing/enterprise", title="enterprise pricing")

    def one_cycle(self) -> bool:
        """One pass from lead generation; True when it ended with a customer."""
        lead, rng = self.lead, self.rng
        self.engage(rng.randint(1, 3))
        if self.drops(0.2) or not self.advance(12, 24 * 10):
            return False
        self.move(Stage.NURTURE, reason="Engaged with the nurture programme")
        for _attempt in range(2):
            self.engage(rng.randint(2, 5))
            if self.drops(0.45) or not self.advance(12, 24 * 14):
                return False
            # The scored path to MQL: a few pricing views and a demo request, the same
            # day; the alert keeps the real rules' explanation at that moment.
            for _view in range(rng.randint(2, 4)):
                self.at += timedelta(minutes=rng.uniform(5, 90))
                self.event("page_view", url="https://funnel.example/pricing", title="pricing")
            self.event("form_submitted", form="demo-request")
            result = self.record_score()
            extra_views = 0
            while result.score < 50:
                # Bounded: with the default rules gone (deleted, or flushed by a test) no number
                # of pricing views reaches the threshold, and the seed must say so, not spin.
                extra_views += 1
                if extra_views > MAX_EXTRA_PRICING_VIEWS:
                    raise DemoRulesMissing(
                        "The scoring rules cannot make a demo lead an MQL: restore the default rules "
                        "(python manage.py migrate scoring zero && python manage.py migrate) and seed again."
                    )
                self.at += timedelta(minutes=10)
                self.event("page_view", url="https://funnel.example/pricing", title="pricing")
                result = self.record_score()
            self.crossings += 1
            score = result.score
            lead.mql_armed = False
            self.move(
                Stage.MQL,
                reason=f"Score {score} crossed the MQL threshold 50",
                reason_code=CROSSED_MQL,
                label=f"score {score}",
            )
            alert = SalesAlert(
                lead=lead,
                cycle=lead.cycle,
                crossing=self.crossings,
                score=score,
                contributions=result.contributions_as_dicts(),
                raised_at=self.at,
                assignee=rng.choice(self.reps),
            )
            # The product's SLA clock (working hours only), as a live alert gets it.
            alert.due_at = sla_due_at(self.at)
            self.plan.alerts.append(alert)
            # Recent MQLs wait in the queue, so the demo queue has work in it.
            if self.now - self.at < timedelta(days=4) and rng.random() < 0.85:
                return False
            if not self.advance(1, 60):
                return False
            rep = alert.assignee
            # Acted on after its due time: the SLA sweep would have flagged it by then.
            alert.overdue = self.at > alert.due_at
            if self.drops(0.28):
                code = rng.choice(REJECT_REASONS)
                alert.status, alert.acted_by, alert.acted_at = AlertStatus.REJECTED, rep, self.at
                alert.reject_reason = code
                lead.recycle_count += 1
                lead.mql_armed = False
                self.move(Stage.NURTURE, actor=rep, reason=f"Rejected: {reason_label(code)}", reason_code=code)
                continue
            alert.status, alert.acted_by, alert.acted_at = AlertStatus.ACCEPTED, rep, self.at
            lead.owner = rep
            self.move(Stage.SAL, actor=rep, reason="Accepted from the queue")
            return self.sales_cycle(rep)
        return False

    def sales_cycle(self, rep) -> bool:
        lead, rng = self.lead, self.rng
        self.activity(rep, "call", "Discovery call booked")
        if self.drops(0.2) or not self.advance(24, 24 * 12):
            return False
        if self.drops(0.15):
            lead.recycle_count += 1
            lead.mql_armed = False
            self.move(Stage.NURTURE, actor=rep, reason="Not ready yet", reason_code="bad_timing")
            return False
        self.activity(rep, "meeting", "Demo given")
        value = Decimal(rng.choice([4800, 9600, 12000, 18000, 24000, 36000, 60000]))
        deal = Deal(
            lead=lead,
            cycle=lead.cycle,
            owner=rep,
            value=value,
            currency="EUR",
            expected_close_date=(self.at + timedelta(days=rng.randint(14, 60))).date(),
            next_step="Send the proposal",
            created_at=self.at,
        )
        self.plan.deals.append(deal)
        self.move(Stage.SQL, actor=rep, reason="Budget and need confirmed")
        if self.drops(0.3) or not self.advance(24, 24 * 20):
            return False
        deal.proposal_sent_at = self.at
        self.activity(rep, "email", "Proposal sent")
        if not self.advance(24, 24 * 25):
            return False
        if self.drops(0.4):
            deal.status, deal.closed_at = DealStatus.LOST, self.at
            code = rng.choice(LOST_REASONS)
            deal.lost_reason = f"Lost: {reason_label(code)}"
            lead.recycle_count += 1
            lead.mql_armed = False
            self.move(Stage.NURTURE, actor=rep, reason=deal.lost_reason, reason_code=code)
            return False
        deal.proposal_accepted_at = self.at
        deal.status, deal.closed_at = DealStatus.WON, self.at
        deal.next_step = "Kick-off"
        self.move(Stage.CUSTOMER, actor=rep, reason="Contract signed")
        if self.advance(24 * 5, 24 * 30):
            self.event("nps_submitted", score=rng.choice([6, 7, 8, 9, 9, 10, 10, 4]))
        return True

    def activity(self, rep, kind: str, outcome: str) -> None:
        self.plan.activities.append(
            Activity(
                lead=self.lead,
                user=rep,
                kind=kind,
                occurred_at=self.at,
                outcome=outcome,
                next_step="Follow up",
                next_step_due=(self.at + timedelta(days=3)).date(),
                created_at=self.at,
            )
        )


def build_lead(rng: random.Random, index: int, now: datetime) -> Lead:
    created = now - timedelta(days=rng.uniform(0, HISTORY_DAYS), hours=rng.uniform(0, 24))
    anonymous = rng.random() < 0.12
    first, last = rng.choice(FIRST), rng.choice(LAST)
    source = rng.choice(SOURCES)
    campaign = rng.choice(CAMPAIGNS)
    return Lead(
        email=None if anonymous else f"{first.lower()}.{last.lower()}.{index}@{DEMO_DOMAIN}",
        anonymous_id=f"demo-anon-{index}" if anonymous else None,
        first_name="" if anonymous else first,
        last_name="" if anonymous else last,
        company="" if anonymous else f"{rng.choice(COMPANIES)} {rng.choice(['GmbH', 'Inc', 'Ltd', 'AB', 'BV'])}",
        job_title="" if anonymous else rng.choice(TITLES),
        country=rng.choice(COUNTRIES),
        company_size=None if anonymous else rng.choice([5, 20, 50, 120, 400, 1500, 8000]),
        source=source,
        utm_source={"paid_search": "google", "linkedin": "linkedin"}.get(source, source),
        utm_medium={"paid_search": "cpc", "linkedin": "social"}.get(source, "organic"),
        utm_campaign=campaign,
        stage=Stage.DEMAND_GEN if anonymous else Stage.LEAD_GEN,
        stage_entered_at=created,
        score=0,
        created_at=created,
        last_engaged_at=created,
    )


@transaction.atomic
def load_demo(*, leads: int = 2400, seed: int = 7, password: str) -> dict[str, int]:
    users = ensure_demo_users(password=password)
    if demo_already_loaded():
        return {"leads": 0}
    rng = random.Random(seed)
    now = timezone.now()
    reps = [users["rep1"], users["rep2"]]
    rules = active_rule_specs()
    plans = []
    for index in range(leads):
        lead = build_lead(rng, index, now)
        plan = LeadPlan(lead=lead, first={name: getattr(lead, name) for name in CREATED_WITH})
        _Story(rng, plan, reps, rules, now).run()
        plan.first["last_engaged_at"] = max((event.occurred_at for event in plan.events), default=lead.created_at)
        plans.append(plan)
    # Every lead through the lifecycle's one path (first stage, first transition, board
    # count), then its story's moves, each judged by the stage rules.
    created = create_leads(
        [plan.first for plan in plans], actor=Actor.system(), reason="Imported with the demo history", batch_size=500
    )
    record_past_moves(moves={lead: plan.moves for lead, plan in zip(created, plans, strict=True)})
    for lead, plan in zip(created, plans, strict=True):
        plan.lead.pk = lead.pk
        lead.score = plan.lead.score
    # The score the story's history ends at (its ScoreChange rows below); rescored next.
    update_lead_columns(created, ["score"])
    for kind, model in (
        ("events", EngagementEvent),
        ("alerts", SalesAlert),
        ("deals", Deal),
        ("activities", Activity),
        ("score_changes", ScoreChange),
    ):
        rows = []
        for plan in plans:
            for row in getattr(plan, kind):
                row.lead_id = plan.lead.pk
                rows.append(row)
        model.objects.bulk_create(rows, batch_size=1000)
    # Today's scores come from the real rules over the loaded events (with decay), which
    # also writes the score history; a lead whose fresh score crosses the threshold
    # becomes an MQL now, as it would live.
    lead_ids = [plan.lead.pk for plan in plans]
    crossings = 0
    for start in range(0, len(lead_ids), 500):
        crossings += len(rescore_leads(lead_ids=lead_ids[start : start + 500], cause="demo data").crossings)
    return {
        "leads": len(plans),
        "transitions": len(plans) + sum(len(plan.moves) for plan in plans),
        "events": sum(len(plan.events) for plan in plans),
        "alerts": sum(len(plan.alerts) for plan in plans),
        "deals": sum(len(plan.deals) for plan in plans),
        "activities": sum(len(plan.activities) for plan in plans),
        "new MQLs": crossings,
    }
