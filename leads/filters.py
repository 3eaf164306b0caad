"""Filters of the leads API (`GET /api/v1/leads?...`)."""

from datetime import UTC

import django_filters
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django_filters.fields import IsoDateTimeField

from .models import Lead
from .selectors import search_leads
from .stages import Stage


class UtcIsoDateTimeField(IsoDateTimeField):
    """ISO 8601 allows UTC offsets up to ±23:59, PostgreSQL only ±15:59: a moment is
    compared in UTC, and one that has no UTC form (year 1 east of UTC) is a 400."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except OverflowError as error:
            raise ValidationError("Outside the range of dates this API stores.", code="invalid") from error


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class LeadFilter(django_filters.FilterSet):
    stage = django_filters.MultipleChoiceFilter(choices=Stage.choices, help_text="One or more stage slugs.")
    owner = django_filters.CharFilter(
        method="filter_owner",
        validators=[RegexValidator(r"^(none|[0-9]{1,18})$", "A user id, or `none`.")],
        help_text="A user id, or `none` for unassigned leads.",
    )
    score_min = django_filters.NumberFilter(field_name="score", lookup_expr="gte")
    score_max = django_filters.NumberFilter(field_name="score", lookup_expr="lte")
    likelihood_min = django_filters.NumberFilter(
        field_name="likelihood", lookup_expr="gte", help_text="Likelihood to buy at least (0–1)."
    )
    source = django_filters.CharFilter(field_name="source")
    campaign = django_filters.CharFilter(field_name="utm_campaign", help_text="The lead's utm_campaign.")
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    search = django_filters.CharFilter(
        method="filter_search",
        help_text=(
            "Words to find, each anywhere in the first or last name, email, company or job title "
            '(every word must match): "Umar Tanaka", "tanaka", "acme founder".'
        ),
    )

    class Meta:
        model = Lead
        fields: list = []

    def filter_owner(self, queryset, name, value):
        if value == "none":
            return queryset.filter(owner__isnull=True)
        return queryset.filter(owner_id=int(value))

    def filter_search(self, queryset, name, value):
        return search_leads(queryset, value)
