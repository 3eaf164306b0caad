"""/settings/: API keys and outbound webhooks, for admins only.

A new API key or webhook secret is rendered in the answer to the POST that created it
and nowhere else: it is never stored in a readable form, so it cannot be shown again."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from events.models import ApiKey, Scope
from events.services import InvalidScopes, create_api_key, revoke_api_key
from leads import access

from . import selectors
from .errors import InvalidSalesInput
from .models import WebhookEndpoint, WebhookEventType
from .webhooks import create_webhook_endpoint, deactivate_webhook_endpoint


def admin_only(view):
    def wrapper(request, *args, **kwargs):
        if not access.can_manage_keys(request.user):
            raise PermissionDenied("Only admins manage API keys and webhooks.")
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return login_required(wrapper)


def _page(request, *, status: int = 200, **extra):
    context = {
        "api_keys": selectors.api_keys_for_settings(),
        "endpoints": selectors.webhook_endpoints_for_settings(),
        "deliveries": selectors.recent_deliveries(),
        "scopes": Scope.choices,
        "event_types": WebhookEventType.choices,
        "users": get_user_model().objects.filter(is_active=True).order_by("username"),
        **extra,
    }
    return render(request, "settings/index.html", context, status=status)


@admin_only
@require_GET
def settings_page(request):
    return _page(request)


@admin_only
@require_POST
def create_key(request):
    name = request.POST.get("name", "").strip()
    scopes = request.POST.getlist("scopes")
    user_id = request.POST.get("user") or None
    errors = {}
    if not name:
        errors["key_name"] = "Give the key a name that says who uses it."
    if not scopes:
        errors["key_scopes"] = "Pick at least one scope."
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first() if user_id else None
    if user_id and user is None:
        errors["key_user"] = "Pick an active user."
    if not errors:
        try:
            api_key, raw = create_api_key(
                name=name, scopes=scopes, user=user, created_by=request.user, public=request.POST.get("public") == "1"
            )
        except InvalidScopes as error:
            errors["key_scopes"] = str(error)
        else:
            return _page(request, new_key=raw, new_key_name=api_key.name)
    return _page(request, status=400, key_errors=errors, key_form=request.POST)


@admin_only
@require_POST
def revoke_key(request, key_id: int):
    api_key = get_object_or_404(ApiKey, pk=key_id)
    revoke_api_key(api_key=api_key, actor=request.user)
    messages.success(request, f"Revoked “{api_key.name}”.")
    return redirect("sales:settings")


@admin_only
@require_POST
def create_webhook(request):
    try:
        endpoint, secret = create_webhook_endpoint(
            url=request.POST.get("url", ""),
            event_types=request.POST.getlist("event_types"),
            description=request.POST.get("description", ""),
            created_by=request.user,
        )
    except InvalidSalesInput as error:
        problems = {field: " ".join(messages_) for field, messages_ in error.fields.items()}
        return _page(request, status=400, webhook_errors=problems, webhook_form=request.POST)
    return _page(request, new_secret=secret, new_secret_url=endpoint.url)


@admin_only
@require_POST
def deactivate_webhook(request, endpoint_id: int):
    endpoint = get_object_or_404(WebhookEndpoint, pk=endpoint_id)
    deactivate_webhook_endpoint(endpoint=endpoint)
    messages.success(request, f"Stopped sending to {endpoint.url}.")
    return redirect("sales:settings")
