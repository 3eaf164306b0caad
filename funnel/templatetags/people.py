"""Builtin filters (no `{% load %}` needed): `{{ user|person }}`, one display name for a
person on every page; `{{ code|stage_label }}`, a stage by its label."""

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
