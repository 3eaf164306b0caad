"""`{{ user|person }}`: one display name for a person on every page (a builtin: no
`{% load %}` needed)."""

from django import template

from leads.actors import person_name

register = template.Library()


@register.filter
def person(user) -> str:
    return person_name(user) if user else ""
