"""The seven stages and the moves between them.

This module is the only place that knows which moves are allowed; the lifecycle's
`leads.lifecycle.move_lead` applies them and is the only writer of `Lead.stage`.
"""

from dataclasses import dataclass

from django.db import models

from funnel.errors import FunnelError


class Stage(models.TextChoices):
    DEMAND_GEN = "demand_gen", "Demand generation"
    LEAD_GEN = "lead_gen", "Lead generation"
    NURTURE = "nurture", "Nurture"
    MQL = "mql", "Marketing qualified (MQL)"
    SAL = "sal", "Sales accepted (SAL)"
    SQL = "sql", "Sales qualified (SQL)"
    CUSTOMER = "customer", "Customer"


STAGE_ORDER: list[str] = [stage.value for stage in Stage]
STAGE_INDEX: dict[str, int] = {slug: index for index, slug in enumerate(STAGE_ORDER)}

# Stages a lead may fall back from to nurture: a rejected MQL/SAL, a lost SQL.
FALL_BACK_FROM = frozenset({Stage.MQL, Stage.SAL, Stage.SQL})
# Stages owned by sales: a falling score never moves a lead out of these.
SALES_STAGES = frozenset({Stage.MQL, Stage.SAL, Stage.SQL, Stage.CUSTOMER})


class MoveKind(models.TextChoices):
    CREATED = "created", "Created"
    FORWARD = "forward", "Moved forward"
    JUMP = "jump", "Jumped forward"
    FALL_BACK = "fall_back", "Fell back to nurture"
    NEW_CYCLE = "new_cycle", "Started a new cycle"


class StageMoveRefused(FunnelError):
    """A move the lifecycle does not allow. The API answers 409 stage_move_refused."""

    code = "stage_move_refused"
    http_status = 409

    def __init__(self, message: str, *, from_stage: str = "", to_stage: str = ""):
        super().__init__(message, extra={"from_stage": from_stage, "to_stage": to_stage})
        self.from_stage = from_stage
        self.to_stage = to_stage


@dataclass(frozen=True)
class Move:
    from_stage: str
    to_stage: str
    kind: str


def label(slug: str) -> str:
    return Stage(slug).label


def classify_move(*, from_stage: str, to_stage: str, reason: str = "", new_cycle: bool = False) -> Move:
    """Decide what kind of move `from_stage → to_stage` is, or refuse it.

    - one step forward: always allowed;
    - a jump forward (more than one step): needs a reason;
    - MQL, SAL or SQL back to nurture: needs a reason (reject, lose);
    - a customer starts a new cycle at lead generation (`new_cycle=True`).
    """
    if to_stage not in STAGE_INDEX:
        raise StageMoveRefused(f"“{to_stage}” is not a stage.", from_stage=from_stage, to_stage=to_stage)
    if from_stage not in STAGE_INDEX:
        raise StageMoveRefused(f"“{from_stage}” is not a stage.", from_stage=from_stage, to_stage=to_stage)
    has_reason = bool(reason and reason.strip())
    if new_cycle:
        if from_stage != Stage.CUSTOMER or to_stage != Stage.LEAD_GEN:
            raise StageMoveRefused(
                "Only a customer starts a new cycle, and it starts at lead generation.",
                from_stage=from_stage,
                to_stage=to_stage,
            )
        return Move(from_stage, to_stage, MoveKind.NEW_CYCLE)
    if from_stage == to_stage:
        raise StageMoveRefused(f"The lead is already at {label(to_stage)}.", from_stage=from_stage, to_stage=to_stage)
    step = STAGE_INDEX[to_stage] - STAGE_INDEX[from_stage]
    if step == 1:
        return Move(from_stage, to_stage, MoveKind.FORWARD)
    if step > 1:
        if not has_reason:
            raise StageMoveRefused(
                f"Jumping from {label(from_stage)} to {label(to_stage)} skips stages and needs a reason.",
                from_stage=from_stage,
                to_stage=to_stage,
            )
        return Move(from_stage, to_stage, MoveKind.JUMP)
    if to_stage == Stage.NURTURE and from_stage in FALL_BACK_FROM:
        if not has_reason:
            raise StageMoveRefused(
                f"Sending a lead back from {label(from_stage)} to nurture needs a reason.",
                from_stage=from_stage,
                to_stage=to_stage,
            )
        return Move(from_stage, to_stage, MoveKind.FALL_BACK)
    raise StageMoveRefused(
        f"A lead cannot move back from {label(from_stage)} to {label(to_stage)}.",
        from_stage=from_stage,
        to_stage=to_stage,
    )


def allowed_targets(from_stage: str) -> list[str]:
    """Stages a person may pick from `from_stage` (with a reason where needed)."""
    targets = [slug for slug in STAGE_ORDER if STAGE_INDEX[slug] > STAGE_INDEX[from_stage]]
    if from_stage in FALL_BACK_FROM:
        targets.insert(0, Stage.NURTURE.value)
    return targets


def needs_reason(*, from_stage: str, to_stage: str) -> bool:
    step = STAGE_INDEX[to_stage] - STAGE_INDEX[from_stage]
    return step != 1
