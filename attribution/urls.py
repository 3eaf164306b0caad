from django.urls import path

from . import views

app_name = "attribution"

urlpatterns = [
    path("analytics/attribution/", views.attribution, name="report"),
    path("analytics/attribution/<slug:key>.csv", views.attribution_csv, name="csv"),
    path("analytics/attribution/campaign/", views.campaign, name="campaign"),
    path("analytics/attribution/spend/", views.spend, name="spend"),
    path("analytics/attribution/channels/", views.channel_rules, name="channels"),
]
