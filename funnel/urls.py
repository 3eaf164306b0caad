from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views
from .accounts import ThrottledPasswordResetView

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/password_reset/", ThrottledPasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("leads.api_urls")),
    path("api/v1/", include("events.api_urls")),
    path("api/v1/", include("scoring.api_urls")),
    path("api/v1/", include("sales.api_urls")),
    path("api/v1/", include("analytics.api_urls")),
    path("api/v1/", include("attribution.api_urls")),
    path("v1/", include("events.segment_urls")),
    path("", include("leads.urls")),
    path("", include("events.urls")),
    path("", include("scoring.urls")),
    path("", include("sales.urls")),
    path("", include("analytics.urls")),
    path("", include("attribution.urls")),
    path("healthz", views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page says; send them to the icon.
    path("favicon.ico", views.favicon, name="favicon"),
]

handler403 = "funnel.views.permission_denied"
handler404 = "funnel.views.not_found"
handler500 = "funnel.views.server_error"
