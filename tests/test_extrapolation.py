"""Extrapolation distances: how far a plan lies outside the runs its law was fitted on."""

import json

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli_helpers import run_json
from computeplan import ChinchillaLaw, get_law
from computeplan._lawdata import oom_outside
from computeplan.cli import app

LAW = get_law("sardana2024")
DOM = LAW.domain
KEYS = {"params_oom", "train_tokens_oom", "tokens_per_param_oom"}
ISSUE = ["--reference-params", "8e9", "--users", "1e6", "--requests-per-user-per-day", "20",
         "--days", "365", "--input-tokens", "1000", "--output-tokens", "300",
         "--train-gpu", "h100", "--inference-gpu", "h100", "--decode-model", "roofline"]


@given(st.floats(-3, 3), st.floats(0, 4))
def test_zero_inside_the_range(u, width):
    lo, hi = 10.0**u, 10.0 ** (u + width)
    x = 10.0 ** (u + width * np.linspace(0, 1, 7))
    np.testing.assert_array_equal(oom_outside(x, lo, hi), 0.0)


@given(st.floats(-3, 3), st.floats(0, 4), st.floats(1e-6, 5), st.floats(1e-6, 5))
def test_grows_monotonically_outside(u, width, step1, step2):
    lo, hi = 10.0**u, 10.0 ** (u + width)
    near, far = sorted((step1, step2))
    above = oom_outside(hi * 10.0 ** np.array([near, far]), lo, hi)
    below = oom_outside(lo / 10.0 ** np.array([near, far]), lo, hi)
    for d in (above, below):
        assert 0 < d[0] <= d[1]
        np.testing.assert_allclose(d, [near, far], rtol=1e-9, atol=1e-12)


@given(st.floats(1e3, 1e15), st.floats(1e6, 1e18))
def test_one_model_is_the_array_path(params, tokens):
    """One model (a web plan request) takes the Python-float path: the array path's distances
    (to an ulp of log10), as numpy scalars, zero exactly where the array path is zero."""
    one = LAW.extrapolation(params, tokens)
    many = LAW.extrapolation(np.full(2, params), np.full(2, tokens))
    assert one.keys() == many.keys() == KEYS
    for key in KEYS:
        assert type(one[key]) is np.float64
        np.testing.assert_allclose(one[key], many[key][0], rtol=1e-14, atol=1e-14)
        assert (one[key] == 0) == (many[key][0] == 0) or abs(many[key][0]) < 1e-14


def test_law_extrapolation_broadcasts_and_is_zero_inside():
    n = np.array([1e8, 1e9, 1e12])
    out = LAW.extrapolation(n, 20 * n)
    np.testing.assert_array_equal(out["params_oom"][:2], 0.0)
    np.testing.assert_allclose(out["params_oom"][2], np.log10(1e12 / DOM["params"][1]))
    np.testing.assert_array_equal(out["tokens_per_param_oom"], 0.0)
    assert ChinchillaLaw(1.7, 400, 410, 0.3, 0.3).extrapolation(1e9, 1e10) is None


def test_plan_json_reports_distances_for_both_models():
    out = run_json("plan", *ISSUE)
    ext = out["extrapolation"]
    assert ext["domain"] == DOM
    for key in ("chinchilla", "optimal"):
        assert set(ext[key]) == KEYS
        model = out[key]
        expect = LAW.extrapolation(model["params"], model["train_tokens"])
        for k in KEYS:
            assert ext[key][k] == float(expect[k])
    # the issue's example: 1,522 tokens per parameter, beyond the runs' 342
    tpp = out["optimal"]["tokens_per_param"]
    assert tpp > DOM["tokens_per_param"][1]
    np.testing.assert_allclose(ext["optimal"]["tokens_per_param_oom"],
                               np.log10(tpp / DOM["tokens_per_param"][1]), rtol=1e-12)
    assert any("the optimum trains at" in w and "tokens per parameter" in w
               for w in ext["warnings"])


def test_table_says_it_in_words():
    result = CliRunner().invoke(app, ["plan", *ISSUE])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "warning: the optimum trains at 1,522 tokens per parameter, 0.65 orders of magnitude " \
           "beyond the runs this law was fitted on (0.456-342)" in text


def test_inside_the_domain_no_warnings():
    out = run_json("plan", "--reference-params", "1e9", "--inference-tokens", "1e9")
    assert out["extrapolation"]["warnings"] == []
    assert all(v == 0 for v in out["extrapolation"]["optimal"].values())


def test_a_law_without_domain_says_so(tmp_path):
    path = tmp_path / "law.json"
    path.write_text(json.dumps({"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.336,
                                "beta": 0.283}))
    out = run_json("plan", "--law", str(path))
    assert out["extrapolation"] is None
    result = CliRunner().invoke(app, ["plan", "--law", str(path)])
    assert "has no domain" in result.output


def test_report_html_says_it_in_words():
    from computeplan.commands.report import report
    from computeplan.web.report import render_html

    rep = report(loss=1.947, inference_tokens=2e12)
    text = render_html(rep)
    assert "Domain of the law" in text and "orders of magnitude beyond the runs" in text
