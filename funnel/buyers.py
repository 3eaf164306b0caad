"""Who buys, in the synthetic data (`seed_demo`, `generate_load`): a hidden propensity
that the likelihood model can see only partly.

    propensity = 0.6 × fit + 0.6 × behaviour + noise,   noise ~ N(0, 1)

- fit: title seniority, company size and country, read from the lead's fields (what a
  fit rule or Odoo's naive Bayes sees);
- behaviour: how engaged the person is, N(0, 1), which shows only through how many
  events they leave (what behaviour rules and the event counts see);
- noise: what no feature sees (budget, timing, a champion leaving).

The weights are round numbers chosen before any model was trained on the data and were
not adjusted afterwards, so no method is favoured: the rules see behaviour and some
fit, naive Bayes only fit, the learned model both plus stage, with the noise left over.
"""

import math
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from leads.models import ActorKind, Lead, StageTransition
from leads.pipeline_counts import bucket_change, pipeline_count_key, record_pipeline_count_changes
from leads.stages import MoveKind, Stage

# How far back the demo's and the load's leads are created: the likelihood model needs
# about 7 months of history (two 90-day horizons and the holdout weeks) plus some to learn from.
HISTORY_DAYS = 420
FIT_WEIGHT = 0.6
BEHAVIOUR_WEIGHT = 0.6

_SENIORITY = {"cmo": 1.0, "founder": 1.0, "ceo": 1.0, "vp": 0.8, "head": 0.6, "director": 0.6}
_JUNIOR = {"intern": -1.0, "analyst": -0.4, "engineer": -0.5}
_COUNTRY = {"United States": 0.3, "Germany": 0.2, "United Kingdom": 0.1, "Spain": -0.3, "Canada": -0.1}


def fit_of(*, job_title: str, company_size: int | None, country: str) -> float:
    words = set((job_title or "").lower().split())
    title = max([weight for word, weight in _SENIORITY.items() if word in words] or [0.0])
    title += min([weight for word, weight in _JUNIOR.items() if word in words] or [0.0])
    if company_size is None:
        size = -0.3
    else:
        size = -0.6 if company_size < 20 else 0.0 if company_size < 200 else 0.5 if company_size < 2000 else 0.3
    return title + size + _COUNTRY.get(country, 0.0)


@dataclass
class BuyerProfile:
    fit: float
    behaviour: float
    noise: float

    @classmethod
    def draw(cls, rng: random.Random, lead) -> "BuyerProfile":
        return cls(
            fit=fit_of(job_title=lead.job_title, company_size=lead.company_size, country=lead.country),
            behaviour=rng.gauss(0.0, 1.0),
            noise=rng.gauss(0.0, 1.0),
        )

    @property
    def propensity(self) -> float:
        return FIT_WEIGHT * self.fit + BEHAVIOUR_WEIGHT * self.behaviour + self.noise

    def drop_chance(self, chance: float) -> float:
        """The demo story's chance to drop out at a step, lower for a keener buyer."""
        return min(0.95, max(0.02, chance * math.exp(-0.6 * self.propensity)))

    def engagements(self, count: int) -> int:
        """How many touches a nurture step leaves, more for an engaged person."""
        return max(1, round(count * math.exp(0.5 * self.behaviour)))

    @property
    def activity(self) -> float:
        """A person's share of the load's events, relative to others."""
        return math.exp(0.7 * self.behaviour)


# --- generate_load: a plan per lead ------------------------------------------------------

LOAD_TITLES = ["VP Marketing", "Analyst", "Head of Sales", "Engineer", "CMO", "Marketing Manager", "Intern", "Founder"]
LOAD_SIZES = [5, 20, 50, 120, 400, 1500, 8000, None]
LOAD_COUNTRIES = ["Germany", "United States", "United Kingdom", "France", "Spain", "Canada"]
# Propensity above this buys (about one lead in eight).
BUY_CUTOFF = 1.5
SIGNALS = [
    ("page_view", {"url": "https://funnel.example/pricing", "title": "pricing"}),
    ("form_submitted", {"form": "demo-request"}),
    ("webinar_attended", {"webinar": "scoring-masterclass"}),
    ("email_clicked", {"campaign": "newsletter", "url": "https://funnel.example/pricing"}),
]


@dataclass
class LoadPlan:
    fields: dict
    created_at: datetime
    profile: BuyerProfile
    buys_at: datetime | None
    moves: list = field(default_factory=list)  # (from, to, kind, at)

    @property
    def stage(self) -> str:
        return self.moves[-1][1]

    @property
    def stage_entered_at(self) -> datetime:
        return self.moves[-1][3]

    def event_time(self, rng: random.Random, now: datetime) -> tuple[datetime, bool]:
        """When one of this lead's events happened, and whether it is a buying signal:
        a buyer's events cluster in the weeks before the purchase (some of them)."""
        if self.buys_at is not None and rng.random() < 0.4:
            at = self.buys_at - timedelta(days=rng.uniform(0, 45))
            if self.created_at < at < now:
                return at, rng.random() < 0.5
        span = (now - self.created_at).total_seconds()
        return self.created_at + timedelta(seconds=rng.uniform(0, span)), False


def plan_load_lead(rng: random.Random, now: datetime) -> LoadPlan:
    fields = {
        "job_title": rng.choice(LOAD_TITLES),
        "company_size": rng.choice(LOAD_SIZES),
        "country": rng.choice(LOAD_COUNTRIES),
    }
    created = now - timedelta(days=rng.uniform(0, HISTORY_DAYS))
    profile = BuyerProfile(fit=fit_of(**fields), behaviour=rng.gauss(0.0, 1.0), noise=rng.gauss(0.0, 1.0))
    plan = LoadPlan(fields=fields, created_at=created, profile=profile, buys_at=None)
    plan.moves.append(("", Stage.LEAD_GEN, MoveKind.CREATED, created))
    if profile.propensity > BUY_CUTOFF:
        plan.buys_at = created + timedelta(days=rng.uniform(14, 240))
        mql_at = max(created, plan.buys_at - timedelta(days=rng.uniform(20, 40)))
        steps = [
            (Stage.LEAD_GEN, Stage.MQL, mql_at),
            (Stage.MQL, Stage.SAL, mql_at + timedelta(days=rng.uniform(0.1, 3))),
            (Stage.SAL, Stage.SQL, plan.buys_at - timedelta(days=rng.uniform(2, 15))),
            (Stage.SQL, Stage.CUSTOMER, plan.buys_at),
        ]
    elif rng.random() < 0.3:
        # Many who never buy still reach sales: some are rejected, some accepted, and some
        # of those qualified before the deal is lost, so the stage is not the answer.
        mql_at = created + timedelta(days=rng.uniform(5, 150))
        fate = rng.random()
        if fate < 0.4:
            steps = [(Stage.LEAD_GEN, Stage.MQL, mql_at), (Stage.MQL, Stage.NURTURE, mql_at + timedelta(days=2))]
        else:
            sql_at = mql_at + timedelta(days=rng.uniform(2, 20))
            steps = [(Stage.LEAD_GEN, Stage.MQL, mql_at), (Stage.MQL, Stage.SAL, mql_at + timedelta(days=1))]
            if fate < 0.7:
                steps.append((Stage.SAL, Stage.NURTURE, sql_at))
            else:
                lost_at = sql_at + timedelta(days=rng.uniform(10, 60))
                steps += [(Stage.SAL, Stage.SQL, sql_at), (Stage.SQL, Stage.NURTURE, lost_at)]
    else:
        steps = []
    for from_stage, to_stage, at in steps:
        if at >= now:
            break
        kind = MoveKind.FALL_BACK if to_stage == Stage.NURTURE else MoveKind.FORWARD
        plan.moves.append((from_stage, to_stage, kind, max(at, plan.moves[-1][3])))
    return plan


def write_later_moves(*, leads: list, plans: list) -> None:
    """After `create_leads` (each lead at lead generation, at its creation time): the rest
    of each plan's stage path as transitions, the lead's stage, and the board counts'
    change, set-based, in the caller's transaction."""
    moved = [(lead, plan) for lead, plan in zip(leads, plans, strict=True) if len(plan.moves) > 1]
    if not moved:
        return
    StageTransition.objects.bulk_create(
        [
            StageTransition(
                lead_id=lead.pk,
                cycle=1,
                from_stage=from_stage,
                to_stage=to_stage,
                kind=kind,
                actor_kind=ActorKind.SYSTEM,
                actor_label="generate_load",
                occurred_at=at,
            )
            for lead, plan in moved
            for from_stage, to_stage, kind, at in plan.moves[1:]
        ],
        batch_size=5000,
    )
    changes = Counter()
    for lead, plan in moved:
        before = pipeline_count_key(lead)
        lead.stage, lead.stage_entered_at = plan.stage, plan.stage_entered_at
        changes.update(bucket_change(before=before, after=pipeline_count_key(lead)))
    Lead.objects.bulk_update([lead for lead, _plan in moved], ["stage", "stage_entered_at"], batch_size=5000)
    record_pipeline_count_changes(changes)
