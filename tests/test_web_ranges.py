"""Every endpoint's published ranges are the ones enforced: for each numeric field with a range in
/openapi.json, a number just outside it is a 422 one-line error naming the field and that range,
and a number just inside it is not refused for its range (added to a request that is answered;
other checks, e.g. a budget too small to reach anything, may still refuse it). Numeric fields
without a published range are listed below with the reason."""

import math
import re
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed")
pytest.importorskip("httpx2", reason="starlette's test client needs httpx2")


from computeplan.commands.options import LAW_BOUNDS, bounds_schema, check_bounds  # noqa: E402
from computeplan.errors import InputError  # noqa: E402
from computeplan.laws import COEFFICIENTS, REPETITION_COEFFICIENTS  # noqa: E402
from computeplan.web.guard import MAX_MESSAGE_CHARS  # noqa: E402

#: A request each endpoint answers with 200, to which one field at a time is added.
BASE = {
    "plan": {"loss": 2.5},
    "model": {"params": 1e9, "tokens": 2e10},
    "train": {"params": 1e9, "tokens": 2e10},
    "serve": {"params": 7e9},
    "allocate": {"train_oom": 1, "inference_oom": 1},
    "overhead": {"size_fraction": 0.5},
    "tradeoff": {"technique": "pruning", "grid_points": 10},
    "fit": {"tokens_col": "tokens"},  # a multipart form with examples/runs.csv as the runs
}
RUNS = Path(__file__).resolve().parents[1] / "examples" / "runs.csv"
_SHAPE = {"layers": 32, "d_model": 4096, "heads": 32}
_LIMITED = {"unique_tokens": 1e12}
_USD = {"objective": "usd", "requests": 1e9, "input_tokens": 1000, "output_tokens": 500}
#: Where a field is only read with others: the request it is tried in instead (it replaces the
#: field's value there).
WITH = {
    ("plan", "budget_flops"): {"budget_flops": 1e23},
    ("plan", "reference_params"): {"reference_params": 1e9},
    ("plan", "reference_tokens"): {"reference_params": 1e9, "reference_tokens": 2e10},
    **{("plan", k): {"loss": 2.5, **_USD} for k in ("requests", "input_tokens", "output_tokens")},
    **{("plan", k): {"loss": 2.5, "users": 1e6, "requests_per_user_per_day": 10, "days": 365,
                     "input_tokens": 1000, "output_tokens": 500}
       for k in ("users", "requests_per_user_per_day", "days")},
    ("plan", "gqa_ratio"): {"loss": 2.5, "decode_model": "roofline", **_USD},
    ("plan", "budget_usd"): {"budget_usd": 1e7, **_USD},
    ("model", "compute"): {"compute": 1e21, "chinchilla": True},
    ("plan", "train_mfu"): {"loss": 2.5, **_USD},
    **{("plan", k): {"loss": 2.5, "decode_model": "roofline", **_USD}
       for k in ("batch", "context", "bandwidth_fraction", "compute_fraction")},
    **{("plan", k): {"loss": 2.5, **_USD}
       for k in ("train_usd_per_gpu_hour", "inference_usd_per_gpu_hour")},
    ("plan", "horizon_days"): {"loss": 2.5, "discount_rate_per_year": 0.1},
    ("plan", "train_gpus"): {"loss": 2.5, "discount_rate_per_year": 0.1},
    **{("plan", k): {"loss": 2.5, "uncertainty": True, "law": "besiroglu2024"}
       for k in ("level", "confidence")},
    **{("plan", k): {"loss": 2.5, **_LIMITED} for k in REPETITION_COEFFICIENTS},
    **{("model", k): {"compute": 1e21, "chinchilla": True, **_LIMITED}
       for k in REPETITION_COEFFICIENTS},
    **{("train", k): {"params": 1e9, "tokens": 2e10, "attention": True, **_SHAPE}
       for k in ("context", "layers", "d_model", "heads")},
    ("train", "gpu_hours"): {"params": 1e6, "tokens": 2e7},
    **{("serve", k): _SHAPE for k in ("layers", "d_model", "heads", "kv_heads")},
    **{("tradeoff", k): {"technique": "pruning", "grid_points": 10, "train_compute": 1e21,
                         "inference_compute": 1e21}
       for k in ("train_compute", "inference_compute")},
    **{("tradeoff", k): {"technique": "scaling-policy", "grid_points": 10, **_LIMITED}
       for k in REPETITION_COEFFICIENTS},
    ("fit", "asymmetry"): {"tokens_col": "tokens", "objective": "asymmetric"},
    **{("fit", k): {"tokens_col": "tokens", "bootstrap": 3} for k in ("seed", "level")},
    ("fit", "holdout_level"): {"tokens_col": "tokens", "holdout": "tokens_per_param>100"},
}
#: Numeric fields with no published range, and why.
UNRANGED = {
    "loss": "above the law's reachable minimum (E + ... for the model): depends on the law",
    "level": "a technique's reachable scores (tradeoff): depend on the technique",
    "combine_level": "the combined technique's reachable scores",
    "size_fraction": "above (1 + alpha/beta)^(-1/alpha): depends on the law",
    "unique_tokens": "> 0 or infinite (no limit), which JSON cannot carry",
    "fraction_per_round": "a pruning parameter, checked by the technique",
    "min_density": "a pruning parameter, checked by the technique",
    "price_performance_doubling_years": "a number or a word",
    "demand_ramp_days": "in [0, horizon_days]", "demand_tail_days": "in [0, horizon_days]",
    "demand_growth_per_year": "> -1 with annual compounding, any with continuous",
    "discount_rate_per_year": "> -1 with annual compounding, any with continuous",
}


@pytest.fixture(scope="module")
def schemas(client):
    return client.get("/openapi.json").json()["components"]["schemas"]


def _post(client, endpoint: str, body: dict):
    """``POST /api/<endpoint>`` of ``body``: JSON, or for fit a form with the runs file."""
    if endpoint != "fit":
        return client.post(f"/api/{endpoint}", json=body)
    return client.post("/api/fit", files={"runs": ("runs.csv", RUNS.read_bytes())},
                       data={k: str(v) for k, v in body.items()})


def _is_number(prop: dict) -> bool:
    kinds = [prop.get("type")] + [p.get("type") for p in prop.get("anyOf", [])]
    return bool({"number", "integer"} & set(kinds)) and "array" not in kinds and \
        "object" not in kinds


def _spec(prop: dict) -> str:
    """The range as the error message says it, from the schema's keywords."""
    lo = [(k, prop[k]) for k in ("minimum", "exclusiveMinimum") if k in prop]
    hi = [(k, prop[k]) for k in ("maximum", "exclusiveMaximum") if k in prop]
    whole = "a whole number " if prop.get("multipleOf") == 1 else ""
    if lo and hi:
        (kl, vl), (kh, vh) = lo[0], hi[0]
        return (f"{whole}in {'(' if kl == 'exclusiveMinimum' else '['}{vl:g}, {vh:g}"
                f"{')' if kh == 'exclusiveMaximum' else ']'}")
    (k, v), = lo
    return f"{whole}{'>' if k == 'exclusiveMinimum' else '>='} {v:g}"


def _outside_inside(prop: dict) -> tuple[list[float], list[float]]:
    """Numbers just outside and just inside a property's range."""
    out, inside = [], []
    for key, bound in prop.items():
        eps = 1e-6 * max(1.0, abs(bound)) if isinstance(bound, int | float) else 0
        if key == "minimum":
            out.append(bound - (1 if prop["type"] == "integer" else eps))
            inside.append(bound)
        elif key == "exclusiveMinimum":
            out.append(bound)
            inside.append(bound + eps)
        elif key == "maximum":
            out.append(bound + (1 if prop["type"] == "integer" else eps))
            inside.append(bound)
        elif key == "exclusiveMaximum":
            out.append(bound)
            inside.append(bound - eps)
    if prop.get("multipleOf") == 1:
        inside = [math.ceil(x) for x in inside]
    if prop["type"] == "integer":
        out, inside = [int(x) for x in out], [int(x) for x in inside]
    return out, inside


def _ranged_fields(schemas, name):
    props = schemas["FitForm" if name == "fit" else f"{name.capitalize()}Request"]["properties"]
    out = {}
    for field, prop in props.items():
        if not _is_number(prop):
            continue
        number = next((p for p in [prop, *prop.get("anyOf", [])] if p.get("type") in
                       ("number", "integer")), prop)
        merged = {**number, **{k: v for k, v in prop.items() if k != "anyOf"}}
        merged["type"] = number["type"]
        out[field] = merged
    return out


@pytest.mark.parametrize("endpoint", list(BASE))
def test_every_numeric_field_publishes_the_range_it_enforces(client, schemas, endpoint):
    fields = _ranged_fields(schemas, endpoint)
    keys = ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")
    unranged = sorted(f for f, p in fields.items() if not any(k in p for k in keys))
    assert set(unranged) <= set(UNRANGED), f"{endpoint}: numeric fields without a published " \
        f"range: {sorted(set(unranged) - set(UNRANGED))}"
    for field, prop in fields.items():
        if field in unranged:
            continue
        base = WITH.get((endpoint, field), BASE[endpoint])
        outside, inside = _outside_inside(prop)
        for bad in outside:
            response = _post(client, endpoint, {**base, field: bad})
            assert response.status_code == 422, (endpoint, field, bad, response.text)
            body = response.json()
            msg = body["error"]
            assert set(body) <= {"error", "detail"} and "\n" not in msg
            assert len(msg) <= MAX_MESSAGE_CHARS
            spec = _spec(prop)
            ours = msg.startswith(f"{field} must be {spec}; got ")
            pydantics = msg.startswith(f"{field}: Input should be") and \
                any(f"{prop[k]:g}" in msg for k in keys if k in prop)
            assert ours or pydantics, (endpoint, field, bad, spec, msg)
        for good in inside:
            response = _post(client, endpoint, {**base, field: good})
            msg = response.json().get("error", "") if response.status_code != 200 else ""
            assert not re.match(rf"(\w+ parameter |law coefficient )?{field}(:| must be)", msg), \
                (endpoint, field, good, msg)
    bases = [WITH.get((endpoint, f), BASE[endpoint]) for f in fields if f not in unranged]
    for base in {repr(b): b for b in bases}.values():  # the requests tried are answers
        assert _post(client, endpoint, base).status_code == 200, (endpoint, base)


def test_the_report_takes_the_plan_fields(schemas):
    assert schemas["ReportRequest"]["properties"] == schemas["PlanRequest"]["properties"]


def test_law_bounds_name_every_law_coefficient():
    assert set(LAW_BOUNDS) == {*COEFFICIENTS, *REPETITION_COEFFICIENTS}


@pytest.mark.parametrize("spec, schema, ok, bad", [
    ("> 0", {"exclusiveMinimum": 0}, [1e-300, 5], [0, -1, float("nan"), float("inf")]),
    (">= 1", {"minimum": 1}, [1, 1.5], [0.999]),
    ("in (0, 1]", {"exclusiveMinimum": 0, "maximum": 1}, [1, 0.5], [0, 1.0000001]),
    ("in [2, 10000]", {"minimum": 2, "maximum": 10000}, [2, 10000], [1, 10001]),
    ("a whole number >= 1", {"minimum": 1, "multipleOf": 1}, [1, 7, [1, 2]], [0, 1.5, [2, 2.5]]),
])
def test_a_bounds_spec_is_its_schema_and_its_check(spec, schema, ok, bad):
    assert bounds_schema(spec) == schema
    for value in ok:
        check_bounds("x", value, spec)
    for value in bad:
        with pytest.raises(InputError, match=r"^x must be "):
            check_bounds("x", value, spec)


@pytest.mark.parametrize("endpoint, body", [
    ("overhead", {"size_fraction": 0.5, "beta": 1e-17}),
    ("plan", {"alpha": 1e-17}),
    ("model", {"params": 1e9, "tokens": 2e10, "alpha": 1e-17}),
    ("model", {"params": 1e9, "tokens": 2e10, "beta": 0.01}),
])
def test_an_exponent_at_or_below_the_floor_is_a_422(client, endpoint, body):
    """alpha, beta must exceed 0.01 (the fitter's boundary), as in the CLI and law files: below
    it an overhead of -0.5, a Chinchilla-optimal model of 4.4e9 parameters (not 7e10) and one
    of 1.2e-36 parameters came back with status 200."""
    coef = "alpha" if "alpha" in body else "beta"
    r = client.post(f"/api/{endpoint}", json=body)
    assert r.status_code == 422
    assert r.json()["error"] == f"{coef} must be > 0.01; got {body[coef]:g}"
    law = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.336, "beta": 0.283, coef: body[coef]}
    r = client.post(f"/api/{endpoint}", json={**body, coef: None, "law": law})
    assert r.status_code == 422 and "\n" not in r.json()["error"]
    assert r.json()["error"].startswith(f"law coefficient {coef} must be a finite number > 0.01")
    for name, spec in LAW_BOUNDS.items():
        assert spec == ("> 0.01" if name in ("alpha", "beta") else "> 0")


@pytest.mark.parametrize("endpoint, body, field", [
    ("overhead", {"size_fraction": 0.5, "train_flops": []}, "train_flops"),  # was a 500
    ("overhead", {"size_fraction": []}, "size_fraction"),                    # was a 200
    ("tradeoff", {"technique": "pruning", "grid_points": 10, "queries": []}, "queries"),
])
def test_an_empty_array_is_a_one_line_422(client, endpoint, body, field):
    """Array fields need at least one number (the CLI's repeatable options cannot be empty):
    an empty one crashed inside numpy (500) or answered empty arrays."""
    r = client.post(f"/api/{endpoint}", json=body)
    assert r.status_code == 422
    message = r.json()["error"]
    assert message.startswith(f"{field}: ") and message.endswith("got []") and "\n" not in message
    assert "at least 1" in message or "non-empty" in message


def test_every_array_field_needs_a_number(schemas):
    """No request field takes an empty array: each array is non-empty (minItems) or a range of
    exactly two numbers."""
    for name, schema in schemas.items():
        if not name.endswith(("Request", "Form")):
            continue
        for field, prop in schema.get("properties", {}).items():
            for branch in prop.get("anyOf", [prop]):
                numbers = branch.get("items", {}).get("type") != "string"
                if branch.get("type") == "array" and numbers:
                    assert branch.get("minItems", 0) >= 1, (name, field)
