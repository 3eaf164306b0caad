"""Segment's tracking API paths, long and short (the browser SDK's), under /v1/."""

from funnel.routing import api_path

from .segment import CALLS, SHORT_FORMS, view_for

urlpatterns = [api_path(name, view_for(name), name=f"segment-{name}") for name in sorted(CALLS | {"batch"})] + [
    api_path(short, view_for(short), name=f"segment-{short}") for short in sorted(SHORT_FORMS)
]
