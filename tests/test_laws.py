"""Chinchilla law: published numbers (REFERENCES sections 1-2) and mathematical properties."""

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from computeplan import PRESETS, ChinchillaLaw, InputError, get_law

LAW = get_law("sardana2024")
params_st = st.floats(1e6, 1e13)
tokens_st = st.floats(1e8, 1e15)
flops_st = st.floats(1e15, 1e28)


def test_presets_match_references():
    assert PRESETS["hoffmann2022"].coefficients() == dict(
        E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
    assert PRESETS["sardana2024"].coefficients() == dict(
        E=1.69, A=406.4, B=410.7, alpha=0.336, beta=0.283)
    assert PRESETS["besiroglu2024"].coefficients() == dict(
        E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658)
    assert all(law.source for law in PRESETS.values())


def test_published_loss_70b_1t():
    # Sardana et al. 2024: loss(N = 70e9, D = 1e12) = 1.947
    assert round(float(LAW.loss(70e9, 1e12)), 3) == 1.947


def test_published_chinchilla_30b():
    # Chinchilla-optimal 30B model: D = 1.556e12, loss 1.958, training FLOPs 2.801e23
    m = LAW.compute_optimal(params=30e9)
    assert float(f"{float(m.train_tokens):.4g}") == 1.556e12
    assert round(float(m.loss), 3) == 1.958
    assert float(f"{float(m.train_flops):.4g}") == 2.801e23


@given(flops_st)
def test_compute_optimal_routes_agree(c):
    by_c = LAW.compute_optimal(train_flops=c)
    np.testing.assert_allclose(by_c.train_flops, c, rtol=1e-12)
    for kw in (dict(params=by_c.params), dict(train_tokens=by_c.train_tokens),
               dict(loss=by_c.loss)):
        other = LAW.compute_optimal(**kw)
        np.testing.assert_allclose(other.params, by_c.params, rtol=1e-9)
        np.testing.assert_allclose(other.train_tokens, by_c.train_tokens, rtol=1e-9)


@given(flops_st, st.floats(-2, 2).filter(lambda x: abs(x) > 1e-3))
def test_compute_optimal_minimises_loss_at_fixed_compute(c, log_shift):
    opt = LAW.compute_optimal(train_flops=c)
    n = opt.params * np.exp(log_shift)
    other = LAW.complete(train_flops=c, params=n)
    assert other.loss > opt.loss


@given(params_st, tokens_st)
def test_inversions_round_trip(n, d):
    loss = LAW.loss(n, d)
    np.testing.assert_allclose(LAW.tokens_for_loss(loss, n), d, rtol=1e-6)
    np.testing.assert_allclose(LAW.params_for_loss(loss, d), n, rtol=1e-6)
    m = LAW.complete(params=n, train_tokens=d)
    np.testing.assert_allclose(LAW.complete(train_flops=m.train_flops, params=n).train_tokens, d,
                               rtol=1e-12)
    np.testing.assert_allclose(LAW.complete(train_flops=m.train_flops, train_tokens=d).params, n,
                               rtol=1e-12)


@given(params_st, tokens_st, st.floats(1.01, 10))
def test_loss_decreases_with_scale(n, d, k):
    assert LAW.loss(n * k, d) < LAW.loss(n, d)
    assert LAW.loss(n, d * k) < LAW.loss(n, d)


def test_broadcasting():
    n = np.array([1e9, 1e10, 1e11])[:, None]
    d = np.array([1e11, 1e12])[None, :]
    assert LAW.loss(n, d).shape == (3, 2)
    assert LAW.compute_optimal(loss=np.array([[2.0, 2.1]])).params.shape == (1, 2)


@pytest.mark.parametrize("call, match", [
    (lambda: LAW.compute_optimal(loss=1.69), r"loss must be > E = 1.69.*got 1.69"),
    (lambda: LAW.compute_optimal(loss=np.array([2.0, 1.5])), r"got 1.5 at index 1"),
    (lambda: LAW.loss(-1, 1e12), r"params must be > 0; got -1"),
    (lambda: LAW.loss(1e9, float("nan")), r"train_tokens must be a finite number; got nan"),
    (lambda: LAW.compute_optimal(params=1e9, train_tokens=1e9), r"exactly one"),
    (lambda: LAW.complete(params=1e9), r"exactly two"),
    (lambda: LAW.tokens_for_loss(1.75, 1e9), r"best loss this many parameters can reach"),
    (lambda: LAW.params_for_loss(1.70, 1e9), r"best loss this many tokens can reach"),
    (lambda: get_law("chinchilla"), r"unknown law 'chinchilla'; valid presets"),
    (lambda: ChinchillaLaw(1.69, -1, 410.7, 0.3, 0.3),
     r"coefficient A must be .*> 0 for form 'chinchilla'; got -1\.0$"),
    (lambda: LAW.with_overrides(gamma=1.0), r"unknown law coefficient"),
])
def test_bad_input_is_one_line_input_error(call, match):
    with pytest.raises(InputError, match=match) as exc:
        call()
    assert "\n" not in str(exc.value)


def test_save_load_round_trip(tmp_path):
    path = tmp_path / "law.json"
    law = LAW.with_overrides(E=1.8)
    law.save(path)
    assert ChinchillaLaw.load(path) == law
    assert get_law(str(path)) == law


@pytest.mark.parametrize("text, match", [
    ("{not json", "not valid JSON"),
    (json.dumps({"E": 1.7, "A": 400}), r"missing coefficient\(s\) \['B', 'alpha', 'beta'\]"),
    (json.dumps([1, 2]), "JSON object"),
    (json.dumps(dict(E="x", A=1, B=1, alpha=1, beta=1)), "coefficient E must be a number"),
])
def test_bad_law_files(tmp_path, text, match):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(InputError, match=match):
        get_law(str(path))


def test_missing_law_file():
    with pytest.raises(InputError, match="cannot read law file"):
        get_law("/nonexistent/law.json")


@pytest.mark.parametrize("data, coef", [
    ({"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 1e-17, "beta": 0.283}, "alpha"),
    ({"form": "kaplan", "E": 1.0, "A": 1e12, "B": 1e12, "alpha": 0.17, "beta": 0.01}, "beta"),
    ({"form": "beta-of-n", "E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.336, "beta0": -0.2,
      "beta1": 0.0}, "beta0"),
    ({"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.336, "beta": 0.283,
      "replicates": [[1.69, 406.4, 410.7, 0.336, 0.283], [1.69, 406.4, 410.7, 0.336, 0.005]]},
     "beta"),
])
def test_exponents_at_or_below_the_fitters_boundary_are_rejected(data, coef):
    """Every form's exponents must exceed MIN_EXPONENT = 0.01, the fitter's BOUNDARY (at or
    below it a term is flat, and the closed forms' powers 1/alpha, 1/beta cancel): a one-line
    error naming the coefficient and the range, for the law and for its replicates."""
    from computeplan._lawdata import MIN_EXPONENT
    from computeplan.fitting.core import BOUNDARY
    from computeplan.laws import law_from_dict

    assert MIN_EXPONENT == BOUNDARY == 0.01
    with pytest.raises(InputError, match=rf"\b{coef} must be a finite number > 0\.01 \(") as e:
        law_from_dict(data)
    assert "\n" not in str(e.value)


def test_no_shipped_law_has_an_exponent_at_the_floor():
    from computeplan.laws import form_presets

    for law in [*PRESETS.values(), *form_presets().values()]:
        coef = law.coefficients() if law.form == "chinchilla" else law.coef
        rows = [coef] + ([] if law.replicates is None else
                         [dict(zip(coef, row, strict=True)) for row in law.replicates])
        for c in ("alpha", "beta", "beta0"):
            assert all(r[c] > 0.01 for r in rows if c in r), (law.name, c)
