"""The lifecycle of a lead, in one place: every rule of a lead's life.

- stages.py (beside this package) is the table of stages and allowed moves;
- creation: `create_leads` (set-based, the one path for every door) and `create_lead`;
- moves: `move_lead`, the only writer of `Lead.stage`, and new cycles;
- crossing: MQL arming and hysteresis, and what an MQL crossing does;
- deals: qualify, proposal, win, lose, and the moves a person asks for;
- send_back: sending a lead back to nurture with a reason;
- announcements: what the lifecycle tells the apps above (they subscribe; leads never
  calls up).
"""

from .announcements import (
    CrossingAlreadyRecorded,
    on_deal_closed,
    on_evidence_changed,
    on_evidence_stored,
    on_fell_below_recycle,
    on_lead_erased,
    on_leads_merged,
    on_mql_crossed,
    on_stage_change,
)
from .creation import FIRST_STAGES, create_lead, create_leads, first_stage
from .crossing import (
    PRE_MQL_STAGES,
    armed_after,
    cross_mql_threshold,
    may_cross_mql,
    note_scores_below_recycle,
    record_rearmed,
)
from .deals import (
    DEAL_FIELDS,
    clean_deal,
    lose_lead,
    mark_proposal_accepted,
    mark_proposal_sent,
    qualify_lead,
    send_back_to_nurture,
    transition_lead,
    win_lead,
)
from .moves import move_lead, start_new_cycle
from .permissions import may_work_lead
from .send_back import reject_reason_label, valid_reason

__all__ = [
    "DEAL_FIELDS",
    "FIRST_STAGES",
    "PRE_MQL_STAGES",
    "CrossingAlreadyRecorded",
    "armed_after",
    "clean_deal",
    "create_lead",
    "create_leads",
    "cross_mql_threshold",
    "first_stage",
    "lose_lead",
    "mark_proposal_accepted",
    "mark_proposal_sent",
    "may_cross_mql",
    "may_work_lead",
    "move_lead",
    "note_scores_below_recycle",
    "record_rearmed",
    "on_deal_closed",
    "on_evidence_changed",
    "on_evidence_stored",
    "on_fell_below_recycle",
    "on_lead_erased",
    "on_leads_merged",
    "on_mql_crossed",
    "on_stage_change",
    "qualify_lead",
    "reject_reason_label",
    "send_back_to_nurture",
    "start_new_cycle",
    "transition_lead",
    "valid_reason",
    "win_lead",
]
