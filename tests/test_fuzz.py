"""Fuzz every CLI command and every web endpoint with extreme, finite and malformed inputs
(issue 16, item 2).

The CLI never shows a traceback: every vector ends with exit status 0, 1 (a fit that is not
reliable) or 2 (a one-line ``error:``), and a table never prints ``inf``/``nan``. The web never
answers 5xx, and every error is one JSON body ``{"error": ...}``. Bounded and deterministic:
hypothesis draws ``COMPUTEPLAN_FUZZ_VECTORS`` examples per command and endpoint (default 25)
with ``derandomize=True`` (the same examples on every run and machine); raise the count for a
longer hunt.
"""

import inspect
import json
import os
import re
import types
import typing
import warnings
from enum import Enum
from pathlib import Path

import pytest
import typer.main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from computeplan.cli import app

VECTORS = int(os.environ.get("COMPUTEPLAN_FUZZ_VECTORS", "25"))
#: Deterministic, bounded, no example database: the same vectors everywhere.
FUZZ = settings(max_examples=VECTORS, derandomize=True, database=None, deadline=None,
                suppress_health_check=list(HealthCheck))
EXAMPLE_RUNS = Path(__file__).resolve().parents[1] / "examples" / "runs.csv"

FLOATS = ["0", "-1", "1", "2", "0.5", "0.99", "1.5", "3.7", "10", "1000", "1e308", "-1e308",
          "5e-324", "1e-300", "1e15", "1e24", "1e-9", "70e9", "2e12", "nan", "inf", "-0"]
INTS = ["0", "1", "2", "3", "-1", "8", "64", "1000000000000", "99999999999999999999999"]
STRINGS = ["h100", "a100-40gb", "bf16", "fp8", "int8", "fp16", "[/x]", "[bold]x", "", "x" * 300,
           "params", "tokens", "loss", "αβ", "sardana2024", "hoffmann2022", "none"]
#: Option-specific pools (names as the CLI spells them).
SPECIAL = {
    "--grid-points": ["10", "20", "50", "9", "3001", "0"],
    "--points": ["1", "2", "9", "0", "100000"],
    "--bootstrap": ["0", "1", "2", "3", "-1", "100000000"],
    "--set": ["A=1e15", "A=-1e15", "x0=-1e308", "smoothing=0", "smoothing=1e308", "bogus=1",
              "a", "=", "a=nan", "x1=1e-300", "flops_per_sample=5e-324", "b=[/x]"],
    "--holdout": ["tokens_per_param>100", "params>=1e308", "[/x]", "size>3", "flops<0",
                  "tokens>nan"],
    "--host": ["127.0.0.1"],
    "--port": ["8000"],
}


def _files(tmp: Path) -> list[str]:
    """Input files: a good CSV and law, deeply nested JSON, rich markup, non-UTF-8 bytes, a long
    name, a directory and a missing file."""
    (tmp / "nested.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp / "nested.toml").write_text("a = " + "[" * 100_000 + "]" * 100_000)
    law = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.336, "beta": 0.283}
    (tmp / "markup.json").write_text(json.dumps(law | {"name": "[/x]", "source": "[bold]"}))
    (tmp / "tiny.json").write_text(json.dumps(law | {"B": 5e-324}))
    (tmp / "gpus.toml").write_text('["[/y]"]\nmemory_gb = 80\nbandwidth_gb_per_s = 3000\n'
                                   'peak_tflops = { bf16 = 900 }\nusd_per_gpu_hour = 1\n')
    (tmp / "binary.csv").write_bytes(b"\xff\xfe\x00params\n\x80\x81")
    (tmp / "runs.csv").write_bytes(EXAMPLE_RUNS.read_bytes())
    (tmp / "samples.csv").write_text("train_flops,samples,score\n1e20,1,0.1\n1e21,10,0.5\n"
                                     "1e22,100,0.9\n1e23,1000,0.99\n1e24,1,1e308\n")
    return [str(tmp / n) for n in ("nested.json", "nested.toml", "markup.json", "tiny.json",
                                   "gpus.toml", "binary.csv", "runs.csv", "samples.csv")] + [
        str(tmp), str(tmp / "missing.json"), str(tmp / ("a" * 300 + ".json")), "[/x].json"]


def _base(annotation):
    """The type inside ``Annotated[...]`` and ``X | None``; (type, is_list)."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    if typing.get_origin(annotation) is list:
        return typing.get_args(annotation)[0], True
    return annotation, False


def _pool(name: str, kind, files: list[str], outputs: list[str]) -> list[str]:
    if name in SPECIAL:
        return SPECIAL[name]
    if name in ("--out", "--plot"):
        return outputs
    if isinstance(kind, type) and issubclass(kind, Enum):
        return [m.value for m in kind] + ["bogus"]
    if kind is float:
        return FLOATS
    if kind is int:
        return INTS
    if kind is Path or "file" in name or name in ("--law", "--fit"):
        return files + (STRINGS if name == "--law" else [])
    return STRINGS + FLOATS[:4]


def _commands():
    click_group = typer.main.get_command(app)
    for info in app.registered_commands:
        if info.name == "web":  # it starts a server: covered by the web tests
            continue
        signature = inspect.signature(info.callback, eval_str=True).parameters
        params = []
        for p in click_group.commands[info.name].params:
            kind, is_list = _base(signature[p.name].annotation)
            params.append((p, kind, is_list))
        yield info.name, params


COMMANDS = dict(_commands())


def _vector(draw, params, files, outputs) -> list[str]:
    """Arguments for one command: every argument, and each option with probability ~0.3."""
    args = []
    for p, kind, is_list in params:
        flag = p.opts[0]
        pool = st.sampled_from(_pool(flag, kind, files, outputs))
        if p.param_type_name == "argument":
            args.append(draw(pool))
            continue
        if draw(st.integers(0, 9)) >= 3:
            continue
        if getattr(p, "is_flag", False):
            args.append(flag)
            continue
        for _ in range(draw(st.integers(1, 2)) if (p.multiple or is_list) else 1):
            args += [flag, *(draw(pool) for _ in range(p.nargs))]
    return args


def _check(args: list[str], result) -> None:
    shown = " ".join(args)[:500]
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"computeplan {shown}\n raised {result.exception!r}")
    assert result.exit_code in (0, 1, 2), (shown, result.exit_code, result.output[-500:])
    assert "Traceback" not in result.output, (shown, result.output[-2000:])
    if result.exit_code == 2:
        assert result.stderr.count("\n") >= 1 and "error" in result.stderr.lower(), (
            shown, result.stderr)
    if result.exit_code == 0 and "--json" not in args:
        assert not re.search(r"\b(inf|nan)%|(?<![\w-])(nan|-?inf)(?![\w-])", result.stdout), (
            shown, result.stdout)


def cached_runner(monkeypatch) -> CliRunner:
    """A CliRunner that builds the click command once, not on every call (0.04-0.4 s each)."""
    import typer.testing

    if hasattr(typer.testing, "_get_command"):
        built = typer.main.get_command(app)
        monkeypatch.setattr(typer.testing, "_get_command", lambda _app: built)
    return CliRunner()


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_cli_fuzz_never_tracebacks(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # outputs with relative names land here
    runner = cached_runner(monkeypatch)
    files = _files(tmp_path)
    outputs = [str(tmp_path / "out.png"), str(tmp_path / "runs.csv"), str(tmp_path),
               str(tmp_path / "no" / "x.png"), str(tmp_path / ("b" * 300 + ".png"))]

    @FUZZ
    @given(st.data())
    def run(data):
        args = [name, *_vector(data.draw, COMMANDS[name], files, outputs)]
        if name == "report" and data.draw(st.integers(0, 4)):
            args.append("--json")  # the HTML report draws three figures: keep most runs fast
        _check(args, runner.invoke(app, args))

    run()


# ----------------------------------------------------------------------------- web endpoints
NUMBERS = [0, -1, 1, 2, 0.5, 0.99, 1.5, 10, 1000, 1e308, -1e308, 5e-324, 1e-300, 1e15, 1e24,
           70e9, 2e12, -0.0, 10**400, "1e3", "nan", True, None, [], {}]
WORDS = ["h100-sxm", "a100-40gb", "bf16", "fp8", "[/x]", "[bold]x", "", "x" * 300, "αβ",
         "sardana2024", "n-at-k", "../etc/passwd", 1, None, ["a"]]


def _schema_pool(schema: dict, components: dict) -> list:
    """Values for one field of an OpenAPI schema: typed extremes, enum members, wrong types."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    if "anyOf" in schema:
        return [v for s in schema["anyOf"] for v in _schema_pool(s, components)]
    if "enum" in schema:
        return list(schema["enum"]) + ["bogus", 0]
    kind = schema.get("type")
    if kind in ("number", "integer"):
        return NUMBERS + ([10, 20, 999, 1000, 1001, 9] if kind == "integer" else [])
    if kind == "boolean":
        return [True, False, 0, "yes"]
    if kind == "array":
        return [[1e20, 1e24], [24, 22], [-400, 400], [5e-324], [1] * 2000, [], [[[]]], "x"]
    if kind == "object":
        return [{"A": 1e15}, {"a": 1e-300}, {"x1": 1e300}, {"bogus": 1}, {"[/x]": 1}, {}, []]
    return WORDS


def _endpoints():
    """(method, path, {field: pool}) for every endpoint of the OpenAPI schema."""
    from computeplan.web import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schema = create_app().openapi()
    components = schema.get("components", {}).get("schemas", {})
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            fields = {q["name"]: q.get("schema", {}) for q in op.get("parameters", [])}
            for content in op.get("requestBody", {}).get("content", {}).values():
                body = content["schema"]
                if "$ref" in body:
                    body = components[body["$ref"].rsplit("/", 1)[-1]]
                fields |= body.get("properties", {})
            yield method, path, {k: _schema_pool(v, components) for k, v in fields.items()}


try:
    import fastapi  # noqa: F401
    import httpx2  # noqa: F401

    ENDPOINTS = {f"{m} {p}": (m, p, f) for m, p, f in _endpoints()}
except ImportError:  # the web extra is not installed
    ENDPOINTS = {}

CSV_BODIES = [EXAMPLE_RUNS.read_bytes(), b"", b"\xff\xfe\x00", b"params,tokens,loss\n1,2,3\n",
              b"params,tokens,loss\n" + b"1e308,1e308,1e308\n" * 8, b"[/x]\n" * 50]


@pytest.fixture(scope="module")
def web_client():
    pytest.importorskip("fastapi", reason="the web extra is not installed")
    pytest.importorskip("httpx2", reason="starlette's test client needs httpx2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from computeplan.web import create_app

    with TestClient(create_app(), raise_server_exceptions=False) as client:
        yield client


def _check_answer(what: str, response) -> None:
    assert response.status_code < 500, (what, response.status_code, response.text[:1000])
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body.get("error"), str) and "\n" not in body["error"], (what, body)
        assert len(body["error"]) <= 1000, (what, len(body["error"]))


#: Endpoints that draw figures (seconds per valid request): fewer examples.
FEW_EXAMPLES = {"get /report.html": max(VECTORS // 6, 2)}


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_web_fuzz_never_500(endpoint, web_client):
    method, path, pools = ENDPOINTS[endpoint]
    names = sorted(pools)

    @settings(FUZZ, max_examples=FEW_EXAMPLES.get(endpoint, VECTORS))
    @given(st.data())
    def run(data):
        chosen = data.draw(st.lists(st.sampled_from(names), max_size=4, unique=True)) \
            if names else []
        fields = {k: data.draw(st.sampled_from(pools[k])) for k in chosen}
        if data.draw(st.integers(0, 9)) == 0:
            fields["[/unknown]"] = 1
        what = f"{method.upper()} {path} {json.dumps(fields, default=str)[:300]}"
        if method == "get":
            response = web_client.get(path, params={k: str(v) for k, v in fields.items()})
        elif path == "/api/fit":
            form = {k: str(v) for k, v in fields.items() if k != "runs"}
            csv = data.draw(st.sampled_from(CSV_BODIES))
            response = web_client.post(path, data=form, files={"runs": ("r.csv", csv)})
        elif data.draw(st.integers(0, 9)) == 0:
            raw = data.draw(st.sampled_from([b"", b"{", b"[" * 20000 + b"]" * 20000, b"\xff",
                                             b'{"a": ' * 5000 + b"1" + b"}" * 5000, b"null"]))
            response = web_client.post(path, content=raw,
                                       headers={"content-type": "application/json"})
        else:
            response = web_client.post(path, content=json.dumps(fields),
                                       headers={"content-type": "application/json"})
        _check_answer(what, response)

    run()
