from django.urls import path

from . import model_views, views

app_name = "scoring"

urlpatterns = [
    path("scoring/rules/", views.rule_list, name="rules"),
    path("scoring/rules/new/", views.rule_create, name="rule-create"),
    path("scoring/rules/<int:pk>/edit/", views.rule_edit, name="rule-edit"),
    path("scoring/rules/<int:pk>/toggle/", views.rule_toggle, name="rule-toggle"),
    path("scoring/rules/<int:pk>/move/", views.rule_move, name="rule-move"),
    path("scoring/rules/thresholds/", views.thresholds, name="thresholds"),
    path("scoring/rules/previews/<int:pk>/", views.preview, name="preview"),
    path("scoring/rules/previews/<int:pk>/progress/", views.preview_progress, name="preview-progress"),
    path("scoring/rules/previews/<int:pk>/publish/", views.preview_publish, name="preview-publish"),
    path("scoring/rules/previews/<int:pk>/restart/", views.preview_restart, name="preview-restart"),
    path("scoring/rules/rescore-progress/", views.rescore_progress, name="rescore-progress"),
    path("scoring/model/", model_views.model_page, name="model"),
    path("scoring/model/train/", model_views.model_train, name="model-train"),
    path("scoring/model/trainings/<int:pk>/", model_views.model_progress, name="model-progress"),
    path("scoring/model/v<int:version>.csv", model_views.model_csv, name="model-csv"),
]
