"""Writes to leads. `move_lead` is the only writer of `Lead.stage`."""

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.db import connection, transaction
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from .actors import Actor
from .models import PROFILE_FIELDS, Lead, PipelineCount, StageTransition
from .stages import MoveKind, Stage, StageMoveRefused, classify_move

# Called inside the move's transaction with (lead, transition): other apps register
# what must happen with every stage change (summary counts, webhooks on commit), so
# the stage rules stay here and the side effects stay with the app that owns them.
_stage_change_listeners: list[Callable[[Lead, StageTransition], None]] = []


def on_stage_change(listener: Callable[[Lead, StageTransition], None]) -> Callable:
    if listener not in _stage_change_listeners:
        _stage_change_listeners.append(listener)
    return listener


# Called inside the erase's transaction with the erased leads as they were just before
# (the person and the tombstones merged into them): each app above erases its own
# copies of their personal data (alerts, notifications, webhook payloads, ...).
_lead_erased_listeners: list[Callable[[list[Lead]], None]] = []


def on_lead_erased(listener: Callable[[list[Lead]], None]) -> Callable:
    if listener not in _lead_erased_listeners:
        _lead_erased_listeners.append(listener)
    return listener


def lock_leads(*, lead_ids) -> dict[int, Lead]:
    """Lock leads FOR UPDATE in id order: every writer locks through here, so two
    writers that need the same leads cannot deadlock by taking them in other orders."""
    ids = sorted(set(lead_ids))
    return {lead.pk: lead for lead in Lead.objects.select_for_update().filter(pk__in=ids).order_by("pk")}


def lock_lead(*, lead_id: int) -> Lead:
    locked = lock_leads(lead_ids=[lead_id])
    if lead_id not in locked:
        raise Lead.DoesNotExist(f"Lead {lead_id} does not exist.")
    return locked[lead_id]


# --- The board's summary counts ------------------------------------------------
# Every writer that creates a live lead, moves it, changes its owner, source or
# campaign, or takes it out of the funnel (merge, erase) records the change here in
# its own transaction. `rebuild_pipeline_counts` is the plain reference; a test
# checks that the incremental rows always add up to it.

CountKey = tuple[str, int | None, str, str, date]


def pipeline_count_key(lead: Lead) -> CountKey:
    """Which summary bucket a lead counts in: stage, owner, source, campaign, UTC day of creation."""
    return (
        lead.stage,
        lead.owner_id,
        lead.source or "",
        lead.utm_campaign or "",
        lead.created_at.astimezone(UTC).date(),
    )


def record_pipeline_count_changes(changes: Counter) -> None:
    """Append one +n/−n row per bucket whose count changed (set-based: one INSERT)."""
    rows = [
        PipelineCount(stage=stage, owner_id=owner_id, source=source, campaign=campaign, day=day, n=n)
        for (stage, owner_id, source, campaign, day), n in sorted(changes.items(), key=lambda item: str(item[0]))
        if n
    ]
    PipelineCount.objects.bulk_create(rows, batch_size=1000)


def bucket_change(*, before: CountKey, after: CountKey) -> Counter:
    changes = Counter()
    changes[before] -= 1
    changes[after] += 1
    return changes


def record_leads_created(*, leads: Iterable[Lead]) -> None:
    """Count leads that were created without `create_lead` (bulk ingestion, imports).
    Call it in the transaction that inserted them."""
    record_pipeline_count_changes(Counter(pipeline_count_key(lead) for lead in leads))


def record_leads_removed(*, leads: Iterable[Lead]) -> None:
    """Uncount leads leaving the funnel (merged away, erased). Pass them as they were
    before the change, in the transaction that changes them."""
    record_pipeline_count_changes(Counter({key: -n for key, n in Counter(map(pipeline_count_key, leads)).items()}))


def _lock_pipeline_counts() -> None:
    # Writers only INSERT; compaction and rebuild rewrite rows, so they shut writers
    # out for their few milliseconds (EXCLUSIVE still lets the board read). SQLite's
    # IMMEDIATE transactions already serialise every writer.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {PipelineCount._meta.db_table} IN EXCLUSIVE MODE")


def _live_lead_buckets():
    return (
        Lead.objects.filter(merged_into__isnull=True, erased_at__isnull=True)
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("stage", "owner_id", "source", "utm_campaign", "day")
        .annotate(total=Count("id"))
        .order_by()
    )


def rebuild_pipeline_counts() -> int:
    """Recount the summary from the leads table: the reference the incremental rows
    must agree with, and the repair if a writer ever forgot to record a change."""
    with transaction.atomic():
        _lock_pipeline_counts()
        PipelineCount.objects.all().delete()
        rows = [
            PipelineCount(
                stage=row["stage"],
                owner_id=row["owner_id"],
                source=row["source"],
                campaign=row["utm_campaign"],
                day=row["day"],
                n=row["total"],
            )
            for row in _live_lead_buckets().iterator(chunk_size=5000)
        ]
        PipelineCount.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


_COUNT_KEY_FIELDS = ("stage", "owner_id", "source", "campaign", "day")


def compact_pipeline_counts() -> int:
    """Fold each bucket's +1/−1 rows into one row; returns how many rows went away."""
    with transaction.atomic():
        _lock_pipeline_counts()
        dirty = list(
            PipelineCount.objects.values(*_COUNT_KEY_FIELDS)
            .annotate(rows=Count("id"), total=Sum("n"), last=Max("id"))
            .filter(Q(rows__gt=1) | Q(total=0))
            .order_by()
        )
        removed = 0
        for start in range(0, len(dirty), 200):
            chunk = dirty[start : start + 200]
            match = Q()
            for bucket in chunk:
                match |= Q(**{field: bucket[field] for field in _COUNT_KEY_FIELDS if field != "owner_id"}) & (
                    Q(owner_id=bucket["owner_id"]) if bucket["owner_id"] is not None else Q(owner_id__isnull=True)
                )
            removed += PipelineCount.objects.filter(match).delete()[0]
        PipelineCount.objects.bulk_create(
            [
                PipelineCount(**{field: bucket[field] for field in _COUNT_KEY_FIELDS}, n=bucket["total"])
                for bucket in dirty
                if bucket["total"]
            ],
            batch_size=2000,
        )
    return removed - sum(1 for bucket in dirty if bucket["total"])


IDENTITY_AND_PROFILE_FIELDS = ["anonymous_id", *PROFILE_FIELDS, "attributes", "owner"]


def create_lead(*, actor: Actor, stage: str | None = None, reason: str = "", **fields) -> Lead:
    """Create a lead with its first transition. An identified lead starts at lead
    generation, an anonymous one at demand generation, unless `stage` says otherwise."""
    unknown = set(fields) - set(IDENTITY_AND_PROFILE_FIELDS) - {"created_at", "owner_id"}
    if unknown:
        raise TypeError(f"Unknown lead fields: {sorted(unknown)}")
    if fields.get("email"):
        fields["email"] = fields["email"].strip()
    start = stage or (Stage.LEAD_GEN if fields.get("email") else Stage.DEMAND_GEN)
    if start not in Stage.values:
        raise StageMoveRefused(f"“{start}” is not a stage.", to_stage=start)
    now = fields.get("created_at") or timezone.now()
    with transaction.atomic():
        lead = Lead.objects.create(stage=start, stage_entered_at=now, **fields)
        transition = StageTransition.objects.create(
            lead=lead,
            cycle=lead.cycle,
            from_stage="",
            to_stage=start,
            kind=MoveKind.CREATED,
            reason=reason,
            occurred_at=now,
            **actor.transition_fields(),
        )
        record_leads_created(leads=[lead])
        _notify(lead, transition)
    return lead


def move_lead(
    *,
    lead: Lead | int,
    to: str,
    actor: Actor,
    reason: str = "",
    reason_code: str = "",
    new_cycle: bool = False,
    expected_from: str | None = None,
    occurred_at: datetime | None = None,
    owner=None,
) -> StageTransition:
    """Move a lead to stage `to`, or raise StageMoveRefused.

    The lead's row is locked for the whole move, so two moves of one lead never
    interleave: the second sees the first one's stage and is judged against it.
    `expected_from` refuses the move if the lead is no longer where the caller saw it.
    """
    lead_id = lead if isinstance(lead, int) else lead.pk
    # No savepoint inside a caller's transaction (two round trips on every move, and a
    # crossing moves inside the scorer's transaction): a refusal is decided before any
    # write and raised after the block, so it leaves the caller's transaction usable.
    with transaction.atomic(savepoint=False):
        locked = lock_lead(lead_id=lead_id)
        try:
            move = _allowed_move(locked, to=to, reason=reason, new_cycle=new_cycle, expected_from=expected_from)
        except StageMoveRefused as refusal:
            refused = refusal
        else:
            refused = None
            transition = _apply_move(
                locked, move, actor=actor, reason=reason, reason_code=reason_code, when=occurred_at, owner=owner
            )
    if refused is not None:
        raise refused
    if isinstance(lead, Lead):
        # Keep the caller's object truthful after the move.
        for field in ("stage", "stage_entered_at", "recycle_count", "mql_armed", "cycle", "mql_crossings", "owner_id"):
            setattr(lead, field, getattr(locked, field))
    return transition


def _allowed_move(locked: Lead, *, to: str, reason: str, new_cycle: bool, expected_from: str | None):
    if locked.merged_into_id:
        raise StageMoveRefused("This lead was merged into another lead.", from_stage=locked.stage, to_stage=to)
    if locked.erased_at:
        raise StageMoveRefused("This lead was erased.", from_stage=locked.stage, to_stage=to)
    if expected_from is not None and locked.stage != expected_from:
        raise StageMoveRefused(
            f"The lead is at {locked.stage_label} now, not {Stage(expected_from).label}.",
            from_stage=locked.stage,
            to_stage=to,
        )
    return classify_move(from_stage=locked.stage, to_stage=to, reason=reason, new_cycle=new_cycle)


def _apply_move(locked: Lead, move, *, actor: Actor, reason: str, reason_code: str, when, owner) -> StageTransition:
    counted_before = pipeline_count_key(locked)
    when = when or timezone.now()
    update_fields = ["stage", "stage_entered_at", "updated_at"]
    locked.stage = move.to_stage
    locked.stage_entered_at = when
    if move.kind == MoveKind.FALL_BACK:
        locked.recycle_count += 1
        locked.mql_armed = False
        update_fields += ["recycle_count", "mql_armed"]
    if move.kind == MoveKind.NEW_CYCLE:
        locked.cycle += 1
        locked.mql_crossings = 0
        locked.mql_armed = True
        update_fields += ["cycle", "mql_crossings", "mql_armed"]
    if owner is not None:
        locked.owner = owner
        update_fields.append("owner")
    locked.save(update_fields=update_fields)
    transition = StageTransition.objects.create(
        lead=locked,
        cycle=locked.cycle,
        from_stage=move.from_stage,
        to_stage=move.to_stage,
        kind=move.kind,
        reason=reason,
        reason_code=reason_code,
        occurred_at=when,
        **actor.transition_fields(),
    )
    record_pipeline_count_changes(bucket_change(before=counted_before, after=pipeline_count_key(locked)))
    _notify(locked, transition)
    return transition


def update_lead(*, lead: Lead, actor: Actor, **fields) -> Lead:
    """Edit profile fields. The stage is not a field here: it moves through move_lead."""
    if "stage" in fields:
        raise TypeError("Use move_lead to change a lead's stage.")
    unknown = set(fields) - set(IDENTITY_AND_PROFILE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown lead fields: {sorted(unknown)}")
    with transaction.atomic():
        locked = lock_lead(lead_id=lead.pk)
        counted_before = pipeline_count_key(locked)
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.save(update_fields=[*fields.keys(), "updated_at"])
        if locked.merged_into_id is None and locked.erased_at is None:
            record_pipeline_count_changes(bucket_change(before=counted_before, after=pipeline_count_key(locked)))
    for name, value in fields.items():
        setattr(lead, name, value)
    return locked


def _notify(lead: Lead, transition: StageTransition) -> None:
    for listener in _stage_change_listeners:
        listener(lead, transition)


# --- Identity: merge and erasure ------------------------------------------------


def merge_leads(*, survivor: Lead, merged: Lead, actor: Actor, reason: str = "") -> Lead:
    """Fold `merged` into `survivor` in one transaction: its events and activities move
    to the survivor, the merge is recorded on the survivor's history, and `merged` stays
    as a tombstone (`merged_into`) that keeps its identities, so late events for them
    land on the survivor. Tombstones that pointed at `merged` now point at the survivor
    (chains are always one hop long)."""
    from events.models import EngagementEvent  # events depends on leads, not the reverse

    from .models import LeadMerge

    if survivor.pk == merged.pk:
        raise ValueError("A lead cannot be merged into itself.")
    with transaction.atomic():
        locked = lock_leads(lead_ids=[survivor.pk, merged.pk])
        keep, gone = locked[survivor.pk], locked[merged.pk]
        if gone.merged_into_id is not None:
            raise ValueError(f"Lead {gone.pk} was already merged into lead {gone.merged_into_id}.")
        if keep.merged_into_id is not None:
            raise ValueError(f"Lead {keep.pk} is a tombstone; merge into lead {keep.merged_into_id} instead.")
        if gone.erased_at is None:
            record_leads_removed(leads=[gone])
        moved = EngagementEvent.objects.filter(lead_id=gone.pk).update(lead_id=keep.pk)
        gone.activities.update(lead_id=keep.pk)
        Lead.objects.filter(merged_into_id=gone.pk).update(merged_into_id=keep.pk)
        gone.merged_into = keep
        gone.save(update_fields=["merged_into", "updated_at"])
        if gone.last_engaged_at and (keep.last_engaged_at is None or gone.last_engaged_at > keep.last_engaged_at):
            keep.last_engaged_at = gone.last_engaged_at
            keep.save(update_fields=["last_engaged_at", "updated_at"])
        LeadMerge.objects.create(
            survivor=keep, merged=gone, reason=reason, events_moved=moved, **actor.transition_fields()
        )
        if moved:
            from scoring.services import mark_for_rescore

            mark_for_rescore(lead_ids=[keep.pk])
    return keep


ERASED_TEXT_FIELDS = ["first_name", "last_name", "company", "job_title", "phone", "country"]


def erase_lead(*, lead: Lead, actor: Actor) -> Lead:
    """Erase a person (and any tombstones merged into them): their events, activities
    and personal fields go; the lead row stays with its stage history and deals, so
    the funnel's anonymous counts do not change retroactively."""
    from events.models import EngagementEvent

    from .models import Activity, Deal

    with transaction.atomic():
        ids = [lead.pk, *Lead.objects.filter(merged_into_id=lead.pk).values_list("pk", flat=True)]
        locked = lock_leads(lead_ids=ids)
        live = [row for row in locked.values() if row.merged_into_id is None and row.erased_at is None]
        record_leads_removed(leads=live)
        EngagementEvent.objects.filter(lead_id__in=ids).delete()
        Activity.objects.filter(lead_id__in=ids).delete()
        now = timezone.now()
        Lead.objects.filter(pk__in=ids).update(
            email=None,
            anonymous_id=None,
            external_id=None,
            attributes={},
            erased_at=now,
            updated_at=now,
            **dict.fromkeys(ERASED_TEXT_FIELDS, ""),
        )
        Deal.objects.filter(lead_id__in=ids).update(next_step="", lost_reason="")
        StageTransition.objects.filter(lead_id__in=ids).update(reason="")
        for listener in _lead_erased_listeners:
            listener(list(locked.values()))
    lead.refresh_from_db()
    return lead


# --- Moves and bulk actions asked for on the pages ---------------------------------


class MoveNotAllowed(Exception):
    """A move the rules allow but this person may not make (the sales app's access rules)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def move_lead_for_person(*, lead: Lead, to: str, actor: Actor, reason: str = "", expected_from: str | None = None):
    """A move asked for on a page. It goes through the sales app's `transition_lead`,
    which keeps the deal rules (qualifying opens the cycle's deal, winning closes it won,
    losing closes it lost), closes an open MQL alert and checks who may work the lead.
    Raises StageMoveRefused, or MoveNotAllowed with the sales app's message."""
    from funnel.api_errors import ApiError
    from sales.services import transition_lead

    if expected_from is not None and lead.stage != expected_from:
        raise StageMoveRefused(
            f"The lead is at {lead.stage_label} now, not {Stage(expected_from).label}.",
            from_stage=lead.stage,
            to_stage=to,
        )
    try:
        return transition_lead(lead=lead, to=to, actor=actor, reason=reason)
    except ApiError as refused:
        raise MoveNotAllowed(refused.message) from refused


@dataclass(frozen=True)
class LeadOutcome:
    lead_id: int
    name: str
    ok: bool
    message: str


def bulk_move_leads(*, leads: Iterable[Lead], to: str, actor: Actor, reason: str = "") -> list[LeadOutcome]:
    """Each lead moves in its own transaction: a refused move is reported and the
    others still happen."""
    outcomes = []
    for lead in leads:
        try:
            move_lead_for_person(lead=lead, to=to, actor=actor, reason=reason)
            outcomes.append(LeadOutcome(lead.pk, lead.display_name, True, f"Moved to {Stage(to).label}."))
        except (StageMoveRefused, MoveNotAllowed) as refused:
            outcomes.append(LeadOutcome(lead.pk, lead.display_name, False, refused.message))
    return outcomes


def bulk_assign_owner(*, leads: Iterable[Lead], owner, actor: Actor) -> list[LeadOutcome]:
    outcomes = []
    for lead in leads:
        if lead.owner_id == (owner.pk if owner else None):
            outcomes.append(LeadOutcome(lead.pk, lead.display_name, False, "Already has this owner."))
            continue
        update_lead(lead=lead, actor=actor, owner=owner)
        who = owner.get_username() if owner else "nobody"
        outcomes.append(LeadOutcome(lead.pk, lead.display_name, True, f"Assigned to {who}."))
    return outcomes
