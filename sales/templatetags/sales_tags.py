from django import template
from django.conf import settings
from django.utils import timezone

from leads import access
from leads.models import ActivityKind
from sales.services import may_act_on_alert, may_work_lead

register = template.Library()


def _duration(seconds: float) -> str:
    minutes = int(abs(seconds) // 60)
    days, minutes = divmod(minutes, 60 * 24)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


@register.filter
def sla_left(due_at, now=None) -> str:
    """“2 h 10 min left” or “overdue by 35 min”."""
    if due_at is None:
        return "no SLA"
    seconds = (due_at - (now or timezone.now())).total_seconds()
    return f"{_duration(seconds)} left" if seconds > 0 else f"overdue by {_duration(seconds)}"


@register.filter
def reason_label(code: str) -> str:
    return settings.FUNNEL_REJECT_REASONS.get(code, code)


@register.inclusion_tag("sales/_lead_actions_body.html", takes_context=True)
def sales_lead_actions(context, lead, user=None):
    """The sales actions on one lead, for any page: accept/reject its open alert, log an
    activity, qualify, proposal marks, win, lose, send back. Posts to the sales URLs
    and comes back to the page it was shown on. The page's view loads the lead's open
    alert and its cycle's deal (`open_alert`, `deal` in the context): a template tag
    does not query."""
    user = user or context.get("user")
    request = context.get("request")
    open_alert = context.get("open_alert")
    deal = context.get("deal")
    seller = access.can_use_queue(user)
    return {
        "lead": lead,
        "user": user,
        "csrf_token": context.get("csrf_token"),
        "next": request.get_full_path() if request else "",
        "open_alert": open_alert,
        "deal": deal,
        "may_act_on_alert": seller and open_alert is not None and may_act_on_alert(user=user, alert=open_alert),
        "may_work": seller and may_work_lead(user=user, lead=lead),
        "is_manager": access.can_reassign(user),
        "reasons": list(settings.FUNNEL_REJECT_REASONS.items()),
        "activity_kinds": ActivityKind.choices,
        "stage": lead.stage,
        # A qualify that was refused: what was typed and the problem by each field.
        "qualify_values": context.get("qualify_values") or {"currency": settings.FUNNEL_CURRENCY},
        "qualify_errors": context.get("qualify_errors") or {},
    }


@register.filter
def explanation(contributions, limit: int = 4) -> list[str]:
    """The score's explanation stored on the alert, biggest parts first, as short lines
    (“2× Pricing page view +12 (capped)”). Tolerates any older or partial shape."""
    parts = [part for part in (contributions or []) if isinstance(part, dict)]
    parts.sort(key=lambda part: -abs(_number(part.get("points"))))
    lines = []
    for part in parts[: int(limit)]:
        label = str(part.get("label") or part.get("rule") or part.get("rule_id") or "Rule")
        count = _number(part.get("events"))
        points = _number(part.get("points"))
        line = f"{int(count)}× {label}" if count > 1 else label
        line += f" {'+' if points >= 0 else '−'}{abs(points):g}"
        if part.get("capped"):
            line += " (capped)"
        lines.append(line)
    if len(parts) > int(limit):
        lines.append(f"and {len(parts) - int(limit)} more")
    return lines


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


@register.filter
def get_item(mapping, key):
    """`mapping|get_item:key` for a dict whose key is in a variable."""
    return mapping.get(key) if hasattr(mapping, "get") else None
