"""Reads of the funnel report: every number comes from the summary tables, one grouped
query per table, so a report costs the same number of queries whatever the data size."""

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.db.models import Max, Sum
from redis.exceptions import RedisError

from leads.actors import person_name
from leads.stages import STAGE_INDEX, STAGE_ORDER, Stage
from scoring.likelihood.report import METHODS as LIKELIHOOD_METHODS
from scoring.models import LikelihoodModel

from . import models as m

COHORT_STAGES = [Stage.LEAD_GEN, Stage.MQL, Stage.SAL, Stage.SQL, Stage.CUSTOMER]
# Event types grouped into the channels marketing plans by.
CHANNELS = {
    "web": ("page_view", "form_submitted"),
    "email": ("email_sent", "email_opened", "email_clicked"),
    "ads": ("ad_impression", "ad_clicked"),
    "content": ("content_downloaded",),
    "webinar": ("webinar_registered", "webinar_attended"),
}
CHANNEL_OF = {event_type: channel for channel, types in CHANNELS.items() for event_type in types}
ENGAGEMENT_TYPES = [
    "page_view",
    "form_submitted",
    "content_downloaded",
    "email_sent",
    "email_opened",
    "email_clicked",
    "ad_clicked",
    "webinar_registered",
    "webinar_attended",
]


@dataclass(frozen=True)
class ReportFilters:
    start: date
    end: date  # inclusive
    source: str = ""
    campaign: str = ""
    owner_id: int | None = None

    @classmethod
    def last_days(cls, days: int = 90, *, today: date | None = None) -> "ReportFilters":
        today = today or date.today()
        return cls(start=today - timedelta(days=days - 1), end=today)

    def apply(self, queryset, *, day_field: str = "day"):
        queryset = queryset.filter(**{f"{day_field}__gte": self.start, f"{day_field}__lte": self.end})
        if self.source:
            queryset = queryset.filter(source=self.source)
        if self.campaign:
            queryset = queryset.filter(campaign=self.campaign)
        if self.owner_id:
            queryset = queryset.filter(owner_id=self.owner_id)
        return queryset

    def as_query(self) -> dict:
        query = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        if self.source:
            query["source"] = self.source
        if self.campaign:
            query["campaign"] = self.campaign
        if self.owner_id:
            query["owner"] = str(self.owner_id)
        return query


def rate(part, whole) -> float | None:
    """A share rounded to 4 places, or None where there is nothing to divide by."""
    if not whole:
        return None
    return round(float(part) / float(whole), 4)


def weighted_percentile(histogram: list[tuple[int, int]], fraction: float) -> float | None:
    """The percentile of values given as (value, how many) pairs, interpolated between
    the two nearest ranks exactly as PostgreSQL's percentile_cont does."""
    pairs = sorted((value, count) for value, count in histogram if count > 0)
    total = sum(count for _, count in pairs)
    if total == 0:
        return None
    position = fraction * (total - 1)
    lower_rank, upper_rank = math.floor(position), math.ceil(position)

    def value_at(rank: int) -> int:
        seen = 0
        for value, count in pairs:
            seen += count
            if rank < seen:
                return value
        return pairs[-1][0]

    lower, upper = value_at(lower_rank), value_at(upper_rank)
    return lower + (upper - lower) * (position - lower_rank)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _sums(queryset, *fields) -> dict:
    row = queryset.aggregate(**{field: Sum(field) for field in fields})
    return {field: row[field] or 0 for field in fields}


def conversion(filters: ReportFilters) -> list[dict]:
    rows = {
        row["stage"]: row
        for row in filters.apply(m.StageEntryDaily.objects)
        .values("stage")
        .annotate(entered=Sum("entered"), reached_next=Sum("reached_next"), reached_customer=Sum("reached_customer"))
    }
    result = []
    for stage in Stage:
        row = rows.get(stage.value, {})
        entered = row.get("entered") or 0
        last = stage == Stage.CUSTOMER
        result.append(
            {
                "stage": stage.value,
                "label": stage.label,
                "entered": entered,
                "reached_next": None if last else row.get("reached_next") or 0,
                "reached_customer": row.get("reached_customer") or 0,
                "next_rate": None if last else rate(row.get("reached_next") or 0, entered),
                "customer_rate": rate(row.get("reached_customer") or 0, entered),
            }
        )
    return result


def campaigns(filters: ReportFilters) -> list[dict]:
    """Which campaigns produce customers: per lead campaign (the lead's own UTM
    campaign), leads captured, customers won and the won deals' value in the period,
    most customers first. Two grouped queries over the summary tables."""
    entries: dict[str, dict] = defaultdict(lambda: {"leads": 0, "customers": 0})
    for row in (
        filters.apply(m.StageEntryDaily.objects)
        .filter(stage__in=(Stage.LEAD_GEN, Stage.CUSTOMER))
        .values("campaign", "stage")
        .annotate(n=Sum("entered"))
        .order_by()
    ):
        entries[row["campaign"]]["leads" if row["stage"] == Stage.LEAD_GEN else "customers"] += row["n"] or 0
    won_value = {
        row["campaign"]: float(row["value"] or 0)
        for row in filters.apply(m.DealDaily.objects).values("campaign").annotate(value=Sum("won_value")).order_by()
    }
    rows = [
        {
            "campaign": campaign,
            "leads": numbers["leads"],
            "customers": numbers["customers"],
            "customer_rate": rate(numbers["customers"], numbers["leads"]),
            "won_value": won_value.get(campaign, 0.0),
        }
        for campaign, numbers in entries.items()
    ]
    rows += [
        {"campaign": campaign, "leads": 0, "customers": 0, "customer_rate": None, "won_value": value}
        for campaign, value in won_value.items()
        if campaign not in entries and value
    ]
    rows.sort(key=lambda row: (-row["customers"], -row["won_value"], row["campaign"]))
    return rows


def durations(filters: ReportFilters) -> dict:
    histograms: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for row in filters.apply(m.DurationDaily.objects).values("measure", "hours").annotate(n=Sum("count")).order_by():
        histograms[row["measure"]].append((row["hours"], row["n"]))

    def summary(measure: str) -> dict:
        histogram = histograms.get(measure, [])
        return {
            "count": sum(count for _, count in histogram),
            "median_hours": _round(weighted_percentile(histogram, 0.5)),
            "p90_hours": _round(weighted_percentile(histogram, 0.9)),
        }

    return {
        "stages": [{"stage": stage.value, "label": stage.label, **summary(stage.value)} for stage in Stage],
        "sales_cycle": summary(m.DurationMeasure.SALES_CYCLE),
        "first_touch": summary(m.DurationMeasure.FIRST_TOUCH),
    }


def cohorts(filters: ReportFilters) -> list[dict]:
    first_week = filters.start - timedelta(days=filters.start.weekday())
    queryset = m.CohortWeekly.objects.filter(week__gte=first_week, week__lte=filters.end)
    if filters.source:
        queryset = queryset.filter(source=filters.source)
    if filters.campaign:
        queryset = queryset.filter(campaign=filters.campaign)
    if filters.owner_id:
        queryset = queryset.filter(owner_id=filters.owner_id)
    weeks: dict[date, dict[str, int]] = defaultdict(dict)
    for row in queryset.values("week", "furthest_stage").annotate(n=Sum("leads")).order_by():
        weeks[row["week"]][row["furthest_stage"]] = row["n"]
    result = []
    for week in sorted(weeks):
        furthest = weeks[week]
        total = sum(furthest.values())
        reached = {
            stage.value: sum(n for slug, n in furthest.items() if STAGE_INDEX[slug] >= STAGE_INDEX[stage])
            for stage in COHORT_STAGES
        }
        result.append(
            {
                "week": week.isoformat(),
                "leads": total,
                "reached": reached,
                "reached_rate": {slug: rate(n, total) for slug, n in reached.items()},
            }
        )
    return result


def handoff(filters: ReportFilters, first_touch: dict) -> dict:
    totals = _sums(
        filters.apply(m.HandoffDaily.objects), "raised", "accepted", "rejected", "still_open", "sla_due", "sla_met"
    )
    reasons = [
        {"reason": row["reason"], "count": row["n"]}
        for row in filters.apply(m.RejectionDaily.objects)
        .values("reason")
        .annotate(n=Sum("rejected"))
        .order_by("-n", "reason")
    ]
    return {
        **totals,
        "acceptance_rate": rate(totals["accepted"], totals["raised"]),
        "sla_rate": rate(totals["sla_met"], totals["sla_due"]),
        "first_touch": first_touch,
        "rejection_reasons": reasons,
    }


def close(filters: ReportFilters) -> dict:
    deal_fields = (
        "opened",
        "opened_value",
        "still_open",
        "open_value",
        "proposals_sent",
        "proposals_accepted",
        "won",
        "won_value",
        "lost",
        "repeat_won",
    )
    totals = _sums(filters.apply(m.DealDaily.objects), *deal_fields)
    won_by_owner = {
        row["owner_id"]: row["n"]
        for row in filters.apply(m.DealDaily.objects).values("owner_id").annotate(n=Sum("won")).order_by()
    }
    touches: dict[int | None, dict[str, int]] = defaultdict(lambda: {"call": 0, "meeting": 0})
    for row in (
        filters.apply(m.ActivityDaily.objects)
        .filter(kind__in=("call", "meeting"))
        .values("owner_id", "kind")
        .annotate(n=Sum("count"))
        .order_by()
    ):
        touches[row["owner_id"]][row["kind"]] = row["n"]
    owner_ids = {owner_id for owner_id in [*touches, *won_by_owner] if owner_id is not None}
    names = {
        user.pk: person_name(user)
        for user in get_user_model().objects.filter(pk__in=owner_ids).only("username", "first_name", "last_name")
    }
    reps = []
    for owner_id in sorted(owner_ids, key=lambda pk: names.get(pk, "")):
        calls, meetings = touches[owner_id]["call"], touches[owner_id]["meeting"]
        won = won_by_owner.get(owner_id, 0)
        if not (calls or meetings or won):
            continue
        reps.append(
            {
                "owner_id": owner_id,
                "name": names.get(owner_id, f"User #{owner_id}"),
                "calls": calls,
                "meetings": meetings,
                "won": won,
                "touches_per_won": round((calls + meetings) / won, 2) if won else None,
            }
        )
    all_touches = sum(t["call"] + t["meeting"] for t in touches.values())
    return {
        **{key: float(value) if isinstance(value, Decimal) else value for key, value in totals.items()},
        "proposal_acceptance_rate": rate(totals["proposals_accepted"], totals["proposals_sent"]),
        "closure_rate": rate(totals["won"], totals["won"] + totals["lost"]),
        "calls_and_meetings_per_won": round(all_touches / totals["won"], 2) if totals["won"] else None,
        "reps": reps,
    }


def _bucket(day: date, weekly: bool) -> date:
    return day - timedelta(days=day.weekday()) if weekly else day


def _periods(filters: ReportFilters) -> tuple[bool, list[date]]:
    """Days for a short range, weeks (Mondays) for a longer one."""
    weekly = (filters.end - filters.start).days > 31
    first = _bucket(filters.start, weekly)
    step = timedelta(days=7 if weekly else 1)
    periods = []
    current = first
    while current <= filters.end:
        periods.append(current)
        current += step
    return weekly, periods


def _engagement_sums(filters: ReportFilters) -> tuple[list, list, list]:
    """Events per (day, type), (source, type) and (campaign, type), each row `(key, type, n)`.

    On PostgreSQL one GROUPING SETS query reads the rows once (at 1M leads / 10M events
    the three GROUP BYs were 15-24 ms each, ~45 ms, against ~8 ms for the one); SQLite
    has no GROUPING SETS and runs the three. The WHERE clause is the ORM's own, from
    `filters.apply`, so both paths select the same rows."""
    base = filters.apply(m.EngagementDaily.objects)
    if connection.vendor != "postgresql":
        return tuple(
            [(row[key], row["type"], row["n"]) for row in base.values(key, "type").annotate(n=Sum("events")).order_by()]
            for key in ("day", "source", "campaign")
        )
    sql, params = (
        base.values("day", "source", "campaign", "type").annotate(n=Sum("events")).order_by().query.sql_with_params()
    )
    table = connection.ops.quote_name(m.EngagementDaily._meta.db_table)
    day, source, campaign, event_type = (
        f"{table}.{connection.ops.quote_name(column)}" for column in ("day", "source", "campaign", "type")
    )
    head, group_by, _ = sql.rpartition(" GROUP BY ")
    if not group_by:
        raise RuntimeError(f"Unexpected engagement query: {sql}")
    sql = f"{head} GROUP BY GROUPING SETS (({day}, {event_type}), ({source}, {event_type}), ({campaign}, {event_type}))"
    by_day, by_source, by_campaign = [], [], []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        # source and campaign are NOT NULL columns: a NULL says the row's set left it out.
        for row_day, row_source, row_campaign, row_type, n in cursor.fetchall():
            if row_day is not None:
                by_day.append((row_day, row_type, n))
            elif row_source is not None:
                by_source.append((row_source, row_type, n))
            else:
                by_campaign.append((row_campaign, row_type, n))
    return by_day, by_source, by_campaign


def engagement(filters: ReportFilters) -> dict:
    weekly, periods = _periods(filters)
    by_day, by_source, by_campaign = _engagement_sums(filters)
    totals: dict[str, int] = defaultdict(int)
    trend: dict[str, dict[date, int]] = {channel: defaultdict(int) for channel in CHANNELS}
    for day, event_type, n in by_day:
        totals[event_type] += n
        channel = CHANNEL_OF.get(event_type)
        if channel:
            trend[channel][_bucket(day, weekly)] += n

    def grouped(dimension: str, sums: list) -> list[dict]:
        table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for key, event_type, n in sums:
            table[key or ""][event_type] += n
        rows = []
        for key in sorted(table):
            counts = table[key]
            rows.append(
                {
                    dimension: key,
                    **{event_type: counts.get(event_type, 0) for event_type in ENGAGEMENT_TYPES},
                    "email_open_rate": rate(counts.get("email_opened", 0), counts.get("email_sent", 0)),
                    "email_click_rate": rate(counts.get("email_clicked", 0), counts.get("email_sent", 0)),
                    "landing_page_conversion": rate(counts.get("form_submitted", 0), counts.get("page_view", 0)),
                }
            )
        return rows

    return {
        "totals": dict(totals),
        "rates": {
            "email_open_rate": rate(totals["email_opened"], totals["email_sent"]),
            "email_click_rate": rate(totals["email_clicked"], totals["email_sent"]),
            "email_click_to_open_rate": rate(totals["email_clicked"], totals["email_opened"]),
            # Click-through needs impressions; only ad platforms that send `ad_impression` have them.
            "ad_click_through_rate": rate(totals["ad_clicked"], totals["ad_impression"]),
            "landing_page_conversion": rate(totals["form_submitted"], totals["page_view"]),
            "webinar_attendance_rate": rate(totals["webinar_attended"], totals["webinar_registered"]),
        },
        "period": "week" if weekly else "day",
        "trend": [
            {"period": period.isoformat(), **{channel: trend[channel].get(period, 0) for channel in CHANNELS}}
            for period in periods
        ],
        "by_source": grouped("source", by_source),
        "by_campaign": grouped("campaign", by_campaign),
    }


def delight(filters: ReportFilters, repeat_won: int) -> dict:
    weekly, periods = _periods(filters)
    per_period: dict[date, dict[str, int]] = defaultdict(lambda: {"new_cycles": 0, "nps_responses": 0})
    totals = {"new_cycles": 0, "promoters": 0, "passives": 0, "detractors": 0}
    for row in (
        filters.apply(m.DelightDaily.objects)
        .values("day")
        .annotate(
            new_cycles=Sum("new_cycles"),
            promoters=Sum("nps_promoters"),
            passives=Sum("nps_passives"),
            detractors=Sum("nps_detractors"),
        )
        .order_by()
    ):
        bucket = per_period[_bucket(row["day"], weekly)]
        bucket["new_cycles"] += row["new_cycles"]
        bucket["nps_responses"] += row["promoters"] + row["passives"] + row["detractors"]
        for key in totals:
            totals[key] += row[key]
    responses = totals["promoters"] + totals["passives"] + totals["detractors"]
    nps = round(100 * (totals["promoters"] - totals["detractors"]) / responses, 1) if responses else None
    return {
        "new_cycles": totals["new_cycles"],
        "repeat_won": repeat_won,
        "nps": {
            "responses": responses,
            "promoters": totals["promoters"],
            "passives": totals["passives"],
            "detractors": totals["detractors"],
            "score": nps,
        },
        "period": "week" if weekly else "day",
        "trend": [
            {"period": period.isoformat(), **per_period.get(period, {"new_cycles": 0, "nps_responses": 0})}
            for period in periods
        ],
    }


def _outcome_row(row: dict) -> dict:
    return {
        "raised": row["raised"],
        "accepted": row["accepted"],
        "qualified": row["qualified"],
        "won": row["won"],
        "accepted_rate": rate(row["accepted"], row["raised"]),
        "qualified_rate": rate(row["qualified"], row["raised"]),
        "won_rate": rate(row["won"], row["raised"]),
    }


def scoring_accuracy(filters: ReportFilters) -> dict:
    outcome = {"raised": Sum("raised"), "accepted": Sum("accepted"), "qualified": Sum("qualified"), "won": Sum("won")}
    bands = [
        {"band": f"{row['score_band']}–{row['score_band'] + 9}", "band_start": row["score_band"], **_outcome_row(row)}
        for row in filters.apply(m.AlertOutcomeDaily.objects)
        .values("score_band")
        .annotate(**outcome)
        .order_by("score_band")
    ]
    rules = [
        {"rule": row["rule_key"], "label": row["label"] or row["rule_key"], **_outcome_row(row)}
        for row in filters.apply(m.RuleOutcomeDaily.objects)
        .values("rule_key")
        .annotate(label=Max("rule_label"), **outcome)
        .order_by("-raised", "rule_key")
    ]
    return {"by_score_band": bands, "by_rule": rules, "model_vs_rules": likelihood_comparison()}


def likelihood_comparison() -> list[dict]:
    """The published likelihood model beside the rule score (and naive Bayes) on the
    model's holdout: how well each ranks and predicts buyers within 90 days."""
    model = LikelihoodModel.objects.filter(published=True).order_by("-published_at", "-version").first()
    if model is None:
        return []
    return [
        {"method": label, "version": model.version, **model.metrics.get(key, {})} for key, label in LIKELIHOOD_METHODS
    ]


# The summary tables change only when a refresh commits, so a report's numbers are kept
# in the cache under that refresh's time (a new refresh is a new key; old keys expire).
SUMMARY_CACHE_SECONDS = 24 * 3600
CACHE_ERRORS = (RedisError, OSError)


_LOOK_UP = object()


def summary_refreshed_at():
    """When the summary tables were last rebuilt (None: never)."""
    refresh = m.AnalyticsRefresh.objects.filter(pk=1).first()
    return refresh.refreshed_at if refresh and refresh.refreshed_at else None


def _cached_by_refresh(name: str, refreshed_at, compute):
    """`compute()` once per summary refresh; never cached before the first refresh."""
    if refreshed_at is None:
        return compute()
    key = f"analytics:{name}:{refreshed_at.isoformat()}"
    try:
        value = cache.get(key)
    except CACHE_ERRORS:
        # The cache only saves work: with it unreachable the report is computed.
        return compute()
    if value is None:
        value = compute()
        try:
            cache.set(key, value, SUMMARY_CACHE_SECONDS)
        except CACHE_ERRORS:
            pass
    return value


def _cache_name(filters: ReportFilters | None) -> str:
    return urlencode(sorted(filters.as_query().items())) if filters else ""


def _summary_sections(filters: ReportFilters) -> dict:
    times = durations(filters)
    close_numbers = close(filters)
    return {
        "conversion": conversion(filters),
        "campaigns": campaigns(filters),
        "time_in_stage": {"stages": times["stages"], "sales_cycle": times["sales_cycle"]},
        "cohorts": cohorts(filters),
        "handoff": handoff(filters, times["first_touch"]),
        "close": close_numbers,
        "engagement": engagement(filters),
        "delight": delight(filters, close_numbers["repeat_won"]),
        "scoring_accuracy": scoring_accuracy(filters),
    }


def funnel_report(filters: ReportFilters, *, refreshed_at=_LOOK_UP) -> dict:
    """Every section of the funnel report for `filters`, as plain numbers (the API's body).

    The sections read only the summary tables, so they are computed once per refresh and
    filter set (about 14 grouped queries) and then served from the cache; the published
    likelihood model's comparison is read live, as a model can be published between
    refreshes."""
    if refreshed_at is _LOOK_UP:
        refreshed_at = summary_refreshed_at()
    sections = _cached_by_refresh(f"funnel:{_cache_name(filters)}", refreshed_at, lambda: _summary_sections(filters))
    return {
        "filters": {
            "from": filters.start.isoformat(),
            "to": filters.end.isoformat(),
            "source": filters.source or None,
            "campaign": filters.campaign or None,
            "owner": filters.owner_id,
        },
        "refreshed_at": refreshed_at.isoformat() if refreshed_at else None,
        **sections,
        "scoring_accuracy": {**sections["scoring_accuracy"], "model_vs_rules": likelihood_comparison()},
    }


def _source_and_campaign_choices() -> dict:
    # One scan of the summary for both lists.
    pairs = m.StageEntryDaily.objects.values_list("source", "campaign").distinct().order_by()
    sources, campaigns = set(), set()
    for source, campaign in pairs:
        sources.add(source)
        campaigns.add(campaign)
    return {"sources": sorted(sources - {""}), "campaigns": sorted(campaigns - {""})}


def filter_choices(*, refreshed_at=_LOOK_UP, filters: ReportFilters | None = None) -> dict:
    """What the report's filters can pick from: sources and campaigns from the summary
    tables (cached with them, under the report's filters so that the first view of any
    report after a refresh costs the same queries), and the reps and managers."""
    owners = (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=["sales_rep", "sales_manager"])
        .distinct()
        .order_by("username")
    )
    if refreshed_at is _LOOK_UP:
        refreshed_at = summary_refreshed_at()
    cached = _cached_by_refresh(f"choices:{_cache_name(filters)}", refreshed_at, _source_and_campaign_choices)
    return {**cached, "owners": list(owners)}


STAGE_LABELS = {slug: Stage(slug).label for slug in STAGE_ORDER}
