"""Deriving `Touchpoint` rows from the event log and from each lead's capture.

Event touches are parsed in Python (URLs need real decoding, see `attribution.utm`)
and only for events not read before: the refresh keeps a watermark on event ids and
rereads a margin below it, because ingest transactions commit out of id order; the
unique event id makes rereading harmless. Capture touches are rebuilt in one
statement from the leads' own source and UTM fields.
"""

from django.db import connection

from events.models import EngagementEvent

from .models import AttributionRefresh, TouchKind, Touchpoint
from .utm import MAX_LENGTH, has_utm, touch_fields

TOUCH_EVENT_TYPES = [
    TouchKind.AD_CLICKED,
    TouchKind.EMAIL_CLICKED,
    TouchKind.PAGE_VIEW,
    TouchKind.FORM_SUBMITTED,
    TouchKind.WEBINAR_REGISTERED,
    TouchKind.WEBINAR_ATTENDED,
]
# Ingest commits up to 1,000 events per transaction; two web workers with a few open
# transactions each stay far inside this many ids below the newest one read.
REREAD_MARGIN = 20_000
BATCH = 5_000


def touch_from_event(*, event_type: str, properties) -> dict | None:
    """The touch an event makes, or None: a page view counts only with UTM parameters;
    the other touch types always count (a bare form submission is a Direct touch)."""
    if event_type not in TOUCH_EVENT_TYPES:
        return None
    fields = touch_fields(properties)
    if event_type == TouchKind.PAGE_VIEW and not has_utm(fields):
        return None
    if event_type.startswith("webinar_") and not fields["campaign"]:
        webinar = (properties or {}).get("webinar") if isinstance(properties, dict) else None
        fields["campaign"] = " ".join(str(webinar or "").split()).casefold()[:MAX_LENGTH]
    return fields


def extract_event_touches(*, state: AttributionRefresh) -> int:
    """Add the touchpoints of events read since `state.last_event_id` (minus the margin)."""
    start = max(0, state.last_event_id - REREAD_MARGIN)
    top = EngagementEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    created = 0
    rows = (
        EngagementEvent.objects.filter(pk__gt=start, pk__lte=top, type__in=TOUCH_EVENT_TYPES)
        .order_by("pk")
        .values_list("pk", "lead_id", "type", "occurred_at", "properties")
    )
    batch: list[Touchpoint] = []
    for event_id, lead_id, event_type, occurred_at, properties in rows.iterator(chunk_size=BATCH):
        fields = touch_from_event(event_type=event_type, properties=properties)
        if fields is None:
            continue
        batch.append(Touchpoint(event_id=event_id, lead_id=lead_id, kind=event_type, occurred_at=occurred_at, **fields))
        if len(batch) >= BATCH:
            created += len(Touchpoint.objects.bulk_create(batch, ignore_conflicts=True))
            batch = []
    if batch:
        created += len(Touchpoint.objects.bulk_create(batch, ignore_conflicts=True))
    state.last_event_id = max(state.last_event_id, top)
    return created


def sync_touches_with_events() -> None:
    """Erased events take their touches with them; merged leads' events bring theirs along."""
    table = Touchpoint._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE event_id IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM events_engagementevent e WHERE e.id = {table}.event_id)"
        )
        cursor.execute(
            f"UPDATE {table} SET lead_id = e.lead_id FROM events_engagementevent e "
            f"WHERE e.id = {table}.event_id AND e.lead_id <> {table}.lead_id"
        )


def rebuild_capture_touches() -> None:
    """One capture touch per live lead at its creation: its utm_* fields, its `source`
    when utm_source is blank, case-folded."""
    table = Touchpoint._meta.db_table
    clean = "LOWER(TRIM(COALESCE({}, '')))"
    utm_source, lead_source = clean.format("l.utm_source"), clean.format("l.source")
    source = f"(CASE WHEN {utm_source} <> '' THEN {utm_source} ELSE {lead_source} END)"
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE kind = %s", [TouchKind.CAPTURE])
        cursor.execute(
            f"INSERT INTO {table} (event_id, lead_id, kind, occurred_at, source, medium, campaign, content) "
            f"SELECT NULL, l.id, %s, l.created_at, {source}, {clean.format('l.utm_medium')}, "
            f"{clean.format('l.utm_campaign')}, {clean.format('l.utm_content')} "
            "FROM leads_lead l WHERE l.merged_into_id IS NULL",
            [TouchKind.CAPTURE],
        )
