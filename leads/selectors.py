"""Reads about leads that have rules or need care for queries."""

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.db.models import F, Func, Q, QuerySet, Sum, TextField
from redis.exceptions import RedisError

from . import access, details, trail
from .actors import person_name
from .models import Activity, Deal, Lead, LeadChange, LeadMerge, PipelineCount, StageTransition
from .stages import Stage

UNASSIGNED = "none"


live_leads = access.live_leads


def leads_visible_to(user) -> QuerySet:
    """The live leads a user (or any principal) may open: leads.access.visible_leads."""
    return access.visible_leads(user)


def lead_for_viewer(*, user, lead_id: int) -> Lead | None:
    """One lead with its owner, or None when the user may not see it (the page 404s)."""
    return leads_visible_to(user).select_related("owner").filter(pk=lead_id).first()


# --- Pipeline board -------------------------------------------------------------


@dataclass(frozen=True)
class BoardFilters:
    owner: str | None = None  # a user id as text, or UNASSIGNED
    source: str | None = None
    campaign: str | None = None
    created_from: date | None = None
    created_to: date | None = None

    def _owner_source_campaign(self, *, campaign_field: str) -> Q:
        q = Q()
        if self.owner == UNASSIGNED:
            q &= Q(owner__isnull=True)
        elif self.owner:
            q &= Q(owner_id=int(self.owner))
        if self.source is not None and self.source != "":
            q &= Q(source=self.source)
        if self.campaign is not None and self.campaign != "":
            q &= Q(**{campaign_field: self.campaign})
        return q

    def as_lead_filter(self) -> Q:
        q = self._owner_source_campaign(campaign_field="utm_campaign")
        # Whole UTC days, as the summary's `day` counts them; a range on the column
        # itself (not on its date) keeps the created_at index usable.
        if self.created_from:
            q &= Q(created_at__gte=datetime.combine(self.created_from, time.min, tzinfo=UTC))
        if self.created_to:
            q &= Q(created_at__lt=datetime.combine(self.created_to + timedelta(days=1), time.min, tzinfo=UTC))
        return q

    def as_count_filter(self) -> Q:
        q = self._owner_source_campaign(campaign_field="campaign")
        if self.created_from:
            q &= Q(day__gte=self.created_from)
        if self.created_to:
            q &= Q(day__lte=self.created_to)
        return q


def pipeline_counts(*, filters: BoardFilters = BoardFilters()) -> dict[str, int]:
    """Live leads per stage from the summary table: one grouped query over the
    summary's buckets, never over the leads themselves."""
    totals = dict(
        PipelineCount.objects.filter(filters.as_count_filter()).values_list("stage").annotate(total=Sum("n")).order_by()
    )
    return {stage.value: totals.get(stage.value) or 0 for stage in Stage}


def stage_counts(*, filters: BoardFilters = BoardFilters()) -> list[dict]:
    """Leads per stage, every stage present, in funnel order."""
    counts = pipeline_counts(filters=filters)
    return [{"stage": stage.value, "label": stage.label, "count": counts[stage.value]} for stage in Stage]


def top_leads_by_stage(*, per_stage: int = 5, filters: BoardFilters = BoardFilters()) -> dict[str, list[Lead]]:
    """The highest-scoring leads of each stage, one query per stage (seven), each an
    index range scan of (stage, score DESC, id): the order matches the index exactly,
    so a rare stage does not walk the whole score index looking for its five."""
    condition = filters.as_lead_filter()
    return {
        stage.value: list(
            live_leads()
            .filter(condition, stage=stage.value)
            .select_related("owner")
            .order_by("-score", "id")[:per_stage]
        )
        for stage in Stage
    }


@dataclass
class BoardChoices:
    owners: list = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    campaigns: list[str] = field(default_factory=list)


def board_filter_choices() -> BoardChoices:
    """Owners, sources and campaigns that have leads, read from the (small) summary table."""
    owner_ids = PipelineCount.objects.filter(owner__isnull=False).values("owner_id")
    owners = list(get_user_model().objects.filter(pk__in=owner_ids).order_by("username"))
    sources, campaigns = _source_and_campaign_choices()
    return BoardChoices(owners=owners, sources=sources, campaigns=campaigns)


# Sources and campaigns change only when a summary row is added (every lead change appends
# one, with a new id), so they are cached under the table's newest id. The database's oid
# is in the key too: a recreated database (tests) starts its ids again at 1. Five minutes
# at most: a transaction that commits after a later id was read can miss the key's change.
FILTER_CHOICES_CACHE_SECONDS = 300
_CACHE_ERRORS = (RedisError, OSError)


def _source_and_campaign_choices() -> tuple[list[str], list[str]]:
    """The distinct sources and campaigns of the summary table, sorted: one scan of the
    table (it has a row per stage, owner, source, campaign and day, tens of thousands at
    50k leads), skipped while no row has been added since it was last read."""
    if connection.vendor != "postgresql":
        return _read_source_and_campaign_choices()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT max(id) FROM {PipelineCount._meta.db_table}),"
            " (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        newest, database = cursor.fetchone()
    key = f"leads:filter-choices:{database}:{newest}"
    try:
        cached = cache.get(key)
    except _CACHE_ERRORS:
        # The cache only saves work: with it unreachable the choices are read.
        return _read_source_and_campaign_choices()
    if cached is not None:
        return cached
    value = _read_source_and_campaign_choices()
    try:
        cache.set(key, value, FILTER_CHOICES_CACHE_SECONDS)
    except _CACHE_ERRORS:
        pass
    return value


def _read_source_and_campaign_choices() -> tuple[list[str], list[str]]:
    pairs = list(PipelineCount.objects.values_list("source", "campaign").distinct().order_by())
    return sorted({source for source, _ in pairs if source}), sorted({campaign for _, campaign in pairs if campaign})


def lead_owner_choices():
    """People a lead can be assigned to: active sales reps and managers."""
    return access.owner_choices(get_user_model().objects.all()).order_by("username")


# --- Lead detail ----------------------------------------------------------------


def lead_history_ids(lead: Lead) -> list[int]:
    """The lead and every lead merged into it: the survivor shows both histories."""
    merged = list(LeadMerge.objects.filter(survivor=lead).values_list("merged_id", flat=True))
    return [lead.pk, *merged]


def stage_path(*, lead_ids: list[int]) -> list[dict]:
    """Transitions grouped by cycle, oldest first: the stage path with its dates."""
    cycles: dict[int, list[StageTransition]] = {}
    for transition in StageTransition.objects.filter(lead_id__in=lead_ids).order_by("occurred_at", "id"):
        cycles.setdefault(transition.cycle, []).append(transition)
    return [{"cycle": cycle, "transitions": rows} for cycle, rows in sorted(cycles.items())]


def lead_deals(*, lead: Lead) -> list[Deal]:
    return list(Deal.objects.filter(lead=lead).select_related("owner").order_by("cycle"))


@dataclass(frozen=True)
class TimelineEntry:
    at: object
    kind: str  # "event", "stage", "activity", "change"
    title: str
    detail: str = ""
    who: str = ""


def lead_timeline(*, lead_ids: list[int], transitions: list[StageTransition], limit: int = 50) -> list[TimelineEntry]:
    """Events (from the events app, see details.py), stage changes, activities and the trail
    of other changes (who changed what), newest first: three indexed queries (the transitions
    are already loaded for the stage path)."""
    entries: list[TimelineEntry] = []
    events = details.ask(details.RECENT_EVENTS, lead_ids=lead_ids, limit=limit, default=[])
    for event in events:
        props = event.properties or {}
        detail = next(
            (str(props[key]) for key in ("title", "url", "form", "asset", "campaign", "webinar") if props.get(key)),
            "",
        )
        entries.append(
            TimelineEntry(at=event.occurred_at, kind="event", title=event.type.replace("_", " "), detail=detail)
        )
    for transition in transitions:
        title = f"Entered {Stage(transition.to_stage).label}"
        if transition.from_stage:
            title = f"{Stage(transition.from_stage).label} → {Stage(transition.to_stage).label}"
        entries.append(
            TimelineEntry(
                at=transition.occurred_at,
                kind="stage",
                title=title,
                detail=transition.reason,
                who=transition.actor_label,
            )
        )
    activities = Activity.objects.filter(lead_id__in=lead_ids).select_related("user").order_by("-occurred_at")[:limit]
    for activity in activities:
        entries.append(
            TimelineEntry(
                at=activity.occurred_at,
                kind="activity",
                title=activity.get_kind_display(),
                detail=" · ".join(part for part in (activity.outcome, activity.note) if part),
                who=person_name(activity.user),
            )
        )
    changes = LeadChange.objects.filter(lead_id__in=lead_ids).order_by("-occurred_at", "-id")[:limit]
    for change in changes:
        entries.append(
            TimelineEntry(
                at=change.occurred_at,
                kind="change",
                title=trail.describe(change),
                detail=change.reason,
                who=change.actor_label,
            )
        )
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]


# --- Lead list ------------------------------------------------------------------

# Sort key → the indexed column it walks (each index pairs the column with id).
LIST_SORTS = {
    "-created": "created_at",
    "created": "created_at",
    "-score": "score",
    "score": "score",
    "-likelihood": "likelihood",
    "likelihood": "likelihood",
}


# The columns a search word is looked for in, joined by a space in this order into one
# text: a word holds no whitespace, so it never matches across two columns.
SEARCH_FIELDS = ("first_name", "last_name", "email", "company", "job_title")
SEARCH_MAX_WORDS = 6


class LeadSearchText(Func):
    """UPPER(COALESCE(first_name, '') || ' ' || … || COALESCE(job_title, '')): exactly the
    expression PostgreSQL's trigram index lead_search_text_trgm is built on (migration
    0008), so each word is one indexed LIKE instead of an OR over five columns' indexes.
    The same SQL runs on SQLite (no index there)."""

    template = "UPPER(%(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = TextField()

    def __init__(self):
        columns = (F(name) for name in SEARCH_FIELDS)
        super().__init__(
            *(Func(column, template="COALESCE(%(expressions)s, '')", output_field=TextField()) for column in columns)
        )


def search_leads(leads: QuerySet, text: str) -> QuerySet:
    """Leads whose name, email, company or job title hold every word of `text`, each
    word anywhere in any of those fields: "Umar Tanaka", "tanaka umar", "tan", "Acme
    Founder" and a whole email all find the same person. The page and the API's
    `?search=` both call this. Each word is one LIKE on the upper-cased joined text,
    which PostgreSQL answers from one trigram index (bitmap scans ANDed per word)."""
    words = text.split()[:SEARCH_MAX_WORDS]
    if not words:
        return leads
    leads = leads.alias(search_text=LeadSearchText())
    for word in words:
        leads = leads.filter(search_text__contains=word.upper())
    return leads


def filtered_leads(
    *,
    user,
    board: BoardFilters = BoardFilters(),
    q: str = "",
    stage=None,
    score_min=None,
    score_max=None,
    likelihood_min=None,
):
    leads = leads_visible_to(user).filter(board.as_lead_filter())
    if likelihood_min is not None:
        leads = leads.filter(likelihood__gte=likelihood_min)
    if q:
        leads = search_leads(leads, q)
    if stage:
        leads = leads.filter(stage=stage)
    if score_min is not None:
        leads = leads.filter(score__gte=score_min)
    if score_max is not None:
        leads = leads.filter(score__lte=score_max)
    return leads


def _cursor_value(lead: Lead, column: str):
    value = getattr(lead, column)
    return value.isoformat() if hasattr(value, "isoformat") else value


@dataclass
class LeadPage:
    leads: list[Lead]
    next_cursor: str | None


def lead_page(*, leads, sort: str = "-created", cursor: str | None = None, size: int = 50) -> LeadPage:
    """One page by keyset: WHERE (column, id) beyond the cursor, ORDER BY column, id,
    LIMIT size + 1. No OFFSET and no COUNT(*), so page 5,000 costs what page 1 costs.
    A cursor that was tampered with or has expired raises signing.BadSignature."""
    from django.core import signing
    from django.utils.dateparse import parse_datetime

    column = LIST_SORTS.get(sort, "created_at")
    descending = sort.startswith("-")
    if column == "likelihood":
        return _likelihood_page(leads=leads, descending=descending, cursor=cursor, size=size)
    if cursor:
        value, last_id = signing.loads(cursor, salt="leads.list")
        if column == "created_at":
            value = parse_datetime(value)
        # The redundant bound (`<= value`) is what lets PostgreSQL start the index scan at
        # the cursor: with the OR alone it walks the index from the top and filters every
        # row, so page 5,000 read 250k rows (832 ms) instead of 50 (0.6 ms).
        if descending:
            leads = leads.filter(
                Q(**{f"{column}__lte": value}),
                Q(**{f"{column}__lt": value}) | Q(**{column: value, "id__lt": last_id}),
            )
        else:
            leads = leads.filter(
                Q(**{f"{column}__gte": value}),
                Q(**{f"{column}__gt": value}) | Q(**{column: value, "id__gt": last_id}),
            )
    order = [f"-{column}", "-id"] if descending else [column, "id"]
    rows = list(leads.select_related("owner").order_by(*order)[: size + 1])
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = signing.dumps([_cursor_value(last, column), last.pk], salt="leads.list")
    return LeadPage(leads=rows, next_cursor=next_cursor)


def _likelihood_page(*, leads, descending: bool, cursor: str | None, size: int) -> LeadPage:
    """Keyset pages by likelihood, leads without one last (the index's NULLS LAST order):
    a cursor on a NULL continues among the NULLs by id."""
    from django.core import signing

    if cursor:
        value, last_id = signing.loads(cursor, salt="leads.list")
        after_id = Q(id__lt=last_id) if descending else Q(id__gt=last_id)
        if value is None:
            leads = leads.filter(Q(likelihood__isnull=True) & after_id)
        elif descending:
            leads = leads.filter(
                Q(likelihood__lt=value) | Q(likelihood=value, id__lt=last_id) | Q(likelihood__isnull=True)
            )
        else:
            leads = leads.filter(
                Q(likelihood__gt=value) | Q(likelihood=value, id__gt=last_id) | Q(likelihood__isnull=True)
            )
    if descending:
        order = [F("likelihood").desc(nulls_last=True), F("id").desc()]
    else:
        order = [F("likelihood").asc(nulls_last=True), F("id").asc()]
    rows = list(leads.select_related("owner").order_by(*order)[: size + 1])
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = signing.dumps([last.likelihood, last.pk], salt="leads.list")
    return LeadPage(leads=rows, next_cursor=next_cursor)


# Below this many rows (as the planner estimates them) an exact COUNT(*) is cheap. At
# 20,000 a search's exact count cost more than its page (107 ms at 50k leads, bench/pages.py).
EXACT_COUNT_BELOW = 2_000


@dataclass(frozen=True)
class LeadCount:
    value: int
    exact: bool


def lead_count(leads: QuerySet, *, page: LeadPage, first_page: bool, searching: bool) -> LeadCount:
    """How many leads match, for the list's heading.

    A first page that holds every match is its own exact count. Otherwise a COUNT(*)
    over a million rows costs more than the page, so on PostgreSQL the planner's
    estimate answers (one EXPLAIN, no rows read), and only a small filtered result is
    counted exactly. A search is never counted exactly: its words can match most of the
    table (a common word), and checking each of those rows cost 150 ms at 50k leads for
    a page that takes 3 ms. The EXPLAIN runs even when the page holds every match, so
    a search costs the same queries however many leads match."""
    estimate = None
    if connection.vendor == "postgresql":
        sql, params = leads.order_by().query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        estimate = int(plan[0]["Plan"]["Plan Rows"])
    if first_page and page.next_cursor is None:
        return LeadCount(value=len(page.leads), exact=True)
    if estimate is not None and (searching or estimate >= EXACT_COUNT_BELOW):
        # More than the page shows, whatever the planner guessed.
        shown = len(page.leads) + 1 if first_page else 0
        return LeadCount(value=max(estimate, shown), exact=False)
    return LeadCount(value=leads.order_by().count(), exact=True)
