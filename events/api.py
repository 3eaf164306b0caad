"""The native ingest endpoint, `POST /api/v1/events`, and the benchmark's no-op twin.

The body is read raw and parsed with orjson: DRF's parsers and a serializer per event
would cost more than storing the events does (GOALS.md)."""

import orjson
from django.http import HttpResponse
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.views import APIView

from funnel.api_errors import error_body

from .models import Scope
from .permissions import require_scope
from .services import ingest_batch
from .validation import MAX_BODY_BYTES, BodyError, read_json_body, split_batch


def json_response(body, status: int) -> HttpResponse:
    return HttpResponse(orjson.dumps(body), status=status, content_type="application/json")


def read_request_json(request, *, limit: int):
    """The parsed body, or BodyError. The declared length is checked before reading,
    so an oversized upload is refused without buffering it."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise BodyError(413, "payload_too_large", f"The body is larger than {limit // 1024} KB.")
    return read_json_body(request.body, content_encoding=request.META.get("HTTP_CONTENT_ENCODING", ""), limit=limit)


_RESULT = inline_serializer(
    "IngestResult",
    {
        "index": serializers.IntegerField(),
        "message_id": serializers.CharField(allow_null=True),
        "status": serializers.ChoiceField(choices=["accepted", "duplicate", "rejected"]),
        "errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
    },
)
_REPLY = inline_serializer(
    "IngestReply",
    {
        "results": _RESULT.__class__(many=True),
        "accepted": serializers.IntegerField(),
        "duplicates": serializers.IntegerField(),
        "rejected": serializers.IntegerField(),
    },
)
_EVENT = inline_serializer(
    "IngestEvent",
    {
        "message_id": serializers.CharField(
            required=False, max_length=200, help_text="Idempotency key; generated when absent."
        ),
        "type": serializers.CharField(
            max_length=100,
            help_text="A canonical type such as `page_view` or `form_submitted`; conventional names "
            "(“Form Submitted”) are stored as the canonical type.",
        ),
        "email": serializers.EmailField(required=False),
        "external_id": serializers.CharField(required=False, max_length=200),
        "anonymous_id": serializers.CharField(required=False, max_length=200),
        "occurred_at": serializers.DateTimeField(required=False, help_text="ISO 8601; default now."),
        "properties": serializers.DictField(required=False, help_text="Anything the event says (url, form…)."),
        "traits": serializers.DictField(required=False, help_text="Lead fields: first_name, company, job_title…"),
    },
)
_BATCH = inline_serializer(
    "IngestBatch",
    {"events": _EVENT.__class__(many=True, help_text="1–1,000 events.")},
)
_ERROR = inline_serializer(
    "IngestError",
    {
        "error": inline_serializer(
            "IngestErrorBody",
            {
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "fields": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
            },
        )
    },
)


class EventsView(APIView):
    permission_classes = [require_scope(Scope.EVENTS_WRITE)]
    parser_classes: list = []

    @extend_schema(
        operation_id="events_ingest",
        summary="Ingest engagement events",
        description=(
            'One event object, or `{"events": [...]}` with 1–1,000 events (≤ 1 MB, gzip allowed). Each event: '
            "`message_id` (idempotency key, generated if absent), `type`, at least one of `email`, `external_id`, "
            "`anonymous_id`, `properties` (object), `occurred_at` (ISO 8601, default now), `traits` (lead fields). "
            "Valid events are stored even when others are rejected; a repeated `message_id` is `duplicate`."
        ),
        # Keyed by media type: the view reads the raw body (no DRF parsers to infer it from).
        request={
            "application/json": PolymorphicProxySerializer(
                component_name="IngestRequest",
                serializers=[_EVENT, _BATCH],
                resource_type_field_name=None,
            )
        },
        responses={
            202: _REPLY,
            400: OpenApiResponse(
                PolymorphicProxySerializer(
                    component_name="IngestBadRequest",
                    serializers=[_REPLY, _ERROR],
                    resource_type_field_name=None,
                ),
                description="A single event that was rejected (the reply, with its errors), or a body that is "
                "not JSON or not events (the error envelope).",
            ),
            401: _ERROR,
            403: _ERROR,
            413: _ERROR,
            429: _ERROR,
        },
        examples=[
            OpenApiExample(
                "A batch",
                request_only=True,
                value={
                    "events": [
                        {
                            "message_id": "web-8f1c2",
                            "type": "page_view",
                            "anonymous_id": "a1b2c3",
                            "properties": {"url": "https://example.com/pricing", "title": "Pricing"},
                            "occurred_at": "2026-11-26T10:15:00Z",
                        },
                        {
                            "message_id": "form-77",
                            "type": "form_submitted",
                            "email": "ada@example.com",
                            "anonymous_id": "a1b2c3",
                            "properties": {"form": "demo-request"},
                            "traits": {"first_name": "Ada", "company": "Analytical Engines"},
                        },
                    ]
                },
            ),
            OpenApiExample(
                "Reply",
                response_only=True,
                status_codes=["202"],
                value={
                    "results": [
                        {"index": 0, "message_id": "web-8f1c2", "status": "accepted", "errors": {}},
                        {"index": 1, "message_id": "form-77", "status": "duplicate", "errors": {}},
                    ],
                    "accepted": 1,
                    "duplicates": 1,
                    "rejected": 0,
                },
            ),
        ],
    )
    def post(self, request):
        try:
            items, single = split_batch(read_request_json(request, limit=MAX_BODY_BYTES))
        except BodyError as error:
            return json_response(error_body(error.code, error.message), error.status)
        reply = ingest_batch(items=items, api_key=request.auth, source="api")
        status = 400 if single and reply["rejected"] else 202
        return json_response(reply, status)


class NoopView(APIView):
    """The benchmark's baseline: same authentication, scope check and throttle as
    EventsView, no work. Routed only when FUNNEL_BENCH_NOOP is set."""

    permission_classes = [require_scope(Scope.EVENTS_WRITE)]
    parser_classes: list = []

    @extend_schema(exclude=True)
    def post(self, request):
        return json_response({"ok": True}, 200)
