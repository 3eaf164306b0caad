"""The sales app's refusals: the project's own errors (funnel.errors), raised by the
services and translated by the doors (the API's envelope, a page's message)."""

from funnel.errors import ActionForbidden, FunnelError, InvalidInput
from leads.actors import person_name

# The names the sales app's callers and tests know them by.
SalesActionForbidden = ActionForbidden
InvalidSalesInput = InvalidInput


class AlertAlreadyTaken(FunnelError):
    code = "alert_already_taken"
    http_status = 409

    def __init__(self, alert):
        who = person_name(alert.acted_by) if alert.acted_by_id else "someone else"
        verb = {"accepted": "accepted", "rejected": "rejected"}.get(alert.status, "closed")
        super().__init__(
            f"This alert was already {verb} by {who}.",
            extra={"taken_by": who if alert.acted_by_id else None, "alert_status": alert.status},
        )
        self.taken_by = who
