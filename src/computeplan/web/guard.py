"""ASGI guards in front of the application: the Host-header check and the request-body limit.

Both answer in the API's one error format, ``{"error": "<one line>"}`` (:func:`error_body`), so a
413 or a refused Host reads like every other error. They are plain ASGI middleware (no FastAPI
import) and cheap: a header look-up per request, a byte count per body chunk.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

#: Longest piece of client input (a field name, a Host header) echoed in an error message.
MAX_ECHO_CHARS = 60
#: Longest error message the server sends (a safety net over every message it builds).
MAX_MESSAGE_CHARS = 500
#: Seconds a slow request may take, waiting for a worker included (503 beyond): ``computeplan
#: web --max-request-seconds``.
DEFAULT_MAX_REQUEST_SECONDS = 60.0
#: Seconds a client has to send a whole request, headers and body (the connection is closed
#: beyond; against slow clients holding connections): ``computeplan web --max-read-seconds``.
DEFAULT_MAX_READ_SECONDS = 20.0
#: Connections the server holds open at once (a further one gets 503 and is closed; against
#: clients exhausting the server's sockets and memory): ``computeplan web --max-connections``.
DEFAULT_MAX_CONNECTIONS = 100
#: The names of this machine that a browser may send as Host to a loopback server.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def cap(text: str, limit: int = MAX_ECHO_CHARS) -> str:
    """``text`` cut to ``limit`` characters, marked with ``...`` and its full length if cut."""
    return text if len(text) <= limit else f"{text[:limit - 3]}... ({len(text)} characters)"


def error_body(message: str, detail=None) -> dict:
    """The API's error object: one line (capped at ``MAX_MESSAGE_CHARS``), optional details."""
    line = cap(" ".join(str(message).split()), MAX_MESSAGE_CHARS)
    return {"error": line} | ({"detail": detail} if detail is not None else {})


async def send_error(send, status: int, message: str, headers: Iterable[tuple[bytes, bytes]] = ()
                     ) -> None:
    """Send a complete JSON error response on a raw ASGI ``send``."""
    body = json.dumps(error_body(message), separators=(",", ":")).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


def host_name(header: str) -> str:
    """The host of a Host header, lower case, without port or IPv6 brackets:
    ``[::1]:8000`` -> ``::1``, ``Example.org:80`` -> ``example.org``."""
    h = header.strip().lower()
    if h.startswith("["):
        end = h.find("]")
        return h[1:end] if end > 0 else ""
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


def is_loopback(host: str) -> bool:
    """Whether a bind address reaches this machine only (``127.0.0.0/8``, ``::1``, localhost)."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _matches(name: str, pattern: str) -> bool:
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return name.endswith(pattern[1:])
    return name == pattern


class HostCheck:
    """Answer 400 to a request whose Host header is not in ``allowed`` (names or addresses;
    ``*.example.org`` matches subdomains, ``*`` anything): against DNS rebinding, a web page
    elsewhere cannot drive a server on this machine through the browser."""

    def __init__(self, app, allowed: Iterable[str]):
        self.app = app
        self.allowed = tuple(host_name(a) if a not in ("*",) and not a.startswith("*.")
                             else a.lower() for a in allowed)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        raw = next((v for k, v in scope["headers"] if k == b"host"), b"")
        header = raw.decode("latin-1")
        if any(_matches(host_name(header), a) for a in self.allowed):
            return await self.app(scope, receive, send)
        shown = cap(header) if header else "(none)"
        await send_error(send, 400, f"Host header {shown!r} is not an allowed host of this "
                         f"server ({', '.join(self.allowed)}); start it with computeplan web "
                         "--allowed-host NAME to accept another name")


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Answer 413 once a request body passes ``limit(path)`` bytes: at once when Content-Length
    says so, otherwise while the body streams in (the application never sees the rest)."""

    def __init__(self, app, limit: Callable[[str], int]):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.limit(scope["path"])
        message = f"request body too large: {scope['path']} takes at most {limit} bytes"
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if length is not None and length.strip().isdigit() and int(length) > limit:
            return await send_error(send, 413, message, [(b"connection", b"close")])
        received, refused, started = 0, False, False

        async def limited_receive():
            nonlocal received, refused
            event = await receive()
            if event["type"] == "http.request":
                received += len(event.get("body", b""))
                if received > limit and not refused:
                    refused = True
                    if not started:
                        await send_error(send, 413, message, [(b"connection", b"close")])
                    raise _TooLarge
            return event

        async def guarded_send(event):
            nonlocal started
            if refused:  # the application's answer to the cut body is dropped: 413 was sent
                return
            started = started or event["type"] == "http.response.start"
            await send(event)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:
                raise
