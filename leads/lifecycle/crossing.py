"""MQL arming, hysteresis and what a crossing does.

Scoring decides a lead's score; the lifecycle decides what a score crossing the MQL
threshold does (CONTRACT "MQL crossing"):
- a lead may cross only when identified, armed, not yet with sales, and live;
- it is armed again after a crossing or a fall back only once its score has been below
  the recycle threshold (hysteresis: a rejected lead does not bounce straight back);
- one crossing is one transition and one SalesAlert. The alert is written by the sales
  app's listener inside the crossing's transaction, under its unique constraint (lead,
  cycle, crossing): a second attempt at the same crossing rolls the move back.
"""

import copy
import logging

from django.db import transaction

from ..actors import Actor
from ..locks import lock_lead
from ..models import ChangeKind, Lead
from ..stages import Stage, StageMoveRefused
from ..trail import record_lead_change
from . import announcements
from .moves import move_lead

logger = logging.getLogger(__name__)

PRE_MQL_STAGES = frozenset({Stage.DEMAND_GEN, Stage.LEAD_GEN, Stage.NURTURE})


def armed_after(*, armed: bool, score: int, recycle_threshold: int) -> bool:
    """Hysteresis: a disarmed lead is re-armed once its score is below the recycle threshold."""
    return armed or score < recycle_threshold


def may_cross_mql(lead: Lead) -> bool:
    """Identified, armed (below the threshold since the last crossing; below the recycle
    threshold since a fall back), not yet with sales, and neither merged nor erased."""
    return (
        bool(lead.email)
        and lead.mql_armed
        and lead.stage in PRE_MQL_STAGES
        and lead.merged_into_id is None
        and lead.erased_at is None
    )


def cross_mql_threshold(*, lead_id: int, score: int, contributions: list, mql_threshold: int) -> bool:
    """Move the lead to MQL and announce the crossing, in one transaction with the
    lead's row locked: the conditions are checked again under the lock, the crossing
    number is the alert's idempotency key and the unique constraint on (lead, cycle,
    crossing) the guarantee, so retries and racing workers record it once."""
    try:
        with transaction.atomic():
            lead = lock_lead(lead_id=lead_id)
            if lead.score < mql_threshold or not may_cross_mql(lead):
                return False
            crossing = lead.mql_crossings + 1
            Lead.objects.filter(pk=lead.pk).update(mql_crossings=crossing, mql_armed=False)
            # The row is locked and was just read: the move works on a copy of it instead of
            # reading it again; the crossing is announced with the lead as it was read.
            moving = copy.copy(lead)
            moving.mql_crossings, moving.mql_armed = crossing, False
            transition = move_lead(
                lead=moving,
                already_locked=True,
                to=Stage.MQL,
                actor=Actor.system(f"score {score}"),
                reason=f"Score {score} crossed the MQL threshold {mql_threshold}",
                reason_code="score_crossed_mql",
            )
            announcements.mql_crossed(
                lead=lead, transition=transition, crossing=crossing, score=score, contributions=contributions
            )
    except announcements.CrossingAlreadyRecorded:
        logger.warning("Lead %s: this crossing was already recorded; the move was rolled back.", lead_id)
        return False
    except StageMoveRefused as refused:
        logger.info("Lead %s did not move to MQL: %s", lead_id, refused.message)
        return False
    return True


def record_rearmed(*, lead_id: int, reason: str, at) -> None:
    """The trail of re-arming, by a score below the recycle threshold (the set-based
    scorer writes the same row in SQL) or a new cycle: also when the score did not change,
    so a replay of the log knows this rescore happened."""
    record_lead_change(
        lead=lead_id,
        actor=Actor.system("scoring"),
        kind=ChangeKind.MQL_REARMED,
        field="mql_armed",
        old="no",
        new="yes",
        reason=reason,
        occurred_at=at,
    )


def note_scores_below_recycle(*, lead_ids) -> None:
    """Tell the apps above that these leads' scores are below the recycle threshold (the
    sales app flags their open alerts as decayed)."""
    announcements.fell_below_recycle(lead_ids=lead_ids)
