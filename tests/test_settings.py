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
