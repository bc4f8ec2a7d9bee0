"""The uvicorn server of ``computeplan web``, with a time limit on reading each request.

uvicorn times out idle keep-alive connections but not a client that sends its headers or body
slowly (or connects and sends nothing): such clients could hold connections open for ever. The
protocol here gives every request ``max_read_seconds`` from the connection's start, or from the
end of the previous response, to arrive whole; past that the server answers 408 (if it has not
answered yet) and closes the connection. Work already under way is bounded separately
(:mod:`.slots`).
"""

from __future__ import annotations

import asyncio
import json

from .guard import error_body


def _timeout_response(seconds: float) -> bytes:
    body = json.dumps(error_body(f"the request did not arrive within the server's limit of "
                                 f"{seconds:g} s"), separators=(",", ":")).encode()
    return (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n"
            + body)


def read_timeout_protocol(max_read_seconds: float) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol (httptools or h11) with the read time limit."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    class ReadTimeoutProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
        _read_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport):
            super().connection_made(transport)
            self._arm()

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
            cycle = self.cycle
            between = cycle is None or cycle.response_complete  # waiting for headers
            if self.transport.is_closing() or not (between or cycle.more_body):
                return  # the request arrived: its work and answer are bounded elsewhere
            if between or not cycle.response_started:
                self.transport.write(_timeout_response(max_read_seconds))
            self.transport.close()

    return ReadTimeoutProtocol


def server_config(app, *, host: str, port: int, max_read_seconds: float):
    """The ``uvicorn.Config`` of ``computeplan web``: quiet, with the read time limit."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                          http=read_timeout_protocol(max_read_seconds))
