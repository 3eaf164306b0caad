"""The set-based statements that rebuild the summary tables: one INSERT … SELECT …
GROUP BY per table, written once for PostgreSQL and SQLite.

The statements are plain SQL; the few places where the two databases differ (the day
or week of a timestamp, hours between two timestamps, reading JSON) go through the
small `Dialect` below, so the statements themselves read the same on both.
"""

from dataclasses import dataclass

from leads.stages import STAGE_ORDER, Stage

from . import models as m


@dataclass(frozen=True)
class Dialect:
    vendor: str

    @property
    def postgres(self) -> bool:
        return self.vendor == "postgresql"

    def day(self, column: str) -> str:
        # Summaries count UTC days; the database stores UTC.
        if self.postgres:
            return f"CAST(({column} AT TIME ZONE 'UTC') AS date)"
        return f"DATE({column})"

    def week(self, column: str) -> str:
        """The Monday starting the ISO week of `column`."""
        if self.postgres:
            return f"CAST(date_trunc('week', {column} AT TIME ZONE 'UTC') AS date)"
        return f"DATE({column}, 'weekday 0', '-6 days')"

    def hours_between(self, start: str, end: str) -> str:
        # Rounded, not truncated: julianday arithmetic gives 47.9999… for two days.
        if self.postgres:
            return f"CAST(ROUND(EXTRACT(EPOCH FROM ({end} - {start})) / 3600.0) AS integer)"
        return f"CAST(ROUND((julianday({end}) - julianday({start})) * 24.0) AS integer)"

    def json_text(self, column: str, key: str) -> str:
        if self.postgres:
            return f"({column} ->> '{key}')"
        return f"CAST(json_extract({column}, '$.{key}') AS TEXT)"

    def json_small_int(self, column: str, key: str) -> str:
        """An integer 0–99 stored under `key`, as a number or a string of digits; NULL
        for anything else, so one bad payload cannot fail or skew the refresh."""
        text = self.json_text(column, key)
        if self.postgres:
            return f"(CASE WHEN {text} ~ '^[0-9]{{1,2}}$' THEN CAST({text} AS integer) END)"
        return f"(CASE WHEN {text} GLOB '[0-9]' OR {text} GLOB '[0-9][0-9]' THEN CAST({text} AS integer) END)"

    def json_array_join(self, column: str, alias: str) -> str:
        """Join each element of the JSON array in `column` as `alias`.value."""
        if self.postgres:
            return (
                f"CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof({column}) = 'array' "
                f"THEN {column} ELSE '[]'::jsonb END) AS {alias}(value)"
            )
        return f"JOIN json_each(CASE WHEN json_type({column}) = 'array' THEN {column} ELSE '[]' END) AS {alias}"

    def element_text(self, alias: str, key: str) -> str:
        if self.postgres:
            return f"({alias}.value ->> '{key}')"
        return f"CAST(json_extract({alias}.value, '$.{key}') AS TEXT)"


def stage_index(column: str) -> str:
    cases = " ".join(f"WHEN '{slug}' THEN {index}" for index, slug in enumerate(STAGE_ORDER))
    return f"(CASE {column} {cases} END)"


def stage_of_index(column: str) -> str:
    cases = " ".join(f"WHEN {index} THEN '{slug}'" for index, slug in enumerate(STAGE_ORDER))
    return f"(CASE {column} {cases} END)"


def table(model) -> str:
    return model._meta.db_table


# Merged-away leads keep no history of their own (it moved to the survivor); erased
# leads stay in as anonymous counts, as CONTRACT.md promises.
LIVE_LEAD = "l.merged_into_id IS NULL"
DIMS = "l.source, l.utm_campaign"


def stage_entries(d: Dialect) -> str:
    # A lead's first entry into each stage per cycle, with whether it went on (same
    # cycle, later) to a later stage and to customer.
    entries = f"""
        SELECT e.lead_id, e.stage, e.entered_at,
               MAX(CASE WHEN {stage_index("t.to_stage")} > {stage_index("e.stage")}
                         AND t.occurred_at >= e.entered_at THEN 1 ELSE 0 END) AS reached_next,
               MAX(CASE WHEN t.to_stage = '{Stage.CUSTOMER}' AND t.occurred_at >= e.entered_at
                        THEN 1 ELSE 0 END) AS reached_customer
        FROM (SELECT lead_id, cycle, to_stage AS stage, MIN(occurred_at) AS entered_at
              FROM leads_stagetransition GROUP BY lead_id, cycle, to_stage) e
        JOIN leads_stagetransition t ON t.lead_id = e.lead_id AND t.cycle = e.cycle
        GROUP BY e.lead_id, e.cycle, e.stage, e.entered_at"""
    day = d.day("x.entered_at")
    return f"""
        INSERT INTO {table(m.StageEntryDaily)}
            (day, stage, source, campaign, owner_id, entered, reached_next, reached_customer)
        SELECT {day}, x.stage, {DIMS}, l.owner_id, COUNT(*), SUM(x.reached_next), SUM(x.reached_customer)
        FROM ({entries}) x
        JOIN leads_lead l ON l.id = x.lead_id
        WHERE {LIVE_LEAD}
        GROUP BY {day}, x.stage, {DIMS}, l.owner_id"""


def stage_durations(d: Dialect) -> str:
    stays = """
        SELECT t.lead_id, t.to_stage AS stage, t.occurred_at AS started_at,
               LEAD(t.occurred_at) OVER (PARTITION BY t.lead_id ORDER BY t.occurred_at, t.id) AS ended_at
        FROM leads_stagetransition t"""
    day = d.day("s.ended_at")
    hours = d.hours_between("s.started_at", "s.ended_at")
    return f"""
        INSERT INTO {table(m.DurationDaily)} (day, measure, source, campaign, owner_id, hours, count)
        SELECT {day}, s.stage, {DIMS}, l.owner_id, {hours}, COUNT(*)
        FROM ({stays}) s
        JOIN leads_lead l ON l.id = s.lead_id
        WHERE s.ended_at IS NOT NULL AND {LIVE_LEAD}
        GROUP BY {day}, s.stage, {DIMS}, l.owner_id, {hours}"""


def sales_cycles(d: Dialect) -> str:
    cycles = f"""
        SELECT lead_id, cycle, MIN(occurred_at) AS started_at,
               MIN(CASE WHEN to_stage = '{Stage.CUSTOMER}' THEN occurred_at END) AS won_at
        FROM leads_stagetransition GROUP BY lead_id, cycle"""
    day = d.day("c.won_at")
    hours = d.hours_between("c.started_at", "c.won_at")
    return f"""
        INSERT INTO {table(m.DurationDaily)} (day, measure, source, campaign, owner_id, hours, count)
        SELECT {day}, '{m.DurationMeasure.SALES_CYCLE}', {DIMS}, l.owner_id, {hours}, COUNT(*)
        FROM ({cycles}) c
        JOIN leads_lead l ON l.id = c.lead_id
        WHERE c.won_at IS NOT NULL AND {LIVE_LEAD}
        GROUP BY {day}, {DIMS}, l.owner_id, {hours}"""


def first_touches(d: Dialect) -> str:
    touches = """
        SELECT a.id, a.lead_id, a.raised_at, MIN(act.occurred_at) AS touched_at
        FROM sales_salesalert a
        JOIN leads_activity act ON act.lead_id = a.lead_id AND act.occurred_at >= a.raised_at
        GROUP BY a.id, a.lead_id, a.raised_at"""
    day = d.day("f.touched_at")
    hours = d.hours_between("f.raised_at", "f.touched_at")
    return f"""
        INSERT INTO {table(m.DurationDaily)} (day, measure, source, campaign, owner_id, hours, count)
        SELECT {day}, '{m.DurationMeasure.FIRST_TOUCH}', {DIMS}, l.owner_id, {hours}, COUNT(*)
        FROM ({touches}) f
        JOIN leads_lead l ON l.id = f.lead_id
        WHERE {LIVE_LEAD}
        GROUP BY {day}, {DIMS}, l.owner_id, {hours}"""


def cohorts(d: Dialect) -> str:
    week = d.week("l.created_at")
    return f"""
        INSERT INTO {table(m.CohortWeekly)} (week, source, campaign, owner_id, furthest_stage, leads)
        SELECT {week}, {DIMS}, l.owner_id, {stage_of_index("f.furthest")}, COUNT(*)
        FROM (SELECT lead_id, MAX({stage_index("to_stage")}) AS furthest
              FROM leads_stagetransition GROUP BY lead_id) f
        JOIN leads_lead l ON l.id = f.lead_id
        WHERE {LIVE_LEAD}
        GROUP BY {week}, {DIMS}, l.owner_id, f.furthest"""


def handoffs(d: Dialect) -> str:
    day = d.day("a.raised_at")
    return f"""
        INSERT INTO {table(m.HandoffDaily)}
            (day, source, campaign, owner_id, raised, accepted, rejected, still_open, sla_due, sla_met)
        SELECT {day}, {DIMS}, l.owner_id, COUNT(*),
               SUM(CASE WHEN a.status = 'accepted' THEN 1 ELSE 0 END),
               SUM(CASE WHEN a.status = 'rejected' THEN 1 ELSE 0 END),
               SUM(CASE WHEN a.status = 'open' THEN 1 ELSE 0 END),
               SUM(CASE WHEN a.due_at IS NOT NULL AND (a.acted_at IS NOT NULL OR a.due_at < %s)
                        THEN 1 ELSE 0 END),
               SUM(CASE WHEN a.due_at IS NOT NULL AND a.acted_at IS NOT NULL AND a.acted_at <= a.due_at
                        THEN 1 ELSE 0 END)
        FROM sales_salesalert a
        JOIN leads_lead l ON l.id = a.lead_id
        WHERE {LIVE_LEAD}
        GROUP BY {day}, {DIMS}, l.owner_id"""


def rejections(d: Dialect) -> str:
    day = d.day("a.raised_at")
    reason = "CASE WHEN a.reject_reason = '' THEN 'unspecified' ELSE a.reject_reason END"
    return f"""
        INSERT INTO {table(m.RejectionDaily)} (day, source, campaign, owner_id, reason, rejected)
        SELECT {day}, {DIMS}, l.owner_id, {reason}, COUNT(*)
        FROM sales_salesalert a
        JOIN leads_lead l ON l.id = a.lead_id
        WHERE a.status = 'rejected' AND {LIVE_LEAD}
        GROUP BY {day}, {DIMS}, l.owner_id, {reason}"""


def deals(d: Dialect) -> str:
    # One row per thing that happened to a deal, on the day it happened, then summed.
    cols = (
        "opened, opened_value, still_open, open_value, proposals_sent, proposals_accepted, "
        "won, won_value, lost, repeat_won"
    )
    base = "FROM leads_deal dl JOIN leads_lead l ON l.id = dl.lead_id"
    happened = f"""
        SELECT {d.day("dl.created_at")} AS day, {DIMS}, dl.owner_id,
               1 AS opened, dl.value AS opened_value,
               CASE WHEN dl.status = 'open' THEN 1 ELSE 0 END AS still_open,
               CASE WHEN dl.status = 'open' THEN dl.value ELSE 0 END AS open_value,
               0 AS proposals_sent, 0 AS proposals_accepted, 0 AS won, 0 AS won_value, 0 AS lost, 0 AS repeat_won
        {base} WHERE {LIVE_LEAD}
        UNION ALL
        SELECT {d.day("dl.proposal_sent_at")}, {DIMS}, dl.owner_id, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0
        {base} WHERE dl.proposal_sent_at IS NOT NULL AND {LIVE_LEAD}
        UNION ALL
        SELECT {d.day("dl.proposal_accepted_at")}, {DIMS}, dl.owner_id, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0
        {base} WHERE dl.proposal_accepted_at IS NOT NULL AND {LIVE_LEAD}
        UNION ALL
        SELECT {d.day("dl.closed_at")}, {DIMS}, dl.owner_id, 0, 0, 0, 0, 0, 0,
               CASE WHEN dl.status = 'won' THEN 1 ELSE 0 END,
               CASE WHEN dl.status = 'won' THEN dl.value ELSE 0 END,
               CASE WHEN dl.status = 'lost' THEN 1 ELSE 0 END,
               CASE WHEN dl.status = 'won' AND dl.cycle > 1 THEN 1 ELSE 0 END
        {base} WHERE dl.closed_at IS NOT NULL AND dl.status IN ('won', 'lost') AND {LIVE_LEAD}"""
    sums = ", ".join(f"SUM(h.{col.strip()})" for col in cols.split(","))
    return f"""
        INSERT INTO {table(m.DealDaily)} (day, source, campaign, owner_id, {cols})
        SELECT h.day, h.source, h.utm_campaign, h.owner_id, {sums}
        FROM ({happened}) h
        GROUP BY h.day, h.source, h.utm_campaign, h.owner_id"""


def activities(d: Dialect) -> str:
    day = d.day("act.occurred_at")
    return f"""
        INSERT INTO {table(m.ActivityDaily)} (day, source, campaign, owner_id, kind, count)
        SELECT {day}, {DIMS}, act.user_id, act.kind, COUNT(*)
        FROM leads_activity act
        JOIN leads_lead l ON l.id = act.lead_id
        WHERE {LIVE_LEAD}
        GROUP BY {day}, {DIMS}, act.user_id, act.kind"""


def engagement(d: Dialect) -> str:
    day = d.day("e.occurred_at")
    campaign = f"SUBSTR(COALESCE(NULLIF({d.json_text('e.properties', 'campaign')}, ''), l.utm_campaign), 1, 200)"
    return f"""
        INSERT INTO {table(m.EngagementDaily)} (day, type, source, campaign, owner_id, events)
        SELECT {day}, e.type, l.source, {campaign}, l.owner_id, COUNT(*)
        FROM events_engagementevent e
        JOIN leads_lead l ON l.id = e.lead_id
        WHERE {LIVE_LEAD}
        GROUP BY {day}, e.type, l.source, {campaign}, l.owner_id"""


def delight(d: Dialect) -> str:
    score = d.json_small_int("e.properties", "score")
    happened = f"""
        SELECT {d.day("t.occurred_at")} AS day, {DIMS}, l.owner_id,
               1 AS new_cycles, 0 AS promoters, 0 AS passives, 0 AS detractors
        FROM leads_stagetransition t JOIN leads_lead l ON l.id = t.lead_id
        WHERE t.kind = 'new_cycle' AND {LIVE_LEAD}
        UNION ALL
        SELECT {d.day("e.occurred_at")}, {DIMS}, l.owner_id, 0,
               CASE WHEN {score} >= 9 THEN 1 ELSE 0 END,
               CASE WHEN {score} IN (7, 8) THEN 1 ELSE 0 END,
               CASE WHEN {score} <= 6 THEN 1 ELSE 0 END
        FROM events_engagementevent e JOIN leads_lead l ON l.id = e.lead_id
        WHERE e.type = 'nps_submitted' AND {score} <= 10 AND {LIVE_LEAD}"""
    return f"""
        INSERT INTO {table(m.DelightDaily)}
            (day, source, campaign, owner_id, new_cycles, nps_promoters, nps_passives, nps_detractors)
        SELECT h.day, h.source, h.utm_campaign, h.owner_id,
               SUM(h.new_cycles), SUM(h.promoters), SUM(h.passives), SUM(h.detractors)
        FROM ({happened}) h
        GROUP BY h.day, h.source, h.utm_campaign, h.owner_id"""


def _alert_outcomes() -> str:
    # Qualified and won count only for the alert sales accepted: a rejected crossing
    # earlier in the same cycle does not take credit for the accepted one's deal.
    return f"""
        SELECT a.id, a.lead_id, a.raised_at, a.score, a.contributions,
               CASE WHEN a.status = 'accepted' THEN 1 ELSE 0 END AS accepted,
               MAX(CASE WHEN a.status = 'accepted' AND t.to_stage IN ('{Stage.SQL}', '{Stage.CUSTOMER}')
                         AND t.occurred_at >= a.raised_at THEN 1 ELSE 0 END) AS qualified,
               MAX(CASE WHEN a.status = 'accepted' AND t.to_stage = '{Stage.CUSTOMER}'
                         AND t.occurred_at >= a.raised_at THEN 1 ELSE 0 END) AS won
        FROM sales_salesalert a
        LEFT JOIN leads_stagetransition t ON t.lead_id = a.lead_id AND t.cycle = a.cycle
        GROUP BY a.id"""


def alert_outcomes(d: Dialect) -> str:
    day = d.day("o.raised_at")
    band = "((o.score / 10) * 10)"
    return f"""
        INSERT INTO {table(m.AlertOutcomeDaily)}
            (day, source, campaign, owner_id, score_band, raised, accepted, qualified, won)
        SELECT {day}, {DIMS}, l.owner_id, {band}, COUNT(*), SUM(o.accepted), SUM(o.qualified), SUM(o.won)
        FROM ({_alert_outcomes()}) o
        JOIN leads_lead l ON l.id = o.lead_id
        WHERE {LIVE_LEAD}
        GROUP BY {day}, {DIMS}, l.owner_id, {band}"""


def rule_outcomes(d: Dialect) -> str:
    day = d.day("o.raised_at")
    key = (
        f"SUBSTR(COALESCE({d.element_text('c', 'rule_id')}, {d.element_text('c', 'rule')}, "
        f"{d.element_text('c', 'label')}), 1, 100)"
    )
    label = f"SUBSTR(COALESCE({d.element_text('c', 'label')}, ''), 1, 200)"
    return f"""
        INSERT INTO {table(m.RuleOutcomeDaily)}
            (day, source, campaign, owner_id, rule_key, rule_label, raised, accepted, qualified, won)
        SELECT {day}, {DIMS}, l.owner_id, {key}, MAX({label}),
               COUNT(*), SUM(o.accepted), SUM(o.qualified), SUM(o.won)
        FROM ({_alert_outcomes()}) o
        {d.json_array_join("o.contributions", "c")}
        JOIN leads_lead l ON l.id = o.lead_id
        WHERE {LIVE_LEAD} AND {key} IS NOT NULL
        GROUP BY {day}, {DIMS}, l.owner_id, {key}"""


# In order; each builds one table (durations from three statements).
STATEMENTS = [
    stage_entries,
    stage_durations,
    sales_cycles,
    first_touches,
    cohorts,
    handoffs,
    rejections,
    deals,
    activities,
    engagement,
    delight,
    alert_outcomes,
    rule_outcomes,
]

SUMMARY_MODELS = [
    m.StageEntryDaily,
    m.DurationDaily,
    m.CohortWeekly,
    m.HandoffDaily,
    m.RejectionDaily,
    m.DealDaily,
    m.ActivityDaily,
    m.EngagementDaily,
    m.DelightDaily,
    m.AlertOutcomeDaily,
    m.RuleOutcomeDaily,
]
