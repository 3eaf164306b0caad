"""The project's own errors: what a service raises when it refuses.

Services speak Python: they raise these with a code, a message for a person and, for
bad input, the fields that are wrong. The doors translate them: the API answers with
the error envelope (funnel.api_errors) and `http_status`, a page shows the message by
the field. Nothing here knows about HTTP frameworks; `http_status` is only the door's
hint, so every door answers a refusal the same way.
"""


class FunnelError(Exception):
    code = "invalid"
    http_status = 400

    def __init__(
        self,
        message: str,
        code: str | None = None,
        *,
        fields: dict[str, list[str]] | None = None,
        extra: dict | None = None,
    ):
        super().__init__(message)
        if code is not None:
            self.code = code  # a refusal more precise than its class's (`owner_required`, …)
        self.message = message
        self.fields = fields or {}
        self.extra = extra or {}


class ActionForbidden(FunnelError):
    """The person (or API key) may not do this."""

    code = "permission_denied"
    http_status = 403


class InvalidInput(FunnelError):
    """Input a service refuses, named field by field (`deal.value`, `reason`, …)."""

    code = "invalid"
    http_status = 400

    def __init__(self, fields: dict[str, list[str]]):
        first = next(iter(fields))
        super().__init__(f"{first}: {fields[first][0]}", fields=fields)
