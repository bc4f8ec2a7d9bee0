"""Web server guards (issue 16): one 413 format, capped echoes, nested bodies, Host, binds."""

import json
import socket
import subprocess
import sys
import time
import urllib.request
import warnings

import pytest
from typer.testing import CliRunner

pytest.importorskip("fastapi", reason="the web extra is not installed")
pytest.importorskip("httpx2", reason="starlette's test client needs httpx2")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from computeplan.cli import app as cli_app  # noqa: E402
from computeplan.web import create_app  # noqa: E402
from computeplan.web.guard import MAX_MESSAGE_CHARS, host_name, is_loopback  # noqa: E402
from computeplan.web.routes import MAX_BODY_BYTES, MAX_UPLOAD_BYTES  # noqa: E402

JSON = {"content-type": "application/json"}


def one_line_error(response) -> str:
    assert response.headers["content-type"] == "application/json", response.text
    body = response.json()
    assert set(body) <= {"error", "detail"}
    assert "\n" not in body["error"] and len(body["error"]) <= MAX_MESSAGE_CHARS
    return body["error"]


# ------------------------------------------------------------------------------- 413: one format
def test_every_413_is_the_same_json_error_naming_the_limit(client):
    """Content-Length over the limit, a streamed body passing it, and an upload: one format."""
    def streamed():
        yield b'{"loss": 2'
        for _ in range(MAX_BODY_BYTES // 1000 + 1):
            yield b" " * 1000
        yield b"}"

    answers = [
        (client.post("/api/plan", content=b'{"loss": 2' + b" " * MAX_BODY_BYTES + b"}",
                     headers=JSON), MAX_BODY_BYTES),
        (client.post("/api/plan", content=streamed(), headers=JSON), MAX_BODY_BYTES),
        (client.post("/api/fit", files={"runs": ("x.csv", b"x" * (MAX_UPLOAD_BYTES + 1))}),
         MAX_UPLOAD_BYTES),
    ]
    for response, limit in answers:
        assert response.status_code == 413
        message = one_line_error(response)
        assert message.startswith("request body too large: /api/") and str(limit) in message
    assert client.post("/api/plan", json={"loss": 2}).status_code == 200  # still serving


def test_a_body_at_the_limit_is_accepted(client):
    body = b'{"loss": 2' + b" " * (MAX_BODY_BYTES - 11) + b"}"
    assert len(body) == MAX_BODY_BYTES
    assert client.post("/api/plan", content=body, headers=JSON).status_code == 200


# --------------------------------------------------------------------- echoes and nested bodies
@pytest.mark.parametrize("path, body", [
    ("/api/plan", {"x" * 20_000: 1}),                     # a field name
    ("/api/plan", {"loss": "y" * 20_000}),                # a value
    ("/api/tradeoff", {"technique": "pruning", "params": {"z" * 5_000: 1.0}}),  # a key
])
def test_errors_echo_at_most_a_capped_piece_of_the_input(client, path, body):
    response = client.post(path, json=body)
    assert response.status_code == 422
    assert "..." in one_line_error(response)  # the cut is marked
    assert len(response.content) < 2_000  # never the input echoed back, in message or detail


def test_query_field_names_are_capped_too(client):
    response = client.get("/report.html", params={"q" * 10_000: 1})
    assert response.status_code == 422 and len(response.content) < 2_000
    assert "10000 characters" in one_line_error(response)


@pytest.mark.parametrize("raw", [
    b"[" * 30_000 + b"]" * 30_000,                        # deeper than the JSON parser goes
    b'{"loss": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
    b'{"loss": ' + b"[" * 900 + b"]" * 900 + b"}",       # parsed, then refused as a number
])
def test_nested_json_bodies_are_422_like_any_invalid_body(client, raw):
    """The API's convention: a body that is not a valid request is 422 with one line (400 is
    only for multipart bodies that cannot be parsed)."""
    response = client.post("/api/plan", content=raw, headers=JSON)
    assert response.status_code == 422
    message = one_line_error(response)
    assert message.startswith(("body: invalid JSON", "loss: Input should be a valid number"))


# ------------------------------------------------------------------------------- Host checks
@pytest.mark.parametrize("header, name", [
    ("[::1]:8000", "::1"), ("[::1]", "::1"), ("127.0.0.1:8000", "127.0.0.1"),
    ("LocalHost", "localhost"), ("example.org:443", "example.org"), ("", ""),
])
def test_host_name_parses_ipv6_brackets_and_ports(header, name):
    assert host_name(header) == name


def test_loopback_binds():
    assert all(map(is_loopback, ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "192.168.1.4", "example.org"]))


def test_host_check_accepts_listed_names_and_refuses_others():
    allowed = ("127.0.0.1", "localhost", "::1", "*.example.org")
    with TestClient(create_app(allowed_host=allowed)) as c:
        for host in ("127.0.0.1:8000", "localhost", "[::1]:8000", "a.example.org"):
            assert c.get("/api/meta", headers={"host": host}).status_code == 200, host
        for host in ("evil.example", "example.org.evil.example", "[::2]:8000",
                     "x" * 5_000):
            response = c.get("/api/meta", headers={"host": host})
            assert response.status_code == 400, host
            message = one_line_error(response)
            assert "allowed host" in message and "allowed_host" not in message
    with TestClient(create_app(allowed_host=("*",))) as c:
        assert c.get("/api/meta", headers={"host": "anything.example"}).status_code == 200


def _run_web(monkeypatch, *args):
    """`computeplan web ARGS` with the server's sockets and run replaced: (stderr, the app,
    the bind)."""
    import uvicorn

    from computeplan.web import server

    seen = {}
    monkeypatch.setattr(server, "listening_sockets", lambda host, port: [])
    monkeypatch.setattr(uvicorn.Server, "run",
                        lambda self, sockets=None: seen.update(config=self.config))
    res = CliRunner().invoke(cli_app, ["web", *args])
    assert res.exit_code == 0, res.output
    return res.stderr, seen["config"].app, seen["config"].host


def test_non_loopback_bind_warns_and_keeps_the_host_check(monkeypatch):
    err, app, host = _run_web(monkeypatch, "--host", "0.0.0.0", "--allowed-host",
                              "calc.example.org")
    assert host == "0.0.0.0"
    assert "warning: --host 0.0.0.0 accepts connections from other machines" in err
    with TestClient(app) as c:
        assert c.get("/api/meta", headers={"host": "evil.example"}).status_code == 400
        assert c.get("/api/meta", headers={"host": "calc.example.org"}).status_code == 200
        assert c.get("/api/meta", headers={"host": "127.0.0.1:8000"}).status_code == 200


def test_loopback_binds_do_not_warn_and_ipv6_is_bracketed(monkeypatch):
    err, app, host = _run_web(monkeypatch, "--host", "::1", "--port", "8123")
    assert host == "::1" and "warning" not in err and "http://[::1]:8123/" in err
    with TestClient(app) as c:
        assert c.get("/api/meta", headers={"host": "[::1]:8123"}).status_code == 200
        assert c.get("/api/meta", headers={"host": "evil.example"}).status_code == 400
    err, _, _ = _run_web(monkeypatch, "--host", "192.0.2.7")
    assert "warning" in err and "192.0.2.7" in err  # a specific address is an allowed Host


def _ipv6_loopback_port() -> int | None:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
            return s.getsockname()[1]
    except OSError:
        return None


def test_computeplan_web_answers_on_ipv6_loopback():
    """`computeplan web --host ::1` in a real process: the API answers (it answered 400)."""
    port = _ipv6_loopback_port()
    if port is None:
        pytest.skip("this machine has no IPv6 loopback")
    proc = subprocess.Popen([sys.executable, "-m", "computeplan", "web", "--host", "::1",
                             "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                meta = urllib.request.urlopen(f"http://[::1]:{port}/api/meta", timeout=5)
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert meta.status == 200 and "plan" in json.loads(meta.read())["endpoints"]
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("args", [["--max-request-seconds", "0"], ["--max-read-seconds", "-1"],
                                  ["--max-read-seconds", "inf"]])
def test_web_time_limits_must_be_positive(args):
    res = CliRunner().invoke(cli_app, ["web", *args])
    assert res.exit_code == 2
    err = res.stderr.strip()
    assert err.startswith(f"error: {args[0]} must be a finite number of seconds > 0") and \
        "\n" not in err


def _refused_start(*args) -> str:
    """The stderr of `computeplan web ARGS` in a real process, which must exit 2 at once (a
    server that started after all is killed at the timeout, which fails the test)."""
    proc = subprocess.run([sys.executable, "-m", "computeplan", "web", *args],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: "), proc.stderr
    assert proc.stdout == ""
    return proc.stderr.strip()


def test_a_port_in_use_is_one_line_exit_2():
    """uvicorn logged the bind error over several lines and exited with status 3."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        err = _refused_start("--port", str(port))
    assert err == (f"error: cannot listen on --host 127.0.0.1 --port {port}: the port is "
                   "already in use (another server listens there); stop it or give another "
                   "--port in [1, 65535]")


@pytest.mark.parametrize("args, message", [
    (["--host", "192.0.2.1"], "error: cannot listen on --host 192.0.2.1 --port 8000: 192.0.2.1 "
     "is not an address of this machine; give an address of this machine such as 127.0.0.1 or "
     "::1 (this machine only) or 0.0.0.0 (every interface)"),
    (["--host", "bad host name.invalid"], "error: --host 'bad host name.invalid' does not "
     "resolve to an address ("),
    # '' bound every interface, silently
    (["--host", ""], "error: --host must be an address or a name, such as 127.0.0.1 or ::1 "
     "(this machine only) or 0.0.0.0 (every interface); got ''"),
    (["--host", " "], "got ' '"),
    (["--port", "0"], "error: --port must be a whole number in [1, 65535]; got 0"),
    (["--port", "65536"], "error: --port must be a whole number in [1, 65535]; got 65536"),
    (["--max-connections", "0"], "error: --max-connections must be a whole number >= 1; got 0"),
])
def test_a_host_or_port_that_cannot_be_listened_on_is_one_line_exit_2(args, message):
    assert message in _refused_start(*args)


# ------------------------------------------------------- the schema publishes ranges and enums
def _outside(prop: dict) -> list[float]:
    """Numbers just outside a property's published range."""
    out = []
    if "minimum" in prop:
        out.append(prop["minimum"] - 0.5)
    if "exclusiveMinimum" in prop:
        out.append(prop["exclusiveMinimum"])
    if "maximum" in prop:
        out.append(prop["maximum"] + 0.5)
    if "exclusiveMaximum" in prop:
        out.append(prop["exclusiveMaximum"])
    return out


def test_openapi_publishes_the_ranges_and_choices_that_are_enforced(client):
    """Every published range and enum of a plan field is the one the API enforces: a number
    just outside it, or a string not in the enum, is 422 naming the field and the range."""
    props = client.get("/openapi.json").json()["components"]["schemas"]["PlanRequest"][
        "properties"]
    assert props["train_mfu"]["exclusiveMinimum"] == 0 and props["train_mfu"]["maximum"] == 1
    assert props["level"]["exclusiveMaximum"] == 1 and props["context"]["minimum"] == 1
    assert props["objective"]["enum"] == ["flops", "usd", None]
    assert props["compounding"]["enum"] == ["annual", "continuous", None]
    ranged = {k: p for k, p in props.items() if _outside(p)}
    assert len(ranged) >= 15
    for name, prop in ranged.items():
        for bad in _outside(prop):
            response = client.post("/api/plan", json={"loss": 2, name: bad})
            assert response.status_code == 422, (name, bad)
            assert one_line_error(response).startswith(f"{name} must be"), (name, bad)
    for name in [k for k, p in props.items() if "enum" in p and k != "law"]:
        response = client.post("/api/plan", json={"loss": 2, name: "not-a-choice"})
        assert response.status_code == 422 and name in one_line_error(response), name


def test_the_cli_enforces_the_same_ranges():
    res = CliRunner().invoke(cli_app, ["plan", "--loss", "2", "--level", "1", "--uncertainty"])
    assert res.exit_code == 2 and "--level must be in (0, 1); got 1" in res.stderr
