"""In-app notifications, each mirrored by an email through Django's email backend."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format

from .models import Notification


def notify(
    *, user, kind: str, title: str, body: str = "", url: str = "", alert=None, email: bool = True, doorbell=None
):
    """Tell `user` something. The email goes out after commit through a task, so a slow
    mail server never holds a transaction and a rolled-back change mails nobody.
    With a `doorbell` (sales.doorbell.Doorbell) the email rides on its one message."""
    if user is None or not user.is_active:
        return None
    notification = Notification.objects.create(
        user=user, kind=kind, title=title[:200], body=body, url=url[:300], alert=alert
    )
    if email and user.email and doorbell is not None:
        doorbell.notification_ids.append(notification.pk)
    elif email and user.email:

        def ring():
            from .tasks import email_notification  # tasks.py imports this module (Celery's registration): lazy here

            try:
                email_notification.delay(notification.pk)
            except Exception:  # noqa: BLE001 - an unreachable broker must not fail the change
                pass

        transaction.on_commit(ring)
    return notification


def due_text(due_at) -> str:
    """A due time as the pages write it, with its zone (a mail has no browser zone):
    every notice about an SLA writes it this one way."""
    moment = timezone.localtime(due_at)
    return f"{date_format(moment, 'j M Y H:i')} {moment.tzname()}"


def email_notification_now(*, notification_id: int) -> bool:
    """Send one notification's email, at most once (the conditional UPDATE claims it)."""
    claimed = Notification.objects.filter(pk=notification_id, emailed_at__isnull=True).update(emailed_at=timezone.now())
    if not claimed:
        return False
    notification = Notification.objects.select_related("user").get(pk=notification_id)
    link = f"\n\n{settings.FUNNEL_BASE_URL}{notification.url}" if notification.url else ""
    send_mail(
        subject=f"[Funnel] {notification.title}",
        message=f"{notification.body}{link}".strip(),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[notification.user.email],
    )
    return True


def read_alert_notifications(*, alert_id: int) -> int:
    """Once someone acts on an alert (accepts, rejects), its notifications ("New MQL
    assigned to you", "due soon") have nothing left to ask of anyone: mark them read."""
    return Notification.objects.filter(alert_id=alert_id, read_at__isnull=True).update(read_at=timezone.now())


def mark_notifications_read(*, user, notification_id: int | None = None) -> int:
    """Mark one of `user`'s notifications read, or all of them."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_id is not None:
        unread = unread.filter(pk=notification_id)
    return unread.update(read_at=timezone.now())
