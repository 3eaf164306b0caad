"""Reads of the attribution app: the report (from the summary table), spend, a
campaign's leads, and one lead's touch paths (computed by the reference models)."""

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db.models import Count, DateTimeField, DecimalField, F, Max, Min, Sum, Value

from leads.models import Deal, DealStatus, Lead, StageTransition
from leads.stages import Stage

from . import channels
from .credit import MILESTONES, Conversion, Touch, credits, path_of
from .models import (
    DIRECT,
    MODELS,
    AttributionCredit,
    AttributionRefresh,
    CampaignSpend,
    Dimension,
    Milestone,
    Touchpoint,
)

MQL_OR_LATER = {Stage.MQL, Stage.SAL, Stage.SQL, Stage.CUSTOMER}
NO_VALUE = {Dimension.CAMPAIGN: "(no campaign)", Dimension.CHANNEL: DIRECT, Dimension.SOURCE: "(no source)"}


@dataclass(frozen=True)
class AttributionFilters:
    model: str
    milestone: str
    by: str
    start: date
    end: date
    window: int

    def as_query(self) -> dict:
        return {
            "model": self.model,
            "milestone": self.milestone,
            "by": self.by,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "window": self.window,
        }


def default_window() -> int:
    return int(settings.FUNNEL_ATTRIBUTION_WINDOW_DAYS)


def refreshed_at():
    return AttributionRefresh.objects.filter(pk=1).values_list("refreshed_at", flat=True).first()


def _key(by: str, value: str, channel: str) -> str:
    if value:
        return value
    # No campaign (or source) on the touch: a conversion with no touch at all is Direct.
    return DIRECT if channel == DIRECT else NO_VALUE[by]


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def spend_by_key(*, by: str, start: date, end: date) -> dict[str, float]:
    """Spend of the months overlapping [start, end], each month counted in proportion
    to its days inside the range. By source there is no spend (spend is per campaign)."""
    if by == Dimension.SOURCE:
        return {}
    first_month = start.replace(day=1)
    totals: dict[str, float] = defaultdict(float)
    for campaign, channel, month, amount in CampaignSpend.objects.filter(
        month__gte=first_month, month__lte=end
    ).values_list("campaign", "channel", "month", "amount"):
        days = calendar.monthrange(month.year, month.month)[1]
        month_end = month.replace(day=days)
        overlap = (min(end, month_end) - max(start, month)).days + 1
        if overlap <= 0:
            continue
        key = campaign if by == Dimension.CAMPAIGN else (channel or "(no channel)")
        totals[key] += float(amount) * overlap / days
    return dict(totals)


def _grouped_credits(filters: AttributionFilters, *, milestones, columns) -> list[dict]:
    group = ["milestone", filters.by] + (["channel"] if filters.by != Dimension.CHANNEL else [])
    return list(
        AttributionCredit.objects.filter(
            window_days=filters.window, milestone__in=milestones, day__gte=filters.start, day__lte=filters.end
        )
        .values(*group)
        .annotate(**{column: Sum(column) for column in columns})
        .order_by()
    )


def attribution_report(filters: AttributionFilters) -> dict:
    """The API's reply (CONTRACT.md): per key, the chosen model's credit of the chosen
    milestone's conversions, the won revenue it is credited with under the same model,
    spend, cost per conversion and return on spend ((revenue − spend) / spend)."""
    credit_column, revenue_column = f"credit_{filters.model}", f"revenue_{filters.model}"
    rows = _grouped_credits(
        filters,
        milestones=[filters.milestone, Milestone.CUSTOMER],
        columns=[credit_column, revenue_column, "credit_first_touch"],
    )
    credit, revenue = defaultdict(float), defaultdict(float)
    conversions = 0.0
    for row in rows:
        key = _key(filters.by, row[filters.by], row.get("channel", row[filters.by]))
        if row["milestone"] == filters.milestone:
            credit[key] += row[credit_column] or 0.0
            conversions += row["credit_first_touch"] or 0.0
        if row["milestone"] == Milestone.CUSTOMER:
            revenue[key] += row[revenue_column] or 0.0
    spend = spend_by_key(by=filters.by, start=filters.start, end=filters.end)
    keys = sorted(set(credit) | set(revenue) | set(spend), key=lambda key: (-credit.get(key, 0.0), key))
    result = []
    for key in keys:
        key_spend = spend.get(key) if filters.by != Dimension.SOURCE else None
        key_credit, key_revenue = credit.get(key, 0.0), revenue.get(key, 0.0)
        result.append(
            {
                "key": key,
                "credit": _round(key_credit, 6),
                "revenue": _round(key_revenue, 2),
                "spend": _round(key_spend, 2),
                "cost_per_conversion": _round(key_spend / key_credit, 2)
                if key_spend is not None and key_credit
                else None,
                "roi": _round((key_revenue - key_spend) / key_spend) if key_spend else None,
            }
        )
    return {
        "model": filters.model,
        "milestone": filters.milestone,
        "by": filters.by,
        "from": filters.start.isoformat(),
        "to": filters.end.isoformat(),
        "conversions": int(round(conversions)),
        "rows": result,
    }


def attribution_table(filters: AttributionFilters) -> dict:
    """What the page shows: per key, credited conversions of every milestone and the won
    revenue under the chosen model, costs per conversion and return on spend; and per
    key, the chosen milestone's credit under every model (the small multiples)."""
    model_columns = [f"credit_{model}" for model in MODELS]
    revenue_column = f"revenue_{filters.model}"
    rows = _grouped_credits(filters, milestones=MILESTONES, columns=[*model_columns, revenue_column])
    per_key: dict[str, dict] = defaultdict(lambda: {"credit": {m: 0.0 for m in MILESTONES}, "revenue": 0.0})
    per_model: dict[str, dict[str, float]] = defaultdict(lambda: {model: 0.0 for model in MODELS})
    conversions = {milestone: 0.0 for milestone in MILESTONES}
    for row in rows:
        key = _key(filters.by, row[filters.by], row.get("channel", row[filters.by]))
        milestone = row["milestone"]
        per_key[key]["credit"][milestone] += row[f"credit_{filters.model}"] or 0.0
        conversions[milestone] += row["credit_first_touch"] or 0.0
        if milestone == Milestone.CUSTOMER:
            per_key[key]["revenue"] += row[revenue_column] or 0.0
        if milestone == filters.milestone:
            for model in MODELS:
                per_model[key][model] += row[f"credit_{model}"] or 0.0
    spend = spend_by_key(by=filters.by, start=filters.start, end=filters.end)
    for key in spend:
        per_key[key]  # a campaign that cost money and earned nothing is shown too
    table = []
    for key, values in per_key.items():
        credited = any(value > 1e-9 for value in values["credit"].values()) or values["revenue"] > 1e-9
        if not credited and key not in spend:
            continue  # credited under other models only: shown in the model comparison
        key_spend = spend.get(key) if filters.by != Dimension.SOURCE else None
        cost = {
            milestone: (key_spend / values["credit"][milestone])
            if key_spend is not None and values["credit"][milestone] > 1e-9
            else None
            for milestone in MILESTONES
        }
        roi = (values["revenue"] - key_spend) / key_spend if key_spend else None
        table.append(
            {
                "key": key,
                "credit": values["credit"],
                "revenue": values["revenue"],
                "spend": key_spend,
                "cost": cost,
                "roi": roi,
            }
        )
    table.sort(key=lambda row: (-row["credit"][filters.milestone], row["key"]))
    return {
        "rows": table,
        "conversions": {milestone: int(round(total)) for milestone, total in conversions.items()},
        "by_model": _model_comparison(table, per_model),
        "totals": {
            "spend": sum(value for value in spend.values()),
            "revenue": sum(row["revenue"] for row in table),
        },
    }


def _model_comparison(table: list[dict], per_model: dict) -> dict[str, dict[str, float]]:
    """Keys in the table's order, then those only other models credit (largest first)."""
    order = [row["key"] for row in table if row["key"] in per_model]
    rest = sorted(
        (key for key in per_model if key not in set(order) and max(per_model[key].values()) > 1e-9),
        key=lambda key: (-max(per_model[key].values()), key),
    )
    return {key: per_model[key] for key in order + rest}


def recent_spend(*, limit: int = 200) -> list[CampaignSpend]:
    return list(CampaignSpend.objects.select_related("updated_by").order_by("-month", "campaign")[:limit])


def campaign_leads(*, campaign: str, limit: int = 500) -> list[dict]:
    """The leads a campaign touched, latest touch first, with their stage."""
    touched = list(
        Touchpoint.objects.filter(campaign=campaign)
        .values("lead_id")
        .annotate(touches=Count("id"), first_touch=Min("occurred_at"), last_touch=Max("occurred_at"))
        .order_by("-last_touch", "-lead_id")[:limit]
    )
    leads = Lead.objects.in_bulk([row["lead_id"] for row in touched])
    result = []
    for row in touched:
        lead = leads.get(row["lead_id"])
        if lead is None or lead.merged_into_id:
            continue
        result.append({**row, "lead": lead})
    return result


def campaign_spend(*, campaign: str) -> list[CampaignSpend]:
    return list(CampaignSpend.objects.filter(campaign=campaign).order_by("month"))


# --- Conversions and touches in Python (the reference's inputs) -------------------------


def load_conversions(*, lead_ids=None) -> list[Conversion]:
    """Every conversion of live leads (or of `lead_ids`), by the rules in `attribution.credit`."""
    transitions = StageTransition.objects.filter(lead__merged_into__isnull=True)
    deals = Deal.objects.filter(lead__merged_into__isnull=True)
    if lead_ids is not None:
        transitions = transitions.filter(lead_id__in=lead_ids)
        deals = deals.filter(lead_id__in=lead_ids)
    # Both tables in one statement (UNION ALL), told apart by the first column: the lead's
    # page reads one lead's conversions on every view.
    columns = ("c_kind", "c_lead", "c_cycle", "c_stage", "c_status", "c_at", "c_closed", "c_value")
    no_time, no_value = Value(None, output_field=DateTimeField()), Value(None, output_field=DecimalField())
    # Without ordering: SQLite refuses an ORDER BY inside a compound statement.
    rows = (
        transitions.order_by()
        .annotate(
            c_kind=Value("t"),
            c_lead=F("lead_id"),
            c_cycle=F("cycle"),
            c_stage=F("to_stage"),
            c_status=Value(""),
            c_at=F("occurred_at"),
            c_closed=no_time,
            c_value=no_value,
        )
        .values_list(*columns)
    )
    rows = rows.union(
        deals.order_by()
        .annotate(
            c_kind=Value("d"),
            c_lead=F("lead_id"),
            c_cycle=F("cycle"),
            c_stage=Value(""),
            c_status=F("status"),
            c_at=F("created_at"),
            c_closed=F("closed_at"),
            c_value=F("value"),
        )
        .values_list(*columns),
        all=True,
    )
    transition_rows, deal_rows = [], []
    for kind, lead_id, cycle, to_stage, status, at, closed_at, value in rows:
        if kind == "t":
            transition_rows.append((lead_id, cycle, to_stage, at))
        else:
            deal_rows.append((lead_id, cycle, at, status, closed_at, value))
    times: dict[tuple[int, int], dict] = defaultdict(dict)
    for lead_id, cycle, to_stage, occurred_at in transition_rows:
        cycle_times = times[(lead_id, cycle)]
        if to_stage != Stage.DEMAND_GEN and (cycle_times.get("lead") is None or occurred_at < cycle_times["lead"]):
            cycle_times["lead"] = occurred_at
        if to_stage in MQL_OR_LATER and (cycle_times.get("mql") is None or occurred_at < cycle_times["mql"]):
            cycle_times["mql"] = occurred_at
        cycle_times.setdefault("lead", None)
        cycle_times.setdefault("mql", None)
    values: dict[tuple[int, int], float] = {}
    for lead_id, cycle, created_at, status, closed_at, value in deal_rows:
        if (lead_id, cycle) not in times:
            continue  # a deal of a cycle with no recorded stage: nothing to attribute it to
        times[(lead_id, cycle)]["sql"] = created_at
        if status == DealStatus.WON and closed_at is not None:
            times[(lead_id, cycle)]["customer"] = closed_at
            values[(lead_id, cycle)] = float(value)
    conversions = []
    for (lead_id, cycle), cycle_times in times.items():
        for milestone in MILESTONES:
            at = cycle_times.get(milestone)
            if at is not None:
                value = values.get((lead_id, cycle), 0.0) if milestone == Milestone.CUSTOMER else 0.0
                conversions.append(Conversion(lead_id, cycle, milestone, at, value, dict(cycle_times)))
    return conversions


def load_touches(*, lead_ids=None) -> dict[int, list[Touch]]:
    rules = channels.active_rules()
    queryset = Touchpoint.objects.all()
    if lead_ids is not None:
        queryset = queryset.filter(lead_id__in=lead_ids)
    touches: dict[int, list[Touch]] = defaultdict(list)
    for row in queryset.values("id", "lead_id", "occurred_at", "kind", "source", "medium", "campaign"):
        touches[row["lead_id"]].append(
            Touch(
                id=row["id"],
                occurred_at=row["occurred_at"],
                campaign=row["campaign"],
                channel=channels.channel_of(row, rules),
                source=row["source"],
                kind=row["kind"],
                medium=row["medium"],
            )
        )
    return dict(touches)


def lead_touch_paths(*, lead: Lead, model: str, window_days: int | None = None) -> list[dict]:
    """Per cycle: the touches in the window of any of its conversions, each with the
    credit it receives for each milestone under `model` (None: not in that path)."""
    window = window_days or default_window()
    half_life = float(settings.FUNNEL_ATTRIBUTION_HALF_LIFE_DAYS)
    conversions = load_conversions(lead_ids=[lead.pk])
    touches = load_touches(lead_ids=[lead.pk]).get(lead.pk, [])
    cycles: dict[int, dict] = {}
    for conversion in sorted(conversions, key=lambda c: (c.cycle, MILESTONES.index(c.milestone))):
        cycle = cycles.setdefault(conversion.cycle, {"cycle": conversion.cycle, "milestones": [], "touches": {}})
        cycle["milestones"].append(
            {"milestone": conversion.milestone, "label": Milestone(conversion.milestone).label, "at": conversion.at}
        )
        path = path_of(conversion, touches, window_days=window)
        for touch, credit in zip(
            path, credits(model, conversion, path, half_life_days=half_life) if path else [], strict=True
        ):
            entry = cycle["touches"].setdefault(touch.id, {"touch": touch, "credit": {}})
            entry["credit"][conversion.milestone] = credit
    result = []
    for cycle in cycles.values():
        reached = [m["milestone"] for m in cycle["milestones"]]
        rows = sorted(cycle["touches"].values(), key=lambda entry: (entry["touch"].occurred_at, entry["touch"].id))
        for row in rows:
            row["cells"] = [
                None if row["credit"].get(milestone) is None else 100 * row["credit"][milestone]
                for milestone in reached
            ]
        result.append({**cycle, "reached": reached, "rows": rows})
    return result
