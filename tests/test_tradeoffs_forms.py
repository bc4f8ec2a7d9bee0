"""Training/inference tradeoffs with a law of any form: the scaling policy (over-training) and
pruning techniques use the form's loss and its compute-optimal models (the first-order
conditions of computeplan._formsolve), checked against brute force, closed forms and the
Chinchilla form's own closed-form paths; the CLI and web shells."""

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from brute import assert_scaling_policy_is_brute_force, pruning_best_loss
from computeplan.cli import app
from computeplan.forms import get_form
from computeplan.laws import get_law
from computeplan.tradeoffs import frontier
from computeplan.tradeoffs.techniques import (
    Pruning,
    ScalingPolicy,
    _compute_optimal_params,
    training_multiplier,
)
from form_laws import LAWS, form_law

runner = CliRunner()



def _generic(law):
    """The Chinchilla-form ``law`` seen by the form-generic paths (form name other than
    'chinchilla', so the closed forms are not used)."""
    shape, coef = get_form("chinchilla"), law.coefficients()
    return SimpleNamespace(shape=shape, coef=coef, form="generic", name=law.name,
                           loss=lambda n, d: shape.loss(coef, n, d))


def test_generic_paths_reproduce_the_chinchilla_closed_forms():
    """Fed the Chinchilla form, the form-generic compute-optimal size (a bracketed root) and
    pruning performance (the crossing of the two budgets through a Hermite table of
    ln N_opt(ln C)) give Hoffmann et al.'s closed forms' numbers: N_opt to 1e-12, the pruned
    loss to 1e-12 on a 101 x 101 grid of budgets (every regime: IC-bound, TC-bound, solved)."""
    law = get_law("sardana2024")
    fake = _generic(law)
    tc = 10 ** np.linspace(18, 30, 101)
    np.testing.assert_allclose(_compute_optimal_params(fake, tc),
                               _compute_optimal_params(law, tc), rtol=1e-11)
    p = Pruning(law=law)
    n0 = float(law.compute_optimal(train_flops=1e24).params)
    tc = 10 ** (24 + np.linspace(-1.5, 2.0, 101))[None, :]
    ic = (2 * n0 * 10 ** np.linspace(-1.5, 0.5, 101))[:, None]
    own = p.performance(tc, ic)
    ln_n, ln_d = Pruning._other_log_models(SimpleNamespace(
        law=fake, fraction_per_round=p.fraction_per_round, min_density=p.min_density), tc, ic)
    np.testing.assert_allclose(fake.loss(np.exp(ln_n), np.exp(ln_d)), own, rtol=1e-12)


@pytest.mark.parametrize("name", list(LAWS))
def test_scaling_policy_is_the_best_model_within_both_budgets(name):
    """performance(TC, IC) is the lowest loss over models N <= IC/2 trained on TC = 6 N D
    (brute force over a fine grid of N), reached at N = min(IC/2, N_opt(TC))."""
    law = form_law(name)
    assert_scaling_policy_is_brute_force(law, ScalingPolicy(law=law))


@pytest.mark.parametrize("name", list(LAWS))
def test_scaling_policy_frontier_of_every_form_is_its_iso_loss_curve(name):
    """Frontier points are models (N = IC/2, D = TC/(6N)) with the level's loss, above the
    smallest model that reaches it with infinite data; the default level is the loss of the
    compute-optimal model at 1e24 FLOPs; the span is not clipped."""
    law = form_law(name)
    tech = ScalingPolicy(law=law)
    f = frontier(tech, grid_points=400)
    assert f.level == pytest.approx(float(law.compute_optimal(train_flops=1e24).loss),
                                    rel=1e-12)
    n = f.inference_compute / 2
    d = f.train_compute / (6 * n)
    np.testing.assert_allclose(law.loss(n, d), f.level, rtol=1e-5)
    n_min = math.exp(law.shape.log_params_range(law.coef, f.level)[0])
    assert f.inference_compute.min() > 2 * n_min
    assert not f.span.clipped_by_grid and f.span.train_oom > 0 and f.span.inference_oom > 0


def test_kaplan_form_span_matches_its_closed_form():
    """On the kaplan form's iso-loss curve, with w = u1 / (u1 + u2) the share of the bracket's
    parameter term, the local exchange rate is r = beta (1 - w) / (alpha w - beta (1 - w)) (as
    the Chinchilla form's with t1 / (t1 + t2)), N = (A / (S w))^(beta/alpha), D = B / (S (1 - w)):
    the span between r = 6 and r = 1/6 is (beta/alpha) log10(w_b / w_a) OOM of inference and
    log10((1 - w_a) / (1 - w_b)) minus that of training (0.196 / 0.338 here, against 0.70 / 1.21
    for the Chinchilla form: the kaplan form trades far less)."""
    a, b = LAWS["kaplan"]["alpha"], LAWS["kaplan"]["beta"]
    w_a, w_b = (7 / 6) * b / (a + (7 / 6) * b), 7 * b / (a + 7 * b)
    inference = (b / a) * math.log10(w_b / w_a)
    train = math.log10((1 - w_a) / (1 - w_b)) - inference
    f = frontier(ScalingPolicy(law=form_law("kaplan")))
    assert f.span.inference_oom == pytest.approx(inference, abs=0.015)
    assert f.span.train_oom == pytest.approx(train, abs=0.015)


@pytest.mark.parametrize("name", list(LAWS))
def test_pruning_of_every_form_against_the_exact_crossing(name):
    """Pruning's best dense budget C0 is where TC / m(d) = C_opt(IC / (2 d)); solved exactly here
    by bisection with exact compute-optimal models (no table), the loss agrees to 1e-11, and no
    density of a fine grid does better (brute force)."""
    law = form_law(name)
    p = Pruning(law=law)
    c_ref = 1e24
    n_ref = float(law.compute_optimal(train_flops=c_ref).params)
    x = p.fraction_per_round
    best_loss = pruning_best_loss(law, p)

    points = [(c_ref * k, 2 * n_ref * s) for k in (0.5, 2.0, 4.0, 30.0)
              for s in (0.05, 0.3, 0.8, 3.0)]
    tc = np.array([t for t, _ in points])
    ic = np.array([i for _, i in points])
    got = p.performance(tc, ic)
    densities = np.geomspace(p.min_density, 1.0, 4001)
    for g, (t, i) in zip(got, points, strict=True):
        assert g == pytest.approx(best_loss(t, i), rel=1e-11)
        c0 = np.minimum(t / training_multiplier(densities, x),
                        law.compute_optimal(params=i / (2 * densities)).train_flops)
        assert g <= float(law.compute_optimal(train_flops=float(c0.max())).loss) * (1 + 1e-12)


@pytest.mark.parametrize("name", list(LAWS))
def test_pruning_frontier_is_the_same_shape_for_every_form(name):
    """At a fixed level the pruning frontier is (C0 m(d), 2 N0 d) for the level's dense
    compute-optimal model (C0, N0): law-independent in log space, so every form gives the
    paper's ~1 / ~1 OOM (0.65 training = log10 4.5, ~0.9 inference)."""
    law = form_law(name)
    p = Pruning(law=law)
    f = frontier(p, grid_points=600)
    dense = law.compute_optimal(loss=f.level)
    d = f.inference_compute / (2 * float(dense.params))
    inside = (d > p.min_density * 1.01) & (d < 0.99)
    np.testing.assert_allclose(f.train_compute[inside] / float(dense.train_flops),
                               training_multiplier(d[inside], p.fraction_per_round), rtol=2e-2)
    assert f.span.train_oom == pytest.approx(math.log10(4.5), abs=0.03)
    assert f.span.inference_oom == pytest.approx(0.9, abs=0.06)


def test_scaling_policy_with_a_data_limit_and_another_form():
    """The data-limited scaling policy with a kaplan-form law: its frontier lies on the
    data-limited iso-loss curve (computeplan._formlimits), narrower than without the limit."""
    from computeplan.data_limits import limited_loss

    law = form_law("kaplan")
    tech = ScalingPolicy(law=law, unique_tokens=1e12)
    f = frontier(tech, grid_points=400)
    n = f.inference_compute / 2
    d = f.train_compute / (6 * n)
    np.testing.assert_allclose(limited_loss(law, n, d, 1e12), f.level, rtol=1e-5)
    assert tech.bounds()["level"].startswith("loss > ")


def test_tradeoff_cli_and_web_with_a_preset_of_another_form():
    out = runner.invoke(app, ["tradeoff", "scaling-policy", "--law", "sardana2024-mpt", "--json"])
    assert out.exit_code == 0, out.output
    res = json.loads(out.stdout)
    assert res["technique"]["parameters"]["law"]["form"] == "kaplan"
    assert "irreducible loss" in res["technique"]["bounds"]["level"]
    prune = runner.invoke(app, ["tradeoff", "pruning", "--law", "sardana2024-mpt", "--json"])
    assert prune.exit_code == 0, prune.output
    assert json.loads(prune.stdout)["span"]["train_oom"] == pytest.approx(0.65, abs=0.03)
    table = runner.invoke(app, ["tradeoff", "scaling-policy", "--law", "sardana2024-mpt",
                                "--unique-tokens", "1e12"])
    assert table.exit_code == 0, table.output
    bad = runner.invoke(app, ["tradeoff", "scaling-policy", "--law", "sardana2024-mpt",
                              "--level", "0.5"])
    assert bad.exit_code == 2 and len(bad.output.strip().splitlines()) == 1, bad.output
    pytest.importorskip("fastapi", reason="the web extra is not installed")
    pytest.importorskip("httpx2", reason="starlette's test client needs httpx2")
    from fastapi.testclient import TestClient

    from computeplan.web import create_app

    with TestClient(create_app()) as client:
        ok = client.post("/api/tradeoff", json={"technique": "scaling-policy",
                                                "law": "sardana2024-mpt", "level": 2.2})
    assert ok.status_code == 200, ok.text
    assert ok.json()["level"] == pytest.approx(2.2)
    assert ok.json()["span"]["train_oom"] == pytest.approx(res["span"]["train_oom"], abs=0.05)


@pytest.mark.parametrize("name", sorted(LAWS))
@given(tc=st.floats(min_value=5e-324, max_value=6.0))
@settings(max_examples=25, deadline=None)
def test_training_compute_below_one_parameter_on_one_token_is_a_clear_error(name, tc):
    """Pruning and the scaling policy under a law of another form: a training compute C <= 6
    leaves no model of N >= 1 on D >= 1 tokens (C = 6 N D), the least the budget solver
    searches; a one-line InputError names it, without ln(C / 6) = -inf on the way (it gave NaN
    and 'no optimal model within this budget')."""
    import warnings

    from computeplan.errors import InputError

    law = form_law(name)
    message = (r"^no compute-optimal model under a [\w-]+-form law at training compute = \S+: "
               r"it needs training compute > 6 \(C = 6 N D")
    for technique in (Pruning(law=law), ScalingPolicy(law=law)):
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            with pytest.raises(InputError, match=message):
                technique.performance(tc, 1e10)
