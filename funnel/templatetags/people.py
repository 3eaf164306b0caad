"""Builtin filters (no `{% load %}` needed): `{{ user|person }}`, one display name for a
person on every page; `{{ code|stage_label }}`, a stage by its label; `{{ value|money:currency }}`,
one money format."""

from decimal import Decimal

from django import template

from leads.actors import person_name
from leads.stages import Stage, label

register = template.Library()


@register.filter
def person(user) -> str:
    return person_name(user) if user else ""


@register.filter
def stage_label(code: str) -> str:
    """`{{ "nurture"|stage_label }}` → "Nurture": stages by their label, never their code."""
    return label(code) if code in Stage.values else code


@register.filter
def money(value, currency: str = "") -> str:
    """One money format: “12,000 EUR”, “12,000.50 EUR” (cents only when there are any)."""
    if value in (None, ""):
        return "—"
    amount = Decimal(str(value))
    text = f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"
    return f"{text} {currency}".strip()
