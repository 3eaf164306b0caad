"""Training data from the history: snapshots of leads at past moments T, labelled by
what happened in (T, T + 90 days], split in time.

The split (all moments are weekly, counted back from the training run):
- holdout: the newest moments whose 90 days are over, T in [now − 90d − 3 weeks, now − 90d];
- training: moments at least 90 days before the first holdout moment, so every label
  the model learns from was known before the holdout period began (a lead may be in
  both; its facts at each T still come only from before T).

A lead is in the snapshot at T when it existed at T, was neither merged nor erased,
and was not a customer at T. Its label: it became a customer within 90 days after T.
"""

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from django.db import connection

from events.models import EngagementEvent
from leads.models import Lead, StageTransition
from leads.stages import MoveKind

from .. import sql as score_sql
from ..computation import evaluate
from ..selectors import active_rule_specs, scoring_settings
from .features import (
    DAY,
    GROUP_CASE,
    GROUP_TYPES,
    HORIZON_DAYS,
    RawFacts,
    count_events,
    event_group,
    seniority,
    size_band,
)

STEP_DAYS = 7
HOLDOUT_WEEKS = 4
# The most moments of training history used (half a year of weeks).
MAX_TRAINING_MOMENTS = 26
# The minimum history to train on, and why: with fewer than 20 buyers (or non-buyers)
# in the holdout, an AUC's standard error passes ±0.05, so the comparison with the
# rules would mean nothing; 50 buyers in training keep the one-hot model's weights
# from being learned from a handful of cases.
# Rows read per round trip on the portable path, and from a server-side cursor.
EVENT_CHUNK = 20_000
STREAM_ROWS = 50_000
MIN_TRAIN_SNAPSHOTS = 500
MIN_TRAIN_POSITIVES = 50
MIN_HOLDOUT_SNAPSHOTS = 200
MIN_HOLDOUT_POSITIVES = 20
MIN_HOLDOUT_NEGATIVES = 20
MINIMUM_TEXT = (
    f"at least {MIN_TRAIN_POSITIVES} leads that became customers within 90 days of a training moment "
    f"(of {MIN_TRAIN_SNAPSHOTS}+ training snapshots) and {MIN_HOLDOUT_POSITIVES} in the holdout "
    f"(of {MIN_HOLDOUT_SNAPSHOTS}+ snapshots): about {(HOLDOUT_WEEKS - 1) * STEP_DAYS + 2 * HORIZON_DAYS + STEP_DAYS}"
    " days of history with won deals"
)


def epoch(moment: datetime) -> float:
    return moment.timestamp()


@dataclass
class History:
    """Everything a snapshot may read, loaded once, as arrays sorted for slicing by time."""

    lead_ids: np.ndarray
    created: np.ndarray
    titles: list
    sizes: list
    countries: list
    sources: list
    event_lead: np.ndarray
    event_group: np.ndarray
    event_seconds: np.ndarray
    move_lead: np.ndarray
    move_seconds: np.ndarray
    move_stage: np.ndarray
    move_cycle: np.ndarray
    # PostgreSQL's set-based statements (the fast path), or the portable reference path
    # (ORM reads, the groups and the rule score computed in Python) on any database.
    fast: bool = True
    until: datetime | None = None
    reference_scores: "ReferenceRuleScores | None" = None


def uses_fast_path() -> bool:
    return connection.vendor == "postgresql"


def load_history(*, until: datetime, fast: bool | None = None) -> History:
    """Leads, their grouped events and stage moves up to `until`: set-based on
    PostgreSQL, through the ORM elsewhere (`fast=False` forces the portable path, which
    a test holds to the same rows)."""
    fast = uses_fast_path() if fast is None else fast
    leads, events, moves = _read_history_sql(until=until) if fast else _read_history_orm(until=until)
    return History(
        lead_ids=np.array([row[0] for row in leads], dtype=np.int64),
        created=np.array([float(row[1]) for row in leads]),
        titles=[row[2] for row in leads],
        sizes=[row[3] for row in leads],
        countries=[row[4] for row in leads],
        sources=[row[5] for row in leads],
        event_lead=events[:, 0].astype(np.int64),
        event_group=events[:, 1].astype(np.int64),
        event_seconds=events[:, 2].copy(),
        move_lead=np.array([row[0] for row in moves], dtype=np.int64),
        move_seconds=np.array([float(row[1]) for row in moves]),
        move_stage=np.array([row[2] for row in moves], dtype=object),
        move_cycle=np.array([row[3] for row in moves], dtype=np.int64),
        fast=fast,
        until=until,
    )


def _read_history_sql(*, until: datetime) -> tuple[list, np.ndarray, list]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, extract(epoch from created_at)::float8, job_title, company_size, country, source "
            "FROM leads_lead WHERE merged_into_id IS NULL AND erased_at IS NULL AND created_at <= %s ORDER BY id",
            [until],
        )
        leads = cursor.fetchall()
    events = _stream_floats(
        f"SELECT e.lead_id, {GROUP_CASE} AS grp, extract(epoch from e.occurred_at)::float8 "
        "FROM events_engagementevent e "
        f"WHERE e.occurred_at <= %s AND e.type = ANY(%s) AND ({GROUP_CASE}) IS NOT NULL ORDER BY e.occurred_at",
        [until, GROUP_TYPES],
        width=3,
    )
    stages = {}  # one string object per stage, not one per move
    moves = []
    with connection.chunked_cursor() as cursor:
        cursor.execute(
            "SELECT lead_id, extract(epoch from occurred_at)::float8, to_stage, cycle FROM leads_stagetransition "
            "WHERE occurred_at <= %s ORDER BY occurred_at, id",
            [until],
        )
        while rows := cursor.fetchmany(STREAM_ROWS):
            moves += [(lead_id, at, stages.setdefault(stage, stage), cycle) for lead_id, at, stage, cycle in rows]
    return leads, events, moves


def _stream_floats(sql: str, params: list, *, width: int) -> np.ndarray:
    """A large numeric result straight into a float array, slice by slice, through a
    server-side cursor: neither libpq nor Python holds a million rows as tuples."""
    parts = []
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(STREAM_ROWS):
            parts.append(np.array(rows, dtype=np.float64).reshape(-1, width))
    return np.concatenate(parts) if parts else np.zeros((0, width))


def _read_history_orm(*, until: datetime) -> tuple[list, np.ndarray, list]:
    leads = [
        (lead_id, epoch(created), title, size, country, source)
        for lead_id, created, title, size, country, source in Lead.objects.filter(
            merged_into__isnull=True, erased_at__isnull=True, created_at__lte=until
        )
        .order_by("id")
        .values_list("id", "created_at", "job_title", "company_size", "country", "source")
    ]
    events = (
        EngagementEvent.objects.filter(occurred_at__lte=until, type__in=GROUP_TYPES)
        .order_by("occurred_at", "id")
        .values_list("lead_id", "type", "occurred_at", "properties")
    )
    event_parts, part = [], []
    for lead_id, event_type, occurred_at, properties in events.iterator(chunk_size=EVENT_CHUNK):
        group = event_group(event_type, properties)
        if group is not None:
            part.append((lead_id, group, epoch(occurred_at)))
        if len(part) >= EVENT_CHUNK:
            event_parts.append(np.array(part, dtype=np.float64))
            part = []
    if part:
        event_parts.append(np.array(part, dtype=np.float64))
    moves = [
        (lead_id, epoch(occurred_at), to_stage, cycle)
        for lead_id, occurred_at, to_stage, cycle in StageTransition.objects.filter(occurred_at__lte=until)
        .order_by("occurred_at", "id")
        .values_list("lead_id", "occurred_at", "to_stage", "cycle")
    ]
    events = np.concatenate(event_parts) if event_parts else np.zeros((0, 3))
    return leads, events, moves


@dataclass
class Snapshot:
    moment: datetime
    facts: RawFacts
    labels: np.ndarray


@dataclass
class Split:
    train_moments: list = field(default_factory=list)
    holdout_moments: list = field(default_factory=list)


def plan_split(*, now: datetime, first_created: datetime | None) -> Split:
    last = now - timedelta(days=HORIZON_DAYS)
    holdout = [last - timedelta(days=STEP_DAYS * week) for week in range(HOLDOUT_WEEKS)]
    train_end = holdout[-1] - timedelta(days=HORIZON_DAYS)
    train = []
    moment = train_end
    while first_created is not None and moment > first_created and len(train) < MAX_TRAINING_MOMENTS:
        train.append(moment)
        moment -= timedelta(days=STEP_DAYS)
    return Split(train_moments=sorted(train), holdout_moments=sorted(holdout))


def _sampled(lead_ids: np.ndarray, rate: float) -> np.ndarray:
    """A fixed pseudo-random share of leads (by id), the same at every moment."""
    if rate >= 1.0:
        return np.ones(len(lead_ids), dtype=bool)
    return ((lead_ids * 2654435761) % 4294967296) / 4294967296.0 < rate


def snapshot_at(history: History, moment: datetime, *, rate: float = 1.0) -> Snapshot:
    """The leads at `moment` with their facts at that moment and their label."""
    at = epoch(moment)
    # Stage and cycle at T: each lead's last move up to T.
    moved = np.searchsorted(history.move_seconds, at, side="right")
    move_lead = history.move_lead[:moved][::-1]
    seen_leads, first = np.unique(move_lead, return_index=True)
    last_index = moved - 1 - first
    stage_at = dict(zip(seen_leads.tolist(), history.move_stage[last_index].tolist(), strict=True))
    cycle_at = dict(zip(seen_leads.tolist(), history.move_cycle[last_index].tolist(), strict=True))

    alive = (history.created <= at) & _sampled(history.lead_ids, rate)
    rows = [
        index
        for index in np.flatnonzero(alive).tolist()
        if stage_at.get(int(history.lead_ids[index]), "lead_gen") != "customer"
    ]
    ids = history.lead_ids[rows]
    n = len(ids)
    # Events of the 90 days up to T (the slice); count_events drops anything later.
    low = np.searchsorted(history.event_seconds, at - HORIZON_DAYS * DAY, side="right")
    high = np.searchsorted(history.event_seconds, at, side="right")
    event_lead = history.event_lead[low:high]
    if n:
        position = np.minimum(np.searchsorted(ids, event_lead), n - 1)
        row_of_event = np.where(ids[position] == event_lead, position, -1)
    else:
        row_of_event = np.full(len(event_lead), -1)
    counts, days = count_events(
        row_of_event=row_of_event,
        group=history.event_group[low:high],
        seconds=history.event_seconds[low:high],
        as_of=np.full(n, at),
        n=n,
    )
    facts = RawFacts(
        lead_ids=ids,
        counts=counts,
        days_since_last=days,
        seniority=[seniority(history.titles[i]) for i in rows],
        size_band=[size_band(history.sizes[i]) for i in rows],
        country=[history.countries[i] or "" for i in rows],
        source=[history.sources[i] or "" for i in rows],
        stage=[stage_at.get(int(lead_id), "lead_gen") for lead_id in ids.tolist()],
        cycle=np.array([cycle_at.get(int(lead_id), 1) for lead_id in ids.tolist()], dtype=np.int64),
        rule_score=_rule_scores(history, ids, moment),
    )
    return Snapshot(moment=moment, facts=facts, labels=labels_at(history, ids, at))


def labels_at(history: History, ids: np.ndarray, at: float) -> np.ndarray:
    """1 where the lead became a customer in (T, T + 90 days]."""
    won = (history.move_stage == "customer") & (history.move_seconds > at)
    won &= history.move_seconds <= at + HORIZON_DAYS * DAY
    return np.isin(ids, np.unique(history.move_lead[won])).astype(np.int64)


def _rule_scores(history: History, ids: np.ndarray, moment: datetime) -> np.ndarray:
    if history.fast:
        return rule_scores_at(lead_ids=ids, moment=moment)
    if history.reference_scores is None:
        history.reference_scores = ReferenceRuleScores(until=history.until or moment)
    return history.reference_scores.scores_at(lead_ids=ids, moment=moment)


class ReferenceRuleScores:
    """The rules' score of leads at past moments by the reference scorer
    (`scoring.computation.evaluate`), for the portable path: what `rule_scores_at`
    computes in SQL. Each lead, its events of the scored types and its new-cycle
    moves are read once, for every moment."""

    def __init__(self, *, until: datetime):
        thresholds = scoring_settings()
        self.rules = active_rule_specs(default_half_life_days=thresholds.default_half_life_days)
        types = sorted({rule.event_type for rule in self.rules if rule.is_behaviour})
        self.leads = {lead.pk: lead for lead in Lead.objects.filter(created_at__lte=until).iterator(chunk_size=2000)}
        self.events = defaultdict(list)
        rows = (
            EngagementEvent.objects.filter(type__in=types, occurred_at__lte=until)
            .order_by("occurred_at", "id")
            .values_list("lead_id", "id", "type", "occurred_at", "properties")
        )
        for lead_id, *event in rows.iterator(chunk_size=EVENT_CHUNK):
            self.events[lead_id].append(tuple(event))
        self.times = {lead_id: [event[2] for event in events] for lead_id, events in self.events.items()}
        self.new_cycles = defaultdict(list)
        for lead_id, occurred_at in (
            StageTransition.objects.filter(kind=MoveKind.NEW_CYCLE, occurred_at__lte=until)
            .order_by("occurred_at")
            .values_list("lead_id", "occurred_at")
        ):
            self.new_cycles[lead_id].append(occurred_at)

    def scores_at(self, *, lead_ids: np.ndarray, moment: datetime) -> np.ndarray:
        scores = np.zeros(len(lead_ids), dtype=np.int64)
        for index, lead_id in enumerate(lead_ids.tolist()):
            lead = self.leads[lead_id]
            events = self.events.get(lead_id, [])
            events = events[: bisect_right(self.times[lead_id], moment)] if events else events
            window_start = None
            if lead.cycle > 1:
                # As the statement does: the last new cycle up to T, for a lead in a later cycle now.
                starts = [at for at in self.new_cycles.get(lead_id, []) if at <= moment]
                window_start = starts[-1] if starts else None
            scores[index] = evaluate(
                lead=lead, events=events, rules=self.rules, as_of=moment, window_start=window_start
            ).score
        return scores


def rule_scores_at(*, lead_ids: np.ndarray, moment: datetime, chunk: int = 5000) -> np.ndarray:
    """The rules' score of each lead at `moment`: the set-based score over events up to
    then, in the cycle the lead was in then (current rules, current fit fields)."""
    scores = np.zeros(len(lead_ids), dtype=np.int64)
    if not len(lead_ids):
        return scores
    thresholds = scoring_settings()
    rules = active_rule_specs(default_half_life_days=thresholds.default_half_life_days)
    position = {int(lead_id): index for index, lead_id in enumerate(lead_ids.tolist())}
    with connection.cursor() as cursor:
        for start in range(0, len(lead_ids), chunk):
            params = score_sql.Params()
            ids_param = params.add(score_sql.array_literal(lead_ids[start : start + chunk].tolist()))
            as_of_param = params.add(moment)
            sql = score_sql.scores_cte(
                rules=rules,
                params=params,
                lead_ids_param=f"{ids_param}::bigint[]",
                as_of_param=as_of_param,
                explain_when="false",
                cycle_as_of=True,
            )
            cursor.execute(sql + "\nSELECT id, score FROM scores", params.values)
            for lead_id, score in cursor.fetchall():
                scores[position[lead_id]] = score
    return scores
