"""The set-based statements that rebuild `AttributionCredit`: one pass over every
conversion's path computes all seven models at once (window functions give each touch
its position, the path's length, its anchor positions and its time-decay weight), then
GROUP BY sums them per milestone, day, campaign, channel and source.

The shares and the missing-anchor rules are `attribution.credit`'s (see its docstring);
the expressions below are generated from the same share table, and a property test
checks both give the same sums on random data, on PostgreSQL and on SQLite.
"""

from dataclasses import dataclass

from leads.stages import Stage

from .credit import POSITIONAL
from .models import DIRECT, MODELS, AttributionCredit, Touchpoint

CREDIT_TABLE = AttributionCredit._meta.db_table
TOUCH_TABLE = Touchpoint._meta.db_table
MQL_OR_LATER = (Stage.MQL, Stage.SAL, Stage.SQL, Stage.CUSTOMER)


@dataclass(frozen=True)
class Dialect:
    postgres: bool

    def day(self, column: str) -> str:
        if self.postgres:
            return f"CAST(({column} AT TIME ZONE 'UTC') AS date)"
        return f"DATE({column})"

    def age_seconds(self, later: str, earlier: str) -> str:
        if self.postgres:
            return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"
        return f"((julianday({later}) - julianday({earlier})) * 86400.0)"

    def not_before(self, column: str, at: str, days: int) -> str:
        if self.postgres:
            return f"{column} >= {at} - INTERVAL '{int(days)} days'"
        return f"julianday({column}) >= julianday({at}) - {int(days)}"

    def number(self, value: float) -> str:
        # Float arithmetic on both sides, as in the Python reference (not NUMERIC).
        return f"CAST({value!r} AS double precision)" if self.postgres else f"CAST({value!r} AS REAL)"

    @property
    def fence(self) -> str:
        """A no-op OFFSET that stops a subquery from being merged into the query around it."""
        return "OFFSET 0" if self.postgres else "LIMIT -1 OFFSET 0"

    @property
    def float_type(self) -> str:
        return "double precision" if self.postgres else "REAL"


def conversions_cte(d: Dialect) -> str:
    mql = ", ".join(f"'{stage}'" for stage in MQL_OR_LATER)
    columns = "lead_id, cycle, t_lead, t_mql, t_sql, t_won"
    zero = d.number(0.0)
    return f"""
    stage_times AS (
        SELECT t.lead_id, t.cycle,
               MIN(CASE WHEN t.to_stage <> '{Stage.DEMAND_GEN}' THEN t.occurred_at END) AS t_lead,
               MIN(CASE WHEN t.to_stage IN ({mql}) THEN t.occurred_at END) AS t_mql
        FROM leads_stagetransition t JOIN leads_lead l ON l.id = t.lead_id
        WHERE l.merged_into_id IS NULL
        GROUP BY t.lead_id, t.cycle),
    cycles AS (
        SELECT s.lead_id, s.cycle, s.t_lead, s.t_mql, d.created_at AS t_sql,
               CASE WHEN d.status = 'won' THEN d.closed_at END AS t_won,
               CASE WHEN d.status = 'won' THEN CAST(d.value AS {d.float_type}) ELSE {zero} END AS value
        FROM stage_times s LEFT JOIN leads_deal d ON d.lead_id = s.lead_id AND d.cycle = s.cycle),
    conversions AS (
        SELECT 'lead' AS milestone, t_lead AS at, {zero} AS value, {columns} FROM cycles WHERE t_lead IS NOT NULL
        UNION ALL SELECT 'mql', t_mql, {zero}, {columns} FROM cycles WHERE t_mql IS NOT NULL
        UNION ALL SELECT 'sql', t_sql, {zero}, {columns} FROM cycles WHERE t_sql IS NOT NULL
        UNION ALL SELECT 'customer', t_won, value, {columns} FROM cycles WHERE t_won IS NOT NULL)"""


ANCHOR_COLUMN = {"first": "1", "last": "n", "lead": "p_lead", "mql": "p_mql", "sql": "p_sql", "customer": "p_won"}


def _anchors(model: str, alias: str) -> list[tuple[str, float]]:
    anchors, _ = POSITIONAL[model]
    return [
        (ANCHOR_COLUMN[name] if name == "first" else f"{alias}.{ANCHOR_COLUMN[name]}", share) for name, share in anchors
    ]


def path_terms(d: Dialect, model: str) -> dict[str, str]:
    """Per path (the same on each of its rows), over the window level `p`: the share each
    present anchor gains from the missing ones, and how many distinct touches are anchors.
    Computed once per row in their own level, not once per use."""
    positions = _anchors(model, "p")
    if not positions:
        return {}
    present = " + ".join(f"(CASE WHEN {pos} > 0 THEN 1 ELSE 0 END)" for pos, _ in positions)
    missing = " + ".join(f"(CASE WHEN {pos} > 0 THEN 0 ELSE {d.number(share)} END)" for pos, share in positions)
    distinct = " + ".join(
        "(CASE WHEN {pos} > 0{others} THEN 1 ELSE 0 END)".format(
            pos=pos, others="".join(f" AND {pos} <> {earlier}" for earlier, _ in positions[:index])
        )
        for index, (pos, _) in enumerate(positions)
    )
    return {f"bonus_{model}": f"(({missing}) / ({present}))", f"anchors_{model}": f"({distinct})"}


def positional_credit(d: Dialect, model: str) -> str:
    """SQL for the credit of touch `q.pos` under a positional model, by `credit.credits`' rules."""
    _, rest = POSITIONAL[model]
    positions = _anchors(model, "q")
    terms = [
        f"(CASE WHEN {pos} = q.pos THEN {d.number(share)} + q.bonus_{model} ELSE 0 END)" for pos, share in positions
    ]
    if rest and positions:
        is_anchor = " OR ".join(f"q.pos = {pos}" for pos, _ in positions)
        anchors = f"q.anchors_{model}"
        terms.append(
            f"(CASE WHEN NOT ({is_anchor}) THEN {d.number(rest)} / (q.n - {anchors}) "
            f"WHEN q.n = {anchors} THEN {d.number(rest)} / {anchors} ELSE 0 END)"
        )
    elif rest:
        terms.append(f"({d.number(rest)} / q.n)")
    return " + ".join(terms)


def credit_statement(d: Dialect, *, window_days: int, half_life_days: float, channel_case: str) -> str:
    age = d.age_seconds("c.at", "t.occurred_at")
    weight = f"POWER({d.number(0.5)}, {age} / {d.number(86400.0 * half_life_days)})"

    def anchor(milestone_time: str) -> str:
        return (
            f"SUM(CASE WHEN {milestone_time} <= c.at AND t.occurred_at <= {milestone_time} THEN 1 ELSE 0 END) "
            "OVER conversion"
        )

    expressions = {model: positional_credit(d, model) for model in POSITIONAL}
    expressions["time_decay"] = "(q.w / q.w_total)"
    terms = {name: sql for model in POSITIONAL for name, sql in path_terms(d, model).items()}
    credit_columns = ", ".join(f"credit_{model}" for model in MODELS)
    revenue_columns = ", ".join(f"revenue_{model}" for model in MODELS)
    per_path = ", ".join(f"{sql} AS {name}" for name, sql in terms.items())
    per_touch = ", ".join(f"{expressions[model]} AS cr_{model}" for model in MODELS)
    sums = ", ".join(f"SUM(x.cr_{model})" for model in MODELS)
    revenue_sums = ", ".join(f"SUM(x.cr_{model} * x.value)" for model in MODELS)
    # The fences keep the database from inlining a level into the next, which would
    # evaluate each expression once per use instead of once per row.
    return f"""
    WITH {conversions_cte(d)}
    INSERT INTO {CREDIT_TABLE}
        (window_days, milestone, day, campaign, channel, source, {credit_columns}, {revenue_columns})
    SELECT {int(window_days)}, x.milestone, x.day, x.campaign, x.channel, x.source, {sums}, {revenue_sums}
    FROM (
        SELECT q.milestone, q.day, q.campaign, q.channel, q.source, q.value, {per_touch}
        FROM (
            SELECT p.*, {per_path}
            FROM (
                SELECT c.milestone, c.value, {d.day("c.at")} AS day, t.campaign, {channel_case} AS channel,
                       t.source,
                       ROW_NUMBER() OVER conversion AS pos,
                       COUNT(*) OVER conversion AS n,
                       {anchor("c.t_lead")} AS p_lead,
                       {anchor("c.t_mql")} AS p_mql,
                       {anchor("c.t_sql")} AS p_sql,
                       {anchor("c.t_won")} AS p_won,
                       {weight} AS w,
                       SUM({weight}) OVER conversion AS w_total
                FROM conversions c
                JOIN {TOUCH_TABLE} t ON t.lead_id = c.lead_id AND t.occurred_at <= c.at
                     AND {d.not_before("t.occurred_at", "c.at", window_days)}
                -- One window for all: ordered for the positions, its frame the whole path for
                -- the totals, so the database sorts each path once and passes over it once.
                WINDOW conversion AS (PARTITION BY c.lead_id, c.cycle, c.milestone ORDER BY t.occurred_at, t.id
                                      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
            ) p {d.fence}
        ) q {d.fence}
    ) x
    GROUP BY x.milestone, x.day, x.campaign, x.channel, x.source"""


def direct_statement(d: Dialect, *, window_days: int) -> str:
    """Conversions with no touch in their window: all credit to Direct."""
    credit_columns = ", ".join(f"credit_{model}" for model in MODELS)
    revenue_columns = ", ".join(f"revenue_{model}" for model in MODELS)
    counts = ", ".join("COUNT(*)" for _ in MODELS)
    revenues = ", ".join("SUM(c.value)" for _ in MODELS)
    day = d.day("c.at")
    return f"""
    WITH {conversions_cte(d)}
    INSERT INTO {CREDIT_TABLE}
        (window_days, milestone, day, campaign, channel, source, {credit_columns}, {revenue_columns})
    SELECT {int(window_days)}, c.milestone, {day}, '', '{DIRECT}', '', {counts}, {revenues}
    FROM conversions c
    WHERE NOT EXISTS (
        SELECT 1 FROM {TOUCH_TABLE} t
        WHERE t.lead_id = c.lead_id AND t.occurred_at <= c.at AND {d.not_before("t.occurred_at", "c.at", window_days)})
    GROUP BY c.milestone, {day}"""


def linear_baseline(d: Dialect, *, window_days: int) -> str:
    """The benchmark's yardstick: one hand-written statement for the linear model alone
    (campaign totals per milestone and day), without the anchors of the other models."""
    return f"""
    WITH {conversions_cte(d)}
    SELECT x.milestone, x.day, x.campaign, SUM(x.credit)
    FROM (
        SELECT c.milestone, {d.day("c.at")} AS day, t.campaign,
               1.0 / COUNT(*) OVER (PARTITION BY c.lead_id, c.cycle, c.milestone) AS credit
        FROM conversions c
        JOIN {TOUCH_TABLE} t ON t.lead_id = c.lead_id AND t.occurred_at <= c.at
             AND {d.not_before("t.occurred_at", "c.at", window_days)}
    ) x
    GROUP BY x.milestone, x.day, x.campaign"""
