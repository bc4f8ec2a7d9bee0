"""The fast lane for plan requests (issue 15, item 6): a valid plan request is answered without
FastAPI's routing, byte for byte as the route answers it; every other request, and every plan
that fails, is answered by the application itself (computeplan.web.fastlane)."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("fastapi", reason="the web extra is not installed")

from computeplan.laws import form_presets  # noqa: E402
from computeplan.web import create_app  # noqa: E402
from computeplan.web.fastlane import FastLane  # noqa: E402

DOLLAR = {"loss": 1.947, "requests": 1e10, "input_tokens": 1000, "output_tokens": 250,
          "train_gpu": "a100-80gb", "train_usd_per_gpu_hour": 1.40, "train_mfu": 0.5,
          "inference_gpu": "a100-40gb", "inference_dtype": "int8",
          "inference_usd_per_gpu_hour": 0.60, "prefill_mfu": 0.4, "decode_mfu": 0.2}


def _apps():
    """The application, and the same application without the fast lane (the route answers)."""
    lane = create_app()
    plain = create_app()
    plain.user_middleware = [m for m in plain.user_middleware if m.cls is not FastLane]
    return lane, plain


LANE, PLAIN = _apps()


def call(app, body: bytes, *, path="/api/plan", method="POST",
         content_type: bytes | None = b"application/json", chunks: int = 1):
    """(status, headers, body) of one request to the ASGI ``app``, the body sent in ``chunks``."""
    headers = [(b"host", b"test"), (b"content-length", str(len(body)).encode())]
    if content_type is not None:
        headers.append((b"content-type", content_type))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
             "headers": headers}
    step = max(1, -(-len(body) // chunks))
    parts = [body[i:i + step] for i in range(0, len(body), step)] or [b""]
    events = [{"type": "http.request", "body": p, "more_body": i < len(parts) - 1}
              for i, p in enumerate(parts)]
    out = {"body": b""}

    async def receive():
        if events:
            return events.pop(0)
        await asyncio.sleep(3600)

    async def send(message):
        if message["type"] == "http.response.start":
            out["status"], out["headers"] = message["status"], message["headers"]
        else:
            out["body"] += message.get("body", b"")

    asyncio.run(app(scope, receive, send))
    return out["status"], sorted(out["headers"]), out["body"]


def same(body: bytes, **kw):
    got, want = call(LANE, body, **kw), call(PLAIN, body, **kw)
    assert got == want, (body, got, want)
    return got


@pytest.fixture
def answered(monkeypatch):
    """The plans the fast lane answered itself (the others went on to the application)."""
    seen = []
    answer = FastLane.answer

    def spy(self, body):
        response = answer(self, body)
        seen.append(response is not None)
        return response

    monkeypatch.setattr(FastLane, "answer", spy)
    return seen


@pytest.mark.parametrize("body", [
    DOLLAR, {"loss": 1.947, "inference_tokens": 2e12}, {},
    {"reference_params": 7e9, "inference_tokens": 1e13, "law": "hoffmann2022"},
    {"budget_usd": 1e7, "requests": 1e9, "input_tokens": 500, "output_tokens": 100},
    {"loss": 2.2, "inference_tokens": 1e13, "law": "sardana2024-mpt"},
    {"loss": 2.2, "inference_tokens": 1e13, "uncertainty": True,  # an inline law
     "law": form_presets()["sardana2024-mpt"].to_dict()},
    {"loss": 2.0, "requests": 1e9, "input_tokens": 800, "output_tokens": 200,
     "decode_model": "roofline"},
])
def test_valid_plans_are_the_routes_answer_byte_for_byte(body, answered):
    status, _, text = same(json.dumps(body).encode())
    assert status == 200 and "optimal" in json.loads(text)
    assert answered[0] is True  # the lane answered it, not the route


@pytest.mark.parametrize("body", [
    b'{"loss": 1.0}',                       # at or below E: the command's InputError
    b'{"loss": "2"}',                       # a string is not a number (strict)
    b'{"loss": true}',
    b'{"loss": 2, "los": 3}',               # unknown field
    b'{"loss": NaN}', b'{"loss": Infinity}',
    b'{"loss": 2.0, "law": "nope"}',
    b'{"loss": 2.0, "law": {"E": 1.9}}',     # an inline law missing coefficients
    b'{"loss": 2.0, "law": {"form": []}}',
    b'{"loss": 2.0, "inference_tokens": -1}',
    b'[1, 2]', b'"plan"', b'{"loss": ', b'', b'\xff\xfe',
    b'[' * 100_000 + b']' * 100_000,        # nested too deeply (over the body limit too)
    b'[' * 5_000 + b']' * 5_000,
])
def test_every_failure_is_the_applications_answer(body, answered):
    status, _, text = same(body)
    assert status in (413, 422) and "error" in json.loads(text)
    assert not any(answered)


def test_other_requests_pass_through_unchanged():
    body = json.dumps({"loss": 1.947}).encode()
    for kw in ({"content_type": b"application/json; charset=utf-8"},
               {"content_type": b"application/vnd.api+json"}, {"content_type": None},
               {"content_type": b"text/plain"}, {"method": "PUT"}, {"path": "/api/model"},
               {"chunks": 3}):
        same(body, **kw)
    assert same(body, chunks=3)[0] == 200


@settings(max_examples=60, deadline=None)
@given(st.fixed_dictionaries({}, optional={
    "loss": st.one_of(st.floats(0.5, 5.0), st.integers(-2, 4), st.text(max_size=3)),
    "inference_tokens": st.one_of(st.floats(-1e3, 1e22), st.none()),
    "objective": st.sampled_from(["flops", "usd", "dollars", None]),
    "train_mfu": st.floats(-0.5, 1.5),
    "law": st.sampled_from(["sardana2024", "besiroglu2024", "gadre2024-c4", "x"]),
    "budget_flops": st.floats(1e18, 1e28),
}))
def test_any_body_gets_the_routes_answer(body):
    same(json.dumps(body).encode())


def test_every_request_default_is_the_commands_own():
    """A command is called with the fields a client sent (run_command), so every field's
    default in a request model must be the command's own default for that option."""
    import inspect

    from computeplan.web.routes import registered

    for ep, fn, model in registered():
        if ep.options:
            from computeplan.web.routes import command_function

            module = inspect.getmodule(command_function(ep.fields_from or ep.name))
            own = {o.name: o.default for o in getattr(module, ep.options).options()}
        else:
            own = {k: p.default for k, p in inspect.signature(fn).parameters.items()}
        for name, info in model.model_fields.items():
            assert name in own, (ep.name, name)
            assert info.default == own[name] or (info.is_required() and own[name] is
                                                 inspect.Parameter.empty), (ep.name, name)
