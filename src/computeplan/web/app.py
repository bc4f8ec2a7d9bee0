"""The FastAPI application: API routes, error mapping, size limits and the static page."""

from __future__ import annotations

import asyncio
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
from .routes import (
    MAX_BODY_BYTES,
    MAX_CONCURRENT_SLOW,
    MAX_UPLOAD_BYTES,
    api_router,
    page_router,
)

STATIC = resources.files(__name__.rsplit(".", 1)[0]).joinpath("static")
def _error(status: int, message: str, detail=None) -> JSONResponse:
    body = {"error": message} | ({"detail": detail} if detail is not None else {})
    return JSONResponse(body, status_code=status)


def _describe(err: dict) -> str:
    if err.get("type") == "json_invalid":
        return f"body: invalid JSON at character {err['loc'][-1]}"
    loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query")) or "body"
    if err.get("type") == "missing" and loc == "body":
        return "body: a JSON object of the fields is required ({} for all defaults)"
    got = repr(err.get("input"))
    got = got if len(got) <= 60 else got[:57] + "..."
    shown = "input" in err and err.get("type") != "missing"
    return f"{loc}: {err.get('msg', 'invalid')}" + (f"; got {got}" if shown else "")


def _meta(app: FastAPI) -> dict:
    from ..hardware import load_catalog
    from ..laws import PRESETS
    from ..objectives import DollarCost
    from ..tradeoffs.techniques import LAW_TECHNIQUES, TECHNIQUES

    return {
        "laws": {k: law.to_dict(replicates=False) for k, law in PRESETS.items()},
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


def create_app(allowed_hosts: tuple[str, ...] | None = None) -> FastAPI:
    """The API under ``/api`` (OpenAPI schema at ``/openapi.json``), the calculator page at
    ``/`` and HTML reports at ``/report.html``. Nothing is loaded from the internet.

    ``allowed_hosts`` (e.g. ``("127.0.0.1", "localhost")`` for a server on this machine only)
    answers 400 to requests naming any other Host, against DNS rebinding."""
    app = FastAPI(title="computeplan", version=_version(), max_body_size=MAX_BODY_BYTES,
                  docs_url=None, redoc_url=None,  # their pages load scripts from a CDN
                  description="Split compute between training and inference. Each endpoint "
                              "returns the JSON that `computeplan COMMAND --json` prints.")

    if allowed_hosts:
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))

    async def user_error(request: Request, exc: Exception):
        return _error(422, _user_message(exc))

    for exc_type in USER_ERRORS:
        app.add_exception_handler(exc_type, user_error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = (f"request body must be at most {MAX_BODY_BYTES} bytes"
                   f" ({MAX_UPLOAD_BYTES} for uploads)" if exc.status_code == 413
                   else str(exc.detail))
        response = _error(exc.status_code, message)
        response.headers.update(exc.headers or {})  # e.g. Allow on 405
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        detail = [{k: e[k] for k in ("type", "loc", "msg") if k in e} for e in errors]
        return _error(422, "; ".join(_describe(e) for e in errors[:5]), jsonable_encoder(detail))

    limit = asyncio.Semaphore(MAX_CONCURRENT_SLOW)
    app.include_router(api_router(limit))
    app.include_router(page_router(limit))

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
