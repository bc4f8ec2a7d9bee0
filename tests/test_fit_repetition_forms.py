"""R_D*, R_N* fitted for laws of every form (Muennighoff et al. 2023, in the form's own
data-limited loss): recovery from synthetic runs of known laws, the bootstrap and hold-out, the
law file through the planner, ``--form auto``, and bad input."""

import json
from dataclasses import replace

import numpy as np
import pytest
from typer.testing import CliRunner

from brute import one_line_error
from cli_helpers import run_json
from computeplan.cli import app
from computeplan.data_limits import base_params, limited_loss
from computeplan.defaults import DEFAULT_ASYMMETRY, HUBER_DELTA
from computeplan.errors import InputError
from computeplan.fitting import Runs, fit_runs
from computeplan.forms import get_form
from computeplan.laws import get_law
from form_laws import LAWS, form_law

runner = CliRunner()
#: The repetition coefficients of the synthetic runs (not Muennighoff et al.'s 15.39, 5.31).
RD, RN = 12.0, 4.0


def _truth(form):
    law = get_law("sardana2024") if form == "chinchilla" else form_law(form)
    return replace(law, rd_star=RD, rn_star=RN)


def _runs(form, noise=0.0, seed=0):
    """80 runs of the form's test law with R_D* = 12, R_N* = 4: four unique-token budgets U,
    at 0.1-0.9 N_opt(U) (the runs without repetition, D <= U) and 4 N_opt(U) (excess
    parameters), D from 0.1 U to 40 epochs."""
    law = _truth(form)
    u = np.repeat([1e9, 4e9, 1.6e10, 6.4e10], 20)
    n = np.tile(np.repeat([0.1, 0.3, 0.9, 4.0], 5), 4) * base_params(law, u)
    d = np.tile([0.1, 0.3, 1.0, 5.0, 40.0], 16) * u
    loss = limited_loss(law, n, d, u)
    if noise:
        loss = loss * np.exp(np.random.default_rng(seed).normal(0.0, noise, len(u)))
    return n, d, u, loss


def _csv(path, form, **kw):
    n, d, u, loss = _runs(form, **kw)
    rows = ["params,tokens,loss,unique_tokens"]
    rows += [",".join(repr(float(x)) for x in row) for row in zip(n, d, loss, u, strict=True)]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize("form", sorted(LAWS))
def test_fit_recovers_the_repetition_coefficients_of_every_form(form):
    n, d, u, loss = _runs(form)
    result = fit_runs(Runs.from_arrays(n, d, loss, unique_tokens=u), form=form)
    rep = result.repetition
    assert result.form == form
    assert set(rep.fitted) == {"rd_star", "rn_star"}
    assert rep.n_repeated == 32 and rep.n_excess_params == 20
    # noise-free runs: the base law and R_D*, R_N* come back (to ~1e-12 here)
    assert rep.rd_star == pytest.approx(RD, rel=1e-6)
    assert rep.rn_star == pytest.approx(RN, rel=1e-6)
    for k, value in LAWS[form].items():
        assert result.coefficients[k] == pytest.approx(value, rel=1e-5, abs=1e-7), k
    law = result.law
    assert (law.form, law.rd_star, law.rn_star) == (form, rep.rd_star, rep.rn_star)
    out = result.to_dict()
    assert out["repetition"]["rd_star"] == rep.rd_star
    assert any("base law fitted to the 36 runs without repetition" in note
               for note in out["notes"])


def test_the_objective_is_the_forms_data_limited_loss_with_exact_gradients():
    from computeplan.fitting.repetition import law_form, predict, repetition_objective

    law = _truth("beta-of-n")
    n, d, u, loss = _runs("beta-of-n", noise=0.002)
    form, coef = law_form(law)
    assert np.allclose(predict(coef, n, d, u, form)[0], limited_loss(law, n, d, u),
                       rtol=1e-12, atol=0)
    fitted = ("rd_star", "rn_star")
    x = np.log([[5.0, 2.0], [30.0, 9.0]])
    _, g = repetition_objective(x, fitted, coef, n, d, u, np.log(loss), 1.0, form=form)
    h = 1e-6
    for j in range(2):
        step = np.zeros(2)
        step[j] = h
        up = repetition_objective(x + step, fitted, coef, n, d, u, np.log(loss), 1.0,
                                  form=form)[0]
        down = repetition_objective(x - step, fitted, coef, n, d, u, np.log(loss), 1.0,
                                    form=form)[0]
        assert np.allclose(g[:, j], (up - down) / (2 * h), rtol=1e-5, atol=1e-12)


def test_bootstrap_and_holdout_of_another_form():
    n, d, u, loss = _runs("kaplan")
    exact = fit_runs(Runs.from_arrays(n, d, loss, unique_tokens=u), form="kaplan",
                     bootstrap=10, seed=0)
    rb = exact.repetition.bootstrap
    assert rb.ok.sum() >= 8
    for k, truth in (("rd_star", RD), ("rn_star", RN)):
        iv = rb.intervals()[k]  # noise-free: every replicate recovers the truth
        assert iv["lo"] == pytest.approx(truth, rel=1e-6)
        assert iv["hi"] == pytest.approx(truth, rel=1e-6)
    assert exact.to_dict()["repetition"]["bootstrap"]["replicates"] == 10

    n, d, u, loss = _runs("kaplan", noise=0.002, seed=1)
    result = fit_runs(Runs.from_arrays(n, d, loss, unique_tokens=u), form="kaplan",
                      holdout="epochs>10")
    held = result.holdout
    epochs = held.held_out.train_tokens / held.held_out.unique_tokens
    assert np.all(epochs > 10) and len(held.held_out) == 16
    assert held.summary()["n_fit"] == 64
    assert held.repetition is not None and set(held.repetition.fitted) == {"rd_star",
                                                                          "rn_star"}
    # the data-limited kaplan law predicts the runs at 40 epochs to within the noise, and far
    # better than its base law with every token unique
    assert held.summary()["max_abs_relative_error"] < 0.01
    unique = held.fit.predict(held.held_out.params, held.held_out.train_tokens)
    assert np.mean(np.abs(unique / held.held_out.loss - 1)) > 3 * held.summary()[
        "mean_abs_relative_error"]
    assert "no extrapolation term" in held.intervals["method"]
    assert "repetition" in result.to_dict()["holdout"]


@pytest.mark.parametrize("form", ["chinchilla", "kaplan"])
def test_the_base_law_is_fitted_once_to_each_set_of_runs(form, monkeypatch):
    """The refits of the base law while the set of runs without repetition changes end with a
    fit of the final set: that fit is the base law's (the final set is not fitted again), the
    same as a fit of the set alone (its name and source only label it)."""
    import computeplan.fitting as fitting
    from computeplan.fitting import core, forms

    fitted = []  # each multi-start fit: (its form, the runs' log losses)

    def counting(real):
        def multistart(problem, *args, **kw):
            fitted.append((getattr(problem, "form", None), problem.log_l.tobytes()))
            return real(problem, *args, **kw)
        return multistart

    for module in (core, forms):
        monkeypatch.setattr(module, "multistart", counting(module.multistart))
    n, d, u, loss = _runs(form, noise=0.002, seed=1)
    result = fit_runs(Runs.from_arrays(n, d, loss, unique_tokens=u), form=form, bootstrap=4,
                      seed=1)
    assert len(fitted) >= 2 and len(set(fitted)) == len(fitted)
    assert fitted[-1][1] == np.log(result.runs.loss).tobytes()
    monkeypatch.undo()
    alone = fitting._fit_base(result.runs, form, objective="huber", delta=HUBER_DELTA,
                              asymmetry=DEFAULT_ASYMMETRY, full_grid=False)[0]
    assert result.fit.coefficients == alone.coefficients
    assert result.fit.objective_value == alone.objective_value
    assert result.fit.name == "fit" and "fitted to 36 runs" in result.fit.source
    assert result.bootstrap is not None and result.bootstrap.ok.sum() >= 2


def test_the_law_file_carries_the_fitted_values_into_the_plan(tmp_path):
    runs = _csv(tmp_path / "runs.csv", "kaplan")
    out = tmp_path / "law.json"
    result = runner.invoke(app, ["fit", str(runs), "--unique-tokens-col", "unique_tokens",
                                 "--form", "kaplan", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Repetition (Muennighoff et al. 2023)" in result.output
    data = json.loads(out.read_text())
    assert data["form"] == "kaplan"
    assert data["rd_star"] == pytest.approx(RD, rel=1e-6)
    assert data["rn_star"] == pytest.approx(RN, rel=1e-6)
    from computeplan.laws import load_law

    law = load_law(out)
    assert (law.form, law.rd_star, law.rn_star) == ("kaplan", data["rd_star"], data["rn_star"])
    plan = run_json("plan", "--law", str(out), "--loss", "2.7", "--inference-tokens", "1e12",
                    "--unique-tokens", "1e10")
    limit = plan["data_limit"]
    assert (limit["rd_star"], limit["rn_star"]) == (data["rd_star"], data["rn_star"])
    assert "repetition_assumed" not in limit
    assert any(note.startswith("data limit: assumed --rd-star 12 and --rn-star 4 (set in law "
                               "law)") for note in plan["notes"]), plan["notes"]
    assert not any("Muennighoff et al. 2023's values" in note for note in plan["notes"])
    # a law file of another form with a bad coefficient is one line, exit 2
    out.write_text(json.dumps(data | {"rn_star": -1.0}))
    bad = runner.invoke(app, ["plan", "--law", str(out), "--loss", "2.7", "--unique-tokens",
                              "1e10"])
    assert bad.exit_code == 2 and "rn_star" in bad.output
    assert len(bad.output.strip().splitlines()) == 1, bad.output


@pytest.mark.parametrize("form", ["beta-of-n"])
def test_auto_chooses_the_form_on_the_runs_without_repetition(tmp_path, form):
    """The 12 runs with D <= U and 4 N_opt(U) have their loss raised by the excess parameters:
    chosen on all 48 runs with D <= U the form is farseer (it bends to fit them), on the 36
    without repetition the true one."""
    data = run_json("fit", str(_csv(tmp_path / "runs.csv", form)), "--unique-tokens-col",
                    "unique_tokens", "--form", "auto")
    selection = data["selection"]
    assert selection["first_round"] == {"runs": 48, "chosen": "farseer",
                                        "table": selection["first_round"]["table"]}
    assert selection["chosen"] == data["form"] == form
    assert selection["runs"].startswith("the 36 runs without repetition (D <= U, N <= N_opt(U) "
                                        "under the ")
    assert all(fold["n_fit"] + fold["n_held_out"] == 36 for fold in selection["folds"].values())
    rep = data["repetition"]
    assert rep["rd_star"] == pytest.approx(RD, rel=1e-6)
    assert rep["rn_star"] == pytest.approx(RN, rel=1e-6)


@pytest.mark.parametrize("value", ["nan", "-1e9", "0"])
def test_bad_unique_tokens_are_one_line_errors(tmp_path, value):
    path = _csv(tmp_path / "runs.csv", "kaplan")
    lines = path.read_text().splitlines()
    lines[3] = ",".join(lines[3].split(",")[:3] + [value])
    path.write_text("\n".join(lines) + "\n")
    one_line_error("fit", str(path), "--unique-tokens-col", "unique_tokens", "--form", "kaplan",
                    must=("column 'unique_tokens'",))


def test_runs_that_all_repeat_data_leave_no_base_law(tmp_path):
    n, d, u, loss = _runs("kaplan")
    with pytest.raises(InputError, match="runs without repetition"):
        fit_runs(Runs.from_arrays(n, d, loss, unique_tokens=d / 2), form="kaplan")
    path = tmp_path / "runs.csv"
    rows = ["params,tokens,loss,unique_tokens"] + [
        f"{a!r},{b!r},{c!r},{b / 2!r}" for a, b, c in zip(n.tolist(), d.tolist(), loss.tolist(),
                                                          strict=True)]
    path.write_text("\n".join(rows) + "\n")
    one_line_error("fit", str(path), "--unique-tokens-col", "unique_tokens", "--form",
                    "beta-of-n", must=("runs without repetition",))


def test_no_repeated_runs_keep_the_coefficients_and_say_so():
    """As for the Chinchilla form: a coefficient no run determines is kept (Muennighoff et
    al.'s), the result says so, and the law file does not claim it as the law's own."""
    n, d, _, _ = _runs("kaplan")
    loss = form_law("kaplan").loss(n, d)
    plain = fit_runs(Runs.from_arrays(n, d, loss), form="kaplan")
    big = np.full_like(n, 1e15)  # every run on unique data, every model below N_opt(U)
    with_u = fit_runs(Runs.from_arrays(n, d, loss, unique_tokens=big), form="kaplan")
    assert with_u.coefficients == plain.coefficients
    assert with_u.repetition.fitted == ()
    assert any("rd_star is not determined" in note for note in with_u.repetition.notes)
    assert any("rn_star is not determined" in note for note in with_u.repetition.notes)
    assert (with_u.law.rd_star, with_u.law.rn_star) == (None, None)
    assert "rd_star" not in with_u.law.to_dict()


#: A farseer-form law fitted to runs it does not describe: no N_opt(U) at these U.
NO_OPTIMUM = {"a1": -1.6135687412705686, "b1": 0.6938383922740198, "alpha": 0.038022202613408884,
              "a2": -10.225525456289551, "b2": 18.915329706099985, "beta": 0.019166640448615636,
              "a3": 7.356870831506245, "b3": -6.4663461439860885, "gamma": -0.01449818024764746}


def test_a_base_law_without_a_compute_optimal_size_is_aone_line_error():
    from computeplan.fitting.repetition import fit_repetition
    from computeplan.formlaw import make_law

    n, d, u, loss = _runs("farseer")
    with pytest.raises(InputError, match="the farseer-form law fitted to the runs without "
                       "repetition has no compute-optimal size N_opt\\(U\\)"):
        fit_repetition(make_law("farseer", NO_OPTIMUM), n, d, u, loss)


def test_a_bootstrap_replicate_without_a_compute_optimal_size_is_left_out():
    from computeplan.fitting.repetition import bootstrap_repetition, fit_repetition

    law = _truth("farseer")
    n, d, u, loss = _runs("farseer")
    point = fit_repetition(law, n, d, u, loss)
    rows = [LAWS["farseer"], NO_OPTIMUM, LAWS["farseer"]]
    base = {c: np.array([r[c] for r in rows]) for c in LAWS["farseer"]}
    in_base = (d <= u) & (n <= base_params(law, u))
    rb = bootstrap_repetition(point, law, base, np.ones(3, bool), n, d, u, loss, np.ones_like(n),
                              in_base, seed=0)
    assert rb.ok.tolist() == [True, False, True]
    assert np.allclose(rb.rd_star[rb.ok], RD, rtol=1e-6)


def test_the_tied_form_gives_a_chinchilla_law_with_its_fitted_values():
    """muennighoff2023 has alpha = beta: its runs fitted with the tied form give its R_D*, R_N*
    on a ChinchillaLaw (the tied form's laws are)."""
    from computeplan import ChinchillaLaw, get_law

    m23 = get_law("muennighoff2023")
    rng = np.random.default_rng(0)
    n, u = 10 ** rng.uniform(7.5, 10, 60), 10 ** rng.uniform(9, 11, 60)
    d = np.where(rng.random(60) < 0.4, 1.0, 10 ** rng.uniform(0, 2, 60)) * u * rng.uniform(
        0.3, 1.0, 60)
    result = fit_runs(Runs.from_arrays(n, d, limited_loss(m23, n, d, u), unique_tokens=u),
                      form="tied", bootstrap=5, seed=0)
    law = result.law
    assert isinstance(law, ChinchillaLaw) and result.form == "tied"
    assert law.rd_star == pytest.approx(m23.rd_star, rel=1e-6)
    assert law.rn_star == pytest.approx(m23.rn_star, rel=1e-6)
    assert result.repetition.bootstrap.ok.sum() >= 4


# --- averages of forms (fit --form average / 'average(f1,f2,...)' with unique tokens) ---

AVERAGE = "average(kaplan,tied)"


def test_an_average_recovers_the_repetition_coefficients_of_its_best_part():
    """Noise-free kaplan runs: the kaplan part's cross-validation error is ~0, so its weight is
    ~1 and the averaged law's R_D*, R_N* are the truth; the base runs are the 36 without
    repetition under the averaged law, and the bootstrap keeps the weights fixed."""
    n, d, u, loss = _runs("kaplan")
    result = fit_runs(Runs.from_arrays(n, d, loss, unique_tokens=u), form=AVERAGE,
                      bootstrap=6, seed=0)
    assert result.form == AVERAGE
    assert result.selection["weights"]["kaplan"] > 0.999
    rep = result.repetition
    assert set(rep.fitted) == {"rd_star", "rn_star"}
    assert rep.rd_star == pytest.approx(RD, rel=1e-6)
    assert rep.rn_star == pytest.approx(RN, rel=1e-6)
    law = result.law
    assert (law.form, law.rd_star, law.rn_star) == (AVERAGE, rep.rd_star, rep.rn_star)
    # the base runs are the fixed point D <= U, N <= N_opt(U) of the averaged base law
    base = (d <= u) & (n <= base_params(law, u))
    assert len(result.runs) == base.sum() == 36
    kept = zip(result.runs.params, result.runs.train_tokens, strict=True)
    assert set(kept) == set(zip(n[base], d[base], strict=True))
    boot = result.bootstrap
    names = list(get_form(AVERAGE).coefficients)
    weights = boot.coefficients[:, [names.index("kaplan.weight"), names.index("tied.weight")]]
    assert np.all(weights == weights[0]) and weights[0].sum() == pytest.approx(1.0)
    assert rep.bootstrap is not None and rep.bootstrap.ok.sum() >= 5
    assert "the average's base law" in result.selection["runs"]


def test_an_averages_repetition_coefficients_minimise_its_data_limited_objective():
    """Noisy runs: the second stage is the generic one in the averaged law's own data-limited
    loss (Muennighoff et al. 2023, eq. 5 on each part); its R_D*, R_N* are the optimum of that
    objective (no better point nearby) and the same as fitting the base law directly."""
    from computeplan.fitting.repetition import fit_repetition, law_form, repetition_objective

    n, d, u, loss = _runs("kaplan", noise=0.003, seed=2)
    result = fit_runs(Runs.from_arrays(n, d, loss, unique_tokens=u), form=AVERAGE)
    weights = result.selection["weights"]
    assert 0 < weights["tied"] < weights["kaplan"] < 1
    law = result.law
    rep = result.repetition
    again = fit_repetition(replace(law, rd_star=None, rn_star=None), n, d, u, loss)
    assert (again.rd_star, again.rn_star) == pytest.approx((rep.rd_star, rep.rn_star), rel=1e-6)
    form, coef = law_form(law)
    fitted = ("rd_star", "rn_star")
    best = np.log([[rep.rd_star, rep.rn_star]])
    f0 = repetition_objective(best, fitted, coef, n, d, u, np.log(loss), 1.0, form=form)[0]
    for step in ([0.05, 0], [-0.05, 0], [0, 0.05], [0, -0.05]):
        f = repetition_objective(best + step, fitted, coef, n, d, u, np.log(loss), 1.0,
                                 form=form)[0]
        assert f >= f0 * (1 - 1e-12)


def test_an_averages_holdout_refits_both_stages():
    n, d, u, loss = _runs("kaplan", noise=0.002, seed=1)
    result = fit_runs(Runs.from_arrays(n, d, loss, unique_tokens=u), form=AVERAGE,
                      holdout="epochs>10")
    held = result.holdout
    assert np.all(held.held_out.train_tokens / held.held_out.unique_tokens > 10)
    assert held.summary()["n_fit"] == 64 and len(held.held_out) == 16
    assert held.repetition is not None
    # the prediction is the refitted averaged law's data-limited loss, to within the noise
    sub = replace(held.fit.law, rd_star=held.repetition.rd_star, rn_star=held.repetition.rn_star)
    test = held.held_out
    assert np.allclose(held.predicted_loss, limited_loss(sub, test.params, test.train_tokens,
                                                    test.unique_tokens), rtol=1e-12)
    assert held.fit.form == AVERAGE
    assert held.summary()["max_abs_relative_error"] < 0.02


def test_the_cli_writes_an_average_law_with_its_repetition_coefficients(tmp_path):
    out = tmp_path / "law.json"
    result = runner.invoke(app, ["fit", str(_csv(tmp_path / "runs.csv", "kaplan", noise=0.003)),
                                 "--unique-tokens-col", "unique_tokens", "--form", AVERAGE,
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Repetition (Muennighoff et al. 2023)" in result.output
    data = json.loads(out.read_text())
    assert data["form"] == AVERAGE and data["rd_star"] > 0 and data["rn_star"] > 0
    plan = run_json("plan", "--law", str(out), "--loss", "2.7", "--inference-tokens", "1e12",
                    "--unique-tokens", "1e10")
    limit = plan["data_limit"]
    assert (limit["rd_star"], limit["rn_star"]) == (data["rd_star"], data["rn_star"])
    assert plan["law"]["form"] == AVERAGE


def test_a_holdout_with_repetition_is_the_same_on_every_run():
    """Without a seed the hold-out's intervals still come from a fixed one (the repetition
    stage's bootstrap got none and drew new resamples on every run)."""
    n, d, u, loss = _runs("chinchilla", noise=0.002, seed=2)
    runs = Runs.from_arrays(n, d, loss, unique_tokens=u)
    first, second = (json.dumps(fit_runs(runs, holdout="epochs>10").to_dict()["holdout"],
                                default=np.ndarray.tolist) for _ in range(2))
    assert '"intervals"' in first and first == second
