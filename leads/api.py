"""The leads API: GET|POST /api/v1/leads, GET|PATCH|DELETE /api/v1/leads/{id},
POST /api/v1/leads/{id}/transitions.

Scopes come from funnel.scopes (leads:read to read, leads:write to write, each
intersected with a bound user's role). Which leads a caller may see and touch is
decided per object by the rulebook, leads.access (a rep: their own SAL/SQL leads and
the MQLs whose alert is unassigned or theirs), for sessions and keys alike."""

from django.core import signing
from django.db import IntegrityError
from django.db.models import Prefetch
from django.utils.http import urlencode
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, pagination, status
from rest_framework.response import Response
from rest_framework.views import APIView

from funnel.api_errors import ApiError
from funnel.scopes import Scope, api_key_of

from . import access, details, lifecycle, selectors, services
from .actors import Actor
from .filters import LeadFilter
from .models import Lead
from .permissions import ScopePermission
from .serializers import (
    LeadDetailSerializer,
    LeadErrorSerializer,
    LeadSerializer,
    LeadWriteSerializer,
    TransitionRequestSerializer,
    TransitionResultSerializer,
)

RECENT_EVENTS = 20


def _errors(*codes: int) -> dict:
    why = {
        400: "Bad input; `fields` names what is wrong.",
        401: "No API key or session, or an unknown or revoked key.",
        403: "The key's scope or the caller's role does not allow this (for reps: not their lead).",
        404: "No such lead, or not one the caller may see.",
        409: "`stage_move_refused`: the lifecycle does not allow this move.",
    }
    return {code: OpenApiResponse(LeadErrorSerializer, description=why[code]) for code in codes}


def _actor(request) -> Actor:
    if api_key_of(request) is not None:
        return Actor.for_api_key(request.auth)
    return Actor.for_user(request.user)


def visible_leads(request):
    return access.visible_leads(access.principal_for_request(request))


def _forbidden(message: str, code: str = "role_not_allowed"):
    return exceptions.PermissionDenied(message, code=code)


def _check_owner(request, fields: dict) -> None:
    """An owner is an active sales rep or manager, set by those who may assign leads."""
    if "owner" not in fields:
        return
    principal = access.principal_for_request(request)
    if not access.can_set_owner(principal, None):
        raise _forbidden("A sales rep cannot reassign leads.")
    if not access.can_set_owner(principal, fields["owner"]):
        raise ApiError(
            code="invalid",
            message="owner: an active sales rep or sales manager.",
            fields={"owner": ["Pick an active sales rep or sales manager."]},
        )


class LeadCursorPagination(pagination.BasePagination):
    """Keyset pages on a fixed order, each sort paired with id (leads.selectors.lead_page):
    no OFFSET, no COUNT(*), so a deep page costs what the first one does."""

    sorts = list(selectors.LIST_SORTS)
    default_size, max_size = 50, 200

    def paginate_queryset(self, queryset, request, view=None):
        params = request.query_params
        # `ordering` is the name DRF clients expect (CONTRACT: `ordering=-likelihood`).
        sort = params.get("sort") or params.get("ordering") or "-created"
        if sort not in selectors.LIST_SORTS:
            raise ApiError(
                code="invalid",
                message=f"sort: one of {', '.join(self.sorts)}.",
                fields={"sort": [f"One of {', '.join(self.sorts)}."]},
            )
        raw_size = params.get("limit") or str(self.default_size)
        if not raw_size.isdigit() or not 1 <= int(raw_size) <= self.max_size:
            raise ApiError(
                code="invalid",
                message=f"limit: 1 to {self.max_size}.",
                fields={"limit": [f"An integer from 1 to {self.max_size}."]},
            )
        try:
            page = selectors.lead_page(leads=queryset, sort=sort, cursor=params.get("cursor"), size=int(raw_size))
        except (signing.BadSignature, ValueError, TypeError) as error:
            raise ApiError(
                code="invalid",
                message="cursor: not a cursor this API gave out.",
                fields={"cursor": ["Not a cursor this API gave out; start again without it."]},
            ) from error
        self.next_cursor = page.next_cursor
        self.request = request
        return page.leads

    def get_next_link(self):
        if not self.next_cursor:
            return None
        query = {key: value for key, value in self.request.query_params.lists() if key != "cursor"}
        query["cursor"] = [self.next_cursor]
        return self.request.build_absolute_uri(self.request.path) + "?" + urlencode(query, doseq=True)

    def get_paginated_response(self, data):
        return Response({"next": self.get_next_link(), "results": data})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {
                    "type": "string",
                    "format": "uri",
                    "nullable": True,
                    "example": "https://funnel.example.com/api/v1/leads?cursor=WyIyMDI2LTExLTI1IiwgNDJd",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": "The `next` link's cursor.",
            },
            {
                "name": "sort",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "enum": self.sorts},
                "description": "Order (each paired with id): -created (default), created, -score, score, "
                "-likelihood, likelihood (leads without a likelihood last).",
            },
            {
                "name": "ordering",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "enum": self.sorts},
                "description": "The same as `sort` (e.g. `ordering=-likelihood`); `sort` wins when both are given.",
            },
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_size, "default": self.default_size},
            },
        ]


LEAD_EXAMPLE = {
    "id": 42,
    "email": "ada@example.com",
    "external_id": "u-42",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "company": "Analytical Engines",
    "job_title": "CTO",
    "phone": "",
    "country": "United Kingdom",
    "company_size": 120,
    "likelihood": 0.34,
    "source": "website",
    "utm_source": "newsletter",
    "utm_medium": "email",
    "utm_campaign": "spring-launch",
    "utm_term": "",
    "utm_content": "",
    "anonymous_id": "a1b2c3",
    "stage": "mql",
    "stage_label": "Marketing qualified (MQL)",
    "stage_entered_at": "2026-11-20T09:30:00Z",
    "score": 64,
    "cycle": 1,
    "recycle_count": 0,
    "owner": None,
    "owner_username": None,
    "last_engaged_at": "2026-11-25T16:02:11Z",
    "created_at": "2026-10-02T08:00:00Z",
    "updated_at": "2026-11-25T16:02:11Z",
}


@extend_schema(tags=["leads"])
class LeadListView(generics.ListCreateAPIView):
    permission_classes = [ScopePermission]
    required_scopes = {"GET": Scope.LEADS_READ, "POST": Scope.LEADS_WRITE}
    serializer_class = LeadSerializer
    filterset_class = LeadFilter
    pagination_class = LeadCursorPagination

    def get_queryset(self):
        return visible_leads(self.request)

    def get_serializer_class(self):
        return LeadWriteSerializer if self.request.method == "POST" else LeadSerializer

    @extend_schema(
        operation_id="leads_list",
        summary="List leads",
        responses={200: LeadSerializer(many=True), **_errors(400, 401, 403)},
        examples=[OpenApiExample("A lead in the page", value=LEAD_EXAMPLE, response_only=True)],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="leads_create",
        summary="Create a lead",
        request=LeadWriteSerializer,
        responses={201: LeadSerializer, **_errors(400, 401, 403)},
        examples=[
            OpenApiExample(
                "A new lead",
                request_only=True,
                value={
                    "email": "ada@example.com",
                    "first_name": "Ada",
                    "company": "Analytical Engines",
                    "source": "trade-show",
                },
            ),
            OpenApiExample("Created", response_only=True, status_codes=["201"], value=LEAD_EXAMPLE),
        ],
    )
    def post(self, request, *args, **kwargs):
        if not access.can_edit_leads(access.principal_for_request(request)):
            raise _forbidden("Your role may not create leads.")
        serializer = LeadWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        _check_owner(request, fields)
        stage, reason = fields.pop("stage", None), fields.pop("reason", "")
        try:
            lead = services.create_lead(actor=_actor(request), stage=stage, reason=reason, **fields)
        except IntegrityError as error:  # a concurrent create took the email or external id
            raise ApiError(
                code="invalid",
                message="email: another lead already has this identity.",
                fields={"email": ["Another lead already has this email or external id."]},
            ) from error
        lead = Lead.objects.select_related("owner").get(pk=lead.pk)
        return Response(LeadSerializer(lead).data, status=status.HTTP_201_CREATED)


LEAD_ID = OpenApiParameter("lead_id", int, OpenApiParameter.PATH, description="The lead's id.")


@extend_schema(tags=["leads"], parameters=[LEAD_ID])
class LeadDetailView(APIView):
    permission_classes = [ScopePermission]
    required_scopes = {"GET": Scope.LEADS_READ, "PATCH": Scope.LEADS_WRITE, "DELETE": Scope.LEADS_WRITE}

    def get_lead(self, request, lead_id: int) -> Lead:
        lead = visible_leads(request).select_related("owner").filter(pk=lead_id).first()
        if lead is None:
            raise exceptions.NotFound("No such lead.")
        return lead

    @extend_schema(
        operation_id="leads_retrieve",
        summary="A lead with its recent events, stage history and score explanation",
        responses={200: LeadDetailSerializer, **_errors(401, 403, 404)},
        examples=[
            OpenApiExample(
                "A lead",
                response_only=True,
                value={
                    **LEAD_EXAMPLE,
                    "recent_events": [
                        {
                            "id": 9,
                            "message_id": "web-8f1c2",
                            "type": "page_view",
                            "occurred_at": "2026-11-25T16:02:11Z",
                            "received_at": "2026-11-25T16:02:12Z",
                            "properties": {"url": "/pricing"},
                            "source": "api",
                        }
                    ],
                    "stage_history": [
                        {
                            "id": 3,
                            "cycle": 1,
                            "from_stage": "",
                            "to_stage": "lead_gen",
                            "kind": "created",
                            "actor_kind": "api_key",
                            "actor_label": "API key Website",
                            "reason": "",
                            "reason_code": "",
                            "occurred_at": "2026-10-02T08:00:00Z",
                        }
                    ],
                    "score_explanation": {"score": 64, "text": "64 points: …", "contributions": []},
                },
            )
        ],
    )
    def get(self, request, lead_id: int):
        lead = (
            visible_leads(request)
            .select_related("owner")
            .prefetch_related(Prefetch("transitions", to_attr="stage_history"))
            .filter(pk=lead_id)
            .first()
        )
        if lead is None:
            raise exceptions.NotFound("No such lead.")
        lead.recent_events = list(
            details.ask(details.RECENT_EVENTS, lead_ids=[lead.pk], limit=RECENT_EVENTS, default=[])
        )
        lead.score_explanation = details.ask(details.SCORE_EXPLANATION, lead=lead)
        return Response(LeadDetailSerializer(lead).data)

    @extend_schema(
        operation_id="leads_update",
        summary="Edit a lead's profile",
        request=LeadWriteSerializer,
        responses={200: LeadSerializer, **_errors(400, 401, 403, 404)},
        examples=[OpenApiExample("New title", request_only=True, value={"job_title": "VP Engineering"})],
    )
    def patch(self, request, lead_id: int):
        lead = self.get_lead(request, lead_id)
        if not access.can_edit_lead(access.principal_for_request(request), lead):
            raise _forbidden("A sales rep edits only their own SAL/SQL leads.", code="not_your_lead")
        serializer = LeadWriteSerializer(lead, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        _check_owner(request, fields)
        if fields:
            try:
                services.update_lead(lead=lead, actor=_actor(request), **fields)
            except IntegrityError as error:
                raise ApiError(
                    code="invalid",
                    message="email: another lead already has this identity.",
                    fields={"email": ["Another lead already has this email or external id."]},
                ) from error
        return Response(LeadSerializer(self.get_lead(request, lead_id)).data)

    @extend_schema(
        operation_id="leads_erase",
        summary="Erase the person: their events and personal fields go, anonymous counts stay",
        responses={204: None, **_errors(401, 403, 404)},
    )
    def delete(self, request, lead_id: int):
        lead = self.get_lead(request, lead_id)
        if not access.can_erase_lead(access.principal_for_request(request)):
            raise _forbidden("Your role may not erase leads.")
        services.erase_lead(lead=lead, actor=_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["leads"], parameters=[LEAD_ID])
class LeadTransitionView(APIView):
    permission_classes = [ScopePermission]
    required_scopes = {"POST": Scope.LEADS_WRITE}

    @extend_schema(
        operation_id="leads_transition",
        summary="Move a lead to another stage",
        request=TransitionRequestSerializer,
        responses={201: TransitionResultSerializer, **_errors(400, 401, 403, 404, 409)},
        examples=[
            OpenApiExample(
                "Qualify with a deal",
                request_only=True,
                value={"to": "sql", "reason": "Budget confirmed", "deal": {"value": "12000.00", "currency": "EUR"}},
            ),
            OpenApiExample(
                "Reject back to nurture",
                request_only=True,
                value={"to": "nurture", "reason": "No budget this year", "reason_code": "no_budget"},
            ),
        ],
    )
    def post(self, request, lead_id: int):
        lead = visible_leads(request).select_related("owner").filter(pk=lead_id).first()
        if lead is None:
            raise exceptions.NotFound("No such lead.")
        serializer = TransitionRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # The same rule the service applies (and the queue's): scopes ∩ role, a rep's MQL
        # only through an alert that is unassigned or theirs, an owner for SAL/SQL.
        refusal = access.move_refusal(access.principal_for_request(request), lead, data["to"])
        if refusal is not None:
            raise _forbidden(refusal.message, code=refusal.code)
        transition = lifecycle.transition_lead(
            lead=lead,
            to=data["to"],
            actor=_actor(request),
            reason=data["reason"],
            reason_code=data["reason_code"],
            deal=dict(data.get("deal") or {}),
        )
        lead = Lead.objects.select_related("owner").get(pk=lead.pk)
        return Response(
            TransitionResultSerializer({"transition": transition, "lead": lead}).data, status=status.HTTP_201_CREATED
        )
