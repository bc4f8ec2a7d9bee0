"""The API endpoints: one per command, each calling the same commands-layer function as the CLI.

The request model is derived from the function's signature (:mod:`.schema`); the answer is
:func:`computeplan.render.dumps` of the result, i.e. the JSON of ``computeplan <name> --json``.
Slow work (tradeoff grids, fits, hardware solves, reports) runs in worker threads, at most
``MAX_CONCURRENT_SLOW`` at a time, so concurrent requests cannot exhaust memory, each within a
time limit and stopped when its client goes away (:class:`.slots.SlowWork`).
"""

import functools
import importlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field, create_model

from ..errors import InputError
from ..render import dumps
from .schema import Numbers, options_model, request_model
from .slots import SlowWork


class ApiError(BaseModel):
    """Every error answer: a one-line message naming the field, the bad value and the valid
    range, and for schema violations the pydantic details (type, loc, msg)."""

    error: str
    detail: list[dict[str, Any]] | None = None


#: Error answers documented on every command endpoint.
ERROR_RESPONSES = {
    400: {"model": ApiError, "description": "Malformed request body"},
    413: {"model": ApiError, "description": "Request body or upload too large"},
    503: {"model": ApiError, "description": "Slow work over the server's time limit per "
                                            "request, or no worker free within it"},
    422: {"model": ApiError, "description": "Invalid input: the message names the field, the "
                                            "value and the valid range"},
}

#: Largest JSON request body in bytes (a plan request is ~1 KB; one with an inline law and its
#: 1000 bootstrap replicates, as besiroglu2024's, ~75 KB): 413 beyond.
MAX_BODY_BYTES = 256 * 1024
#: Largest upload (a CSV of training runs) in bytes: 413 beyond.
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
#: Most bootstrap resamples one web fit may ask for (the CLI has no such cap).
MAX_WEB_BOOTSTRAP = 200
#: Largest tradeoff grid per axis on the web (1000 x 1000 takes ~200 MB; the CLI allows 3000).
MAX_WEB_GRID_POINTS = 1000
#: Most query counts in one web tradeoff request.
MAX_WEB_QUERIES = 1000
#: Slow requests (worker threads) running at once; the others wait their turn.
MAX_CONCURRENT_SLOW = 2
#: Endpoints that take a file upload (``MAX_UPLOAD_BYTES``); every other body ``MAX_BODY_BYTES``.
UPLOAD_PATHS = frozenset({"/api/fit"})


def body_limit(path: str) -> int:
    """The largest request body, in bytes, that ``path`` accepts (413 beyond)."""
    return MAX_UPLOAD_BYTES if path in UPLOAD_PATHS else MAX_BODY_BYTES


@dataclass(frozen=True)
class Endpoint:
    """``POST /api/<name>`` calling ``computeplan.commands.<name>.<name>``."""

    name: str
    summary: str
    fields_from: str | None = None  # take the request fields from another command's function
    options: str | None = None  # the request fields are this OptionSet of the command's module
    slow: bool = False  # run in a worker thread instead of on the event loop
    exclude: tuple[str, ...] = ()
    types: dict[str, Any] = field(default_factory=dict)
    get: bool = False  # also ``GET /api/<name>``: the command with every default (no body)


ENDPOINTS = (
    Endpoint("plan", "Lifetime-optimal model beside the Chinchilla-optimal one (computeplan plan)",
             options="PlanOptions"),
    Endpoint("model", "Chinchilla calculator (computeplan model)"),
    Endpoint("report", "A plan with the data of its figures (computeplan report --json)",
             fields_from="plan", options="PlanOptions", slow=True),
    Endpoint("tradeoff", "Training/inference tradeoff frontiers (computeplan tradeoff)",
             slow=True, types={
                 "params": dict[str, float] | None,
                 "queries": Annotated[list[float], Field(min_length=1,
                                                         max_length=MAX_WEB_QUERIES)] | None,
                 "grid_points": Annotated[int, Field(ge=10, le=MAX_WEB_GRID_POINTS)]}),
    Endpoint("allocate", "Optimal training/inference split of a budget (computeplan allocate)"),
    Endpoint("overhead", "Over-training overhead (computeplan overhead)",
             types={"size_fraction": Numbers, "train_flops": Numbers | None}),
    Endpoint("gpus", "The GPU catalog (computeplan gpus)", get=True),
    Endpoint("train", "Training time, GPUs and memory (computeplan train)", slow=True),
    Endpoint("serve", "Serving memory, latency and cost (computeplan serve)", slow=True),
)


def command_function(name: str):
    """``computeplan.commands.<name>.<name>``."""
    return getattr(importlib.import_module(f"computeplan.commands.{name}"), name)


def json_response(result) -> Response:
    """The CLI's ``--json`` text (compact). A non-finite number in a result is refused, never
    sent as ``NaN``."""
    try:
        text = dumps(result, indent=None)
    except ValueError:
        raise InputError("the result is not a finite number for these inputs (beyond floating-"
                         "point range); use less extreme values") from None
    return Response(text, media_type="application/json")


def run_command(fn, body: BaseModel) -> Response:
    """The command's answer to a validated request: the fields the client sent (the others
    are the command's own defaults, which the model's are)."""
    return json_response(fn(**body.model_dump(exclude_unset=True)))


def _handler(fn, model, slow: SlowWork | None):
    if slow is not None:
        async def handler(body: model, request: Request):  # type: ignore[valid-type]
            return await slow.run(request, lambda: run_command(fn, body))
    else:
        async def handler(body: model):  # type: ignore[valid-type]
            return run_command(fn, body)
    return handler


@functools.cache
def registered() -> tuple[tuple[Endpoint, Any, Any], ...]:
    """(endpoint, command function, request model) for every command (built once: the models
    are the code's)."""
    out = []
    for ep in ENDPOINTS:
        fn = command_function(ep.name)
        source = command_function(ep.fields_from) if ep.fields_from else fn
        model_name = f"{ep.name.capitalize()}Request"
        if ep.options:
            option_set = getattr(importlib.import_module(source.__module__), ep.options)
            model = options_model(option_set, model_name, strict=True)
        else:
            model = request_model(source, model_name, exclude=ep.exclude, types=ep.types,
                                  strict=True)
        out.append((ep, fn, model))
    return tuple(out)


def _upload_name(filename: str | None) -> str:
    """The upload's base name reduced to safe characters: a label only, never a server path."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", PurePath(filename or "").name)[:100].lstrip(".")
    return name or "runs.csv"


def _run_fit(fn, data: bytes, filename: str | None, options: dict) -> Response:
    """Fit the uploaded CSV, written to a temporary directory the server creates and removes.
    Results and messages name the file by its upload name, as the CLI names its argument."""
    with tempfile.TemporaryDirectory(prefix="computeplan-fit-") as tmp:
        path = Path(tmp) / _upload_name(filename)
        path.write_bytes(data)
        try:
            response = json_response(fn(path, **options))
        except InputError as exc:
            raise InputError(str(exc).replace(tmp + os.sep, "")) from None
        response.body = response.body.replace((tmp + os.sep).encode(), b"")
        response.headers["content-length"] = str(len(response.body))
        return response


def _add_fit(router: APIRouter, slow: SlowWork) -> None:
    """``POST /api/fit``: multipart form with the CSV as ``runs`` and the options as fields."""
    fn = command_function("fit")
    bootstrap = Annotated[int, Field(ge=0, le=MAX_WEB_BOOTSTRAP)]
    options = request_model(fn, "FitOptions", exclude=("path",), types={"bootstrap": bootstrap})
    form_model = create_model("FitForm", __base__=options,
                              runs=(UploadFile, Field(description="CSV file of runs")))

    async def fit(form: Annotated[form_model, Form()], request: Request):  # type: ignore
        data = await form.runs.read()
        fields = form.model_dump(exclude={"runs"})
        return await slow.run(request, _run_fit, fn, data, form.runs.filename, fields)

    router.add_api_route("/fit", fit, methods=["POST"], name="fit", tags=["commands"],
                         summary="Fit a law to an uploaded CSV of runs (computeplan fit RUNS)",
                         response_class=Response,
                         responses={200: {"content": {"application/json": {}}},
                                    **ERROR_RESPONSES})


def api_router(slow: SlowWork) -> APIRouter:
    """``POST /api/<command>`` for every command; slow ones share the slots of ``slow``."""
    router = APIRouter(prefix="/api")
    _add_fit(router, slow)
    for ep, fn, model in registered():
        router.add_api_route(f"/{ep.name}", _handler(fn, model, slow if ep.slow else None),
                             methods=["POST"],
                             summary=ep.summary, name=ep.name, tags=["commands"],
                             response_class=Response,
                             responses={200: {"content": {"application/json": {}}},
                                        **ERROR_RESPONSES})
        if ep.get:
            router.add_api_route(f"/{ep.name}", _defaults_handler(fn, model), methods=["GET"],
                                 summary=ep.summary + ", every option at its default",
                                 name=f"{ep.name}_get", tags=["commands"],
                                 response_class=Response,
                                 responses={200: {"content": {"application/json": {}}},
                                            **ERROR_RESPONSES})
    return router


def _defaults_handler(fn, model):
    """A GET handler: the command with the request model's defaults (an empty body)."""
    async def handler():
        return run_command(fn, model())
    return handler


def page_router(slow: SlowWork) -> APIRouter:
    """``GET /report.html?<plan fields>``: the HTML report of ``computeplan report``, rendered
    in a worker thread in one of the slots of ``slow``."""
    from ..commands.plan import PlanOptions
    from ..commands.report import report

    query_model = options_model(PlanOptions, "ReportQuery")
    router = APIRouter(tags=["page"])

    @router.get("/report.html", response_class=HTMLResponse, responses=ERROR_RESPONSES,
                summary="Self-contained HTML report of a plan (computeplan report)")
    async def report_html(query: Annotated[query_model, Query()],  # type: ignore[valid-type]
                          request: Request):
        from .report import render_html

        def run() -> str:
            return render_html(report(**query.model_dump()))

        return HTMLResponse(await slow.run(request, run))

    return router
