"""Inference-aware optimum (Sardana et al. 2024): published examples and properties."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import computeplan as cp
from computeplan import Demand, DollarCost, InputError
from published import SARDANA_HARDWARE, SARDANA_MFU

LAW = cp.get_law("sardana2024")
loss_st = st.floats(1.75, 3.0)
demand_st = st.floats(1e6, 1e16)
SARDANA_COST = SARDANA_HARDWARE | SARDANA_MFU


def sig(x, digits=4):
    return float(f"{float(x):.{digits}g}")


def test_published_flops_example():
    # Target loss 1.947, 2e12 inference tokens: N = 2.418e10, D = 2.657e12; 70.96% params,
    # 146.77% tokens, 95.22% lifetime FLOPs of the equal-loss Chinchilla-optimal model.
    opt = cp.lifetime_optimal("sardana2024", loss=1.947, inference_tokens=2e12)
    assert sig(opt.params) == 2.418e10
    assert sig(opt.train_tokens) == 2.657e12
    r = cp.compare("sardana2024", loss=1.947, inference_tokens=2e12).ratios
    assert round(100 * float(r["params"]), 2) == 70.96
    assert round(100 * float(r["train_tokens"]), 2) == 146.77
    assert round(100 * float(r["total_flops"]), 2) == 95.22


def test_published_dollar_example():
    # A100-80GB bf16 $1.40/h MFU 0.5 training; A100-40GB int8 $0.60/h prefill 0.4 decode 0.2;
    # 1e10 requests of 1000 + 250 tokens: N = 2.053e10, D = 3.302e12; 60.23%, 182.41%, 88.76%.
    demand = Demand.from_requests(1e10, 1000, 250)
    cmp = cp.compare("sardana2024", loss=1.947, demand=demand, cost=DollarCost(**SARDANA_COST))
    assert sig(cmp.optimal.params) == 2.053e10
    assert sig(cmp.optimal.train_tokens) == 3.302e12
    assert round(100 * float(cmp.ratios["params"]), 2) == 60.23
    assert round(100 * float(cmp.ratios["train_tokens"]), 2) == 182.41
    assert round(100 * float(cmp.ratios["total_cost_usd"]), 2) == 88.76


def test_published_figure_1():
    # Chinchilla-optimal 13B model, 2e12 inference tokens: a ~7B model trained longer reaches the
    # same loss and saves ~1.7e22 FLOPs (17%) over the lifetime.
    loss = LAW.compute_optimal(params=13e9).loss
    cmp = cp.compare(LAW, loss=loss, inference_tokens=2e12)
    assert round(float(cmp.optimal.params) / 1e9) == 7
    saved = cmp.chinchilla.total_flops - cmp.optimal.total_flops
    assert sig(saved, 2) == 1.7e22
    assert round(100 * (1 - float(cmp.ratios["total_flops"]))) == 17


def foc_residual(law, loss, r, d):
    """Sardana et al.'s first-order condition, relative to l - E."""
    a, b, B = law.alpha, law.beta, law.B
    g = (B + b * B / a) * d**-b + (r * b * B / a) * d ** (-b - 1) + law.E - loss
    return g / (loss - law.E)


@given(loss_st, demand_st)
def test_first_order_condition(loss, tokens):
    opt = cp.lifetime_optimal(LAW, loss=loss, inference_tokens=tokens)
    assert abs(foc_residual(LAW, loss, tokens / 3, opt.train_tokens)) <= 1e-12
    np.testing.assert_allclose(opt.loss, loss, rtol=1e-13)


@given(loss_st, demand_st, st.floats(-0.5, 0.5).filter(lambda x: abs(x) > 1e-4))
def test_optimum_is_never_worse(loss, tokens, shift):
    opt = cp.lifetime_optimal(LAW, loss=loss, inference_tokens=tokens)
    chin = cp.chinchilla_lifetime(LAW, loss=loss, inference_tokens=tokens)
    assert opt.total_flops <= chin.total_flops * (1 + 1e-12)
    d = opt.train_tokens * np.exp(shift)  # any other equal-loss model costs more
    other = cp.evaluate(LAW, LAW.params_for_loss(loss, d), d, Demand.from_tokens(tokens),
                        cp.FlopsObjective())
    assert other.total_flops >= opt.total_flops * (1 - 1e-12)


@given(loss_st)
def test_zero_demand_recovers_chinchilla(loss):
    chin = LAW.compute_optimal(loss=loss)
    for tokens in (0.0, 1e-3):
        opt = cp.lifetime_optimal(LAW, loss=loss, inference_tokens=tokens)
        np.testing.assert_allclose(opt.params, chin.params, rtol=1e-9)
        np.testing.assert_allclose(opt.train_tokens, chin.train_tokens, rtol=1e-9)


@given(loss_st, demand_st, st.floats(1.001, 100))
def test_more_demand_smaller_model_more_tokens(loss, tokens, k):
    lo = cp.lifetime_optimal(LAW, loss=loss, inference_tokens=tokens)
    hi = cp.lifetime_optimal(LAW, loss=loss, inference_tokens=tokens * k)
    assert hi.params < lo.params
    assert hi.train_tokens > lo.train_tokens


@given(st.floats(1e20, 1e28), demand_st)
def test_budget_round_trip(budget, tokens):
    best = cp.budget_optimal(LAW, budget=budget, inference_tokens=tokens)
    np.testing.assert_allclose(best.total_flops, budget, rtol=1e-10)
    again = cp.lifetime_optimal(LAW, loss=best.loss, inference_tokens=tokens)
    np.testing.assert_allclose(again.params, best.params, rtol=1e-9)
    np.testing.assert_allclose(again.train_tokens, best.train_tokens, rtol=1e-9)
    chin = cp.chinchilla_budget(LAW, budget=budget, inference_tokens=tokens)
    np.testing.assert_allclose(chin.total_flops, budget, rtol=1e-10)
    assert best.loss <= chin.loss + 1e-12


@given(loss_st, st.floats(1e6, 1e12), st.floats(1, 4000), st.floats(1, 4000))
def test_dollar_budget_round_trip(loss, requests, t_in, t_out):
    kw = dict(demand=Demand.from_requests(requests, t_in, t_out), cost=DollarCost(**SARDANA_COST))
    opt = cp.lifetime_optimal(LAW, loss=loss, **kw)
    best = cp.budget_optimal(LAW, budget=opt.total_cost_usd, **kw)
    np.testing.assert_allclose(best.loss, loss, rtol=1e-10)
    np.testing.assert_allclose(best.params, opt.params, rtol=1e-9)


def test_vectorised_matches_scalar_calls():
    rng = np.random.default_rng(0)
    loss = rng.uniform(1.8, 2.6, 200)
    tokens = 10 ** rng.uniform(8, 15, 200)
    many = cp.lifetime_optimal(LAW, loss=loss, inference_tokens=tokens)
    assert many.params.shape == (200,)
    for i in (0, 57, 199):
        one = cp.lifetime_optimal(LAW, loss=loss[i], inference_tokens=tokens[i])
        assert one.params == pytest.approx(many.params[i], rel=1e-12)  # SIMD vs scalar math
    grid = cp.lifetime_optimal(LAW, loss=loss[:, None], inference_tokens=tokens[None, :5])
    assert grid.total_flops.shape == (200, 5)


def test_dollar_costs_add_up():
    demand = Demand.from_requests(1e9, 500, 100)
    cost = DollarCost(**SARDANA_COST)
    plan = cp.lifetime_optimal(LAW, loss=2.0, demand=demand, cost=cost)
    hours = plan.train_flops / (312e12 * 0.5 * 3600)
    assert plan.train_cost_usd == pytest.approx(1.40 * hours, rel=1e-12)
    prefill = 2 * plan.params * 500e9 / (624e12 * 0.4 * 3600) * 0.60
    decode = 2 * plan.params * 100e9 / (624e12 * 0.2 * 3600) * 0.60
    assert plan.inference_cost_usd == pytest.approx(prefill + decode, rel=1e-12)


def test_demand_forms_agree():
    a = Demand.from_users(1000, 10, 365, 200, 50)
    b = Demand.from_requests(1000 * 10 * 365, 200, 50)
    assert a.total_tokens == b.total_tokens == 3650000 * 250
    assert Demand.from_tokens(5).has_split is False


@pytest.mark.parametrize("call, match", [
    (lambda: cp.lifetime_optimal(LAW, loss=1.6, inference_tokens=1e12), r"loss must be > E"),
    (lambda: cp.lifetime_optimal(LAW, loss=2.0, inference_tokens=-1), r"inference_tokens must"),
    (lambda: cp.lifetime_optimal(LAW, loss=2.0, inference_tokens=float("nan")), "finite"),
    (lambda: cp.lifetime_optimal(LAW, loss=2.0), "exactly one of demand or inference_tokens"),
    (lambda: cp.lifetime_optimal(LAW, loss=2.0, inference_tokens=1e12, cost=DollarCost()),
     "needs the input/output split"),
    (lambda: DollarCost(train_mfu=0), r"train_mfu must be in \(0, 1\]; got 0"),
    (lambda: DollarCost(decode_mfu=1.5), r"decode_mfu must be in \(0, 1\]; got 1.5"),
    (lambda: DollarCost(train_gpu="tpu"), r"unknown GPU 'tpu'; known GPUs: "),
    (lambda: DollarCost(inference_gpu="a100-40gb", inference_dtype="fp8"),
     r"has no 'fp8' peak; valid dtypes"),
    (lambda: DollarCost(train_usd_per_gpu_hour=-2), r"train_usd_per_gpu_hour must be > 0"),
    (lambda: cp.budget_optimal(LAW, budget=0, inference_tokens=1e12), r"budget_flops must be > 0"),
    (lambda: Demand.from_requests(1e9, -5, 10), r"input_tokens_per_request must be >= 0"),
])
def test_bad_input(call, match):
    with pytest.raises(InputError, match=match) as exc:
        call()
    assert "\n" not in str(exc.value)


@given(loss_st, st.floats(1e6, 1e12), st.floats(0, 4000), st.floats(0, 4000),
       st.floats(0.01, 1), st.floats(0.001, 1))
def test_dollar_optimum_never_worse(loss, requests, t_in, t_out, train_mfu, decode_mfu):
    kw = dict(demand=Demand.from_requests(requests, t_in, t_out),
              cost=DollarCost(**(SARDANA_COST | dict(train_mfu=train_mfu, decode_mfu=decode_mfu))))
    opt = cp.lifetime_optimal(LAW, loss=loss, **kw)
    chin = cp.chinchilla_lifetime(LAW, loss=loss, **kw)
    assert opt.total_cost_usd <= chin.total_cost_usd * (1 + 1e-12)
    assert opt.params <= chin.params * (1 + 1e-12)  # inference demand only ever shrinks the model
    np.testing.assert_allclose(opt.loss, loss, rtol=1e-13)
