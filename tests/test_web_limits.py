"""Bounded server work (issue 16, item 4): time limits, abandoned work stopped, slow clients cut,
and a plan answering while two fits run.

A real uvicorn server (the configuration of ``computeplan web``) runs in a thread of this process,
so the tests can read its gauges (``app.state.slow``: requests working now, works stopped).
Timing is never compared with a fixed figure alone: waits have generous deadlines, and the plan
latency under load is compared with the unloaded latency measured in the same test.
"""

import http.client
import json
import socket
import statistics
import threading
import time

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed")
uvicorn = pytest.importorskip("uvicorn", reason="the web extra is not installed")

from computeplan.commands.fit import fit  # noqa: E402
from computeplan.web import create_app  # noqa: E402
from computeplan.web.guard import DEFAULT_MAX_CONNECTIONS  # noqa: E402
from computeplan.web.server import server_config  # noqa: E402
from computeplan.web.synthetic import fit_request, runs_csv  # noqa: E402
from computeplan.work import WorkBound, WorkStopped, bounded, checkpoint  # noqa: E402

PLAN = b'{"loss": 1.947, "inference_tokens": 2e12}'


def wait_for(condition, seconds: float = 60.0, what: str = "condition") -> float:
    """Poll ``condition`` until true; the seconds it took (fails after ``seconds``)."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < seconds, f"{what} not reached in {seconds} s"
        time.sleep(0.02)
    return time.monotonic() - start


class Server:
    """``computeplan web``'s app and uvicorn configuration on 127.0.0.1, in a thread."""

    def __init__(self, app, max_read_seconds: float = 20.0,
                 max_connections: int | None = DEFAULT_MAX_CONNECTIONS):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.app = app
        self.server = uvicorn.Server(server_config(app, host="127.0.0.1", port=self.port,
                                                   max_read_seconds=max_read_seconds,
                                                   max_connections=max_connections))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        wait_for(lambda: self.server.started, 30, "server start")
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(30)

    @property
    def slow(self):
        return self.app.state.slow

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=60)

    def post(self, path: str, body: bytes, timeout: float = 120):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        conn.request("POST", path, body, {"content-type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


# ---------------------------------------------------------------------- the core's checkpoints
def test_checkpoint_stops_bounded_work_only():
    checkpoint()  # unbounded: nothing to stop
    bound = WorkBound(None)
    with bounded(bound):
        checkpoint()
        bound.cancel("client")
        with pytest.raises(WorkStopped, match="client"):
            checkpoint()
    checkpoint()  # the bound ends with its block
    with pytest.raises(WorkStopped, match="time"), bounded(WorkBound(-1.0)):
        pass


def test_a_fit_stops_at_its_checkpoints(tmp_path):
    """The fit's solver loop checks the bound: a cancelled fit raises instead of finishing."""
    path = tmp_path / "runs.csv"
    path.write_bytes(runs_csv(2_000))
    bound = WorkBound(None)
    calls = []

    def cancel_soon():  # cancel from another thread once the fit is under way
        wait_for(lambda: calls, 60, "fit start")
        bound.cancel("client")

    import computeplan.fitting._lbfgs as lbfgs

    original = lbfgs.checkpoint
    lbfgs.checkpoint = lambda: (calls.append(1), original())
    try:
        threading.Thread(target=cancel_soon, daemon=True).start()
        with pytest.raises(WorkStopped), bounded(bound):
            fit(path, bootstrap=200)
    finally:
        lbfgs.checkpoint = original
    assert calls


# --------------------------------------------------------------------------- the HTTP server
def test_slow_work_over_the_time_limit_is_503_and_stopped():
    with Server(create_app(max_request_seconds=1.0)) as srv, srv.connect() as sock:
        sock.sendall(fit_request(runs_csv()))
        answer = read_all(sock)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503"), answer[:300]
        message = json.loads(body)["error"]
        assert "limit of 1 s per request" in message and "\n" not in message
        wait_for(lambda: srv.slow.running == 0, 60, "the stopped fit to end")
        assert srv.slow.stopped == 1  # ended by its bound, not by finishing
        assert srv.post("/api/plan", PLAN)[0] == 200


def test_work_of_a_client_that_goes_away_is_stopped():
    with Server(create_app()) as srv:
        sock = srv.connect()
        sock.sendall(fit_request(runs_csv()))
        wait_for(lambda: srv.slow.running == 1, 60, "the fit to start")
        sock.close()
        wait_for(lambda: srv.slow.running == 0, 60, "the abandoned fit to stop")
        assert srv.slow.stopped == 1


def test_a_plan_answers_while_two_fits_hold_both_workers():
    """Two fits take both slow-work slots (they run in worker threads, off the event loop); a
    plan still answers at once. Its latency is compared with the unloaded one of this test:
    best of 5 within max(100 ms, 10x the unloaded median). Were the fits on the event loop, or
    the plan queued for a slot, it would wait for a whole fit (tens of seconds)."""
    with Server(create_app()) as srv:
        def latency():
            start = time.perf_counter()
            status, out = srv.post("/api/plan", PLAN, timeout=60)
            assert status == 200 and f"{out['optimal']['params']:.4g}" == "2.418e+10"
            return time.perf_counter() - start

        unloaded = statistics.median(latency() for _ in range(5))
        csv = runs_csv()
        socks = [srv.connect() for _ in range(2)]
        try:
            for sock in socks:
                sock.sendall(fit_request(csv))
            wait_for(lambda: srv.slow.running == 2, 60, "both fits to start")
            loaded = [latency() for _ in range(5)]
            assert srv.slow.running == 2  # the fits were running throughout
        finally:
            for sock in socks:
                sock.close()
        assert min(loaded) < max(0.1, 10 * unloaded), (loaded, unloaded)
        wait_for(lambda: srv.slow.running == 0, 60, "the abandoned fits to stop")


@pytest.mark.parametrize("sent", [
    b"",                                                        # connects, says nothing
    b"POST /api/plan HTTP/1.1\r\nHost: 127.0.0.1\r\n",          # headers never finished
    b"POST /api/plan HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: 100\r\n\r\n{\"loss\": ",                 # body never finished
])
def test_a_slow_client_gets_408_and_is_disconnected(sent):
    with Server(create_app(), max_read_seconds=0.5) as srv, srv.connect() as sock:
        sock.sendall(sent)
        start = time.monotonic()
        answer = read_all(sock)  # returns once the server closes the connection
        assert time.monotonic() - start < 30
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert "did not arrive within" in json.loads(answer.partition(b"\r\n\r\n")[2])["error"]


def test_the_read_limit_does_not_cut_work_or_keep_alive():
    """A request that arrived in time is answered however long its work takes, and a keep-alive
    connection gets the read limit afresh for its next request."""
    import asyncio

    app = create_app()

    @app.get("/slow-test-route")
    async def slow_route():
        await asyncio.sleep(1.0)  # longer than the read limit below
        return {"ok": True}

    with Server(app, max_read_seconds=0.5) as srv:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
        conn.request("GET", "/slow-test-route")
        assert conn.getresponse().read() == b'{"ok":true}'
        time.sleep(0.2)
        conn.request("POST", "/api/plan", PLAN, {"content-type": "application/json"})
        assert conn.getresponse().status == 200


def plan_request() -> bytes:
    return (b"POST /api/plan HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(PLAN)).encode() + b"\r\n\r\n" + PLAN)


def test_connections_over_the_cap_get_503_in_the_error_format():
    """With --max-connections 2 held by idle clients, a third connection is answered 503 in the
    API's one-line JSON format (with Retry-After) and closed; once one closes, requests are
    served again."""
    with Server(create_app(), max_connections=2) as srv:
        held = [srv.connect(), srv.connect()]
        connections = srv.server.server_state.connections
        wait_for(lambda: len(connections) == 2, 30, "two open connections")
        for _ in range(3):  # refused connections do not count against the cap
            with srv.connect() as sock:
                sock.sendall(plan_request())
                answer = read_all(sock)  # returns once the server closes the connection
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 503"), answer[:200]
            assert b"retry-after: 1" in head.lower() and b"application/json" in head
            assert json.loads(body) == {"error": "the server has its limit of 2 connections "
                                                 "open; try again shortly"}
        assert len(connections) == 2
        held.pop().close()
        wait_for(lambda: len(connections) == 1, 30, "a connection closed")
        assert srv.post("/api/plan", PLAN)[0] == 200
        held.pop().close()


def test_the_default_cap_is_in_the_help():
    from typer.testing import CliRunner

    from computeplan.cli import app as cli_app

    res = CliRunner().invoke(cli_app, ["web", "--help"], env={"COLUMNS": "200"})
    assert "--max-connections" in res.output
    assert f"[default: {DEFAULT_MAX_CONNECTIONS}]" in res.output
