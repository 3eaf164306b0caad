"""One error envelope for the whole API:
{"error": {"code": "<snake_case>", "message": "<for a person>", "fields": {...}}}."""

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .errors import FunnelError


class ApiError(exceptions.APIException):
    """Raise from a view or service adapter to answer with a specific code."""

    def __init__(self, *, code: str, message: str, status_code: int = 400, fields: dict | None = None, extra=None):
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.message = message
        self.fields = fields or {}
        self.extra = extra or {}


def error_body(code: str, message: str, fields: dict | None = None, **extra) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}, **extra}}


def error_response(code: str, message: str, status_code: int, fields: dict | None = None, **extra) -> Response:
    return Response(error_body(code, message, fields, **extra), status=status_code)


def _flatten_fields(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF nests errors like its input; the envelope names each field by a dotted path."""
    fields: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors" and not prefix:
                name = "non_field_errors"
            fields.update(_flatten_fields(value, name))
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            fields[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                fields.update(_flatten_fields(item, f"{prefix}.{index}" if prefix else str(index)))
    else:
        fields[prefix or "non_field_errors"] = [str(detail)]
    return fields


def api_exception_handler(exc, context):
    if isinstance(exc, FunnelError):
        # A service's refusal (a refused stage move is 409 stage_move_refused with its stages).
        return error_response(exc.code, exc.message, exc.http_status, exc.fields, **exc.extra)
    if isinstance(exc, ApiError):
        return error_response(exc.error_code, exc.message, exc.status_code, exc.fields, **exc.extra)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten_fields(exc.detail)
        first = next(iter(fields), "")
        message = f"{first}: {fields[first][0]}" if first else "The request is not valid."
        response.data = error_body("invalid", message, fields)
    else:
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        response.data = error_body(str(code), str(exc.detail))
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        response["WWW-Authenticate"] = 'Bearer realm="funnel"'
    return response


def json_not_found(request, exception=None):
    return JsonResponse(error_body("not_found", "No such resource."), status=404)


def json_server_error(request):
    return JsonResponse(error_body("server_error", "Something went wrong on our side; try again."), status=500)


# The envelope's one documented shape, for every app's OpenAPI responses.
class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    taken_by = serializers.CharField(required=False, allow_null=True, help_text="alert_already_taken only.")
    alert_status = serializers.CharField(required=False, help_text="alert_already_taken only.")


class ErrorEnvelopeSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()
