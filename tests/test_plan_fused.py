"""The planner's fused path (issue 15, item 4): the same answers as the step-by-step path it
replaced (to 1e-13), the same checks (every invalid input still raises the InputError that
names it), numpy scalars for one scenario."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import computeplan as cp
from computeplan import lifetime as L
from computeplan.errors import ConvergenceError


def reference(law, loss, demand, objective):
    """The planner before issue 15 (validation, ratio, log1p/expm1/pow Newton solve in blocks,
    then the bill from evaluate with the loss recomputed), kept here as the reference."""
    a, b = law.alpha, law.beta
    delta = law._reducible(loss)
    p, q = objective.coefficients(demand)
    r = L._ratio(p, q, "x")
    log_nc0, log_dc0 = np.log(law.A * (1.0 + a / b)), np.log(law.B * (1.0 + b / a))
    stop = np.sqrt(8.0 * b * 1e-15)

    def solve(delta, r):
        log_delta = np.log(delta)
        n_c = np.exp((log_nc0 - log_delta) / a)
        d_c = np.exp((log_dc0 - log_delta) / b)
        rho = (b / (a + b)) * r / d_c
        x = np.log1p(rho) / (b + rho / (1.0 + rho))
        for _ in range(60):
            z = rho * np.exp(-x)
            step = (np.log1p(z) - b * x) / (b + z / (1.0 + z))
            x += step
            if not step.size or np.abs(step).max() <= stop:
                break
        else:
            raise ConvergenceError("no")
        return n_c * (1.0 - (a / b) * np.expm1(-b * x)) ** (-1.0 / a), d_c * np.exp(x)

    n, d = L.blockwise(solve, delta, r)
    return L.evaluate(law, n, d, demand, objective)


def assert_same(plan, ref, rtol=1e-13):
    assert plan.to_dict().keys() == ref.to_dict().keys()
    for key in plan.to_dict():
        got, want = np.asarray(getattr(plan, key)), np.asarray(getattr(ref, key))
        assert got.shape == want.shape, key
        np.testing.assert_allclose(got, want, rtol=rtol, atol=0, err_msg=key)


@pytest.mark.parametrize("law", ["sardana2024", "hoffmann2022", "besiroglu2024"])
def test_same_answers_as_the_step_by_step_path(law):
    law = cp.get_law(law)
    rng = np.random.default_rng(1)
    n = 100_000  # several blocks
    loss = law.E + np.exp(rng.uniform(np.log(0.02), np.log(3.0), n))
    tokens = 10 ** rng.uniform(0, 18, n)
    tokens[:100] = 0.0  # no inference: the Chinchilla-optimal model
    demand = cp.Demand.from_tokens(tokens)
    assert_same(L._lifetime_optimal(law, loss, demand, cp.FlopsObjective()),
                reference(law, loss, demand, cp.FlopsObjective()))
    split = cp.Demand.from_split(0.8 * tokens, 0.2 * tokens)
    cost = cp.DollarCost(train_gpu="a100-80gb", inference_gpu="a100-40gb",
                         inference_dtype="int8")
    assert_same(L._lifetime_optimal(law, loss, split, cost), reference(law, loss, split, cost))


@given(loss=st.floats(1.70, 10.0), tokens=st.floats(0.0, 1e20))
def test_one_scenario_same_answers_and_types(loss, tokens):
    law = cp.get_law("sardana2024")
    demand = cp.Demand.from_tokens(tokens)
    plan = L._lifetime_optimal(law, loss, demand, cp.FlopsObjective())
    ref = reference(law, loss, demand, cp.FlopsObjective())
    assert_same(plan, ref)
    for key in ref.to_dict():
        assert type(getattr(plan, key)) is type(getattr(ref, key)), key


def test_grid_broadcasts_like_the_step_by_step_path():
    law = cp.get_law("sardana2024")
    loss = np.linspace(1.8, 2.6, 7)[:, None]
    demand = cp.Demand.from_tokens(np.geomspace(1e9, 1e15, 5)[None, :])
    assert_same(L._lifetime_optimal(law, loss, demand, cp.FlopsObjective()),
                reference(law, loss, demand, cp.FlopsObjective()))


@pytest.mark.parametrize("loss, tokens, message", [
    (1.0, 1e12, r"loss must be > E = 1\.69"),
    (np.nan, 1e12, "loss must be a finite number"),
    (np.inf, 1e12, "loss must be a finite number"),
    ([2.0, 1.5], 1e12, r"got 1\.5 at index 1"),
    (2.0, 1e308, "overflows double precision"),
])
def test_validation_is_kept(loss, tokens, message):
    """Invalid inputs fail the fused checks, and the step-by-step path raises its message."""
    with pytest.raises(cp.InputError, match=message):
        cp.lifetime_optimal("sardana2024", loss=loss, inference_tokens=tokens)
    with pytest.raises(cp.InputError, match=message):
        law = cp.get_law("sardana2024")
        reference(law, loss, cp.Demand.from_tokens(tokens), cp.FlopsObjective())


@given(loss=st.floats(1.6901, 12.0), tokens=st.one_of(st.just(0.0), st.floats(1.0, 1e22)),
       priced=st.booleans())
def test_scalar_path_is_the_array_path(loss, tokens, priced):
    """One scenario (a web plan request) takes the Python-float path: the array path's answers
    (1e-13) and types."""
    law = cp.get_law("sardana2024")
    if priced:
        demand, cost = cp.Demand.from_split(0.8 * tokens, 0.2 * tokens), cp.DollarCost()
    else:
        demand, cost = cp.Demand.from_tokens(tokens), cp.FlopsObjective()
    one = L._lifetime_optimal(law, loss, demand, cost)
    many = L._lifetime_optimal(law, np.full(3, loss), cp.Demand(
        *(None if x is None else np.full(3, x) for x in
          (demand.total_tokens, demand.input_tokens, demand.output_tokens))), cost)
    for key in many.to_dict():
        got, want = getattr(one, key), getattr(many, key)
        np.testing.assert_allclose(got, want[0], rtol=1e-13, atol=0, err_msg=key)
    assert isinstance(one.params, np.ndarray) and one.params.ndim == 0
    assert type(one.total_flops) is np.float64


@pytest.mark.parametrize("shape", [(), (5,), (40_000,)])
def test_bill_is_evaluates_bit_for_bit(shape):
    """The fused bill (and loss L(N, D)) is evaluate's of the same model, bit for bit: the dated
    and data-limited plans re-evaluate models and compare them exactly."""
    law = cp.get_law("sardana2024")
    rng = np.random.default_rng(2)
    loss = rng.uniform(1.8, 2.6, shape)
    tokens = 10 ** rng.uniform(9, 15, shape)
    for demand, cost in ((cp.Demand.from_tokens(tokens), cp.FlopsObjective()),
                         (cp.Demand.from_split(0.8 * tokens, 0.2 * tokens), cp.DollarCost())):
        plan = L._lifetime_optimal(law, loss, demand, cost)
        again = L.evaluate(law, plan.params, plan.train_tokens, demand, cost)
        for key in again.to_dict():
            assert np.array_equal(getattr(plan, key), getattr(again, key)), key


@given(loss=st.floats(1.6901, 12.0), tokens=st.one_of(st.just(0.0), st.floats(1.0, 1e22)),
       priced=st.booleans())
def test_one_chinchilla_optimal_scenario_is_compute_optimal(loss, tokens, priced):
    """One scenario's Chinchilla-optimal model (a web plan request) takes the Python-float path:
    compute_optimal's model (to an ulp: C's pow there, Python's here) and evaluate's bill of
    it, bit for bit, with the same types; the array path's model to 1e-13."""
    law = cp.get_law("sardana2024")
    if priced:
        demand, cost = cp.Demand.from_split(0.8 * tokens, 0.2 * tokens), cp.DollarCost()
    else:
        demand, cost = cp.Demand.from_tokens(tokens), cp.FlopsObjective()
    assert L._chinchilla_one(law, loss, demand, cost) is not None  # the scalar path is taken
    plan = L._chinchilla_lifetime(law, loss, demand, cost)
    point = law.compute_optimal(loss=loss)
    for key in ("params", "train_tokens"):
        np.testing.assert_allclose(getattr(plan, key), getattr(point, key), rtol=1e-15)
    ref = L.evaluate(law, plan.params, plan.train_tokens, demand, cost)
    assert plan.to_dict().keys() == ref.to_dict().keys()
    for key in ref.to_dict():
        got, want = getattr(plan, key), getattr(ref, key)
        assert np.array_equal(got, want) and type(got) is type(want), key
    many = L._chinchilla_lifetime(law, np.full(2, loss), cp.Demand(
        *(None if x is None else np.full(2, x) for x in
          (demand.total_tokens, demand.input_tokens, demand.output_tokens))), cost)
    for key in ref.to_dict():
        np.testing.assert_allclose(getattr(plan, key), getattr(many, key)[0], rtol=1e-13)


@pytest.mark.parametrize("loss, tokens, message", [
    (1.0, 1e12, r"loss must be > E = 1\.69"),
    (np.nan, 1e12, "loss must be a finite number"),
    (2.0, 1e308, "overflows double precision"),
])
def test_one_chinchilla_optimal_scenario_keeps_the_checks(loss, tokens, message):
    with pytest.raises(cp.InputError, match=message):
        cp.chinchilla_lifetime("sardana2024", loss=loss, inference_tokens=tokens)
