from django.urls import path

from . import views

urlpatterns = [
    path("pipeline/", views.pipeline, name="pipeline"),
    path("leads/", views.lead_list, name="lead_list"),
    path("leads/export.csv", views.lead_export, name="lead_export"),
    path("leads/bulk/", views.lead_bulk, name="lead_bulk"),
    path("leads/new/", views.lead_create, name="lead_create"),
    path("leads/import/", views.import_upload, name="import_upload"),
    path("leads/import/<int:job_id>/", views.import_mapping, name="import_mapping"),
    path("leads/import/<int:job_id>/status/", views.import_status, name="import_status"),
    path("leads/import/<int:job_id>/errors.csv", views.import_errors, name="import_errors"),
    path("leads/<int:lead_id>/", views.lead_detail, name="lead_detail"),
    path("leads/<int:lead_id>/edit/", views.lead_edit, name="lead_edit"),
    path("leads/<int:lead_id>/move/", views.lead_move, name="lead_move"),
    path("leads/<int:lead_id>/merge/", views.lead_merge, name="lead_merge"),
    path("leads/<int:lead_id>/erase/", views.lead_erase, name="lead_erase"),
]
