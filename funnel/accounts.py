"""Password reset with its mails throttled per address: the form answers the same
whether or not a mail went out, so it tells nobody which addresses have accounts,
and a script cannot use it to flood someone's inbox."""

import hashlib
import time

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.views import PasswordResetView
from django.core.cache import cache


def take_reset_mail_slot(email: str) -> bool:
    """Count one reset mail for `email`; False once the window's limit is reached."""
    window = max(1, settings.FUNNEL_PASSWORD_RESET_WINDOW)
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    key = f"funnel:reset-mail:{digest}:{int(time.time() // window)}"
    # add() then incr() is atomic on Redis (SET NX, INCR), as the API rate limit does.
    if cache.add(key, 1, timeout=window + 1):
        return True
    try:
        return cache.incr(key) <= settings.FUNNEL_PASSWORD_RESET_LIMIT
    except ValueError:  # expired between add() and incr()
        return cache.add(key, 1, timeout=window + 1)


class ThrottledPasswordResetForm(PasswordResetForm):
    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email, **kwargs):
        if take_reset_mail_slot(to_email):
            super().send_mail(subject_template_name, email_template_name, context, from_email, to_email, **kwargs)


class ThrottledPasswordResetView(PasswordResetView):
    form_class = ThrottledPasswordResetForm
