"""Production settings are judged in a fresh process, as a deployment would start."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.smoke


def manage(*args, **env):
    clean = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "DEBUG", "FUNNEL_DEV", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True
    )


def test_production_settings_pass_the_deployment_checklist_without_warnings():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY="x" * 30 + "prod-secret-key-" + "y" * 30,
        ALLOWED_HOSTS="funnel.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_funnel_refuses_to_start_in_production_without_a_secret_key():
    result = manage("check", DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_funnel_with_nothing_set_starts_as_production_and_refuses_without_a_secret_key():
    result = manage("check")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_a_short_secret_key_is_refused_naming_the_variable():
    result = manage("check", SECRET_KEY="too-short-" * 3)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr and "50 characters" in result.stderr


def test_the_public_development_key_is_refused_in_production():
    result = manage("check", SECRET_KEY="funnel-development-only-key-not-for-production-use-0123456789")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_development_defaults_are_asked_for_with_funnel_dev():
    result = manage("check", FUNNEL_DEV="1")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dockerfile_and_compose_agree_debug_is_off_and_the_secret_key_has_no_default():
    dockerfile = (ROOT / "Dockerfile").read_text()
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert "ENV DEBUG=0" in dockerfile and "SECRET_KEY" not in dockerfile.split("ENV DEBUG=0")[1]
    for name in ("web", "worker", "beat"):
        environment = compose["services"][name]["environment"]
        assert environment["DEBUG"] == "0"
        assert environment["SECRET_KEY"].startswith("${SECRET_KEY:?")


def base_url_seen_by(**env):
    clean = {key: value for key, value in os.environ.items() if key not in {"FUNNEL_BASE_URL", "FUNNEL_WEB_PORT"}}
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.FUNNEL_BASE_URL)"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "funnel.settings", **env},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_worker_under_make_run_links_to_the_web_port_not_its_own():
    # honcho gives the worker PORT=web+100; the Makefile passes the web's port along.
    assert base_url_seen_by(PORT="8865", FUNNEL_WEB_PORT="8765") == "http://127.0.0.1:8765"


def test_make_run_binds_the_web_server_to_the_port_it_passes_to_the_worker():
    makefile = (ROOT / "Makefile").read_text()
    procfile = (ROOT / "Procfile").read_text()
    assert "export FUNNEL_WEB_PORT" in makefile
    web = next(line for line in procfile.splitlines() if line.startswith("web:"))
    assert "${FUNNEL_WEB_PORT" in web


def test_an_explicit_base_url_wins():
    assert base_url_seen_by(PORT="8865", FUNNEL_BASE_URL="https://funnel.example.com/") == "https://funnel.example.com"


def test_the_test_suite_has_a_broker_folder_of_its_own_beside_make_run(settings):
    # `make run` in the same checkout has its worker on var/broker: sharing the folder, it
    # took the tasks of the suite's real-worker tests (run against another database).
    assert settings.BROKER_DIR != settings.VAR_DIR / "broker"
    assert settings.BROKER_DIR.name == "test-broker"
