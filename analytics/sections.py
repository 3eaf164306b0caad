"""The funnel report as the page shows it: sections of charts, each chart with the table
of its numbers and a CSV of the same rows. Markup lives in the templates
(analytics/funnel.html and analytics/charts/); this module only arranges the numbers."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.utils.formats import date_format
from django.utils.safestring import SafeString

from leads.stages import Stage

from . import charts
from .selectors import CHANNELS, COHORT_STAGES

TEXT, COUNT, RATE, HOURS, MONEY, DECIMAL = "text", "count", "rate", "hours", "money", "decimal"
# A score band with fewer MQLs than this is greyed out: its rates say little yet.
MIN_BAND_SIZE = 10


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = COUNT


def money_text(value) -> str:
    """One money format everywhere in the report: “12,000 EUR”."""
    if value is None:
        return "–"
    return f"{value:,.0f} {settings.FUNNEL_CURRENCY}"


def format_cell(value, kind: str) -> str:
    if value is None:
        return "–"
    if kind == RATE:
        return f"{100 * value:.1f}%"
    if kind == HOURS:
        return charts.hours_text(value)
    if kind == MONEY:
        return money_text(value)
    if kind == DECIMAL:
        return f"{value:,.1f}"
    if kind == COUNT:
        return charts.count_text(value)
    return str(value)


@dataclass
class Chart:
    key: str
    title: str
    description: str
    columns: list[Column]
    rows: list[list]
    render: Callable[["Chart"], SafeString] = field(repr=False, default=None)
    # Per row, the kind of the value column where rows mix units (a count, a rate, a time).
    row_kinds: list[str] | None = None
    # Per row, whether it is greyed out (too few behind it to mean much).
    muted: list[bool] = field(default_factory=list)

    @property
    def svg(self) -> SafeString:
        return self.render(self)

    def kinds(self, index: int) -> list[str]:
        kinds = [column.kind for column in self.columns]
        if self.row_kinds:
            kinds[1] = self.row_kinds[index]
        return kinds

    @property
    def display_rows(self) -> list[dict]:
        return [
            {
                "cells": [format_cell(value, kind) for value, kind in zip(row, self.kinds(index), strict=True)],
                "muted": index < len(self.muted) and self.muted[index],
            }
            for index, row in enumerate(self.rows)
        ]


@dataclass
class Section:
    key: str
    title: str
    intro: str
    charts: list[Chart]


def _axis_label(value) -> str:
    """A day or week on an axis is written as on every page (“2 Mar 2026”, not ISO); the
    report's rows may hold it as a date or as its ISO text (cached reports)."""
    if isinstance(value, str) and len(value) == 10:
        try:
            value = date.fromisoformat(value)
        except ValueError:
            pass
    if isinstance(value, date):
        return date_format(value, "j M Y")
    return str(value)


def _column(chart: Chart, index: int) -> list:
    return [row[index] for row in chart.rows]


def _bars(
    *series_columns: int,
    value_kind: str = COUNT,
    first_rows: int | None = None,
    category: Callable[[list], str] | None = None,
    note: str = "",
):
    """Bars of `series_columns`; `first_rows` keeps the chart to the rows of one unit
    when the table below it goes on with rates or times; `category` names a row's bars
    (the first cell by default)."""

    def render(chart: Chart) -> SafeString:
        rows = chart.rows[:first_rows] if first_rows else chart.rows
        return charts.bar_chart(
            key=chart.key,
            title=chart.title,
            description=chart.description,
            categories=[category(row) if category else str(row[0]) for row in rows],
            series=[(chart.columns[i].name, [row[i] for row in rows]) for i in series_columns],
            value_format=lambda value: format_cell(value, value_kind),
            muted=chart.muted,
            note=note,
        )

    return render


def _lines(*series_columns: int, scale: float = 1, unit: str = "", percent: bool = False):
    def render(chart: Chart) -> SafeString:
        return charts.line_chart(
            key=chart.key,
            title=chart.title,
            description=chart.description,
            x_labels=[_axis_label(label) for label in _column(chart, 0)],
            series=[
                (chart.columns[i].name, [None if v is None else v * scale for v in _column(chart, i)])
                for i in series_columns
            ],
            unit=unit,
            tick_format=charts.percent_text if percent else charts.count_text,
        )

    return render


def _funnel(chart: Chart) -> SafeString:
    return charts.funnel_chart(
        key=chart.key,
        title=chart.title,
        description=chart.description,
        steps=[charts.FunnelStep(label=row[0], value=row[1], went_on=row[2], rate=row[3]) for row in chart.rows],
    )


def build_sections(report: dict) -> list[Section]:
    conv = report["conversion"]
    times = report["time_in_stage"]
    handoff = report["handoff"]
    close = report["close"]
    engagement = report["engagement"]
    delight = report["delight"]
    accuracy = report["scoring_accuracy"]
    labels = {stage.value: stage.label for stage in Stage}

    conversion = Chart(
        "conversion",
        "Leads entering each stage",
        "Funnel of the leads that entered each stage in the period (first entry per cycle), "
        "with the share that went on to a later stage and to customer in the same cycle.",
        [
            Column("Stage", TEXT),
            Column("Entered"),
            Column("Reached a later stage"),
            Column("Next-stage conversion", RATE),
            Column("Reached customer"),
            Column("Customer conversion", RATE),
        ],
        [
            [
                row["label"],
                row["entered"],
                row["reached_next"],
                row["next_rate"],
                row["reached_customer"],
                row["customer_rate"],
            ]
            for row in conv
        ],
        _funnel,
    )
    stage_times = Chart(
        "time-in-stage",
        "Time in stage",
        "Median and 90th percentile hours a lead stayed in each stage (stays that ended in the period), "
        "and the sales cycle from the start of a cycle to customer.",
        [Column("Stage", TEXT), Column("Median", HOURS), Column("90th percentile", HOURS), Column("Stays")],
        [[row["label"], row["median_hours"], row["p90_hours"], row["count"]] for row in times["stages"]]
        + [
            [
                "Sales cycle (to customer)",
                times["sales_cycle"]["median_hours"],
                times["sales_cycle"]["p90_hours"],
                times["sales_cycle"]["count"],
            ]
        ],
        _bars(1, 2, value_kind=HOURS, category=lambda row: f"{row[0]} (n={charts.count_text(row[3])})"),
    )
    cohort_columns = [Column("Capture week", TEXT), Column("Leads")] + [
        Column(f"Reached {labels[stage]}", RATE) for stage in COHORT_STAGES
    ]
    cohorts = Chart(
        "cohorts",
        "Weekly capture cohorts",
        "For the leads captured each week, the share that has reached each stage so far.",
        cohort_columns,
        [
            [row["week"], row["leads"], *[row["reached_rate"][stage.value] for stage in COHORT_STAGES]]
            for row in report["cohorts"]
        ],
        _lines(3, 5, 6, scale=100, unit="% of the week's leads", percent=True),
    )
    first_touch = handoff["first_touch"]
    handoff_chart = Chart(
        "handoff",
        "MQL hand-off to sales",
        "MQL alerts raised in the period and what sales did with them; SLA met is the share acted on "
        "before the alert was due; time to first touch runs from the alert to the first call, meeting or email.",
        [Column("Measure", TEXT), Column("Value", DECIMAL)],
        [
            ["MQL alerts raised", handoff["raised"]],
            ["Accepted (SAL)", handoff["accepted"]],
            ["Rejected", handoff["rejected"]],
            ["Still open", handoff["still_open"]],
            [f"Acceptance rate ({handoff['accepted']} of {handoff['raised']})", handoff["acceptance_rate"]],
            ["SLA met", handoff["sla_rate"]],
            ["First touch, median", first_touch["median_hours"]],
            ["First touch, 90th percentile", first_touch["p90_hours"]],
        ],
        _bars(1, first_rows=4),
        row_kinds=[COUNT, COUNT, COUNT, COUNT, RATE, RATE, HOURS, HOURS],
    )
    reasons = Chart(
        "rejection-reasons",
        "Why sales rejected MQLs",
        "Rejected MQL alerts raised in the period, by the reason sales gave.",
        [Column("Reason", TEXT), Column("Rejected")],
        [[_reason_label(row["reason"]), row["count"]] for row in handoff["rejection_reasons"]],
        _bars(1),
    )
    close_chart = Chart(
        "close",
        "Proposals and deals",
        "Proposals sent and accepted, deals opened, won and lost in the period, with their values.",
        [Column("Measure", TEXT), Column("Count"), Column("Value", MONEY)],
        [
            ["Deals opened", close["opened"], close["opened_value"]],
            ["Still open (pipeline)", close["still_open"], close["open_value"]],
            ["Proposals sent", close["proposals_sent"], None],
            ["Proposals accepted", close["proposals_accepted"], None],
            ["Deals won", close["won"], close["won_value"]],
            ["Deals lost", close["lost"], None],
        ],
        _bars(1),
    )
    reps = Chart(
        "reps",
        "Calls and meetings per rep",
        "Calls and meetings each rep logged in the period, deals they won, and touches per won deal.",
        [Column("Rep", TEXT), Column("Calls"), Column("Meetings"), Column("Won"), Column("Per won deal", DECIMAL)],
        [[rep["name"], rep["calls"], rep["meetings"], rep["won"], rep["touches_per_won"]] for rep in close["reps"]],
        _bars(1, 2, 3),
    )
    channel_names = list(CHANNELS)
    trend = Chart(
        "engagement-trend",
        f"Engagement per {engagement['period']} by channel",
        "Events from the engagement log per channel: web (page views, forms), email, ads, content, webinars.",
        [Column(engagement["period"].capitalize(), TEXT)] + [Column(name.capitalize()) for name in channel_names],
        [[row["period"], *[row[name] for name in channel_names]] for row in engagement["trend"]],
        _lines(*range(1, len(channel_names) + 1), unit="events"),
    )
    rates = engagement["rates"]
    rate_chart = Chart(
        "engagement-rates",
        "Engagement rates",
        "Email open and click rates (of emails sent), ad click-through (of impressions, where the ad "
        "platform sends them), landing-page conversion (forms per page view) and webinar attendance.",
        [Column("Rate", TEXT), Column("Value", RATE)],
        [
            ["Email open rate", rates["email_open_rate"]],
            ["Email click rate", rates["email_click_rate"]],
            ["Email click-to-open rate", rates["email_click_to_open_rate"]],
            ["Ad click-through rate", rates["ad_click_through_rate"]],
            ["Landing-page conversion", rates["landing_page_conversion"]],
            ["Webinar attendance", rates["webinar_attendance_rate"]],
        ],
        _bars(1, value_kind=RATE),
    )
    dimension_columns = [
        Column("Page views"),
        Column("Forms"),
        Column("Downloads"),
        Column("Emails sent"),
        Column("Open rate", RATE),
        Column("Click rate", RATE),
        Column("Ad clicks"),
        Column("Webinar attended"),
        Column("Landing-page conversion", RATE),
    ]

    def dimension_rows(rows: list[dict], key: str) -> list[list]:
        return [
            [
                row[key] or "(none)",
                row["page_view"],
                row["form_submitted"],
                row["content_downloaded"],
                row["email_sent"],
                row["email_open_rate"],
                row["email_click_rate"],
                row["ad_clicked"],
                row["webinar_attended"],
                row["landing_page_conversion"],
            ]
            for row in rows
        ]

    by_source = Chart(
        "engagement-sources",
        "Engagement by source",
        "Page views, forms and email engagement of leads from each source.",
        [Column("Source", TEXT), *dimension_columns],
        dimension_rows(engagement["by_source"], "source"),
        _bars(1, 2, 7),
    )
    by_campaign = Chart(
        "engagement-campaigns",
        "Engagement by campaign",
        "The same per campaign: the event's own campaign where it names one, else the lead's.",
        [Column("Campaign", TEXT), *dimension_columns],
        dimension_rows(engagement["by_campaign"], "campaign"),
        _bars(1, 2, 7),
    )
    nps = delight["nps"]
    delight_trend = Chart(
        "delight-trend",
        f"New cycles and NPS answers per {delight['period']}",
        "Customers coming back for more (a new cycle opened) and NPS answers received.",
        [Column(delight["period"].capitalize(), TEXT), Column("New cycles"), Column("NPS answers")],
        [[row["period"], row["new_cycles"], row["nps_responses"]] for row in delight["trend"]],
        _lines(1, 2, unit="customers, answers"),
    )
    nps_chart = Chart(
        "nps",
        "Net promoter score",
        f"NPS answers in the period: promoters (9–10), passives (7–8), detractors (0–6). "
        f"NPS {'–' if nps['score'] is None else nps['score']}; repeat purchases won: {delight['repeat_won']}.",
        [Column("Group", TEXT), Column("Answers")],
        [
            ["Promoters", nps["promoters"]],
            ["Passives", nps["passives"]],
            ["Detractors", nps["detractors"]],
            ["NPS (promoters − detractors, %)", nps["score"]],
            ["Repeat purchases won", delight["repeat_won"]],
            ["New cycles", delight["new_cycles"]],
        ],
        _bars(1, first_rows=3),
    )
    outcome_columns = [
        Column("Raised"),
        Column("Accepted"),
        Column("Qualified"),
        Column("Won"),
        Column("Accepted share", RATE),
        Column("Qualified share", RATE),
        Column("Won share", RATE),
    ]

    def outcome_cells(row: dict) -> list:
        return [
            row["raised"],
            row["accepted"],
            row["qualified"],
            row["won"],
            row["accepted_rate"],
            row["qualified_rate"],
            row["won_rate"],
        ]

    bands = Chart(
        "accuracy-bands",
        "MQL outcomes by score band",
        "Of the MQLs raised in the period, the share sales accepted, qualified and won, by the score at hand-off. "
        f"Bands with fewer than {MIN_BAND_SIZE} MQLs are greyed out: too few to mean much yet.",
        [Column("Score", TEXT), *outcome_columns],
        [[row["band"], *outcome_cells(row)] for row in accuracy["by_score_band"]],
        _bars(5, 6, 7, value_kind=RATE, category=_with_n, note=f"Grey: fewer than {MIN_BAND_SIZE} MQLs."),
        muted=[row["raised"] < MIN_BAND_SIZE for row in accuracy["by_score_band"]],
    )
    rules = Chart(
        "accuracy-rules",
        "MQL outcomes by scoring rule",
        "The same outcomes for the MQLs each rule contributed points to.",
        [Column("Rule", TEXT), *outcome_columns],
        [[row["label"], *outcome_cells(row)] for row in accuracy["by_rule"]],
        _bars(5, 6, 7, value_kind=RATE, category=_with_n, note=f"Grey: fewer than {MIN_BAND_SIZE} MQLs."),
        muted=[row["raised"] < MIN_BAND_SIZE for row in accuracy["by_rule"]],
    )
    campaign_chart = Chart(
        "campaigns",
        "Campaigns by customers",
        "Per the lead's own campaign: leads captured, customers won and the value of the deals won in the period.",
        [
            Column("Campaign", TEXT),
            Column("Leads"),
            Column("Customers"),
            Column("Customer conversion", RATE),
            Column("Won value", MONEY),
        ],
        [
            [row["campaign"] or "(none)", row["leads"], row["customers"], row["customer_rate"], row["won_value"]]
            for row in report["campaigns"]
        ],
        _bars(2, category=lambda row: f"{row[0]} · {money_text(row[4])}"),
    )
    model_vs_rules = Chart(
        "accuracy-model",
        "Rules and the learned model on the same holdout",
        "How well the rule score, the likelihood model and a naive Bayes over fit fields rank and predict "
        "buyers within 90 days (AUC: 0.5 is chance; lower log loss and calibration error are better).",
        [
            Column("Method", TEXT),
            Column("AUC", DECIMAL),
            Column("Log loss", DECIMAL),
            Column("Calibration error", DECIMAL),
            Column("Precision at capacity", RATE),
        ],
        [
            [row["method"], row.get("auc"), row.get("log_loss"), row.get("ece"), row.get("precision_at_k")]
            for row in accuracy.get("model_vs_rules", [])
        ],
        _bars(1, value_kind=DECIMAL),
    )
    return [
        Section(
            "conversion",
            "Stage conversion",
            "Where do we lose people? Of the leads entering each stage, how many went further.",
            [conversion, campaign_chart],
        ),
        Section("time", "Time in stage", "How long do they wait?", [stage_times]),
        Section("cohorts", "Weekly cohorts", "How far has each week's intake come?", [cohorts]),
        Section("handoff", "Hand-off", "MQL to SAL: acceptance, SLA and first touch.", [handoff_chart, reasons]),
        Section("close", "Close", "Proposals, deals and the work behind them.", [close_chart, reps]),
        Section(
            "engagement",
            "Engagement",
            "From the event log, by channel, source and campaign.",
            [trend, rate_chart, by_source, by_campaign],
        ),
        Section("delight", "Delight", "Customers coming back and what they tell us.", [delight_trend, nps_chart]),
        Section(
            "accuracy",
            "Scoring accuracy",
            "Do our scores predict buying? The feedback loop from sales to marketing.",
            [bands, rules, model_vs_rules],
        ),
    ]


def _with_n(row: list) -> str:
    """A row's label with the count its rates are made of: “60–69 (n=2)”."""
    return f"{row[0]} (n={charts.count_text(row[1])})"


def _reason_label(code: str) -> str:
    return settings.FUNNEL_REJECT_REASONS.get(code, code.replace("_", " "))


def chart_by_key(sections: list[Section], key: str) -> Chart | None:
    return next((chart for section in sections for chart in section.charts if chart.key == key), None)
