"""Outbound webhooks only go out: no private addresses, no redirects, one deadline."""

import socket
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client

from sales.errors import InvalidSalesInput
from sales.models import DeliveryStatus, WebhookDelivery
from sales.outbound import address_is_public
from sales.webhooks import LEASE_SLACK, attempt_delivery, create_webhook_endpoint, emit_webhook_event

pytestmark = pytest.mark.django_db


@contextmanager
def serving(handler_class, tls=None):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    server.hits = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def handler(answer):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.server.hits.append(self.path)
            answer(self)

        def do_GET(self):
            self.server.hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    return Handler


def url_of(server, path="/hook") -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def queued_delivery(url: str, settings) -> WebhookDelivery:
    settings.FUNNEL_WEBHOOK_ALLOW_PRIVATE = True
    create_webhook_endpoint(url=url, event_types=["lead.mql"])
    (delivery,) = emit_webhook_event(event_type="lead.mql", data={"lead": {"id": 1}})
    return delivery


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5432/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:6379/",
        "http://localhost:8000/admin/",
        "http://[::ffff:127.0.0.1]/",
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://[fe80::1]/",
        "http://[fd00:ec2::254]/",
    ],
)
def test_registering_a_webhook_to_an_internal_address_is_refused(url):
    with pytest.raises(InvalidSalesInput) as refused:
        create_webhook_endpoint(url=url, event_types=["lead.mql"])
    assert "private" in refused.value.fields["url"][0]


def test_public_addresses_pass_the_policy():
    assert address_is_public("8.8.8.8")
    assert address_is_public("2606:4700:4700::1111")
    assert not address_is_public("::ffff:169.254.169.254")


def test_the_settings_page_refuses_an_internal_url_next_to_the_field(admin):
    client = Client()
    client.force_login(admin)
    response = client.post("/settings/webhooks/", {"url": "http://127.0.0.1:5432/", "event_types": ["lead.mql"]})
    assert response.status_code == 400
    assert "private" in response.content.decode()


def test_local_receivers_are_allowed_only_with_the_explicit_setting(settings):
    settings.FUNNEL_WEBHOOK_ALLOW_PRIVATE = True
    endpoint, _secret = create_webhook_endpoint(url="http://127.0.0.1:9/hook", event_types=["lead.mql"])
    assert endpoint.pk


def test_a_send_is_checked_again_and_refused_when_the_address_is_private(settings):
    with serving(handler(lambda request: (request.send_response(200), request.end_headers()))) as server:
        delivery = queued_delivery(url_of(server), settings)
        settings.FUNNEL_WEBHOOK_ALLOW_PRIVATE = False
        attempt_delivery(delivery_id=delivery.delivery_id)
        assert server.hits == []
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_error) == (DeliveryStatus.PENDING, "refused: private address")


def test_a_send_looks_the_name_up_once_and_connects_to_that_address(settings, monkeypatch):
    lookups = []
    real = socket.getaddrinfo

    def counting(host, *args, **kwargs):
        lookups.append(host)
        return real(host, *args, **kwargs)

    with serving(handler(lambda request: (request.send_response(204), request.end_headers()))) as server:
        delivery = queued_delivery(f"http://localhost:{server.server_address[1]}/hook", settings)
        monkeypatch.setattr(socket, "getaddrinfo", counting)
        attempt_delivery(delivery_id=delivery.delivery_id)
        assert server.hits == ["/hook"]
    # The connection asks getaddrinfo only about the checked literal address (no DNS).
    assert [host for host in lookups if host != "127.0.0.1"] == ["localhost"]
    assert lookups.count("localhost") == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED


def test_a_redirect_is_not_followed_and_counts_as_a_failed_attempt(settings):
    with serving(handler(lambda request: None)) as inside:

        def redirect(request):
            request.send_response(302)
            request.send_header("Location", url_of(inside, "/latest/meta-data/"))
            request.send_header("Content-Length", "0")
            request.end_headers()

        with serving(handler(redirect)) as outside:
            delivery = queued_delivery(url_of(outside), settings)
            attempt_delivery(delivery_id=delivery.delivery_id)
        assert inside.hits == []
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert (delivery.last_status_code, delivery.attempts) == (302, 1)
    assert delivery.last_error.startswith("HTTP 302")


def test_a_slow_receiver_cannot_hold_an_attempt_past_its_deadline_or_its_lease(settings):
    settings.FUNNEL_WEBHOOK_TIMEOUT = 1

    def trickle(request):
        # Each byte comes well inside a per-read timeout; the whole takes 4 s.
        request.wfile.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(8):
            time.sleep(0.5)
            try:
                request.wfile.write(b"X-Slow: 1\r\n")
                request.wfile.flush()
            except OSError:
                return

    with serving(handler(trickle)) as server:
        delivery = queued_delivery(url_of(server), settings)
        started = time.monotonic()
        attempt_delivery(delivery_id=delivery.delivery_id)
        elapsed = time.monotonic() - started
    assert elapsed < 2.0
    assert elapsed < settings.FUNNEL_WEBHOOK_TIMEOUT + LEASE_SLACK.total_seconds()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_error) == (DeliveryStatus.PENDING, "timed out")


def test_the_settings_page_shows_a_short_error_class_not_the_socket_error(settings, admin):
    delivery = queued_delivery("http://127.0.0.1:9/closed", settings)
    attempt_delivery(delivery_id=delivery.delivery_id)
    delivery.refresh_from_db()
    assert delivery.last_error == "connection failed"
    client = Client()
    client.force_login(admin)
    page = client.get("/settings/").content.decode()
    assert "connection failed" in page
    assert "Errno" not in page and "Connection refused" not in page


def test_an_http_error_is_shown_as_its_status(settings):
    def fail(request):
        request.send_response(500)
        request.send_header("Content-Length", "0")
        request.end_headers()

    with serving(handler(fail)) as server:
        delivery = queued_delivery(url_of(server), settings)
        attempt_delivery(delivery_id=delivery.delivery_id)
    delivery.refresh_from_db()
    assert delivery.last_error == "HTTP 500"


def self_signed_certificate(directory) -> tuple[str, str]:
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


def test_https_is_verified_against_the_name_while_connecting_to_the_checked_address(settings, tmp_path):
    import ssl

    cert, key = self_signed_certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with serving(handler(lambda request: (request.send_response(200), request.end_headers())), tls=context) as server:
        delivery = queued_delivery(f"https://localhost:{server.server_address[1]}/hook", settings)
        attempt_delivery(delivery_id=delivery.delivery_id)
        assert server.hits == []
    delivery.refresh_from_db()
    # A certificate no authority signed is refused: the TLS check ran, and for the name.
    assert delivery.last_error == "TLS error"
