"""The sales app's refusals. They are API errors too, so whichever API calls a sales
service (the queue's or the leads' transitions endpoint) answers with the right status
and envelope; the pages catch them and show their message."""

from rest_framework import status

from funnel.api_errors import ApiError
from leads.actors import person_name


class AlertAlreadyTaken(ApiError):
    def __init__(self, alert):
        who = person_name(alert.acted_by) if alert.acted_by_id else "someone else"
        verb = {"accepted": "accepted", "rejected": "rejected"}.get(alert.status, "closed")
        super().__init__(
            code="alert_already_taken",
            message=f"This alert was already {verb} by {who}.",
            status_code=status.HTTP_409_CONFLICT,
            extra={"taken_by": who if alert.acted_by_id else None, "alert_status": alert.status},
        )
        self.taken_by = who


class SalesActionForbidden(ApiError):
    def __init__(self, message: str):
        super().__init__(code="permission_denied", message=message, status_code=status.HTTP_403_FORBIDDEN)


class InvalidSalesInput(ApiError):
    def __init__(self, fields: dict[str, list[str]]):
        first = next(iter(fields))
        super().__init__(code="invalid", message=f"{first}: {fields[first][0]}", fields=fields)
