from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from events.models import Scope
from events.permissions import require_scope
from funnel.api_errors import ApiError, ErrorEnvelopeSerializer
from leads import access

from .forms import ReportFilterForm
from .selectors import funnel_report


class FunnelReportView(APIView):
    permission_classes = [require_scope(Scope.LEADS_READ)]

    @extend_schema(
        operation_id="analytics_funnel",
        summary="The funnel report",
        description=(
            "Every section of the funnel report for a date range (default: the last 90 days), optionally "
            "for one source, campaign or owner. Read from summary tables refreshed in the background "
            "(`refreshed_at`). Rates are shares between 0 and 1; durations are hours."
        ),
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, description="First day (UTC), inclusive"),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Last day (UTC), inclusive; default today"),
            OpenApiParameter("source", OpenApiTypes.STR),
            OpenApiParameter("campaign", OpenApiTypes.STR),
            OpenApiParameter(
                "owner", OpenApiTypes.INT, description="User id of the lead's, deal's or activity's owner"
            ),
        ],
        responses={
            200: OpenApiTypes.OBJECT,
            400: OpenApiResponse(ErrorEnvelopeSerializer, description="A filter is not valid; `fields` names it."),
            401: OpenApiResponse(ErrorEnvelopeSerializer, description="No API key or session, or an unknown key."),
            403: OpenApiResponse(
                ErrorEnvelopeSerializer,
                description="The key lacks leads:read, or the caller's role is not marketer, manager or admin.",
            ),
        },
    )
    def get(self, request):
        # leads:read also admits sales reps; the report is for the roles that steer.
        if not access.can_view_reports(access.principal_for_request(request)):
            raise PermissionDenied("The funnel report is for marketers, sales managers and admins.")
        form = ReportFilterForm(request.query_params)
        if not form.is_valid():
            fields = form.field_errors()
            first = next(iter(fields))
            raise ApiError(code="invalid", message=f"{first}: {fields[first][0]}", status_code=400, fields=fields)
        return Response(funnel_report(form.filters()))
