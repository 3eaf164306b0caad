from django import template
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe

from leads import access
from leads.actors import person_name
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
        "next": context.get("next_path") or (request.get_full_path() if request else ""),
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


# --- The queue's Actions cell -------------------------------------------------------------

# An id no alert has, reversed once and swapped for the real id per row: reversing three
# URLs per row cost more than the rest of the row.
_URL_ID = 987654321


class QueueActions:
    """The Actions cell of the sales queue, one per rendered page.

    The reject reasons, the assignee list, the CSRF field, the action URLs and the
    "next" field are the same on every row; they are built once here and only the alert
    id (and the assignee's `selected`) changes per row. Rendering these forms through
    an included template for 50 rows was most of the page's time. Every row keeps its
    own forms, labels and ids, so it works with the keyboard and without JavaScript."""

    def __init__(self, *, csrf_token, next_path: str, reasons, assignees, is_manager: bool):
        self.csrf = f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(str(csrf_token))}">'
        self.next_field = f'<input type="hidden" name="next" value="{escape(next_path)}">'
        self.is_manager = is_manager
        self.urls = {
            name: reverse(f"sales:{name}", args=[_URL_ID]).replace(str(_URL_ID), "{id}")
            for name in ("accept", "reject", "reassign")
        }
        self.reason_options = "".join(
            f'<option value="{escape(code)}">{escape(label)}</option>' for code, label in reasons
        )
        self.assignees = [(person.pk, escape(person_name(person))) for person in assignees]

    def _url(self, name: str, alert_id: int) -> str:
        return self.urls[name].replace("{id}", str(alert_id))

    def cell(self, alert, may_act: bool) -> str:
        pk = int(alert.pk)
        parts = ['<td class="actions" data-label="Actions">\n']
        if may_act:
            parts.append(
                f'  <form method="post" action="{self._url("accept", pk)}" class="inline">{self.csrf}'
                '<button type="submit" class="primary">Accept</button></form>\n'
                "  <details>\n"
                "    <summary>Reject</summary>\n"
                f'    <form method="post" action="{self._url("reject", pk)}">{self.csrf}\n'
                f"      {self.next_field}\n"
                f'      <div class="field"><label for="reason-{pk}">Reason</label>\n'
                f'        <select id="reason-{pk}" name="reason" required>\n'
                '          <option value="">Pick a reason…</option>\n'
                f"          {self.reason_options}\n"
                "        </select></div>\n"
                f'      <div class="field"><label for="note-{pk}">Note</label>'
                f'<textarea id="note-{pk}" name="note" rows="2" maxlength="2000"></textarea></div>\n'
                '      <button type="submit" class="danger">Reject to nurture</button>\n'
                "    </form>\n"
                "  </details>\n"
            )
        else:
            assignee = escape(person_name(alert.assignee)) if alert.assignee_id else ""
            parts.append(f'  <span class="muted">Assigned to {assignee}</span>\n')
        if self.is_manager:
            options = "".join(
                f'<option value="{person_pk}" {"selected" if person_pk == alert.assignee_id else ""}>{name}</option>'
                for person_pk, name in self.assignees
            )
            parts.append(
                f'  <form method="post" action="{self._url("reassign", pk)}" class="reassign">{self.csrf}\n'
                f"    {self.next_field}\n"
                f'    <label class="muted" for="assignee-{pk}">Reassign to</label>\n'
                f'    <select id="assignee-{pk}" name="assignee">\n'
                f"      {options}\n"
                "    </select>\n"
                '    <button type="submit">Reassign</button>\n'
                "  </form>\n"
            )
        parts.append("</td>")
        return "".join(parts)


@register.simple_tag(takes_context=True)
def queue_actions(context, alert, may_act):
    """The queue row's Actions cell, from the page's one QueueActions (built on first use).
    Needs `reasons`, `assignees`, `is_manager` and `request` in the context."""
    actions = context.render_context.get(QueueActions)
    if actions is None:
        request = context.get("request")
        actions = QueueActions(
            csrf_token=context.get("csrf_token", ""),
            next_path=request.get_full_path() if request else "",
            reasons=context.get("reasons", ()),
            assignees=context.get("assignees", ()),
            is_manager=bool(context.get("is_manager")),
        )
        context.render_context[QueueActions] = actions
    return mark_safe(actions.cell(alert, may_act))  # noqa: S308 - every value in it is escaped above
