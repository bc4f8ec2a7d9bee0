"""The uvicorn server of ``computeplan web``, with a time limit on reading each request and a
cap on open connections.

uvicorn times out idle keep-alive connections but not a client that sends its headers or body
slowly (or connects and sends nothing): such clients could hold connections open for ever. The
protocol here gives every request ``max_read_seconds`` from the connection's start, or from the
end of the previous response, to arrive whole; past that the server answers 408 (if it has not
answered yet) and closes the connection. Work already under way is bounded separately
(:mod:`.slots`).

At most ``max_connections`` connections are served at once: a further one is answered 503 in the
API's error format as soon as it opens, without reading it, and closed once the client has read
the answer (or the read time limit passes). uvicorn's own ``limit_concurrency`` would answer in
plain text.
"""

from __future__ import annotations

import asyncio
import errno
import json
import socket

from ..errors import InputError
from ..vocabulary import option
from .guard import DEFAULT_MAX_CONNECTIONS, error_body


def _error_response(status: str, message: str, headers: bytes = b"") -> bytes:
    """A whole HTTP/1.1 answer in the API's error format, closing the connection."""
    body = json.dumps(error_body(message), separators=(",", ":")).encode()
    return (f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: "
            f"{len(body)}\r\nconnection: close\r\n").encode() + headers + b"\r\n" + body


def _timeout_response(seconds: float) -> bytes:
    return _error_response("408 Request Timeout", "the request did not arrive within the "
                           f"server's limit of {seconds:g} s")


def _busy_response(max_connections: int) -> bytes:
    return _error_response("503 Service Unavailable", "the server has its limit of "
                           f"{max_connections} connections open; try again shortly",
                           b"retry-after: 1\r\n")


def read_timeout_protocol(max_read_seconds: float, max_connections: int | None = None
                          ) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol (httptools or h11) with the read time limit and, unless None,
    the cap on open connections."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    busy = None if max_connections is None else _busy_response(max_connections)

    class ReadTimeoutProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
        _read_timer: asyncio.TimerHandle | None = None
        _refused = False

        def connection_made(self, transport):
            super().connection_made(transport)
            if busy is not None and len(self.connections) > max_connections:
                self._refuse(transport)
            self._arm()

        def _refuse(self, transport) -> None:
            """Answer 503 at once and stop counting this connection; it is closed when the
            client closes it (having read the answer) or when the read timer fires. Closing at
            once could reset the connection and lose the answer."""
            self._refused = True
            self.connections.discard(self)
            transport.write(busy)
            if transport.can_write_eof():
                transport.write_eof()

        def data_received(self, data: bytes) -> None:
            if not self._refused:  # a refused connection's request is never read
                super().data_received(data)

        def eof_received(self):
            if self._refused:
                self.transport.close()
                return None
            return super().eof_received()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()  # the next request on this keep-alive connection

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._read_timer = self.loop.call_later(max_read_seconds, self._timed_out)

        def _disarm(self) -> None:
            if self._read_timer is not None:
                self._read_timer.cancel()
                self._read_timer = None

        def _timed_out(self) -> None:
            self._read_timer = None
            if self._refused:
                self.transport.close()
                return
            cycle = self.cycle
            between = cycle is None or cycle.response_complete  # waiting for headers
            if self.transport.is_closing() or not (between or cycle.more_body):
                return  # the request arrived: its work and answer are bounded elsewhere
            if between or not cycle.response_started:
                self.transport.write(_timeout_response(max_read_seconds))
            self.transport.close()

    return ReadTimeoutProtocol


def server_config(app, *, host: str, port: int, max_read_seconds: float,
                  max_connections: int | None = DEFAULT_MAX_CONNECTIONS):
    """The ``uvicorn.Config`` of ``computeplan web``: quiet, with the read time limit and the
    cap on open connections (None: no cap)."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                          http=read_timeout_protocol(max_read_seconds, max_connections))


#: How to give an address that can be listened on, for the messages that refuse one.
_ADDRESSES = "an address of this machine such as 127.0.0.1 or ::1 (this machine only) or " \
             "0.0.0.0 (every interface)"


def listening_sockets(host: str, port: int) -> list[socket.socket]:
    """Sockets bound to every address ``host`` resolves to, at ``port``, as asyncio's
    ``create_server`` binds them (``SO_REUSEADDR``; IPv6 sockets IPv6-only, beside the IPv4
    ones), for ``uvicorn.Server.run(sockets=...)``. Binding here, before the server starts,
    makes a port in use or a host that cannot be bound a one-line :class:`InputError` naming
    the option (uvicorn logs the error and exits with status 3)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise InputError(f"{option('host')} {host!r} does not resolve to an address ({reason}); "
                         f"give {_ADDRESSES}, or a name that resolves") from None
    out: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            out.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
    except OSError as exc:
        for sock in out:
            sock.close()
        raise InputError(_bind_error(host, port, exc)) from None
    return out


def _bind_error(host: str, port: int, exc: OSError) -> str:
    where = f"{option('host')} {host} {option('port')} {port}"
    if exc.errno == errno.EADDRINUSE:
        return (f"cannot listen on {where}: the port is already in use (another server "
                f"listens there); stop it or give another {option('port')} in [1, 65535]")
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {where}: {host} is not an address of this machine; give " \
               f"{_ADDRESSES}"
    if exc.errno == errno.EACCES:
        return (f"cannot listen on {where}: no permission (ports below 1024 need privileges "
                f"on most systems); give a {option('port')} in [1024, 65535]")
    return f"cannot listen on {where}: {exc.strerror or exc}"
