"""The one way Funnel calls a URL that an admin typed in: out to the internet only.

The address policy is Python's `ipaddress` (standard library, maintained with Python):
an address is allowed only if it is global and not multicast, which refuses loopback,
private, link-local (the cloud metadata service at 169.254.169.254 among them), shared
(100.64/10), unspecified, reserved and documentation ranges, IPv4 and IPv6 alike, and an
IPv6 address that carries an IPv4 one (::ffff:127.0.0.1) is judged by the IPv4 address.
Every address a name resolves to must pass, so a name cannot smuggle one inside.

The connection goes to the address that was checked, with the name kept for the Host
header and TLS (SNI and certificate check), so no second lookup can answer differently
(DNS rebinding). Redirects are never followed. One deadline covers the whole attempt:
lookup, connect, TLS, sending and reading; a watchdog closes the socket when it passes,
so a receiver that answers one byte a second cannot hold an attempt past it.
"""

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

# Enough of the answer to see the status line; the body is never needed.
MAX_RESPONSE_BYTES = 64 * 1024
PRIVATE_REFUSAL = "refused: private address"


class OutboundRefused(Exception):
    """A URL Funnel will not call; `str()` is the short reason shown to admins."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str  # a short class of failure for /settings/, never a socket message

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _split(url: str) -> tuple[str, str, int, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused("refused: not an http(s) URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise OutboundRefused("refused: bad port") from error
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port, path


def _lookup(host: str, port: int, timeout: float) -> list[str]:
    """getaddrinfo has no timeout of its own: it runs in a thread that is waited for at most `timeout`."""
    found: list = []

    def resolve():
        try:
            found.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as error:
            found.append(error)

    worker = threading.Thread(target=resolve, daemon=True)
    worker.start()
    worker.join(max(timeout, 0.01))
    if not found:
        raise TimeoutError("lookup")
    if isinstance(found[0], OSError):
        raise OutboundRefused("DNS lookup failed") from found[0]
    addresses = list(dict.fromkeys(info[4][0] for info in found[0]))
    if not addresses:
        raise OutboundRefused("DNS lookup failed")
    return addresses


def resolve_target(url: str, *, timeout: float = 5.0) -> Target:
    """The address to connect to for `url`, or OutboundRefused. Private addresses pass
    only with FUNNEL_WEBHOOK_ALLOW_PRIVATE (local testing)."""
    scheme, host, port, path = _split(url)
    addresses = _lookup(host, port, timeout)
    if not settings.FUNNEL_WEBHOOK_ALLOW_PRIVATE and not all(address_is_public(a) for a in addresses):
        raise OutboundRefused(PRIVATE_REFUSAL)
    return Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address; `host` only names the Host header."""

    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = target.address

    def connect(self):
        raw = socket.create_connection((self._address, self.port), self.timeout)
        # SNI and the certificate check use the name; the socket is already at the address.
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


def post(url: str, *, body: bytes, headers: dict, deadline: float) -> Outcome:
    """POST `body` to `url` once, all of it within `deadline` seconds. Never raises for
    the receiver's faults: they come back as an Outcome with a short error class."""
    started = time.monotonic()
    try:
        target = resolve_target(url, timeout=deadline)
    except OutboundRefused as refused:
        return Outcome(None, str(refused))
    except TimeoutError:
        return Outcome(None, "timed out")
    remaining = deadline - (time.monotonic() - started)
    if remaining <= 0:
        return Outcome(None, "timed out")
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target, timeout=remaining)
    expired = threading.Event()

    def cut_off():
        expired.set()
        sock = connection.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    watchdog = threading.Timer(remaining, cut_off)
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.request("POST", target.path, body=body, headers={**headers, "Connection": "close"})
        response = connection.getresponse()
        response.read(MAX_RESPONSE_BYTES)
        status = response.status
    except TimeoutError:
        return Outcome(None, "timed out")
    except ssl.SSLError:
        return Outcome(None, "timed out" if expired.is_set() else "TLS error")
    except (http.client.HTTPException, OSError, ValueError):
        return Outcome(None, "timed out" if expired.is_set() else "connection failed")
    finally:
        watchdog.cancel()
        connection.close()
    if expired.is_set():
        return Outcome(None, "timed out")
    if 300 <= status < 400:
        return Outcome(status, f"HTTP {status} (redirects are not followed)")
    if not 200 <= status < 300:
        return Outcome(status, f"HTTP {status}")
    return Outcome(status, "")
