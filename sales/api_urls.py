from funnel.routing import api_path

from . import api

urlpatterns = [
    api_path("queue", api.QueueView.as_view(), name="api-queue"),
    api_path("queue/<int:alert_id>/accept", api.AcceptView.as_view(), name="api-queue-accept"),
    api_path("queue/<int:alert_id>/reject", api.RejectView.as_view(), name="api-queue-reject"),
]
