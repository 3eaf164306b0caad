from django.conf import settings

from funnel.routing import api_path

from . import api

urlpatterns = [
    api_path("events", api.EventsView.as_view(), name="api-events"),
]

if settings.FUNNEL_BENCH_NOOP:
    urlpatterns.append(api_path("bench/noop", api.NoopView.as_view(), name="api-bench-noop"))
