from django.urls import path

from . import settings_views, views

app_name = "sales"

urlpatterns = [
    path("queue/", views.queue, name="queue"),
    path("queue/alerts/<int:alert_id>/accept/", views.accept, name="accept"),
    path("queue/alerts/<int:alert_id>/reject/", views.reject, name="reject"),
    path("queue/alerts/<int:alert_id>/reassign/", views.reassign, name="reassign"),
    path("queue/leads/<int:lead_id>/", views.queue_lead, name="queue_lead"),
    path("queue/leads/<int:lead_id>/activities/", views.log_activity, name="log_activity"),
    path("queue/leads/<int:lead_id>/qualify/", views.qualify, name="qualify"),
    path("queue/leads/<int:lead_id>/proposal/<str:mark>/", views.proposal, name="proposal"),
    path("queue/leads/<int:lead_id>/win/", views.win, name="win"),
    path("queue/leads/<int:lead_id>/lose/", views.lose, name="lose"),
    path("queue/leads/<int:lead_id>/nurture/", views.back_to_nurture, name="back_to_nurture"),
    path("my-leads/", views.my_leads, name="my_leads"),
    path("notifications/", views.notifications, name="notifications"),
    path("settings/", settings_views.settings_page, name="settings"),
    path("settings/api-keys/", settings_views.create_key, name="create_key"),
    path("settings/api-keys/<int:key_id>/revoke/", settings_views.revoke_key, name="revoke_key"),
    path("settings/webhooks/", settings_views.create_webhook, name="create_webhook"),
    path(
        "settings/webhooks/<int:endpoint_id>/deactivate/", settings_views.deactivate_webhook, name="deactivate_webhook"
    ),
]
