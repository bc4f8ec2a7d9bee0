"""The web API's inline law: ``law`` as a law file's JSON object plans as ``--law FILE`` does.

Every endpoint that takes a law (plan, report, model, overhead, tradeoff) answers with a law
object exactly what the CLI answers with that object written to a law file; a law file's errors
are the CLI's one-line errors (422); any other value is one error naming both kinds of law.
"""

import json
import urllib.parse
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

pytest.importorskip("fastapi", reason="the web extra is not installed")
pytest.importorskip("httpx2", reason="starlette's test client needs httpx2")


from cli_helpers import run_json, web_spelled  # noqa: E402
from computeplan.cli import app  # noqa: E402
from computeplan.commands.plan import plan  # noqa: E402
from computeplan.laws import PRESETS, form_presets  # noqa: E402
from computeplan.render import jsonable  # noqa: E402
from computeplan.web.routes import MAX_BODY_BYTES  # noqa: E402

EXAMPLE_LAW = json.loads((Path(__file__).parent.parent / "examples" / "law.json").read_text())
MPT = form_presets()["sardana2024-mpt"]  # kaplan form, 186 bootstrap replicates
#: An average of two forms in the law-file format (flat ``f.weight``, ``f.<coefficient>`` keys).
AVERAGE = {"form": "average(kaplan,chinchilla)", "name": "avg",
           "kaplan.weight": 0.6, **{f"kaplan.{k}": v for k, v in MPT.coef.items()},
           "chinchilla.weight": 0.4, "chinchilla.E": 1.8172, "chinchilla.A": 482.01,
           "chinchilla.B": 2085.43, "chinchilla.alpha": 0.3478, "chinchilla.beta": 0.3658}
LAWS = {"chinchilla": EXAMPLE_LAW, "kaplan": MPT.to_dict(), "average": AVERAGE}


def law_file(tmp_path, law: dict) -> str:
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(law))
    return str(path)


def same(web, cli) -> bool:
    """The web answer is the CLI's, up to how messages spell options (``--unique-tokens`` in
    the shell, ``unique_tokens`` on the web; a command to run, ``computeplan fit
    --unique-tokens-col``, keeps its flags on both)."""
    return web_spelled(web) == web_spelled(cli)


def ok(response):
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("kind", LAWS)
@pytest.mark.parametrize("body, args", [
    ({"loss": 2.2, "inference_tokens": 1e13}, ["--loss", "2.2", "--inference-tokens", "1e13"]),
    ({"budget_flops": 1e24, "inference_tokens": 1e13},
     ["--budget-flops", "1e24", "--inference-tokens", "1e13"]),
    ({"loss": 2.3, "inference_tokens": 1e12, "unique_tokens": 1e11},
     ["--loss", "2.3", "--inference-tokens", "1e12", "--unique-tokens", "1e11"]),
])
def test_plan_with_an_inline_law_is_the_cli_plan_with_its_file(client, tmp_path, kind, body,
                                                              args):
    law = LAWS[kind]
    out = ok(client.post("/api/plan", json=body | {"law": law}))
    assert same(out, run_json("plan", *args, "--law", law_file(tmp_path, law)))
    assert out["law"]["name"] == law["name"]


def test_plan_under_an_inline_laws_replicates_is_the_cli_plan(client, tmp_path):
    """--uncertainty uses the object's own replicates (the kaplan-form preset's 186)."""
    law = LAWS["kaplan"]
    body = {"loss": 2.2, "inference_tokens": 1e13, "uncertainty": True, "confidence": 0.8}
    out = ok(client.post("/api/plan", json=body | {"law": law}))
    cli = run_json("plan", "--loss", "2.2", "--inference-tokens", "1e13", "--uncertainty",
                   "--confidence", "0.8", "--law", law_file(tmp_path, law))
    assert same(out, cli)
    assert out["uncertainty"]["replicates"] == len(law["replicates"]) == 186


def test_an_inline_law_with_1000_replicates_fits_in_a_body(client):
    """besiroglu2024 inline, its 1000 bootstrap replicates included (~75 KB, more than the
    64 KiB bodies were), plans as the preset does."""
    law = PRESETS["besiroglu2024"].to_dict()
    body = {"loss": 2.0, "inference_tokens": 1e13, "uncertainty": True}
    text = json.dumps(body | {"law": law})
    assert 64 * 1024 < len(text) < MAX_BODY_BYTES
    inline = ok(client.post("/api/plan", content=text,
                            headers={"content-type": "application/json"}))
    assert inline == ok(client.post("/api/plan", json=body | {"law": "besiroglu2024"}))


@pytest.mark.parametrize("kind", LAWS)
def test_model_overhead_and_tradeoff_with_an_inline_law_are_the_clis(client, tmp_path, kind):
    law = LAWS[kind]
    path = law_file(tmp_path, law)
    model = ok(client.post("/api/model", json={"params": 7e9, "tokens": 2e12, "law": law}))
    assert same(model, run_json("model", "--params", "7e9", "--tokens", "2e12",
                                         "--law", path))
    overhead = ok(client.post("/api/overhead", json={"size_fraction": 0.7,
                                                     "train_flops": 1e23, "law": law}))
    assert same(overhead, run_json("overhead", "--size-fraction", "0.7",
                                            "--train-flops", "1e23", "--law", path))
    tradeoff = ok(client.post("/api/tradeoff", json={"technique": "scaling-policy",
                                                     "level": 2.3, "law": law}))
    assert same(tradeoff, run_json("tradeoff", "scaling-policy", "--level", "2.3",
                                            "--law", path))


def test_report_with_an_inline_law_in_the_body_and_in_the_link(client, tmp_path):
    """POST /api/report takes the object, GET /report.html its JSON text; both plan as the
    CLI's report with the law file, and the page names the law as inline."""
    law = LAWS["kaplan"]
    query = {"loss": 2.2, "inference_tokens": 1e13}
    cli = run_json("report", "--loss", "2.2", "--inference-tokens", "1e13",
                   "--law", law_file(tmp_path, law))
    posted = ok(client.post("/api/report", json=query | {"law": law}))
    assert same(posted["plan"], cli["plan"])
    assert posted["inputs"]["law"] == jsonable(law)
    page = client.get("/report.html?" + urllib.parse.urlencode(query | {"law": json.dumps(law)}))
    assert page.status_code == 200, page.text
    assert f"inline law {law['name']}" in page.text


def test_python_plan_takes_a_law_files_object_as_the_web_does():
    law = LAWS["average"]
    assert (jsonable(plan(loss=2.2, inference_tokens=1e13, law=law).to_dict())
            == jsonable(plan(loss=2.2, inference_tokens=1e13, law=dict(law)).to_dict()))
    by_name = plan(loss=2.2, inference_tokens=1e13, law="sardana2024-mpt").to_dict()
    assert jsonable(plan(loss=2.2, inference_tokens=1e13, law=MPT.to_dict()).to_dict()) \
        == jsonable(by_name)


@pytest.mark.parametrize("law, message", [
    ({"E": 1.9, "A": 420.0}, "law is missing coefficient(s) ['B', 'alpha', 'beta']"),
    ({"form": "nope", "E": 1.9}, "unknown law form 'nope'"),
    ({"form": "kaplan", **MPT.coef, "gamma": 1.0}, "unknown key(s) ['gamma']"),
    # a misspelt key beside the others was ignored (the Chinchilla form's file had no check)
    (EXAMPLE_LAW | {"alhpa": 0.3}, "law of form 'chinchilla' has unknown key(s) ['alhpa'] (did "
     "you mean 'alpha'?); valid keys: E, A, B, alpha, beta, form, name, source, rd_star, "
     "rn_star, domain, replicates"),
    (EXAMPLE_LAW | {"form": "chinchilla", "metadata": {}}, "unknown key(s) ['metadata']"),
    (AVERAGE | {"kaplan.wieght": 0.5}, "unknown key(s) ['kaplan.wieght'] (did you mean "
     "'kaplan.weight'?); valid keys: kaplan.weight, kaplan.E,"),
    ({"form": "tied", **{k: EXAMPLE_LAW[k] for k in ("E", "A", "B", "alpha")}, "beta": 0.3},
     "law of form 'tied' has unknown key(s) ['beta']; valid keys: E, A, B, alpha, form,"),
    (EXAMPLE_LAW | {"alpha": "x"}, "law coefficient alpha must be a number; got 'x'"),
    (EXAMPLE_LAW | {"E": -1.0},
     "law coefficient E must be a finite number > 0 for form 'chinchilla'; got -1.0"),
])
def test_a_bad_inline_law_is_the_law_files_one_line_error(client, tmp_path, law, message):
    response = client.post("/api/plan", json={"loss": 2.5, "law": law})
    assert response.status_code == 422
    error = response.json()["error"]
    assert message in error and "\n" not in error
    cli = CliRunner().invoke(app, ["plan", "--loss", "2.5", "--law", law_file(tmp_path, law)])
    assert cli.exit_code == 2
    assert " ".join(cli.output.split()) == f"error: {error}"


@pytest.mark.parametrize("law", ["/etc/passwd", "mine.json", [1, 2], 42, True, None])
def test_a_law_that_is_neither_a_preset_nor_an_object_is_one_error(client, law):
    response = client.post("/api/plan", json={"loss": 2.5, "law": law})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error.startswith("law: Input should be a preset (hoffmann2022, sardana2024, ")
    assert "or a law file's JSON object" in error and "\n" not in error
    assert len(response.json()["detail"]) == 1  # one error, not one per kind of law


@pytest.mark.parametrize("text", ["{bad", "[1, 2]", "/etc/passwd"])
def test_a_report_link_whose_law_is_not_a_preset_or_a_laws_json_is_one_error(client, text):
    response = client.get("/report.html?" + urllib.parse.urlencode({"loss": 2.5, "law": text}))
    assert response.status_code == 422
    assert response.json()["error"].startswith("law: Input should be a preset (")
    assert "a law file's JSON object as text" in response.json()["error"]


def test_the_schema_publishes_both_kinds_of_law(client):
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    for request in ("PlanRequest", "ModelRequest", "TradeoffRequest", "OverheadRequest"):
        kinds = schema[request]["properties"]["law"]["anyOf"]
        assert {"type": "object"}.items() <= next(k for k in kinds if "enum" not in k).items()
        presets = next(k for k in kinds if "enum" in k)["enum"]
        assert {*PRESETS, *form_presets()} <= set(presets)


_KEYS = st.sampled_from(["form", "E", "A", "B", "alpha", "beta", "beta0", "beta1", "name",
                         "source", "domain", "replicates", "rd_star", "rn_star",
                         "kaplan.weight", "x"])
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30),
                     st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=5),
                     st.sampled_from(["kaplan", "tied", "farseer", "beta-of-n", "chinchilla",
                                      "average(kaplan,tied)"]))
_VALUES = st.recursive(_SCALARS, lambda c: st.lists(c, max_size=3)
                       | st.dictionaries(st.text(max_size=3), c, max_size=3), max_leaves=8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from([EXAMPLE_LAW, MPT.to_dict(replicates=False), AVERAGE]),
       changed=st.dictionaries(_KEYS, _VALUES, max_size=4), dropped=st.sets(_KEYS, max_size=3))
def test_any_json_object_as_a_law_plans_or_is_a_one_line_422(client, base, changed, dropped):
    """A law file's object with keys changed or dropped: a plan (200) or a one-line 422, never
    a server error (the test client raises one)."""
    law = {k: val for k, val in base.items() if k not in dropped} | changed
    response = client.post("/api/plan", json={"loss": 2.3, "inference_tokens": 1e12,
                                              "law": law})
    assert response.status_code in (200, 422)
    if response.status_code == 422:
        assert "\n" not in response.json()["error"]


def test_an_averaged_law_whose_domain_bounds_nothing_plans_with_no_distance_beyond_runs(client):
    """``"domain": {}`` (found by the fuzz test above): each part's plan has no distance
    beyond the runs, as without a domain, instead of a server error."""
    out = ok(client.post("/api/plan", json={"loss": 2.3, "inference_tokens": 1e12,
                                            "law": AVERAGE | {"domain": {}}}))
    assert [p["beyond_runs_oom"] for p in out["law_parts"]] == [None, None]
    assert "beyond the runs" not in " ".join(out["notes"])
