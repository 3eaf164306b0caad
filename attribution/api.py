"""`GET /api/v1/analytics/attribution` and `GET|POST /api/v1/campaign-spend`.

Scopes: reading needs `leads:read` (as the funnel report); entering spend needs
`leads:write`. On top, a key bound to a person (and every session) must have a role
that may read attribution (marketer, manager, admin) or, to write spend, edit it
(marketer, admin): the intersection CONTRACT.md asks for."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from events.models import ApiKey, Scope
from events.permissions import ScopePermission, require_scope
from funnel.api_errors import ApiError
from leads.access import can_edit_marketing_spend, can_read_attribution

from . import services
from .forms import AttributionFilterForm
from .models import AttributionModel, CampaignSpend, Dimension, Milestone
from .selectors import attribution_report, recent_spend

ERROR = OpenApiResponse(OpenApiTypes.OBJECT, description='{"error": {"code", "message", "fields"}}')


def _bound_to_person(request) -> bool:
    return not isinstance(request.auth, ApiKey) or request.auth.user_id is not None


def _invalid(fields: dict[str, list[str]]) -> ApiError:
    first = next(iter(fields))
    return ApiError(code="invalid", message=f"{first}: {fields[first][0]}", status_code=400, fields=fields)


AttributionRow = inline_serializer(
    "AttributionRow",
    {
        "key": serializers.CharField(),
        "credit": serializers.FloatField(),
        "revenue": serializers.FloatField(),
        "spend": serializers.FloatField(allow_null=True),
        "cost_per_conversion": serializers.FloatField(allow_null=True),
        "roi": serializers.FloatField(allow_null=True),
    },
    many=True,
)
AttributionReply = inline_serializer(
    "AttributionReport",
    {
        "model": serializers.ChoiceField(choices=AttributionModel.choices),
        "milestone": serializers.ChoiceField(choices=Milestone.choices),
        "by": serializers.ChoiceField(choices=Dimension.choices),
        "from": serializers.DateField(),
        "to": serializers.DateField(),
        "conversions": serializers.IntegerField(),
        "rows": AttributionRow,
    },
)


class AttributionReportView(APIView):
    permission_classes = [require_scope(Scope.LEADS_READ)]

    @extend_schema(
        operation_id="analytics_attribution",
        summary="Attribution of conversions to campaigns, channels or sources",
        description=(
            "Credits of the chosen milestone's conversions (by the day they happened, UTC) split over the touches "
            "before them by the chosen model. Each conversion's credits sum to 1, so the rows' credits sum to "
            "`conversions`; a conversion with no touch in its window is credited to `Direct`. `revenue` is the won "
            "deal value credited under the same model; `spend` is campaign spend of the months in the range "
            "(in proportion to their days in it; null by source); `roi` = (revenue − spend) / spend. Needs leads:read "
            "and the role of a marketer, sales manager or admin."
        ),
        parameters=[
            OpenApiParameter("model", OpenApiTypes.STR, enum=AttributionModel.values, description="Default linear"),
            OpenApiParameter("milestone", OpenApiTypes.STR, enum=Milestone.values, description="Default mql"),
            OpenApiParameter("by", OpenApiTypes.STR, enum=Dimension.values, description="Default campaign"),
            OpenApiParameter("from", OpenApiTypes.DATE, description="First day (UTC), inclusive; default 90 days back"),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Last day (UTC), inclusive; default today"),
            OpenApiParameter(
                "window", OpenApiTypes.INT, description="Attribution window in days (default the setting)"
            ),
        ],
        responses={200: AttributionReply, 400: ERROR, 401: ERROR, 403: ERROR},
    )
    def get(self, request):
        if _bound_to_person(request) and not can_read_attribution(request.user):
            raise PermissionDenied("Attribution is for marketers, sales managers and admins.")
        form = AttributionFilterForm(request.query_params)
        if not form.is_valid():
            raise _invalid(form.field_errors())
        return Response(attribution_report(form.filters()))


class SpendSerializer(serializers.ModelSerializer):
    month = serializers.SerializerMethodField()
    amount = serializers.FloatField()

    class Meta:
        model = CampaignSpend
        fields = ["id", "campaign", "month", "amount", "currency", "channel", "updated_at"]

    def get_month(self, spend) -> str:
        return spend.month.strftime("%Y-%m")


SpendInput = inline_serializer(
    "CampaignSpendInput",
    {
        "campaign": serializers.CharField(),
        "month": serializers.CharField(help_text="YYYY-MM"),
        "amount": serializers.FloatField(min_value=0),
        "currency": serializers.CharField(required=False, help_text="Three letters, default EUR"),
        "channel": serializers.CharField(required=False),
    },
)


class CampaignSpendView(APIView):
    permission_classes = [ScopePermission]
    required_scopes = {"GET": Scope.LEADS_READ, "POST": Scope.LEADS_WRITE}

    @extend_schema(
        operation_id="campaign_spend_list",
        summary="Campaign spend per month",
        description=(
            "The latest 200 entries, newest month first. Needs leads:read and a marketer, manager or admin role."
        ),
        responses={200: SpendSerializer(many=True), 401: ERROR, 403: ERROR},
    )
    def get(self, request):
        if _bound_to_person(request) and not can_read_attribution(request.user):
            raise PermissionDenied("Attribution is for marketers, sales managers and admins.")
        return Response(SpendSerializer(recent_spend(), many=True).data)

    @extend_schema(
        operation_id="campaign_spend_set",
        summary="Enter a campaign's spend for a month",
        description=(
            "Creates or replaces the spend of (campaign, month). Needs leads:write and a marketer or admin role. "
            "The campaign is compared case-insensitively, as touches carry it."
        ),
        request=SpendInput,
        responses={201: SpendSerializer, 400: ERROR, 401: ERROR, 403: ERROR},
    )
    def post(self, request):
        if _bound_to_person(request) and not can_edit_marketing_spend(request.user):
            raise PermissionDenied("Spend is entered by marketers and admins.")
        body = request.data if isinstance(request.data, dict) else None
        if body is None:
            raise _invalid({"non_field_errors": ["Send one JSON object."]})
        unknown = set(body) - {"campaign", "month", "amount", "currency", "channel"}
        if unknown:
            raise _invalid({name: ["Unknown field."] for name in sorted(unknown)})
        label = request.auth.name if isinstance(request.auth, ApiKey) else ""
        try:
            spend = services.set_campaign_spend(
                user=request.user if request.user.is_authenticated and request.user.pk else None,
                actor_label=f"API key {label}" if label else "",
                campaign=body.get("campaign"),
                month=body.get("month"),
                amount=body.get("amount"),
                currency=body.get("currency") or "EUR",
                channel=body.get("channel") or "",
            )
        except services.InvalidSpend as problem:
            raise _invalid(problem.fields) from None
        return Response(SpendSerializer(spend).data, status=201)
