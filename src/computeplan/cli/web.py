"""`computeplan web` (the local calculator server) and `computeplan report` (HTML/PNG reports).

FastAPI, uvicorn and matplotlib are imported inside the commands, never at start-up.
"""

from __future__ import annotations

import inspect
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError
from ..web.guard import (
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_READ_SECONDS,
    DEFAULT_MAX_REQUEST_SECONDS,
)
from .app import Output, command, emit, law_input, options_from_cli
from .plan import plan as plan_cli

#: Bind addresses that mean every interface of this machine (not a name a client sends).
_WILDCARDS = ("0.0.0.0", "::")
_PORTS = (1, 65535)


@command("web")
def web(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (127.0.0.1 or ::1: "
                                      "this machine only; 0.0.0.0: every interface, with a "
                                      "warning).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port, in [1, 65535].")] = 8000,
    allowed_host: Annotated[list[str] | None, typer.Option(
        "--allowed-host", help="A Host header name to accept besides 127.0.0.1, localhost, ::1 "
        "and the --host address (repeat for more; *.example.org for subdomains, * for any). "
        "Other names get 400, against DNS rebinding.")] = None,
    max_request_seconds: Annotated[float, typer.Option(
        "--max-request-seconds", help="Time limit of a slow request (fit, "
        "tradeoff, train, serve, report), waiting for a free worker included: 503 beyond. "
        "Work is also stopped when its client disconnects.")] = DEFAULT_MAX_REQUEST_SECONDS,
    max_read_seconds: Annotated[float, typer.Option(
        "--max-read-seconds", help="Time a client has to send a whole "
        "request (headers and body): 408 and the connection closed beyond.")
    ] = DEFAULT_MAX_READ_SECONDS,
    max_connections: Annotated[int, typer.Option(
        "--max-connections", help="Connections served at once (idle keep-alive ones "
        "included): a further one gets 503 and is closed.")] = DEFAULT_MAX_CONNECTIONS,
):
    """Start the web calculator and HTTP API (needs the web extra).

    The page is at http://HOST:PORT/, the API under /api (schema at /openapi.json). Each
    endpoint returns the JSON that `computeplan COMMAND --json` prints.

    Example: computeplan web --port 8000
    """
    for flag, value in (("--max-request-seconds", max_request_seconds),
                        ("--max-read-seconds", max_read_seconds)):
        if not value > 0 or value == float("inf"):
            raise InputError(f"{flag} must be a finite number of seconds > 0; got {value:g}")
    if not _PORTS[0] <= port <= _PORTS[1]:
        raise InputError(f"--port must be a whole number in [{_PORTS[0]}, {_PORTS[1]}]; got "
                         f"{port}")
    if max_connections < 1:
        raise InputError(f"--max-connections must be a whole number >= 1; got {max_connections}")
    if not host.strip("[] \t"):  # '' would bind every interface, unannounced
        raise InputError(f"--host must be an address or a name, such as 127.0.0.1 or ::1 (this "
                         f"machine only) or 0.0.0.0 (every interface); got {host!r}")
    try:
        import uvicorn
    except ImportError:
        raise InputError("the web server needs the web extra: pip install 'computeplan[web]'"
                         ) from None
    from ..web.app import create_app
    from ..web.guard import LOOPBACK_HOSTS, is_loopback
    from ..web.server import listening_sockets, server_config

    address = host.strip("[]")  # an IPv6 address may come bracketed, as in a URL
    sockets = listening_sockets(address, port)  # a port in use: one line, exit 2
    bound = [] if host in _WILDCARDS or host in LOOPBACK_HOSTS else [address]
    allowed = (*LOOPBACK_HOSTS, *bound, *(allowed_host or ()))
    shown = f"[{address}]" if ":" in host else host
    typer.echo(f"computeplan web: http://{shown}:{port}/ (Ctrl+C to stop)", err=True)
    if not is_loopback(host):
        typer.echo(f"warning: --host {host} accepts connections from other machines, and the "
                   "API has no authentication; requests must name an allowed Host ("
                   + ", ".join(allowed) + "; add names with --allowed-host)", err=True)
    app = create_app(allowed_host=allowed, max_request_seconds=max_request_seconds)
    config = server_config(app, host=address, port=port,
                           max_read_seconds=max_read_seconds, max_connections=max_connections)
    uvicorn.Server(config).run(sockets=sockets)


class ReportFormat(StrEnum):
    html = "html"
    png = "png"


def _png_paths(out: Path, options: dict) -> dict[str, Path]:
    """One PNG per figure; a timeline option adds the spend-over-time figure."""
    from ..commands._timeline import TimelineOptions
    from ..web.report import figure_names

    dated = any(options.get(o.name) is not None for o in TimelineOptions.options())
    return {name: out.with_name(f"{out.stem}-{name}.png") for name in figure_names(dated)}


def report(**options):
    out = options.pop("out")
    fmt = options.pop("format")
    as_json = options.pop("as_json")
    from ..commands.plan import PlanOptions
    from ..commands.report import report as run

    if not as_json:  # check the files before the work
        out = out or Path(f"report.{fmt.value}")
        paths = [out] if fmt is ReportFormat.html else list(_png_paths(out, options).values())
        inputs = [law_input(options.get("law")), options.get("gpu_file")]
        outputs = {path: Output("--out", path, inputs=inputs) for path in paths}
    result = run(options_from_cli(PlanOptions, options))
    if as_json:
        emit(result, True, None)
        return
    from ..web.report import figures_png, render_html

    if fmt is ReportFormat.html:
        files = {out: render_html(result).encode("utf-8")}
    else:
        pngs = figures_png(result)
        files = {path: pngs[name] for name, path in _png_paths(out, options).items()}
    for path, data in files.items():
        outputs[path].write(data)
        typer.echo(f"wrote {path}")


_extra = [
    inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
        Path | None, typer.Option("--out", help="Output file (default report.html; with "
                                  "--format png, report.png gives report-savings.png, "
                                  "report-isoloss.png and report-cost.png, and "
                                  "report-spend.png with a timeline option).",
                                  dir_okay=False, rich_help_panel="Report")]),
    inspect.Parameter("format", inspect.Parameter.KEYWORD_ONLY, default=ReportFormat.html,
                      annotation=Annotated[ReportFormat, typer.Option(
                          "--format", help="html: one self-contained page; png: the figures "
                          "alone.", rich_help_panel="Report")]),
]
_plan_params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in
                inspect.signature(plan_cli, eval_str=True).parameters.values()
                if p.name != "plot"]  # the report draws the spend figure itself
report.__signature__ = inspect.Signature(_plan_params + _extra)
report.__doc__ = """Write a self-contained HTML report of a plan (or its figures as PNG).

Takes every option of `computeplan plan`; the report holds the inputs, the assumptions, the
results table and three figures (savings versus demand, loss iso-curves with both plans, lifetime
cost at equal loss). --json prints the report's data instead of writing files.

Example: computeplan report --loss 1.947 --inference-tokens 2e12 --out report.html
"""
report = command("report")(report)
