from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse

from .roles import home_url_name


@login_required
def home(request):
    try:
        return redirect(reverse(home_url_name(request.user)))
    except NoReverseMatch:
        return redirect(reverse("pipeline"))


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
