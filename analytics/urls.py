from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    path("analytics/funnel/", views.funnel, name="funnel"),
    path("analytics/funnel/<slug:key>.csv", views.funnel_csv, name="funnel-csv"),
    path("analytics/event-types/", views.event_types, name="event-types"),
]
