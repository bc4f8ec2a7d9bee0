"""HTTP API: same JSON as the CLI's --json, published numbers, 422/413 errors, no server files."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

pytest.importorskip("fastapi", reason="the web extra is not installed")
pytest.importorskip("httpx2", reason="starlette's test client needs httpx2")


from cli_helpers import run_json, web_spelled  # noqa: E402
from computeplan.commands.plan import plan  # noqa: E402
from computeplan.render import dumps, finite_jsonable, jsonable  # noqa: E402
from computeplan.web.routes import MAX_BODY_BYTES  # noqa: E402
from computeplan.web.schema import request_model  # noqa: E402
from published import SARDANA_DOLLARS, SARDANA_HARDWARE, cli_args  # noqa: E402

runner = CliRunner()

SARDANA_DOLLARS_CLI = cli_args(SARDANA_DOLLARS)
SARDANA_DOLLARS_API = SARDANA_DOLLARS


def api_json(client, name, body):
    response = client.post(f"/api/{name}", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def g4(x):
    return f"{x:.4g}"


# ------------------------------------------------- REFERENCES section 2: API == CLI == published
def test_published_loss_of_70b_on_1t_tokens(client):
    out = api_json(client, "model", {"params": 70e9, "tokens": 1e12, "law": "sardana2024"})
    assert out == web_spelled(run_json("model", "--params", "70e9", "--tokens", "1e12"))
    assert f"{out['loss']:.3f}" == "1.947"


def test_published_flops_optimum(client):
    body = {"loss": 1.947, "inference_tokens": 2e12, "law": "sardana2024"}
    out = api_json(client, "plan", body)
    assert out == run_json("plan", "--loss", "1.947", "--inference-tokens", "2e12",
                           "--law", "sardana2024")
    assert g4(out["optimal"]["params"]) == "2.418e+10"
    assert g4(out["optimal"]["train_tokens"]) == "2.657e+12"
    assert round(100 * out["ratios"]["params"], 2) == 70.96
    assert round(100 * out["ratios"]["train_tokens"], 2) == 146.77
    assert round(100 * out["ratios"]["total_flops"], 2) == 95.22


def test_published_dollar_optimum(client):
    out = api_json(client, "plan", {"loss": 1.947, **SARDANA_DOLLARS_API})
    assert out == web_spelled(run_json("plan", "--loss", "1.947", *SARDANA_DOLLARS_CLI))
    assert g4(out["optimal"]["params"]) == "2.053e+10"
    assert g4(out["optimal"]["train_tokens"]) == "3.302e+12"
    assert round(100 * out["ratios"]["params"], 2) == 60.23
    assert round(100 * out["ratios"]["train_tokens"], 2) == 182.41
    assert round(100 * out["ratios"]["total_cost_usd"], 2) == 88.76


def test_published_chinchilla_30b(client):
    out = api_json(client, "model", {"params": 30e9, "chinchilla": True})
    assert out == web_spelled(run_json("model", "--chinchilla", "--params", "30e9"))
    assert g4(out["train_tokens"]) == "1.556e+12"
    assert f"{out['loss']:.3f}" == "1.958"
    assert g4(out["train_flops"]) == "2.801e+23"


def test_published_figure_1(client):
    """Sardana et al. Figure 1: a ~7B model reaches the loss of a Chinchilla-optimal 13B model
    and saves ~1.7e22 FLOPs (17%) over 2e12 inference tokens."""
    out = api_json(client, "plan", {"reference_params": 13e9, "inference_tokens": 2e12})
    assert out == web_spelled(run_json("plan", "--reference-params", "13e9",
                                       "--inference-tokens", "2e12"))
    saved = out["chinchilla"]["total_flops"] - out["optimal"]["total_flops"]
    assert round(out["optimal"]["params"] / 1e9) == 7
    assert f"{saved:.1e}" == "1.7e+22"
    assert round(100 * (1 - out["ratios"]["total_flops"])) == 17


def test_default_example_and_notes_match_cli(client):
    assert api_json(client, "plan", {}) == web_spelled(run_json("plan"))


def test_report_json_matches_cli(client):
    body = {"loss": 1.947, **SARDANA_DOLLARS_API}
    out = api_json(client, "report", body)
    assert out == web_spelled(run_json("report", "--loss", "1.947", *SARDANA_DOLLARS_CLI))
    assert out["plan"] == api_json(client, "plan", body)
    assert {"demand_sweep", "isoloss", "cost_curve"} == set(out["figures"])


@given(loss=st.floats(1.75, 3.5), tokens=st.floats(0, 1e16),
       law=st.sampled_from(["hoffmann2022", "sardana2024", "besiroglu2024"]))
def test_api_equals_commands_layer(client, loss, tokens, law):
    """For any valid input the API answers exactly the commands layer's JSON, and the optimum
    never costs more than the Chinchilla-optimal model."""
    if loss <= 1.8172 and law == "besiroglu2024":
        loss += 0.1
    body = {"loss": loss, "inference_tokens": tokens, "law": law}
    out = api_json(client, "plan", body)
    assert out == json.loads(json.dumps(jsonable(plan(**body))))
    assert out["ratios"]["total_flops"] <= 1 + 1e-12


# --------------------------------- the answer's bytes == the straightforward encoding's bytes
def plain_json(result, indent=None) -> bytes:
    """The straightforward encoding: :func:`jsonable`'s walk, the non-finite check, json.dumps."""
    return json.dumps(finite_jsonable(result), indent=indent, allow_nan=False).encode()


@settings(max_examples=40, deadline=None)
@given(loss=st.floats(1.8, 3.5), requests=st.floats(0, 1e13), dollars=st.booleans(),
       gpu=st.sampled_from(["a100-80gb", "h100-sxm", "a100-40gb"]),
       decode_mfu=st.none() | st.floats(0.01, 1.0), roofline=st.booleans(),
       law=st.sampled_from(["hoffmann2022", "sardana2024", "besiroglu2024", "gadre2024-c4"]))
def test_plan_answers_are_the_plain_data_walk_byte_for_byte(client, loss, requests, dollars,
                                                            gpu, decode_mfu, roofline, law):
    """Whatever the web layer and the encoder do to go fast, a plan's answer is byte for byte
    the JSON of the plain data walk (FLOPs and dollar plans, the roofline decode model)."""
    body = {"loss": loss, "law": law}
    if dollars:
        body |= {"requests": requests, "input_tokens": 1000, "output_tokens": 250,
                 **SARDANA_HARDWARE, "inference_gpu": gpu}
        if roofline:
            body["decode_model"] = "roofline"
        elif decode_mfu is not None:
            body["decode_mfu"] = decode_mfu
    else:
        body["inference_tokens"] = requests * 1250
    response = client.post("/api/plan", json=body)
    if response.status_code == 422:  # e.g. a loss below this law's E
        with pytest.raises(Exception, match="."):
            plain_json(plan(**body))
        return
    assert response.status_code == 200, response.text
    assert response.content == plain_json(plan(**body))


@pytest.mark.parametrize("name, body", [
    ("plan", {}),
    ("plan", {"budget_usd": 1e6, "requests": 1e9, "input_tokens": 100, "output_tokens": 10}),
    ("plan", {"reference_params": 7e9, "reference_tokens": 2e12, "unique_tokens": 1e11}),
    ("plan", {"loss": 2.0, "law": "besiroglu2024", "uncertainty": True}),
    ("plan", {"loss": 2.0, "inference_tokens": 2e12, "horizon_days": 365}),
    ("plan", {"loss": 2.0, "requests_range": [1e9, 1e11], "input_tokens": 100,
              "output_tokens": 100, "train_gpu": "h100-sxm"}),
    ("report", {"loss": 1.947, **SARDANA_DOLLARS}),
    ("model", {"params": 70e9, "tokens": 1e12}),
    ("gpus", {}),
    ("train", {"params": 7e9, "tokens": 2e12, "gpu": "a100-80gb", "gpu_hours": 184320}),
    ("serve", {"params": 175e9, "gpu": "a100-80gb", "dtype": "fp16"}),
    ("tradeoff", {"technique": "scaling-policy", "queries": [1e13]}),
    ("allocate", {"train_oom": 1, "inference_oom": 2, "total": 300}),
    ("overhead", {"size_fraction": [0.5, 0.25]}),
])
def test_every_command_encodes_as_the_plain_data_walk(name, body):
    """The CLI's indented JSON and the web's compact JSON of every command: the bytes of the
    plain data walk."""
    from computeplan.web.routes import command_function

    result = command_function(name)(**body)
    assert dumps(result).encode() == plain_json(result, indent=2)
    assert dumps(result, indent=None).encode() == plain_json(result)


# ------------------------------------------------------------------------ errors and limits
@pytest.mark.parametrize("body, words", [
    ({"loss": 1.5}, ["loss", "> E = 1.69", "1.5"]),
    ({"loss": 2, "requests": 1e9, "input_tokens": 10, "output_tokens": 5, "train_mfu": 1.5},
     ["train_mfu", "(0, 1]", "1.5"]),
    ({"inference_tokens": -1}, ["inference_tokens", ">= 0", "-1"]),
    ({"loss": 2, "train_gpu": "tpu-v9"}, ["unknown GPU", "tpu-v9", "h100-sxm"]),
    ({"requests": 1e9}, ["requests", "input_tokens", "output_tokens"]),
    ({"loss": "two"}, ["loss", "valid number", "two"]),
    ({"lost": 2}, ["lost", "Extra inputs are not permitted"]),
    ({"law": "/etc/passwd"}, ["law", "sardana2024", "/etc/passwd"]),
    ({"gpu_file": "/etc/passwd"}, ["gpu_file", "Extra inputs"]),
    ({"train_gpu": "x" * 201}, ["train_gpu", "at most 200 characters"]),
])
def test_invalid_input_is_422_naming_field_and_range(client, body, words):
    response = client.post("/api/plan", json=body)
    assert response.status_code == 422
    message = response.json()["error"]
    assert "\n" not in message and "--" not in message
    for word in words:
        assert word in message


@pytest.mark.parametrize("raw", [b'{"loss": NaN}', b'{"loss": Infinity}', b'{"loss": 1e999}'])
def test_non_finite_numbers_are_422(client, raw):
    response = client.post("/api/plan", content=raw,
                           headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"].startswith("loss: Input should be a finite number")


def test_malformed_or_missing_body_is_422(client):
    response = client.post("/api/plan", content=b"{", headers={"content-type": "application/json"})
    assert response.status_code == 422 and "invalid JSON" in response.json()["error"]
    response = client.post("/api/plan")
    assert response.status_code == 422 and "JSON object" in response.json()["error"]


def test_body_size_limit(client):
    padded = b'{"loss": 2' + b" " * MAX_BODY_BYTES + b"}"
    response = client.post("/api/plan", content=padded,
                           headers={"content-type": "application/json"})
    assert response.status_code == 413

    def chunks():  # no Content-Length: the limit applies while streaming
        yield b'{"loss": 2'
        for _ in range(MAX_BODY_BYTES // 1000 + 1):
            yield b" " * 1000
        yield b"}"

    response = client.post("/api/plan", content=chunks(),
                           headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert str(MAX_BODY_BYTES) in response.json()["error"]
    assert client.post("/api/plan", json={"loss": 2}).status_code == 200


# ------------------------------------------------------------------ schema and other routes
def test_openapi_lists_commands_and_no_server_paths(client):
    spec = client.get("/openapi.json").json()
    assert {"/api/plan", "/api/model", "/api/report"} <= set(spec["paths"])
    props = spec["components"]["schemas"]["PlanRequest"]["properties"]
    assert "gpu_file" not in props and "loss" in props and "train_usd_per_gpu_hour" in props
    presets, inline = props["law"]["anyOf"]  # a preset's name or a law file's object
    assert set(presets["enum"]) == {"hoffmann2022", "sardana2024", "besiroglu2024",
                                    "muennighoff2023", "sardana2024-mpt", "gadre2024-c4",
                                    "gadre2024-rpj", "gadre2024-rw"}
    assert inline["type"] == "object"


def test_request_model_from_signature():
    from pathlib import Path

    def cmd(*, x=None, n: int = 3, flag: bool = False, law: str = "sardana2024",
            where: Path | None = None):
        pass

    model = request_model(cmd, "CmdRequest")
    assert set(model.model_fields) == {"x", "n", "flag", "law"}
    assert model(x=1).model_dump() == {"x": 1.0, "n": 3, "flag": False, "law": "sardana2024"}

    def needs_path(*, where: Path):
        pass

    with pytest.raises(TypeError, match="path"):
        request_model(needs_path, "Bad")


def test_meta_page_and_report_html(client):
    meta = client.get("/api/meta").json()
    assert "a100-40gb" in meta["gpus"] and "int8" in meta["gpus"]["a100-40gb"]["dtypes"]
    assert meta["dollar_defaults"]["decode_mfu"] == 0.01 and "plan" in meta["endpoints"]
    page = client.get("/")
    assert page.status_code == 200 and "<script" in page.text and "http" not in page.text.split(
        "<body", 1)[0].replace("http-equiv", "")
    html = client.get("/report.html", params={"loss": 1.947, "inference_tokens": 2e12})
    assert html.status_code == 200 and html.text.count("data:image/png;base64,") == 3
    assert "70.96%" in html.text and "95.22%" in html.text
    bad = client.get("/report.html", params={"loss": 1.947, "gpu_file": "/etc/passwd"})
    assert bad.status_code == 422


# ------------------------------------------- the other commands: API == CLI --json when present
def needs(client, name):
    if name not in client.get("/api/meta").json()["endpoints"]:
        pytest.skip(f"command {name} not written yet")


@pytest.mark.parametrize("name, args, body", [
    ("gpus", [], {}),
    ("train", ["--params", "7e9", "--tokens", "2e12", "--gpu", "a100-80gb", "--gpu-hours",
               "184320"], {"params": 7e9, "tokens": 2e12, "gpu": "a100-80gb",
                           "gpu_hours": 184320}),
    ("serve", ["--params", "175e9", "--gpu", "a100-80gb", "--dtype", "fp16"],
     {"params": 175e9, "gpu": "a100-80gb", "dtype": "fp16"}),
    ("tradeoff", ["scaling-policy", "--queries", "1e13"],
     {"technique": "scaling-policy", "queries": [1e13]}),
    ("tradeoff", ["pruning", "--set", "fraction_per_round=0.2"],
     {"technique": "pruning", "params": {"fraction_per_round": 0.2}}),
    ("allocate", ["--train-oom", "1", "--inference-oom", "2", "--total", "300"],
     {"train_oom": 1, "inference_oom": 2, "total": 300}),
    ("overhead", ["--size-fraction", "0.5"], {"size_fraction": 0.5}),
    ("overhead", ["--size-fraction", "0.5", "--size-fraction", "0.25"],
     {"size_fraction": [0.5, 0.25]}),
])
def test_other_commands_match_cli(client, name, args, body):
    needs(client, name)
    assert api_json(client, name, body) == web_spelled(run_json(name, *args))


def test_gpu_catalog_answers_get(client):
    """The catalog is naturally a GET: the same JSON as POST {} and `computeplan gpus --json`."""
    response = client.get("/api/gpus")
    assert response.status_code == 200
    assert response.json() == api_json(client, "gpus", {}) == web_spelled(run_json("gpus"))
    assert client.get("/api/plan").status_code == 405  # other commands take a body


def test_train_needs_its_fields(client):
    needs(client, "train")
    response = client.post("/api/train", json={"params": 7e9})
    assert response.status_code == 422
    assert response.json()["error"] == "tokens: Field required"


def test_train_warns_when_the_gpus_cannot_hold_the_state(client):
    """7B parameters need 112 GB of Adam state: one 80 GB H100 cannot hold it. The warning the
    CLI table prints is in the CLI's --json and the API's JSON too; four GPUs hold it."""
    needs(client, "train")
    body = {"params": 7e9, "tokens": 1e12}
    out = api_json(client, "train", body)
    assert out["min_gpus_for_state"] == 2
    assert out["warnings"] == ["1 GPU cannot hold the training state; at least 2 are needed "
                               "without offloading"]
    assert out == web_spelled(run_json("train", "--params", "7e9", "--tokens", "1e12"))
    assert api_json(client, "train", body | {"gpus": 4})["warnings"] == []


def test_fit_upload_matches_cli(client, monkeypatch):
    needs(client, "fit")
    from pathlib import Path

    examples = Path(__file__).resolve().parents[1] / "examples"
    csv = (examples / "runs.csv").read_bytes()
    response = client.post("/api/fit", files={"runs": ("../../etc/runs.csv", csv, "text/csv")},
                           data={"tokens_col": "tokens"})
    assert response.status_code == 200, response.text
    monkeypatch.chdir(examples)  # the CLI names the file as given: runs.csv
    assert response.json() == web_spelled(run_json("fit", "runs.csv", "--tokens-col",
                                                   "tokens"))
    assert response.json()["source"] == "runs.csv"


def test_fit_errors_name_the_upload_not_a_server_path(client):
    needs(client, "fit")
    response = client.post("/api/fit", files={"runs": ("x.csv", b"a,b\n1,2\n", "text/csv")})
    assert response.status_code == 422
    message = response.json()["error"]
    assert "params_col" in message and "x.csv" in message and "/tmp" not in message
    response = client.post("/api/fit", files={"runs": ("x.csv", b"x" * (3 << 20), "text/csv")})
    assert response.status_code == 413
    response = client.post("/api/fit", data={"bootstrap": 5000})
    assert response.status_code == 422 and "less than or equal to 200" in response.text


@pytest.mark.parametrize("text", ["2_0", "\uff12", "abc", "0x10"])
def test_numbers_in_text_are_spelt_as_the_cli_spells_them(client, text):
    """A query string or form field is text: its numbers are read as the CLI reads them
    (pydantic's lax mode reads '2_0' as 20), an integer field's as whole numbers."""
    bad = client.get("/report.html", params={"loss": text})
    assert bad.status_code == 422
    assert bad.json()["error"] == ("loss: Input should be a number written as digits with an "
                                   "optional point and exponent, e.g. 2, 0.5 or 1.5e21; got "
                                   f"{text!r}")
    needs(client, "fit")
    runs = {"runs": ("x.csv", b"params,tokens,loss\n1e9,2e10,2.5\n", "text/csv")}
    for whole in (text, "2.5"):
        bad = client.post("/api/fit", files=runs, data={"bootstrap": whole})
        assert bad.status_code == 422
        assert bad.json()["error"] == ("bootstrap: Input should be a whole number written as "
                                       f"digits, e.g. 0, 3 or 1000; got {whole!r}")
    fine = client.post("/api/fit", files=runs, data={"bootstrap": "3"})
    assert fine.status_code == 422 and "need more than 5 runs" in fine.json()["error"]


def test_computeplan_web_serves_the_page_and_api():
    """`computeplan web` in a real process on 127.0.0.1: the page and a plan answer."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "computeplan", "web", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                page = urllib.request.urlopen(base + "/", timeout=2).read().decode()
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert "computeplan" in page
        request = urllib.request.Request(
            base + "/api/plan", data=b'{"loss": 1.947, "inference_tokens": 2e12}',
            headers={"content-type": "application/json"})
        out = json.loads(urllib.request.urlopen(request, timeout=10).read())
        assert f"{out['optimal']['params']:.4g}" == "2.418e+10"
    finally:
        proc.terminate()
        proc.wait(10)


def test_405_names_the_allowed_methods(client):
    """A wrong method is 405 with the JSON error body and an Allow header (issue 16)."""
    response = client.get("/api/plan")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST" and "error" in response.json()


@pytest.mark.parametrize("law", ["sardana2024-mpt", "gadre2024-c4", "gadre2024-rpj",
                                 "gadre2024-rw"])
def test_presets_of_other_forms_plan_on_the_api_as_on_the_cli(client, law):
    """The presets fitted on over-trained runs (issue 11) are in the API's law choices, and a
    plan and a report with one are the CLI's; meta describes every preset with its formula."""
    r = client.post("/api/plan", json={"law": law, "loss": 2.3, "inference_tokens": 1e13})
    assert r.status_code == 200, r.text
    cli = run_json("plan", "--law", law, "--loss", "2.3", "--inference-tokens", "1e13")
    for key in ("params", "train_tokens"):
        assert r.json()["optimal"][key] == cli["optimal"][key]
    assert law in client.get("/openapi.json").text
    meta = client.get("/api/meta").json()["laws"][law]
    assert meta["name"] == law and meta["formula"].startswith("L = ")
    if law == "sardana2024-mpt":
        assert meta["form"] == "kaplan"
    # the report (the page's request) is the CLI's, iso-loss curves of the law's form included
    r = client.post("/api/report", json={"law": law, "loss": 2.3})
    assert r.status_code == 200, r.text
    cli = run_json("report", "--law", law, "--loss", "2.3")
    assert r.json()["plan"]["optimal"] == cli["plan"]["optimal"]
    assert r.json()["figures"]["isoloss"] == cli["figures"]["isoloss"]
