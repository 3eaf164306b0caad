"""Recording moves that already happened (demo data, a loaded history), set-based.

`seed_demo` tells stories of leads over the past months. Their leads are created by
`create_leads` like any other; the moves of their stories are written here, each one
judged by the same rules as a live move (stages.classify_move) and applied with the
same counters (recycles, cycles, crossings, arming), in a few INSERTs and UPDATEs
rather than a locked move at a time. Nothing is announced: these moves are history,
and what the apps above keep of them (alerts, deals) the caller writes as history too.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from ..actors import Actor
from ..bulk import update_lead_columns
from ..models import Lead, StageTransition
from ..pipeline_counts import pipeline_count_key, record_pipeline_count_changes
from ..stages import MoveKind, Stage, StageMoveRefused, classify_move

CROSSED_MQL = "score_crossed_mql"


@dataclass(frozen=True)
class PastMove:
    to_stage: str
    occurred_at: datetime
    actor: Actor
    new_cycle: bool = False
    reason: str = ""
    reason_code: str = ""
    owner: object = None
    # The kind a history already recorded (a replay of a log, funnel/replay): taken as
    # it is, not judged again. Empty: judged by the rules, as a live move is.
    kind: str = ""


def record_past_moves(*, moves: dict[Lead, list[PastMove]], batch_size: int = 1000, counters: bool = True) -> int:
    """Apply each lead's past moves in order, from the stage it was created at; returns
    how many transitions were written. Raises StageMoveRefused for a move the rules
    do not allow, before anything is written.

    `counters=False`: only the stage and its time change (recycles, arming and crossings
    stay as they are), as in a history whose loader wrote the transitions directly
    (generate_load): a replay of that history must leave what the loader left."""
    transitions: list[StageTransition] = []
    changed: list[Lead] = []
    counts = Counter()
    for lead, past in moves.items():
        if not past:
            continue
        before = pipeline_count_key(lead)
        for move in past:
            kind = (
                move.kind
                or classify_move(
                    from_stage=lead.stage, to_stage=move.to_stage, reason=move.reason, new_cycle=move.new_cycle
                ).kind
            )
            if move.occurred_at < lead.stage_entered_at:
                raise StageMoveRefused(
                    "Past moves are recorded in the order they happened.", from_stage=lead.stage, to_stage=move.to_stage
                )
            transitions.append(
                StageTransition(
                    lead_id=lead.pk,
                    cycle=lead.cycle + (1 if kind == MoveKind.NEW_CYCLE else 0),
                    from_stage=lead.stage,
                    to_stage=move.to_stage,
                    kind=kind,
                    reason=move.reason,
                    reason_code=move.reason_code,
                    occurred_at=move.occurred_at,
                    **move.actor.transition_fields(),
                )
            )
            if counters:
                _apply_counters(lead, kind=kind, move=move)
            else:
                lead.stage, lead.stage_entered_at = move.to_stage, move.occurred_at
        counts[before] -= 1
        counts[pipeline_count_key(lead)] += 1
        changed.append(lead)
    StageTransition.objects.bulk_create(transitions, batch_size=batch_size)
    update_lead_columns(
        changed, ["stage", "stage_entered_at", "cycle", "recycle_count", "mql_crossings", "mql_armed", "owner"]
    )
    record_pipeline_count_changes(counts)
    return len(transitions)


def _apply_counters(lead: Lead, *, kind: str, move: PastMove) -> None:
    """The same bookkeeping as a live move (moves._apply_move and crossing.cross_mql_threshold)."""
    lead.stage = move.to_stage
    lead.stage_entered_at = move.occurred_at
    if kind == MoveKind.FALL_BACK:
        lead.recycle_count += 1
        lead.mql_armed = False
    if kind == MoveKind.NEW_CYCLE:
        lead.cycle += 1
        lead.mql_crossings = 0
        lead.mql_armed = True
    if move.to_stage == Stage.MQL and move.reason_code == CROSSED_MQL:
        lead.mql_crossings += 1
        lead.mql_armed = False
    if move.owner is not None:
        lead.owner = move.owner
