"""The fast lane for valid plan requests: ``POST /api/plan`` answered without FastAPI's routing.

A plan is the request the server sees most (the page recomputes one on every change), and its
own work is a fraction of a millisecond, so FastAPI's routing, dependency solving and request
objects were a third of its time. :class:`FastLane` sits inside the guards (Host check, body
limit) and answers a plan request itself when, and only when, that answer is certainly the
route's own: a body of content type ``application/json`` that decodes (``json.loads``, as
FastAPI does) to an object, passes the route's own request model (the same pydantic model,
validated as FastAPI validates a body) and plans without error; the answer is then the route's
own (:func:`~computeplan.web.routes.run_command`), byte for byte. Every other
request, and every one of those that fails anywhere (invalid JSON, a schema violation, an input
error), goes on to the application with its body, so error answers, and everything else, come
from the one place that words them (tests/test_web_fastlane.py compares the two answers).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from pydantic import BaseModel, ValidationError

from .routes import run_command

#: The one content type the lane takes (FastAPI also parses ``+json`` subtypes and parameters).
JSON_TYPE = b"application/json"


class FastLane:
    """ASGI middleware answering ``POST path`` with ``fn`` when the body is a valid ``model``
    (module docstring); every other request goes to ``app`` unchanged."""

    def __init__(self, app, path: str, model: type[BaseModel], fn: Callable):
        self.app, self.path, self.model, self.fn = app, path, model, fn

    async def __call__(self, scope, receive, send):
        if (scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST"
                or _content_type(scope) != JSON_TYPE):
            return await self.app(scope, receive, send)
        events = [await receive()]
        while events[-1]["type"] == "http.request" and events[-1].get("more_body", False):
            events.append(await receive())
        response = None
        if events[-1]["type"] == "http.request":  # else the client left: the application sees it
            response = self.answer(b"".join(e.get("body", b"") for e in events))
        if response is None:
            return await self.app(scope, _replay(events, receive), send)
        await response(scope, receive, send)

    def answer(self, body: bytes):
        """The route's response to a valid plan ``body``, or None (the application answers)."""
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                return None
            options = self.model.model_validate(data)
        except (ValueError, RecursionError, ValidationError):
            return None
        try:
            return run_command(self.fn, options)
        except Exception:  # noqa: BLE001 - the application's handlers word every error
            return None


def _content_type(scope) -> bytes | None:
    return next((v for k, v in scope["headers"] if k == b"content-type"), None)


def _replay(events: list[dict], receive):
    """A ``receive`` giving ``events`` first (the body as it was read), then ``receive``'s."""
    pending = list(events)

    async def replayed():
        return pending.pop(0) if pending else await receive()

    return replayed
