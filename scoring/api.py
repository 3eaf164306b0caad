"""GET|POST /api/v1/scoring-rules, GET|PATCH|DELETE /api/v1/scoring-rules/{id}.

Reads need `leads:read`, writes `rules:write` (events.permissions: a key's scopes
intersected with its user's role). Every write goes through scoring.rules, which makes
a new version and starts the background rescore."""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from events.models import ApiKey, Scope
from events.permissions import ScopePermission
from funnel.api_errors import ApiError, ErrorEnvelopeSerializer

from . import rules, selectors
from .models import ScoringRule
from .serializers import (
    RescoreJobSerializer,
    ScoringRuleInputSerializer,
    ScoringRuleListSerializer,
    ScoringRuleSerializer,
)

SCOPES = {"GET": Scope.LEADS_READ, "POST": Scope.RULES_WRITE, "PATCH": Scope.RULES_WRITE, "DELETE": Scope.RULES_WRITE}


RULE_ID = OpenApiParameter("rule_id", int, OpenApiParameter.PATH, description="The rule's id.")


def _errors(*codes: int) -> dict:
    why = {
        400: "Bad input; `fields` names what is wrong.",
        401: "No API key or session, or an unknown or revoked key.",
        403: "The key lacks the scope (leads:read to read, rules:write to change), or the role does not allow it.",
        404: "No such scoring rule (or an archived one).",
    }
    return {code: OpenApiResponse(ErrorEnvelopeSerializer, description=why[code]) for code in codes}


def _author(request) -> dict:
    """Who changed the rule, for its version row: the person, or the key and its user."""
    user = request.user if isinstance(request.user, get_user_model()) else None
    if isinstance(request.auth, ApiKey):
        return {"user": request.auth.user, "label": f"API key {request.auth.name}"}
    return {"user": user, "label": ""}


def _body(request) -> dict:
    if not isinstance(request.data, dict):
        raise ApiError(
            code="invalid", message="The body must be a JSON object.", fields={"non_field_errors": ["A JSON object."]}
        )
    return dict(request.data)


def _refused(error: rules.RuleInvalid) -> ApiError:
    first = next(iter(error.fields))
    return ApiError(code="invalid", message=f"{first}: {error.fields[first][0]}", fields=error.fields)


def _rule(rule_id: int) -> ScoringRule:
    rule = selectors.rules_for_listing().filter(pk=rule_id).first()
    if rule is None:
        raise ApiError(code="not_found", message="No such scoring rule.", status_code=404)
    return rule


class ScoringRuleListView(APIView):
    permission_classes = [ScopePermission]
    required_scopes = SCOPES

    @extend_schema(operation_id="scoring_rules_list", responses={200: ScoringRuleListSerializer, **_errors(401, 403)})
    def get(self, request):
        listed = list(selectors.rules_for_listing())
        job = selectors.latest_rescore_job()
        return Response(
            {
                "results": ScoringRuleSerializer(listed, many=True).data,
                "count": len(listed),
                "rescore_job": RescoreJobSerializer(job).data if job else None,
            }
        )

    @extend_schema(
        operation_id="scoring_rules_create",
        request=ScoringRuleInputSerializer,
        responses={201: ScoringRuleSerializer, **_errors(400, 401, 403)},
    )
    def post(self, request):
        try:
            rule = rules.create_rule(data=_body(request), **_author(request))
        except rules.RuleInvalid as error:
            raise _refused(error) from error
        return Response(ScoringRuleSerializer(rule).data, status=status.HTTP_201_CREATED)


@extend_schema(parameters=[RULE_ID])
class ScoringRuleDetailView(APIView):
    permission_classes = [ScopePermission]
    required_scopes = SCOPES

    @extend_schema(
        operation_id="scoring_rule_retrieve", responses={200: ScoringRuleSerializer, **_errors(401, 403, 404)}
    )
    def get(self, request, rule_id: int):
        return Response(ScoringRuleSerializer(_rule(rule_id)).data)

    @extend_schema(
        operation_id="scoring_rule_update",
        request=ScoringRuleInputSerializer(partial=True),
        responses={200: ScoringRuleSerializer, **_errors(400, 401, 403, 404)},
    )
    def patch(self, request, rule_id: int):
        rule = _rule(rule_id)
        try:
            rule = rules.update_rule(rule=rule, changes=_body(request), **_author(request))
        except rules.RuleInvalid as error:
            raise _refused(error) from error
        return Response(ScoringRuleSerializer(rule).data)

    @extend_schema(operation_id="scoring_rule_delete", responses={204: None, **_errors(401, 403, 404)})
    def delete(self, request, rule_id: int):
        rules.delete_rule(rule=_rule(rule_id), **_author(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
