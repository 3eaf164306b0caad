"""Writes of the sales app, one concern a module:

- assignment: round-robin turns and who is escalated to;
- alerts: the SalesAlert of an MQL crossing, raised exactly once;
- queue: accepting, rejecting and reassigning alerts;
- activities: calls, meetings, e-mails and notes on a lead;
- slas: warnings and escalations;
- listeners: what sales does when the lifecycle (leads.lifecycle) announces a change.

Deals and the moves a person asks for (qualify, win, lose, send back) belong to the
lead's lifecycle (leads.lifecycle.deals); they are re-exported here for the sales
pages and API that call them.
"""

from leads.lifecycle import (
    DEAL_FIELDS,
    clean_deal,
    lose_lead,
    mark_proposal_accepted,
    mark_proposal_sent,
    may_work_lead,
    qualify_lead,
    reject_reason_label,
    send_back_to_nurture,
    transition_lead,
    win_lead,
)

from .activities import log_activity
from .alerts import raise_sales_alert
from .assignment import active_managers, active_reps, next_assignee
from .listeners import on_deal_closed, on_lead_stage_change, on_mql_crossed, on_scores_below_recycle
from .queue import accept_alert, may_act_on_alert, reassign_alert, reject_alert
from .slas import sweep_slas

__all__ = [
    "DEAL_FIELDS",
    "accept_alert",
    "active_managers",
    "active_reps",
    "clean_deal",
    "log_activity",
    "lose_lead",
    "mark_proposal_accepted",
    "mark_proposal_sent",
    "may_act_on_alert",
    "may_work_lead",
    "next_assignee",
    "on_deal_closed",
    "on_lead_stage_change",
    "on_mql_crossed",
    "on_scores_below_recycle",
    "qualify_lead",
    "raise_sales_alert",
    "reassign_alert",
    "reject_alert",
    "reject_reason_label",
    "send_back_to_nurture",
    "sweep_slas",
    "transition_lead",
    "win_lead",
]
