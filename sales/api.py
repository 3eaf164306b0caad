"""The queue's API: GET /api/v1/queue, POST /api/v1/queue/{id}/accept|reject.

Scopes come from events.permissions (leads:read to read, queue:write to act), which
already intersect a key's scopes with its user's role; which alerts a caller may act
on (reps: unassigned and their own) is decided per object by the services."""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from events.models import ApiKey, Scope
from events.permissions import ScopePermission
from funnel.api_errors import ApiError
from leads.actors import Actor

from . import selectors, services
from .models import SalesAlert
from .notifications import read_alert_notifications
from .serializers import (
    ErrorEnvelopeSerializer,
    QueueActionResultSerializer,
    QueueAlertSerializer,
    QueuePageSerializer,
    RejectRequestSerializer,
)

MAX_LIMIT = 200
ALERT_ID = OpenApiParameter("alert_id", int, OpenApiParameter.PATH, description="The alert's id.")


def _errors(*codes: int) -> dict:
    why = {
        400: "Bad input; `fields` names what is wrong.",
        401: "No API key or session, or an unknown or revoked key.",
        403: "The key's scope or the caller's role does not allow this, or the alert is another rep's.",
        404: "No such alert.",
        409: "`alert_already_taken` (with `taken_by`) or `stage_move_refused`.",
    }
    return {code: OpenApiResponse(ErrorEnvelopeSerializer, description=why[code]) for code in codes}


def _actor(request) -> Actor:
    if isinstance(request.auth, ApiKey):
        return Actor.for_api_key(request.auth)
    return Actor.for_user(request.user)


def _bounded_int(request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ApiError(
            code="invalid",
            message=f"{name}: an integer from {low} to {high}.",
            fields={name: [f"An integer from {low} to {high}."]},
        )
    return value


class QueueView(APIView):
    permission_classes = [ScopePermission]
    required_scopes = {"GET": Scope.LEADS_READ}

    @extend_schema(
        parameters=[
            OpenApiParameter("filter", str, enum=list(selectors.QUEUE_FILTERS), description="Which open alerts."),
            OpenApiParameter("limit", int, description=f"1–{MAX_LIMIT}, default 50."),
            OpenApiParameter("offset", int),
        ],
        responses={200: QueuePageSerializer, **_errors(400, 401, 403)},
    )
    def get(self, request):
        view = (request.query_params.get("filter") or "all").strip().lower()
        if view not in selectors.QUEUE_FILTERS:
            raise ApiError(
                code="invalid",
                message=f"filter: one of {', '.join(selectors.QUEUE_FILTERS)}.",
                fields={"filter": [f"One of {', '.join(selectors.QUEUE_FILTERS)}."]},
            )
        limit = _bounded_int(request, "limit", 50, 1, MAX_LIMIT)
        offset = _bounded_int(request, "offset", 0, 0, 1_000_000)
        alerts, has_more = selectors.page_of(
            selectors.sales_queue_for(user=request.user, filters=selectors.QueueFilters(view=view)),
            limit=limit,
            offset=offset,
        )
        next_url = None
        if has_more:
            query = request.query_params.copy()
            query["offset"] = str(offset + limit)
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        data = QueueAlertSerializer(alerts, many=True, context={"now": timezone.now()}).data
        return Response({"results": data, "next": next_url})


class AcceptView(APIView):
    permission_classes = [ScopePermission]
    required_scopes = {"POST": Scope.QUEUE_WRITE}

    @extend_schema(
        parameters=[ALERT_ID],
        request=None,
        responses={200: QueueActionResultSerializer, **_errors(401, 403, 404, 409)},
    )
    def post(self, request, alert_id: int):
        alert = get_object_or_404(SalesAlert, pk=alert_id)
        services.accept_alert(alert=alert, user=request.user, actor=_actor(request))
        read_alert_notifications(alert_id=alert_id)
        return Response(_result(alert_id))


class RejectView(APIView):
    permission_classes = [ScopePermission]
    required_scopes = {"POST": Scope.QUEUE_WRITE}

    @extend_schema(
        parameters=[ALERT_ID],
        request=RejectRequestSerializer,
        responses={200: QueueActionResultSerializer, **_errors(400, 401, 403, 404, 409)},
    )
    def post(self, request, alert_id: int):
        alert = get_object_or_404(SalesAlert, pk=alert_id)
        body = RejectRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.reject_alert(
            alert=alert,
            user=request.user,
            reason_code=body.validated_data["reason"],
            note=body.validated_data.get("note", ""),
            actor=_actor(request),
        )
        read_alert_notifications(alert_id=alert_id)
        return Response(_result(alert_id))


def _result(alert_id: int) -> dict:
    alert = SalesAlert.objects.select_related("lead", "acted_by").get(pk=alert_id)
    return QueueActionResultSerializer(alert).data
