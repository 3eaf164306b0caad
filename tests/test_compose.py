"""docker-compose.yml cannot run here (no Docker engine); this checks what `docker compose
config` would: it parses, every service is present and the app services share one config."""

from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parent.parent / "docker-compose.yml"


def load():
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_file_runs_the_whole_stack():
    assert set(load()["services"]) == {"postgres", "redis", "web", "worker", "ingest", "beat"}


def test_app_services_point_at_the_compose_database_and_redis():
    services = load()["services"]
    for name in ("web", "worker", "ingest", "beat"):
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgres://")
        assert environment["REDIS_URL"].startswith("redis://redis:")
        assert "SECRET_KEY" in environment


def test_app_services_wait_for_healthy_backing_services():
    services = load()["services"]
    for name in ("web", "worker", "ingest", "beat"):
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_worker_and_beat_come_back_by_themselves_and_hold_no_auto_delete_broker_queues():
    services = load()["services"]
    for name in ("web", "worker", "ingest", "beat"):
        assert services[name]["restart"] == "unless-stopped"
    # Gossip, mingle and heartbeat channels crash the worker's reconnect after a Redis restart.
    for name in ("worker", "ingest"):
        assert "--without-gossip --without-mingle --without-heartbeat" in services[name]["command"]


def test_worker_links_point_at_the_published_web_port():
    services = load()["services"]
    assert "${PORT:-8000}" in services["worker"]["environment"]["FUNNEL_BASE_URL"]
    assert services["web"]["ports"] == ["${PORT:-8000}:8000"]
