"""Law forms beyond the Chinchilla form (computeplan.forms, computeplan.formlaw) and their fits
(computeplan.fitting.forms): exact gradients, coordinate round trips, law files, compute-optimal
models against brute force, plausibility flags, published-data hold-out figures."""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from computeplan.cli import app
from computeplan.errors import InputError
from computeplan.fitting import fit_runs, read_runs
from computeplan.fitting.runs import Runs
from computeplan.formlaw import FormLaw, make_law
from computeplan.forms import FORMS, get_form
from computeplan.laws import ChinchillaLaw, get_law, load_law
from form_laws import LAWS

runner = CliRunner()
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SARDANA = DATA / "sardana-mpt" / "trainingresults.csv"
needs_sardana = pytest.mark.skipif(not SARDANA.is_file(),
                                   reason="../shared/data/sardana-mpt is absent")


def _runs_grid():
    n = np.geomspace(1e8, 1e10, 5)
    tpp = np.geomspace(5, 500, 5)
    nn, tt = np.meshgrid(n, tpp)
    return nn.ravel(), (nn * tt).ravel()


@pytest.mark.parametrize("name", list(FORMS))
def test_form_gradient_and_coordinates(name):
    """value_jac is the exact gradient (central differences), the fitting coordinates map to
    natural coefficients and back, and the loss in both agrees; log_slopes are the log-log
    derivatives of the loss."""
    f = get_form(name)
    rng = np.random.default_rng(1)
    n, d = _runs_grid()
    ln, ld = np.log(n), np.log(d)
    cn, cd = ln.mean(), ld.mean()
    grid = f.starts(2.5, cn, cd)
    x = grid[rng.choice(len(grid), 4)] + rng.normal(0, 0.03, (4, f.n_coefficients))
    val, jac = f.value_jac(x, ln - cn, ld - cd, cn, cd)
    h = 1e-6
    for j in range(f.n_coefficients):
        xp, xm = x.copy(), x.copy()
        xp[:, j] += h
        xm[:, j] -= h
        num = (f.value_jac(xp, ln - cn, ld - cd, cn, cd)[0]
               - f.value_jac(xm, ln - cn, ld - cd, cn, cd)[0]) / (2 * h)
        np.testing.assert_allclose(jac[..., j], num, rtol=1e-5, atol=1e-7 * np.abs(val).max())
    theta = f.to_natural(x, cn, cd)
    np.testing.assert_allclose(f.from_natural(theta, cn, cd), x, rtol=1e-10, atol=1e-10)
    for row, v in zip(theta, val, strict=True):
        np.testing.assert_allclose(f.loss(f.as_dict(row), n, d), v, rtol=1e-12)
    c = f.as_dict(theta[0])
    loss, dn, dd = f.log_slopes(c, n, d)
    e = 1e-6
    np.testing.assert_allclose(dn, (f.loss(c, n * np.exp(e), d) - f.loss(c, n * np.exp(-e), d))
                               / (2 * e), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(dd, (f.loss(c, n, d * np.exp(e)) - f.loss(c, n, d * np.exp(-e)))
                               / (2 * e), rtol=1e-6, atol=1e-9)


def test_kaplan_and_beta_of_n_reduce_to_their_sources():
    """Kaplan et al. 2020 eq. (1.5) with E = 0 and A = N_c^(alpha/beta), B = D_c; beta-of-n with
    beta1 = 0 is the Chinchilla form."""
    n, d = _runs_grid()
    nc, dc, an, ad = 8.8e13, 5.4e13, 0.076, 0.095
    kap = get_form("kaplan").loss({"E": 0.0, "A": nc ** (an / ad), "B": dc, "alpha": an,
                                   "beta": ad}, n, d)
    np.testing.assert_allclose(kap, ((nc / n) ** (an / ad) + dc / d) ** ad, rtol=1e-12)
    chin = ChinchillaLaw(1.69, 406.4, 410.7, 0.336, 0.283)
    bon = get_form("beta-of-n").loss({"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.336,
                                      "beta0": 0.283, "beta1": 0.0}, n, d)
    np.testing.assert_allclose(bon, chin.loss(n, d), rtol=1e-12)


def test_unknown_form_and_mismatched_coefficients_are_one_line_errors():
    with pytest.raises(InputError, match="unknown law form 'cubic'; valid: chinchilla, tied"):
        get_form("cubic")
    with pytest.raises(InputError, match="missing coefficient.*'beta0', 'beta1'"):
        FormLaw.from_dict({"form": "beta-of-n", "E": 1, "A": 2, "B": 3, "alpha": 0.3})
    with pytest.raises(InputError, match="unknown key.*'beta'"):
        FormLaw.from_dict({"form": "beta-of-n", "beta": 0.3, **LAWS["beta-of-n"]})
    with pytest.raises(InputError, match="has form 'kaplan'"):
        ChinchillaLaw.from_dict({"form": "kaplan", **LAWS["kaplan"]})


COEFFICIENT_SETS = {"chinchilla": {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.336,
                                    "beta": 0.283},
                     "tied": {"E": 1.8, "A": 400.0, "B": 900.0, "alpha": 0.33}, **LAWS}


def _error(call) -> str | None:
    try:
        call()
    except InputError as e:
        return str(e)
    return None


@given(form=st.sampled_from(sorted(COEFFICIENT_SETS)), data=st.data(),
       value=st.sampled_from([0.0, 0.01, -0.3, float("nan"), float("inf"), -float("inf")])
       | st.floats(-1.0, 1.0))
def test_a_coefficient_and_its_replicates_pass_the_same_range_check(form, data, value):
    """One check of a coefficient's range (Form.check_range) for the law and for every row of
    its replicates, in every form (the Chinchilla form's laws are ChinchillaLaw objects): a
    value is refused in a replicate row exactly when it is refused as the law's coefficient,
    with the same range in the one-line message (exponents > 0.01, positive ones > 0, the rest
    finite)."""
    base = COEFFICIENT_SETS[form]
    name = data.draw(st.sampled_from(sorted(base)))
    row = list(base.values())
    row[list(base).index(name)] = value
    as_law = _error(lambda: make_law(form, base | {name: value}))
    in_rows = _error(lambda: make_law(form, base, replicates=[list(base.values()), row]))
    assert (as_law is None) == (in_rows is None), (as_law, in_rows)
    f = get_form(form)
    floor = 0.01 if name in f.exponents else 0.0 if name in f.positive else -np.inf
    assert (as_law is None) == (floor < value < np.inf)
    if as_law is not None:
        valid = as_law.split(" must be ")[1].split("; got ")[0]
        assert as_law == f"law coefficient {name} must be {valid}; got {value}"
        assert in_rows == (f"law replicates: {name} must be {valid} in every row; got {value} "
                           "in row 1")
        assert valid.startswith(("a finite number > 0.01 (", "a finite number > 0 for",
                                 "a finite number for"))


@pytest.mark.parametrize("name", list(LAWS))
def test_law_file_round_trip(tmp_path, name):
    law = make_law(name, LAWS[name], name="x", domain={"params": [1e8, 1e10],
                                                       "train_tokens": [1e9, 1e12],
                                                       "tokens_per_param": [5, 500]})
    path = tmp_path / "law.json"
    law.save(path)
    back = load_law(path)
    assert isinstance(back, FormLaw) and back == law
    assert json.loads(path.read_text())["form"] == name
    assert get_law(path, any_form=True) == law
    with pytest.raises(InputError, match=f"has form '{name}'"):
        get_law(path)


def test_tied_laws_are_chinchilla_laws():
    law = make_law("tied", {"E": 1.8, "A": 400.0, "B": 900.0, "alpha": 0.33})
    assert isinstance(law, ChinchillaLaw) and law.beta == law.alpha == 0.33
    back = FormLaw.from_dict({"form": "tied", "E": 1.8, "A": 400.0, "B": 900.0, "alpha": 0.33})
    assert back == law


@pytest.mark.parametrize("name", list(LAWS))
def test_compute_optimal_beats_brute_force(name):
    """The compute-optimal model is the minimum of L(N, C / 6N) over N: no point of a fine
    grid around it is lower, and its neighbours at +-1e-4 in ln N are not lower either."""
    law = make_law(name, LAWS[name])
    c = np.array([1e20, 1e22, 1e24])
    opt = law.compute_optimal(train_flops=c)
    for j, cj in enumerate(c):
        ln = np.log(opt.params[j]) + np.linspace(-3, 3, 20001)
        n = np.exp(ln)
        grid = law.loss(n, cj / (6 * n))
        assert opt.loss[j] <= grid.min() * (1 + 1e-12)
        np.testing.assert_allclose(opt.params[j] * opt.train_tokens[j] * 6, cj, rtol=1e-12)


@pytest.mark.parametrize("name", list(LAWS))
@given(c=st.floats(min_value=5e-324, max_value=6.0))
def test_compute_optimal_below_one_parameter_on_one_token_is_a_clear_error(name, c):
    """C <= 6 leaves no model of N >= 1 parameters on D >= 1 tokens (C = 6 N D), the least the
    budget solver searches: a one-line InputError naming train_flops and its range, without
    C / 6 underflowing to 0 on the way (ln 0 = -inf made the solver's condition NaN)."""
    law = make_law(name, LAWS[name])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(InputError, match=r"^no compute-optimal model under a [\w-]+-form law "
                           r"at train_flops = \S+: it needs train_flops > 6 \(C = 6 N D"):
            law.compute_optimal(train_flops=c)


def _sardana():
    return read_runs(SARDANA, params_col="Parameters", tokens_col="Tokens",
                     loss_col="Smoothed Loss")


@needs_sardana
def test_sardana_holdout_chinchilla_fit_is_not_ok():
    """The Chinchilla-form fit of the 34 runs at <= 100 tokens per parameter has E = 0.153 and
    alpha = 0.077: implausible, so not ok (issue 11)."""
    r = fit_runs(_sardana(), holdout="tokens_per_param>=250")
    sub = r.holdout.fit
    assert sub.coefficients["E"] < 0.2 and not sub.ok
    assert any(w.startswith("implausible: irreducible loss") for w in sub.warnings)


@needs_sardana
@pytest.mark.parametrize(("name", "mean_max"), [("kaplan", 0.015), ("beta-of-n", 0.015)])
def test_sardana_holdout_other_forms_extrapolate(name, mean_max):
    r = fit_runs(_sardana(), form=name, holdout="tokens_per_param>=250")
    err = np.abs(r.holdout.relative_error)
    assert r.form == name and r.ok
    assert err.mean() <= mean_max and err.max() <= 0.035


def test_fit_form_cli_writes_a_law_plan_can_read(tmp_path):
    n, d = _runs_grid()
    law = make_law("kaplan", LAWS["kaplan"])
    loss = law.loss(n, d) * np.exp(np.random.default_rng(0).normal(0, 0.002, n.size))
    csv = tmp_path / "runs.csv"
    csv.write_text("params,tokens,loss\n" + "\n".join(
        f"{a:.17g},{b:.17g},{c:.17g}" for a, b, c in zip(n, d, loss, strict=True)) + "\n")
    out = tmp_path / "law.json"
    res = runner.invoke(app, ["fit", str(csv), "--form", "kaplan", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["form"] == "kaplan" and data["ok"]
    back = load_law(out)
    assert back.form == "kaplan"
    np.testing.assert_allclose(back.loss(n, d), law.loss(n, d), rtol=0.01)
    bad = runner.invoke(app, ["fit", str(csv), "--form", "cubic"])
    assert bad.exit_code == 2 and "unknown law form 'cubic'" in bad.output
    assert "Traceback" not in bad.output


def test_too_few_runs_for_a_form_is_an_error():
    runs = Runs.from_arrays([1e8, 2e8, 4e8, 1e9, 2e9, 4e9], [2e9, 4e9, 8e9, 2e10, 8e10, 1e11],
                            [3.0, 2.9, 2.8, 2.6, 2.5, 2.45])
    with pytest.raises(InputError, match="need more than 9 runs.*farseer"):
        fit_runs(runs, form="farseer")


# ---------------------------------------------------------------- planning with every form
def _contour_brute(law, loss, r, ln_n_opt):
    """Lowest N (D + r) on a fine grid of the loss contour around ln N = ln_n_opt."""
    f = law.shape
    lo, hi = f.log_params_range(law.coef, loss)
    ln_n = ln_n_opt + np.linspace(-0.5, 0.5, 40001)
    ln_n = ln_n[(ln_n > lo) & (ln_n < hi)]
    d = np.exp(f.log_tokens_at_loss(law.coef, ln_n, loss))
    return np.min(np.exp(ln_n) * (d + r))


@pytest.mark.parametrize("name", list(LAWS))
def test_lifetime_optimum_of_every_form_beats_brute_force(name):
    """Fixed loss: the optimum reaches the loss, and no point of a fine grid of the loss contour
    is cheaper; the budget inverse at its lifetime FLOPs returns it (round trip); the equal-loss
    Chinchilla-optimal model costs more whenever there is inference."""
    from computeplan.lifetime import budget_optimal, compare, lifetime_optimal

    law = make_law(name, LAWS[name])
    c_ref = law.compute_optimal(train_flops=np.array([1e21, 1e23]))
    loss = c_ref.loss
    demand = np.array([0.0, 1e12, 1e14])[:, None]
    plan = lifetime_optimal(law, loss=loss, inference_tokens=demand)
    np.testing.assert_allclose(plan.loss, np.broadcast_to(loss, plan.loss.shape), rtol=1e-12)
    for i in range(3):
        for j in range(2):
            r = demand[i, 0] / 3
            best = _contour_brute(law, loss[j], r, np.log(plan.params[i, j]))
            assert plan.total_flops[i, j] <= 6 * best * (1 + 1e-12)
    back = budget_optimal(law, budget=plan.total_flops, inference_tokens=demand)
    np.testing.assert_allclose(back.params, plan.params, rtol=1e-8)
    np.testing.assert_allclose(back.loss, plan.loss, rtol=1e-12)
    cmp = compare(law, loss=loss, inference_tokens=demand)
    assert np.all(cmp.ratios["total_flops"][1:] < 1)
    np.testing.assert_allclose(cmp.ratios["total_flops"][0], 1.0, rtol=1e-9)
    cb = compare(law, budget=plan.total_flops, inference_tokens=demand)
    np.testing.assert_allclose(cb.chinchilla.total_flops, plan.total_flops, rtol=1e-9)
    assert np.all(cb.optimal.loss <= cb.chinchilla.loss * (1 + 1e-12))
    assert cmp.to_dict()["law"]["form"] == name


def test_model_command_with_another_form(tmp_path):
    from computeplan.commands.model import model

    path = tmp_path / "k.json"
    law = make_law("kaplan", LAWS["kaplan"], name="k")
    law.save(path)
    opt = model(compute=1e22, chinchilla=True, law=str(path))
    n = float(opt.point.params)
    ln = np.log(n) + np.linspace(-1, 1, 20001)
    assert float(opt.point.loss) <= law.loss(np.exp(ln), 1e22 / 6 / np.exp(ln)).min() * (1 + 1e-12)
    at_loss = model(loss=float(opt.point.loss), params=n, law=str(path))
    np.testing.assert_allclose(at_loss.point.train_tokens, opt.point.train_tokens, rtol=1e-9)
    at_d = model(loss=float(opt.point.loss), tokens=float(opt.point.train_tokens),
                 law=str(path))
    np.testing.assert_allclose(at_d.point.params, n, rtol=1e-9)
    for key in ("params", "tokens"):
        val = n if key == "params" else float(opt.point.train_tokens)
        again = model(chinchilla=True, law=str(path), **{key: val})
        np.testing.assert_allclose(again.point.params, n, rtol=1e-8)
    with pytest.raises(InputError, match="above the irreducible|E = 1.05"):
        model(loss=1.0, chinchilla=True, law=str(path))


# ------------------------------------------------- selection, intervals, published targets
GADRE = DATA / "gadre-overtraining" / "summary_loss_by_model.csv"
needs_gadre = pytest.mark.skipif(not GADRE.is_file(),
                                 reason="../shared/data/gadre-overtraining is absent")


@needs_sardana
def test_auto_on_sardana_meets_the_issue_targets():
    """fit --form auto, the form chosen by cross-validation on the 34 runs at <= 100 tokens per
    parameter alone, predicts the 13 at >= 250 within 1.5% on average and 3.5% at worst (the
    Chinchilla form: 5.76% / 15.0%), and its 90% predictive intervals cover >= 80% of them."""
    r = fit_runs(_sardana(), form="auto", holdout="tokens_per_param>=250")
    sel = r.selection
    assert sel["chosen"] == r.form and {row["form"] for row in sel["table"]} == set(FORMS)
    assert sel["folds"]["tokens_per_param"]["n_fit"] + sel["folds"]["tokens_per_param"][
        "n_held_out"] == 34  # the selection saw only the runs left after --holdout
    err = np.abs(r.holdout.relative_error)
    assert err.mean() <= 0.015 and err.max() <= 0.035
    iv = r.holdout.intervals
    assert iv["level"] == 0.9 and iv["coverage"] >= 0.8
    lo, hi = iv["runs"]["lo"], iv["runs"]["hi"]
    assert np.all(lo < r.holdout.predicted_loss) and np.all(r.holdout.predicted_loss < hi)
    assert np.mean((r.holdout.held_out.loss >= lo) & (r.holdout.held_out.loss <= hi)) == \
        iv["coverage"]


def test_intervals_widen_with_extrapolation_distance():
    from computeplan.fitting.intervals import extrapolation_distance

    fitted = Runs.from_arrays([1e8, 1e9, 1e8, 1e9], [1e9, 1e10, 1e10, 1e11], [3, 2.5, 2.8, 2.3])
    d = extrapolation_distance(fitted, np.array([5e8, 1e10, 5e8]), np.array([5e9, 1e11, 5e11]))
    np.testing.assert_allclose(d, [0.0, np.log(10), np.log(1000 / 100)], rtol=1e-12)


def test_cv_needs_runs_to_hold_out():
    runs = Runs.from_arrays([1e8, 1e9] * 4, [2e9, 2e10] * 4, [3.0, 2.5] * 4)
    with pytest.raises(InputError, match="too few distinct|not identifiable|same"):
        fit_runs(runs, form="auto")


def test_cv_scores_a_form_it_cannot_fit_as_none():
    """14 runs at three levels of D/N (Gadre et al.'s harder split's design): farseer's 9
    coefficients cannot be fitted on a fold, so its scores are None (JSON null, never chosen),
    and the deeper D/N fold, which would hold out the same runs, is skipped."""
    from computeplan.fitting.select import select_form

    n = np.array([1e7, 8e7, 1.5e8, 4e8] * 3 + [1.4e9, 6.9e9])
    tpp = np.array([5.0] * 4 + [10.0] * 4 + [20.0] * 6)
    d = n * tpp
    loss = 1.7 + 400 * n ** -0.3 + 900 * d ** -0.3
    sel = select_form(Runs.from_arrays(n, d, loss))
    assert set(sel["folds"]) == {"tokens_per_param", "params"}
    farseer = next(row for row in sel["table"] if row["form"] == "farseer")
    assert farseer["score"] is None and farseer["scores"]["tokens_per_param"] is None
    assert sel["chosen"] != "farseer"
    json.dumps(sel, allow_nan=False)


def _gadre(dataset):
    return read_runs(GADRE, loss_col="loss_c4_val", where=f"train_dataset={dataset}")


@needs_gadre
@needs_sardana
def test_chinchilla_form_holdout_reproduces_the_recorded_baseline():
    """REFERENCES.md section 9: the default Chinchilla-form fit's hold-out errors as recorded
    there (fit <= 160 tokens per parameter, predict >= 320, ``loss_c4_val``: c4 2.45%, RedPajama
    1.35%, RefinedWeb 1.85%; Sardana's runs, fit <= 100, predict >= 250: 5.76% mean, 15.0% max),
    to the digits given: the baseline every other form is measured against."""
    recorded = {"c4_original": 2.45, "rpj": 1.35, "rw_original": 1.85}
    for dataset, pct in recorded.items():
        r = fit_runs(_gadre(dataset), holdout="tokens_per_param>=320")
        assert round(100 * np.abs(r.holdout.relative_error).mean(), 2) == pct, dataset
    err = np.abs(fit_runs(_sardana(), holdout="tokens_per_param>=250").holdout.relative_error)
    assert (round(100 * err.mean(), 2), round(100 * err.max(), 1)) == (5.76, 15.0)


#: Mean |error| bound per training set: the issue's 1.5% target where it is met; RedPajama
#: measures 1.62% (README).
GADRE_BOUNDS = {"c4_original": 0.015, "rpj": 0.0165, "rw_original": 0.015}


@needs_gadre
@pytest.mark.parametrize("dataset", list(GADRE_BOUNDS))
def test_gadre_auto_fit_below_200_predicts_16x_overtraining(dataset):
    """Gadre et al.'s runs, one law per training set, fit at <= 160 tokens per parameter
    (multiplier <= 8), predict multiplier >= 16 (320 and 640 tokens per parameter)."""
    r = fit_runs(_gadre(dataset), form="auto", holdout="tokens_per_param>=320")
    assert "tokens_per_param_deep" in r.selection["folds"]
    err = np.abs(r.holdout.relative_error)
    # The issue's target is <= 1.5% on each; measured (README): 1.04% (c4, beta-of-n), 1.62%
    # (RedPajama, tied), 1.49% (RefinedWeb, beta-of-n); the Chinchilla form 2.45 / 1.35 / 1.85%.
    assert err.mean() <= GADRE_BOUNDS[dataset]
    assert r.holdout.intervals["coverage"] >= 0.8


@needs_gadre
def test_gadre_auto_fit_below_20_predicts_80_and_beyond_pooled():
    """Gadre et al.'s harder split: one law per training set fitted on the 14 runs at <= 20
    tokens per parameter (the 40-token runs left out), predicting the runs at >= 80 (4x to 32x
    the fitted D/N), errors pooled over the three laws. The issue's target is <= 3%; measured
    (README): 4.50% (C4 1.99% and RedPajama 8.09% with beta-of-n, RefinedWeb 3.28% with
    kaplan; the Chinchilla form 9.79%): not met. Every split's 90% intervals cover >= 80%."""
    errors = []
    for dataset in GADRE_BOUNDS:
        runs = read_runs(GADRE, loss_col="loss_c4_val",
                         where=[f"train_dataset={dataset}", "chinchilla_multiplier!=2.0"])
        r = fit_runs(runs, form="auto", holdout="tokens_per_param>=80")
        assert r.selection["folds"]["tokens_per_param"]["n_fit"] == 8  # 5 and 10 tokens/param
        assert r.holdout.intervals["coverage"] >= 0.8
        errors.extend(np.abs(r.holdout.relative_error))
    assert len(errors) == 50
    assert np.mean(errors) <= 0.046


@needs_gadre
def test_gadre_harder_split_fails_on_its_shortest_runs():
    """Why the harder split's target is missed (README): Gadre et al.'s warmup is a fixed number
    of steps per model size, so the runs at 5 tokens per parameter of the 79M-411M models lie
    well above the law of the longer runs (the 11M model's, with 100 warmup steps, on it). The
    tied form fitted on the 10 runs at 10 and 20 tokens per parameter alone predicts the
    held-out runs at >= 80 within 3% pooled (measured 1.85%; the Chinchilla form 2.58%), but
    two levels of D/N leave no fold in D/N for cross-validation, so auto cannot choose."""
    errors, above = [], []
    for dataset in GADRE_BOUNDS:
        runs = read_runs(GADRE, loss_col="loss_c4_val",
                         where=[f"train_dataset={dataset}", "chinchilla_multiplier!=2.0"])
        tpp = runs.tokens_per_param
        longer = runs.subset(tpp > 8)
        r = fit_runs(longer, form="tied", holdout="tokens_per_param>=80")
        assert r.holdout.summary()["n_fit"] == 10
        errors.extend(np.abs(r.holdout.relative_error))
        short = runs.subset(tpp < 8)
        gap = short.loss / r.holdout.fit.predict(short.params, short.train_tokens) - 1
        small = short.params < 2e7
        assert np.all(np.abs(gap[small]) < 0.01)
        above.extend(gap[~small])
        with pytest.raises(InputError, match="no form could be fitted"):
            fit_runs(longer, form="auto", holdout="tokens_per_param>=80")
    assert len(errors) == 50 and np.mean(errors) <= 0.03
    assert len(above) == 9 and min(above) > 0.03


def test_plan_command_plans_with_a_law_of_another_form(tmp_path):
    """computeplan plan with a kaplan-form law file: the optimum is cheaper than the equal-loss
    Chinchilla-optimal model, the JSON names the form, and a budget plan round-trips."""
    from computeplan.commands.plan import plan

    path = tmp_path / "k.json"
    make_law("kaplan", LAWS["kaplan"], name="k").save(path)
    res = plan(law=str(path), loss=2.2, inference_tokens=1e13).comparison
    assert res.law.form == "kaplan" and float(res.ratios["total_flops"]) < 1
    back = plan(law=str(path), budget_flops=float(res.optimal.total_flops),
                inference_tokens=1e13).comparison
    np.testing.assert_allclose(back.optimal.loss, 2.2, rtol=1e-10)
    out = runner.invoke(app, ["plan", "--law", str(path), "--loss", "2.2", "--inference-tokens",
                              "1e13", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["law"]["form"] == "kaplan"
    out = runner.invoke(app, ["report", "--law", str(path), "--loss", "2.2", "--out",
                              str(tmp_path / "r.html")])  # its figures too (test_web_report)
    assert out.exit_code == 0, out.output
    assert "kaplan form" in (tmp_path / "r.html").read_text()
    # A data limit plans with it too (tests/test_forms_limits.py: what still needs the
    # Chinchilla form says so in one line, exit 2).
    out = runner.invoke(app, ["plan", "--law", str(path), "--loss", "2.2", "--unique-tokens",
                              "1e12", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["data_limit"]["repetition_assumed"] == ["rd_star", "rn_star"]


# ------------------------------------------------------------ presets fitted on over-trained runs
def _preset_ladders():
    """scripts/make_form_presets.py's LADDERS (name -> data file, read options, source)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "scripts" / "make_form_presets.py"
    spec = importlib.util.spec_from_file_location("make_form_presets", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.LADDERS


def test_form_presets_ship_with_provenance_and_are_named_in_help():
    from computeplan.laws import form_presets

    presets = form_presets()
    assert set(presets) == set(_preset_ladders()) == {
        "sardana2024-mpt", "gadre2024-c4", "gadre2024-rpj", "gadre2024-rw"}
    for name, law in presets.items():
        assert "fitted by computeplan fit --form auto (chosen: " in law.source
        assert law.domain is not None and law.replicates is not None
        assert len(law.replicates) >= 100  # of the 200 bootstrap refits
        assert get_law(name, any_form=True) is law
    # sardana2024-mpt spans 10-10,000 tokens per parameter, Gadre's 5-640.
    assert presets["sardana2024-mpt"].domain["tokens_per_param"] == [10.0, 10000.0]
    assert presets["gadre2024-c4"].domain["tokens_per_param"] == [5.0, 640.0]
    for command in ("plan", "model"):
        text = " ".join(runner.invoke(app, [command, "--help"]).output.split())
        for name in presets:
            assert name in text, (command, name)
    out = runner.invoke(app, ["plan", "--law", "sardana2024-mpt", "--loss", "2.3",
                              "--inference-tokens", "1e13", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["law"]["form"] == "kaplan"


@pytest.mark.skipif(not (SARDANA.is_file() and GADRE.is_file()),
                    reason="../shared/data/sardana-mpt or gadre-overtraining is absent")
def test_form_presets_reproduce_their_fits():
    """Refitting each preset's chosen form to its runs (the script's --check refits with --form
    auto and the bootstrap as well) gives the shipped law's predictions at every run."""
    from computeplan.laws import form_presets

    for name, (path, read, _) in _preset_ladders().items():
        law = form_presets()[name]
        chosen = law.source.split("(chosen: ")[1].split(")")[0]
        runs = read_runs(DATA / path, **read)
        fit = fit_runs(runs, form=chosen)
        assert fit.ok, (name, fit.warnings)
        refit = fit.law
        np.testing.assert_allclose(law.loss(runs.params, runs.train_tokens),
                                   refit.loss(runs.params, runs.train_tokens), rtol=1e-6,
                                   err_msg=name)
        assert law.domain == refit.domain


def test_farseer_form_is_the_authors_formula_with_n_in_billions():
    """The farseer form is the authors' ExpExpExpFit (github.com/Farseer-Scaling-Law/Farseer,
    non_linear_model.py): exp(s N^q + S) + exp(B N^b + Q) D^-exp(A N^a + E) with N in parameters
    and D in tokens, written here with N in billions (farseer_from_authors converts)."""
    from computeplan.forms import farseer_from_authors, get_form

    rng = np.random.default_rng(3)
    theirs = {"s": 2.0, "q": -0.08, "S": 0.1, "B": 40.0, "b": -0.05, "Q": 1.0, "A": -0.3,
              "a": 0.02, "E": -0.6}
    n = 10 ** rng.uniform(7, 12, 50)
    d = 10 ** rng.uniform(9, 14, 50)
    exp = np.exp
    authors = (exp(theirs["s"] * n ** theirs["q"] + theirs["S"])
               + exp(theirs["B"] * n ** theirs["b"] + theirs["Q"])
               * d ** -exp(theirs["A"] * n ** theirs["a"] + theirs["E"]))
    ours = get_form("farseer").loss(farseer_from_authors(theirs), n, d)
    np.testing.assert_allclose(ours, authors, rtol=1e-12)
    # the authors' coefficients read as N in billions give another law
    same_names = dict(zip(("a3", "gamma", "b3", "a2", "beta", "b2", "a1", "alpha", "b1"),
                          theirs.values(), strict=True))
    assert not np.allclose(get_form("farseer").loss(same_names, n, d), authors, rtol=1e-3)


@pytest.mark.parametrize("name", list(LAWS))
def test_contour_slopes_are_the_slopes_on_the_loss_contour(name):
    """Form.contour_slopes (the fixed-loss solver's evaluation, with the terms of each form
    shared) gives the ln D of the contour and the log slopes there, as log_tokens_at_loss and
    log_slopes_at do, and the contour's loss is the target."""
    from computeplan.forms import Form, get_form

    f, c = get_form(name), LAWS[name]
    loss = np.array([1.95, 2.1, 2.3, 2.6])[:, None]
    lo, _ = f.log_params_range(c, loss)
    ln_n = lo + np.geomspace(1e-3, 20.0, 40)
    ln_d, d_n, d_d = f.contour_slopes(c, ln_n, loss)
    ref_d, ref_n, ref_dd = Form.contour_slopes(f, c, ln_n, loss)
    np.testing.assert_allclose(ln_d, ref_d, rtol=1e-12)
    np.testing.assert_allclose(d_n, ref_n, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(d_d, ref_dd, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(f.loss_at(c, ln_n, ln_d), np.broadcast_to(loss, ln_d.shape),
                               rtol=1e-12)
