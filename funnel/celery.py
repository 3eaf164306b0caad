import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "funnel.settings")

app = Celery("funnel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The default app in every thread (a dev server's request threads too), so services send
# tasks through `celery.current_app` without importing this project module.
app.set_default()
