"""The set-based score (PostgreSQL): the formula of `scoring/computation.py` compiled
into one SQL statement over a chunk of leads.

Rules are data, so their conditions are compiled into SQL expressions whose values are
all bound parameters (never spliced into the text). `scores_cte` is shared by the
read-only query the property test compares with the reference and by the writing
statement the workers run.
"""

import json
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection

from leads.lifecycle import PRE_MQL_STAGES as LIFECYCLE_PRE_MQL_STAGES
from leads.models import ActorKind, ChangeKind
from leads.stages import STAGE_ORDER

from .computation import FIT_FIELDS, SECONDS_PER_DAY, Condition, RuleSpec
from .models import ConditionOp

# The lifecycle's rule of who may cross (leads.lifecycle.crossing), as SQL parameters.
PRE_MQL_STAGES = tuple(stage for stage in STAGE_ORDER if stage in LIFECYCLE_PRE_MQL_STAGES)


@dataclass
class Params:
    values: dict = field(default_factory=dict)

    def add(self, value) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"%({name})s"


def _json_condition(source: str, condition: Condition, params: Params) -> str:
    """A condition on a jsonb column (`e.properties`, `l.attributes`), as `->>` text."""
    key = params.add(condition.field.removeprefix("attributes."))
    if condition.op == ConditionOp.GTE:
        return (
            f"(CASE WHEN jsonb_typeof({source} -> {key}) = 'number' "
            f"THEN ({source} ->> {key})::numeric >= {params.add(condition.number)}::numeric ELSE false END)"
        )
    return _text_condition(f"({source} ->> {key})", condition, params)


def _like_pattern(needle: str) -> str:
    escaped = needle.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _text_condition(expression: str, condition: Condition, params: Params) -> str:
    if condition.op == ConditionOp.CONTAINS:
        # One lower() and one LIKE ANY for all needles: a substring test, as in the reference.
        patterns = params.add([_like_pattern(needle) for needle in condition.values])
        return f"COALESCE(lower({expression}) LIKE ANY ({patterns}::text[]), false)"
    if condition.op == ConditionOp.IN:
        return f"COALESCE({expression} = ANY({params.add(list(condition.values))}::text[]), false)"
    return f"COALESCE({expression} = {params.add(condition.values[0])}, false)"


def _lead_condition(condition: Condition, params: Params) -> str:
    if condition.field.startswith("attributes."):
        return _json_condition("l.attributes", condition, params)
    column = condition.field
    if FIT_FIELDS.get(column) == "number":
        if condition.op == ConditionOp.GTE:
            return f"COALESCE(l.{column} >= {params.add(condition.number)}::numeric, false)"
        return _text_condition(f"(l.{column}::text)", condition, params)
    if column not in FIT_FIELDS:
        return "false"
    if condition.op == ConditionOp.GTE:
        return "false"
    # A blank column is no value, as in the reference.
    return _text_condition(f"NULLIF(l.{column}, '')", condition, params)


def _conditions_on_event(rule: RuleSpec, params: Params) -> str:
    if not rule.conditions:
        return "true"
    return " AND ".join(_json_condition("e.properties", c, params) for c in rule.conditions)


def _fit_match(rule: RuleSpec, params: Params) -> str:
    if not rule.conditions:
        return "true"
    return " AND ".join(_lead_condition(c, params) for c in rule.conditions)


def scores_cte(
    *,
    rules: list[RuleSpec],
    params: Params,
    lead_ids_param: str,
    as_of_param: str,
    explain_when: str = "true",
    cycle_as_of: bool = False,
    may_cross_stages_param: str | None = None,
    id_bounds: tuple[str, str] | None = None,
) -> str:
    """CTEs ending in `scores(id, old_score, score, contributions)` for the chunk's leads.

    Contributions (the explanation, as jsonb) are built only for the leads where
    `explain_when` holds (an expression over `s.score` and `s.old_score`): building
    them is the dearest part, and an unchanged score needs no new explanation.

    `cycle_as_of`: the window starts at the last new cycle up to `as_of` (a score at a
    past moment, for the likelihood model's training), not at the lead's latest one.

    `may_cross_stages_param` (the stages a lead may cross from): `scores.may_cross` then
    says whether the lead may cross the MQL threshold (leads.lifecycle.may_cross_mql, as
    read in this statement's snapshot); without it, false. `scores.armed` is the lead's
    `mql_armed` as read."""
    cycle_filter = f" AND t.occurred_at <= {as_of_param}" if cycle_as_of else ""
    # The chunk's id range, said again beside the ids: a full rescore's batch is a run of
    # consecutive ids, which the planner then reads by primary key instead of hashing
    # every row of the leads table (20,000 of 100,000 leads looked cheaper to it that way).
    id_range = f" AND l.id BETWEEN {id_bounds[0]} AND {id_bounds[1]}" if id_bounds else ""
    may_cross = "false"
    if may_cross_stages_param:
        may_cross = (
            "(l.mql_armed AND l.email IS NOT NULL AND l.email <> '' "
            f"AND l.stage = ANY({may_cross_stages_param}) AND l.merged_into_id IS NULL AND l.erased_at IS NULL)"
        )
    behaviour = [r for r in rules if r.is_behaviour]
    fit = [r for r in rules if not r.is_behaviour]
    # `ordinal` is the rule's place in `rules` (the marketer's order): the explanation
    # lists contributions in it, as the reference does.
    rule_rows = (
        ", ".join(
            f"({params.add(r.id)}::bigint, {params.add(r.version)}::int, {params.add(r.label)}::text, "
            f"{params.add(r.kind)}::text, {params.add(r.event_type)}::text, {params.add(r.points)}::int, "
            f"{params.add(r.daily_cap)}::int, {params.add(float(r.half_life_days))}::float8, {ordinal}::int)"
            for ordinal, r in enumerate(rules)
        )
        or "(NULL::bigint, NULL::int, NULL::text, NULL::text, NULL::text, NULL::int, NULL::int, NULL::float8, "
        "NULL::int)"
    )
    ctes = [
        f"rules (rule_id, version, label, kind, event_type, points, cap, half_life, ordinal) AS (VALUES {rule_rows})",
        f"""chunk AS (
            SELECT l.id, l.score AS old_score, l.mql_armed AS armed, {may_cross} AS may_cross,
                   l.attributes, l.email, l.first_name, l.last_name, l.company,
                   l.job_title, l.phone, l.country, l.company_size, l.source, l.utm_source, l.utm_medium,
                   l.utm_campaign, l.utm_term, l.utm_content,
                   CASE WHEN l.cycle > 1 THEN (
                       SELECT max(t.occurred_at) FROM leads_stagetransition t
                       WHERE t.lead_id = l.id AND t.kind = 'new_cycle'{cycle_filter}) END AS window_start
            FROM (SELECT DISTINCT unnest({lead_ids_param}) AS id) ids
            JOIN leads_lead l ON l.id = ids.id{id_range})""",
        # Only leads in a later cycle have a window: a small table the events meet by hash.
        "windows AS (SELECT id, window_start FROM chunk WHERE window_start IS NOT NULL)",
    ]
    per_rule_parts = []
    if behaviour:
        # Joined on the event type, each event meets only its type's rules; the CASE then
        # tests that one rule's property conditions.
        matches = " ".join(f"WHEN {params.add(r.id)} THEN {_conditions_on_event(r, params)}" for r in behaviour)
        ctes += [
            f"""hits AS (
                SELECT e.lead_id, e.id, e.occurred_at, r.rule_id, r.points, r.cap, r.half_life,
                       extract(epoch from ({as_of_param} - e.occurred_at))::float8 AS age,
                       row_number() OVER (
                           PARTITION BY e.lead_id, r.rule_id, (e.occurred_at AT TIME ZONE 'UTC')::date
                           ORDER BY e.occurred_at, e.id) AS nth
                FROM events_engagementevent e
                JOIN rules r ON r.kind = 'behaviour' AND r.event_type = e.type
                LEFT JOIN windows w ON w.id = e.lead_id
                WHERE e.lead_id = ANY({lead_ids_param}) AND e.occurred_at <= {as_of_param}
                  AND (w.window_start IS NULL OR e.occurred_at >= w.window_start)
                  AND CASE r.rule_id {matches} ELSE false END)""",
            f"""behaviour AS (
                SELECT h.lead_id, h.rule_id, min(h.points) AS rule_points,
                       count(*) FILTER (WHERE h.cap IS NULL OR h.nth <= h.cap) AS events,
                       bool_or(h.cap IS NOT NULL AND h.nth > h.cap) AS capped,
                       sum(h.points * power(0.5::float8, greatest(0::float8, h.age) / {SECONDS_PER_DAY}::float8
                                            / h.half_life))
                           FILTER (WHERE h.cap IS NULL OR h.nth <= h.cap) AS value
                FROM hits h
                GROUP BY h.lead_id, h.rule_id)""",
        ]
        per_rule_parts.append(
            "SELECT b.lead_id, b.rule_id, b.rule_points * b.events AS points, b.value, b.events, b.capped "
            "FROM behaviour b WHERE b.events > 0"
        )
    if fit:
        fits = ", ".join(f"({params.add(r.id)}::bigint, {_fit_match(r, params)})" for r in fit)
        per_rule_parts.append(
            "SELECT l.id, f.rule_id, r.points, r.points::float8, 0::bigint, false "
            f"FROM chunk l CROSS JOIN LATERAL (VALUES {fits}) AS f (rule_id, hit) "
            "JOIN rules r ON r.rule_id = f.rule_id WHERE f.hit"
        )
    if not per_rule_parts:
        per_rule_parts.append(
            "SELECT NULL::bigint, NULL::bigint, NULL::int, NULL::float8, NULL::bigint, NULL::bool WHERE false"
        )
    ctes += [
        f"per_rule (lead_id, rule_id, points, value, events, capped) AS ({' UNION ALL '.join(per_rule_parts)})",
        """per_lead AS (SELECT lead_id, sum(value) AS total FROM per_rule GROUP BY lead_id)""",
        """totals AS (
            SELECT c.id, c.old_score, c.armed, c.may_cross,
                   COALESCE(greatest(0, floor(p.total + 0.5))::int, 0) AS score
            FROM chunk c LEFT JOIN per_lead p ON p.lead_id = c.id)""",
        f"""explained AS (
            SELECT p.lead_id,
                   jsonb_agg(jsonb_build_object(
                       'rule_id', p.rule_id, 'version', r.version, 'label', r.label, 'kind', r.kind,
                       'points', p.points, 'value', round(p.value::numeric, 3), 'events', p.events,
                       'capped', p.capped) ORDER BY r.ordinal) AS contributions
            FROM per_rule p JOIN rules r ON r.rule_id = p.rule_id
            WHERE p.lead_id IN (SELECT s.id FROM totals s WHERE {explain_when})
            GROUP BY p.lead_id)""",
        """scores AS (
            SELECT t.id, t.old_score, t.score, t.armed, t.may_cross,
                   COALESCE(x.contributions, '[]'::jsonb) AS contributions
            FROM totals t LEFT JOIN explained x ON x.lead_id = t.id)""",
    ]
    return "WITH " + ",\n".join(ctes)


def read_scores_query(*, rules: list[RuleSpec], lead_ids: list[int], as_of: datetime) -> tuple[str, dict]:
    """Scores of `lead_ids` at `as_of`, written nowhere: the set-based path for tests."""
    params = Params()
    lead_ids_param = params.add(array_literal(lead_ids))
    as_of_param = params.add(as_of)
    sql = scores_cte(rules=rules, params=params, lead_ids_param=f"{lead_ids_param}::bigint[]", as_of_param=as_of_param)
    return sql + "\nSELECT id, score, contributions FROM scores ORDER BY id", params.values


def array_literal(ids) -> str:
    """Ids as one '{1,2,3}' text: psycopg2 would send a list as ARRAY[1, 2, 3], an
    expression PostgreSQL takes ~35 µs an element to plan (0.35 s for 10,000)."""
    return "{" + ",".join(str(int(value)) for value in ids) + "}"


def decode_json(value):
    """Django's PostgreSQL cursors hand jsonb back as text."""
    return json.loads(value) if isinstance(value, str) else value


def read_scores(*, rules: list[RuleSpec], lead_ids: list[int], as_of: datetime) -> dict[int, tuple[int, list]]:
    sql, params = read_scores_query(rules=rules, lead_ids=lead_ids, as_of=as_of)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {lead_id: (score, decode_json(items)) for lead_id, score, items in cursor.fetchall()}


def rescore_statement(
    *, rules: list[RuleSpec], lead_ids: list[int], as_of: datetime, cause: str, mql: int, recycle: int
) -> tuple[str, dict]:
    """One statement that rescores the chunk: stores changed scores and their history,
    re-arms leads that fell below the recycle threshold, flags open alerts whose lead
    decayed below it, and returns the leads that may cross the MQL threshold now and
    those whose score changed: rows (id, score, contributions, may cross, changed).

    The caller has locked the chunk's lead rows (in id order) in this transaction, so
    `chunk` reads their latest stage and flags and nobody moves them meanwhile.
    """
    params = Params()
    lead_ids_param = f"{params.add(array_literal(lead_ids))}::bigint[]"
    as_of_param = params.add(as_of)
    recycle_param = params.add(recycle)
    mql_param = params.add(mql)
    cause_param = params.add(cause[:60])
    stages_param = params.add(list(PRE_MQL_STAGES))
    id_bounds = None
    low, high = min(lead_ids), max(lead_ids)
    if high - low < 2 * len(lead_ids):
        # A run of ids (a full rescore's batch): the range makes the planner read it by
        # primary key. Never for scattered ids (the leads an ingest claim marked): there
        # the range spans the table and the planner scanned it, 10x slower (bench/latency.py).
        id_bounds = (f"{params.add(low)}::bigint", f"{params.add(high)}::bigint")
    sql = scores_cte(
        rules=rules,
        params=params,
        lead_ids_param=lead_ids_param,
        as_of_param=as_of_param,
        # Explained: what is written to the history, and what may cross.
        explain_when=f"s.score <> s.old_score OR (s.score >= {mql_param} AND s.may_cross)",
        may_cross_stages_param=f"{stages_param}::text[]",
        id_bounds=id_bounds,
    )
    # The locked rows cannot change under us, so what `chunk` read is what is stored:
    # only the changed rows are touched, found by primary key.
    id_range = f" AND l.id BETWEEN {id_bounds[0]} AND {id_bounds[1]}" if id_bounds else ""
    sql += f""",
        stored AS (
            UPDATE leads_lead l
            SET score = s.score, mql_armed = (s.armed OR s.score < {recycle_param})
            FROM scores s
            WHERE l.id = s.id{id_range}
              AND (s.old_score <> s.score OR (NOT s.armed AND s.score < {recycle_param}))
            RETURNING l.id),
        rearmed AS (
            -- The trail of re-arming (leads.LeadChange), also when the score did not change:
            -- without it the log could not tell a replay that this rescore happened.
            INSERT INTO leads_leadchange (lead_id, kind, field, old_value, new_value, reason, actor_kind,
                                          actor_label, occurred_at)
            SELECT s.id, {params.add(ChangeKind.MQL_REARMED)}, 'mql_armed', 'no', 'yes',
                   'Score ' || s.score || ' is below the recycle threshold ' || {recycle_param}::text,
                   {params.add(ActorKind.SYSTEM)}, 'scoring', {as_of_param}
            FROM scores s WHERE NOT s.armed AND s.score < {recycle_param}),
        history AS (
            INSERT INTO scoring_scorechange (lead_id, old_score, new_score, contributions, cause, at)
            SELECT s.id, s.old_score, s.score, s.contributions, {cause_param}, {as_of_param}
            FROM scores s WHERE s.score <> s.old_score),
        flagged AS (
            UPDATE sales_salesalert a SET decayed_below_recycle = true
            FROM scores s
            WHERE a.lead_id = s.id AND a.status = 'open' AND NOT a.decayed_below_recycle
              AND s.score < {recycle_param}
            RETURNING a.id)
        SELECT s.id, s.score, s.contributions, s.score >= {mql_param} AND s.may_cross AS may_cross,
               s.score <> s.old_score AS changed
        FROM scores s WHERE (s.score >= {mql_param} AND s.may_cross) OR s.score <> s.old_score
    """
    return sql, params.values
