"""Sign-ins and password resets cannot be guessed or flooded at full speed."""

import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from tests import factories

pytestmark = pytest.mark.django_db


def sign_in(client, username, password, address="203.0.113.7"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.fixture
def rep():
    user = factories.sales_rep(username=f"rep-{uuid.uuid4().hex[:8]}")
    user.set_password("the-right-password-42")
    user.save()
    return user


def test_wrong_passwords_lock_the_account_even_against_the_right_one(rep, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, rep.username, "guess").status_code == 200
    assert sign_in(client, rep.username, "guess").status_code == 429
    response = sign_in(client, rep.username, "the-right-password-42")
    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_account_lockout_holds_from_another_address(rep, settings):
    for number in range(settings.AXES_FAILURE_LIMIT):
        sign_in(Client(), rep.username, "guess", address=f"198.51.100.{number + 1}")
    assert sign_in(Client(), rep.username, "the-right-password-42", address="192.0.2.99").status_code == 429


def test_one_address_guessing_many_accounts_is_locked_out(rep, settings):
    client = Client()
    for number in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, f"nobody-{number}", "guess", address="203.0.113.50")
    assert sign_in(client, rep.username, "the-right-password-42", address="203.0.113.50").status_code == 429


def test_the_lockout_expires_after_the_cool_off(rep, settings):
    from axes.models import AccessAttempt

    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, rep.username, "guess")
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    response = sign_in(client, rep.username, "the-right-password-42")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(rep.pk)


def test_password_reset_mails_are_throttled_per_address(settings):
    user = factories.sales_rep(username=f"r-{uuid.uuid4().hex[:8]}", email=f"{uuid.uuid4().hex[:12]}@example.com")
    client = Client()
    for _ in range(20):
        response = client.post("/accounts/password_reset/", {"email": user.email})
        assert response.status_code == 302  # the same answer every time
    assert len([message for message in mail.outbox if user.email in message.to]) == settings.FUNNEL_PASSWORD_RESET_LIMIT
