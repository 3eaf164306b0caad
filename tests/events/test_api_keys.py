import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from events.auth import find_api_key
from events.models import ApiKey, Scope
from events.permissions import require_scope
from events.services import create_api_key, revoke_api_key

pytestmark = pytest.mark.django_db


class LeadsReadView(APIView):
    permission_classes = [require_scope(Scope.LEADS_READ)]

    def get(self, request):
        return Response({"ok": True})


class RulesWriteView(APIView):
    permission_classes = [require_scope(Scope.RULES_WRITE)]

    def get(self, request):
        return Response({"ok": True})


def call(view, key=None, user=None):
    request = APIRequestFactory().get("/x", HTTP_AUTHORIZATION=f"Bearer {key}" if key else "")
    if user is not None:
        force_authenticate(request, user=user)
    return view.as_view()(request)


@pytest.mark.smoke
def test_a_new_key_is_stored_only_as_prefix_and_sha256_of_its_secret():
    api_key, raw = create_api_key(name="Website", scopes=["events:write"])
    fk, prefix, secret = raw.split("_", 2)
    assert fk == "fk" and prefix == api_key.prefix and len(prefix) == 8
    assert api_key.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiKey.objects.values().get(pk=api_key.pk))


def test_an_unknown_scope_is_refused():
    with pytest.raises(ValueError, match="Unknown scopes: leads:delete"):
        create_api_key(name="Bad", scopes=["leads:delete"])


@pytest.mark.smoke
def test_a_key_with_the_scope_is_let_in():
    _, raw = create_api_key(name="Reader", scopes=["leads:read"])
    assert call(LeadsReadView, raw).status_code == 200


def test_a_missing_key_is_401_with_www_authenticate_bearer():
    response = call(LeadsReadView)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.data["error"]["code"] == "not_authenticated"


def test_a_key_with_a_wrong_secret_is_401():
    _, raw = create_api_key(name="Reader", scopes=["leads:read"])
    response = call(LeadsReadView, raw[:-1] + ("x" if raw[-1] != "x" else "y"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.data["error"]["code"] == "authentication_failed"


def test_a_revoked_key_is_treated_as_unknown(admin):
    api_key, raw = create_api_key(name="Reader", scopes=["leads:read"])
    revoke_api_key(api_key=api_key, actor=admin)
    assert call(LeadsReadView, raw).status_code == 401


def test_a_key_without_the_scope_is_403():
    _, raw = create_api_key(name="Ingest", scopes=["events:write"])
    response = call(LeadsReadView, raw)
    assert response.status_code == 403
    assert response.data["error"]["code"] == "missing_scope"


def test_the_admin_scope_implies_every_other_scope():
    _, raw = create_api_key(name="Root", scopes=["admin"])
    assert call(RulesWriteView, raw).status_code == 200


def test_a_key_bound_to_a_rep_cannot_edit_rules_even_with_the_scope(rep1):
    _, raw = create_api_key(name="Rep's script", scopes=["rules:write"], user=rep1)
    response = call(RulesWriteView, raw)
    assert response.status_code == 403
    assert response.data["error"]["code"] == "role_not_allowed"


def test_a_key_bound_to_a_marketer_may_edit_rules(marketer):
    _, raw = create_api_key(name="Marketer's script", scopes=["rules:write"], user=marketer)
    assert call(RulesWriteView, raw).status_code == 200


def test_a_session_is_judged_by_role_alone(rep1, marketer):
    assert call(RulesWriteView, user=rep1).status_code == 403
    assert call(RulesWriteView, user=marketer).status_code == 200


def test_last_used_at_is_written_at_most_once_a_minute():
    api_key, raw = create_api_key(name="Reader", scopes=["leads:read"])
    find_api_key(raw)
    first = ApiKey.objects.get(pk=api_key.pk).last_used_at
    assert first is not None
    find_api_key(raw)
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == first
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    find_api_key(raw)
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at > first


def test_authenticating_a_busy_key_costs_one_query(django_assert_num_queries):
    _, raw = create_api_key(name="Reader", scopes=["leads:read"])
    find_api_key(raw)
    with django_assert_num_queries(1):
        assert find_api_key(raw) is not None


def test_the_command_prints_the_key_alone_on_its_last_line(marketer):
    out = StringIO()
    call_command(
        "create_api_key",
        "CLI",
        "--scopes",
        "events:write,leads:read",
        "--user",
        "marketer",
        stdout=out,
        stderr=StringIO(),
    )
    raw = out.getvalue().strip().splitlines()[-1]
    api_key = find_api_key(raw)
    assert api_key.name == "CLI" and api_key.user == marketer
    assert api_key.scopes == ["events:write", "leads:read"]


def test_the_command_refuses_an_unknown_user():
    with pytest.raises(CommandError, match="No user named"):
        call_command("create_api_key", "CLI", "--scopes", "events:write", "--user", "nobody", stderr=StringIO())
