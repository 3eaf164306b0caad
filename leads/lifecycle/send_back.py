"""Sending a lead back to nurture, always with a reason from the configured list."""

from django.conf import settings

from funnel.errors import InvalidInput


def reject_reason_label(code: str) -> str:
    return settings.FUNNEL_REJECT_REASONS.get(code, code)


def valid_reason(reason_code: str, field: str = "reason") -> str:
    code = (reason_code or "").strip()
    if code not in settings.FUNNEL_REJECT_REASONS:
        known = ", ".join(settings.FUNNEL_REJECT_REASONS)
        raise InvalidInput({field: [f"Pick one of: {known}."]})
    return code


def reason_text(prefix: str, code: str, note: str = "") -> str:
    """The transition's reason: "Rejected: No budget — they come back in Q3"."""
    note = (note or "").strip()
    return f"{prefix}: {reject_reason_label(code)}" + (f" — {note}" if note else "")
