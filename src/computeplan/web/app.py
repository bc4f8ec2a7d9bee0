"""The FastAPI application: API routes, error mapping, size limits and the static page."""

from __future__ import annotations

import reprlib
from collections.abc import Iterable
from dataclasses import fields
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __name__ as _package
from ..errors import USER_ERRORS, ConvergenceError
from .fastlane import FastLane
from .guard import (
    DEFAULT_MAX_REQUEST_SECONDS,
    MAX_ECHO_CHARS,
    BodyLimit,
    HostCheck,
    cap,
    error_body,
)
from .routes import (
    MAX_BODY_BYTES,
    MAX_CONCURRENT_SLOW,
    MAX_UPLOAD_BYTES,
    api_router,
    body_limit,
    page_router,
    registered,
)
from .slots import SlowWork, WorkStopped, stopped_message

STATIC = resources.files(__name__.rsplit(".", 1)[0]).joinpath("static")
#: Echoed inputs: a few levels and items of a value, strings cut (never 100 kB of input).
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict = 3, 4, 4
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = MAX_ECHO_CHARS
#: The message for a JSON body nested deeper than the parser's recursion limit.
NESTED_BODY = "body: invalid JSON, nested too deeply (a request is a flat object of fields)"


def _error(status: int, message: str, detail=None) -> JSONResponse:
    return JSONResponse(error_body(message, detail), status_code=status)


def _loc(err: dict) -> list:
    """The error's location with every name capped (a client may send 100 kB field names)."""
    return [cap(p) if isinstance(p, str) else p for p in err.get("loc", ())]


def _describe(err: dict) -> str:
    if err.get("type") == "json_invalid":
        return f"body: invalid JSON at character {err['loc'][-1]}"
    loc = ".".join(str(p) for p in _loc(err) if p not in ("body", "query")) or "body"
    if err.get("type") == "missing" and loc == "body":
        return "body: a JSON object of the fields is required ({} for all defaults)"
    shown = "input" in err and err.get("type") != "missing"
    got = _REPR.repr(err.get("input")) if shown else ""
    return f"{loc}: {err.get('msg', 'invalid')}" + (f"; got {cap(got)}" if shown else "")


def _meta(app: FastAPI) -> dict:
    from ..forms import get_form
    from ..hardware import load_catalog
    from ..laws import PRESETS, form_presets
    from ..objectives import DollarCost
    from ..tradeoffs.techniques import LAW_TECHNIQUES, TECHNIQUES

    laws = {**PRESETS, **form_presets()}
    return {
        "laws": {k: law.to_dict(replicates=False)
                 | {"formula": get_form(getattr(law, "form", "chinchilla")).formula}
                 for k, law in laws.items()},
        "techniques": list(TECHNIQUES), "law_techniques": list(LAW_TECHNIQUES),
        "gpus": {k: {"description": g.description, "dtypes": list(g.peak_flops),
                     "usd_per_gpu_hour": g.usd_per_gpu_hour, "price_date": g.price_date}
                 for k, g in load_catalog().items()},
        "dollar_defaults": {f.name: f.default for f in fields(DollarCost) if f.init},
        "endpoints": [p.removeprefix("/api/") for p in app.openapi()["paths"]
                      if p.startswith("/api/")],
        "limits": {"max_body_bytes": MAX_BODY_BYTES, "max_upload_bytes": MAX_UPLOAD_BYTES},
    }


def _user_message(exc: Exception) -> str:
    if isinstance(exc, ConvergenceError):
        return f"could not solve for these inputs: {exc}"
    if isinstance(exc, OverflowError):
        return "the result is beyond floating-point range for these inputs; use less extreme values"
    return str(exc)  # options are named as fields (computeplan.vocabulary.option)


def create_app(allowed_host: Iterable[str] | None = None,
               max_request_seconds: float | None = DEFAULT_MAX_REQUEST_SECONDS,
               slow_slots: int = MAX_CONCURRENT_SLOW) -> FastAPI:
    """The API under ``/api`` (OpenAPI schema at ``/openapi.json``), the calculator page at
    ``/`` and HTML reports at ``/report.html``. Nothing is loaded from the internet.

    ``allowed_host`` (the names ``computeplan web --allowed-host`` adds to the loopback ones,
    e.g. ``("127.0.0.1", "localhost", "::1")`` for a server on this machine only) answers 400 to
    requests naming any other Host, against DNS rebinding; None accepts any Host. Request bodies
    over their limit (``MAX_BODY_BYTES``, ``MAX_UPLOAD_BYTES`` for uploads) are 413.

    Slow requests (fits, tradeoffs, train/serve, reports) run in worker threads, ``slow_slots``
    at a time, each stopped after ``max_request_seconds`` (waiting for a slot included; None:
    no limit) or when its client disconnects: 503 (:mod:`.slots`). ``app.state.slow`` is that
    pool (``running``: the requests working now)."""
    app = FastAPI(title="computeplan", version=_version(),
                  docs_url=None, redoc_url=None,  # their pages load scripts from a CDN
                  description="Split compute between training and inference. Each endpoint "
                              "returns the JSON that `computeplan COMMAND --json` prints.")

    (_, plan, plan_model), = (r for r in registered() if r[0].name == "plan")
    app.add_middleware(FastLane, path="/api/plan", model=plan_model, fn=plan)  # inside guards
    app.add_middleware(BodyLimit, limit=body_limit)
    if allowed_host is not None:
        app.add_middleware(HostCheck, allowed=tuple(allowed_host))

    async def user_error(request: Request, exc: Exception):
        return _error(422, _user_message(exc))

    for exc_type in USER_ERRORS:
        app.add_exception_handler(exc_type, user_error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 400 and isinstance(exc.__cause__, RecursionError):
            return _error(422, NESTED_BODY)  # like any other invalid JSON body
        response = _error(exc.status_code, str(exc.detail))
        response.headers.update(exc.headers or {})  # e.g. Allow on 405
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        detail = [{"type": e.get("type"), "loc": _loc(e), "msg": e.get("msg")} for e in errors]
        return _error(422, "; ".join(_describe(e) for e in errors[:5]), jsonable_encoder(detail))

    @app.exception_handler(WorkStopped)
    async def stopped(request: Request, exc: WorkStopped):
        response = _error(503, stopped_message(exc, max_request_seconds))
        response.headers["retry-after"] = "30"
        return response

    slow = app.state.slow = SlowWork(slow_slots, max_request_seconds)
    app.include_router(api_router(slow))
    app.include_router(page_router(slow))

    meta = _meta(app)

    @app.get("/api/meta", tags=["page"], summary="Presets, GPUs and defaults for the page")
    async def api_meta() -> dict:
        return meta

    @app.get("/", include_in_schema=False)
    async def index():
        return FileResponse(str(STATIC.joinpath("index.html")))

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    return app


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(_package)
    except PackageNotFoundError:
        return "0"
