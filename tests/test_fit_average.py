"""``fit --form average``: every form weighted by extrapolation cross-validation
(computeplan.fitting.average), on synthetic runs and on the published runs of the issue's
targets."""

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from computeplan.cli import app
from computeplan.errors import InputError
from computeplan.fitting import fit_runs, read_runs
from computeplan.fitting.forms import fit_form
from computeplan.fitting.runs import Runs
from computeplan.formaverage import AverageForm
from computeplan.forms import get_form
from computeplan.laws import load_law

runner = CliRunner()
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SARDANA = DATA / "sardana-mpt" / "trainingresults.csv"
GADRE = DATA / "gadre-overtraining" / "summary_loss_by_model.csv"


def _runs(noise=0.004, seed=0):
    """Runs of a Kaplan-form law with multiplicative noise: 6 sizes x 5 D/N levels."""
    rng = np.random.default_rng(seed)
    n = np.repeat(np.geomspace(2e7, 2e9, 6), 5)
    tpp = np.tile(np.geomspace(5, 400, 5), 6)
    d = n * tpp
    f = get_form("kaplan")
    loss = f.loss({"E": 1.6, "A": 3e9, "B": 4e10, "alpha": 0.25, "beta": 0.23}, n, d)
    return Runs.from_arrays(n, d, loss * np.exp(rng.normal(0, noise, len(n))))


@pytest.fixture(scope="module")
def fitted():
    return fit_runs(_runs(), form="average", bootstrap=12, seed=3,
                    holdout="tokens_per_param>=200")


def test_weights_are_inverse_squared_scores_of_the_parts(fitted):
    sel = fitted.selection
    w = sel["weights"]
    assert fitted.form == sel["chosen"] and len(w) >= 2
    assert fitted.form == "average(" + ",".join(w) + ")"
    assert sum(w.values()) == pytest.approx(1.0, abs=1e-12)
    scores = {row["form"]: row["score"] for row in sel["table"]}
    inv = {f: scores[f] ** -2 for f in w}
    for f in w:
        assert w[f] == pytest.approx(inv[f] / sum(inv.values()), rel=1e-12)
    for row in sel["table"][:-1]:  # every form scored; those not in the average weigh 0
        assert row["weight"] == w.get(row["form"], 0.0)
    assert sel["table"][-1]["form"] == fitted.form
    json.dumps(fitted.selection, allow_nan=False)


def test_the_law_is_the_weighted_sum_of_each_forms_own_fit(fitted):
    runs = _runs()
    law = fitted.law
    coef = get_form(fitted.form).split(law.coef)
    n, d = np.array([3e8, 5e9]), np.array([6e9, 2e12])
    want = 0.0
    for w, f, c in coef:
        own = fit_form(runs, f)[0]
        for k, v in c.items():
            assert v == pytest.approx(own.coefficients[k], rel=1e-9, abs=1e-12)
        want = want + w * own.predict(n, d)
    np.testing.assert_allclose(law.loss(n, d), want, rtol=1e-8)
    assert fitted.residuals["rms_log_residual"] < 0.01


def test_holdout_predicts_with_the_parts_fitted_without_the_held_out_runs(fitted):
    runs = _runs()
    held = fitted.holdout
    train = runs.subset(runs.tokens_per_param < 200)
    w = fitted.selection["weights"]
    want = sum(w[f] * fit_form(train, f)[0].predict(held.held_out.params,
                                                    held.held_out.train_tokens) for f in w)
    np.testing.assert_allclose(held.predicted_loss, want, rtol=1e-8)
    assert np.abs(held.relative_error).mean() < 0.02
    iv = held.intervals
    assert iv["coverage"] >= 0.8 and 0 < iv["mean_relative_half_width"] < 0.2


def test_bootstrap_replicates_keep_the_weights(fitted):
    reps = fitted.bootstrap.replicates()
    f = get_form(fitted.form)
    assert reps.shape[1] == f.n_coefficients and len(reps) >= 2
    rows = f.as_dict(reps)
    iv = fitted.bootstrap.intervals()
    for part, w in fitted.selection["weights"].items():
        assert np.all(rows[f"{part}.weight"] == w)
        assert iv[f"{part}.weight"] == {"se": 0.0, "lo": w, "hi": w}
    assert fitted.law.replicates is not None


def test_cli_writes_an_average_law_that_plan_reads(tmp_path):
    csv = tmp_path / "runs.csv"
    runs = _runs()
    rows = ["params,tokens,loss"] + [f"{n:.6g},{d:.6g},{loss:.8g}" for n, d, loss in
                                     zip(runs.params, runs.train_tokens, runs.loss, strict=True)]
    csv.write_text("\n".join(rows) + "\n")
    out = tmp_path / "law.json"
    res = runner.invoke(app, ["fit", str(csv), "--form", "average", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "Forms weighted by extrapolation cross-validation" in res.output
    law = load_law(str(out))
    assert law.form.startswith("average(") and f"form {law.form}" in res.output
    plan = runner.invoke(app, ["plan", "--law", str(out), "--loss", "2.3",
                               "--inference-tokens", "1e12", "--json"])
    assert plan.exit_code == 0, plan.output
    assert json.loads(plan.stdout)["law"]["form"] == law.form


def test_one_plausible_form_is_that_form():
    from computeplan.fitting.average import weights_of

    sel = {"table": [{"form": "kaplan", "score": 0.02}, {"form": "tied", "score": 0.01},
                     {"form": "farseer", "score": None}]}
    assert weights_of(sel, {"kaplan": True, "tied": False}) == {"kaplan": 1.0}
    w = weights_of(sel, {"kaplan": False, "tied": False})  # none ok: every scored form
    assert w == pytest.approx({"kaplan": 0.2, "tied": 0.8})
    with pytest.raises(InputError, match="no form could be fitted"):
        weights_of({"table": [{"form": "kaplan", "score": None}]})


def test_join_and_split_are_inverse():
    f = get_form("average(tied,kaplan)")
    parts = [(0.25, "tied", {"E": 1.7, "A": 400.0, "B": 900.0, "alpha": 0.3}),
             (0.75, "kaplan", {"E": 1.6, "A": 3e9, "B": 4e10, "alpha": 0.25, "beta": 0.23})]
    coef = AverageForm.join(parts)
    assert [(w, g.name, c) for w, g, c in f.split(coef)] == parts


# ----------------------------------------------------------------- the issue's targets
@pytest.mark.skipif(not SARDANA.is_file(), reason="../shared/data/sardana-mpt is absent")
def test_average_on_sardana_meets_the_issue_targets():
    """Sardana et al.'s 34 runs at <= 100 tokens per parameter, predicting the 13 at >= 250:
    measured 0.73% mean, 2.20% max (target 1.5% / 3.5%; auto 1.04% / 3.03%)."""
    runs = read_runs(SARDANA, params_col="Parameters", tokens_col="Tokens",
                     loss_col="Smoothed Loss")
    r = fit_runs(runs, form="average", holdout="tokens_per_param>=250")
    err = np.abs(r.holdout.relative_error)
    assert err.mean() <= 0.015 and err.max() <= 0.035
    assert r.holdout.intervals["coverage"] >= 0.8


@pytest.mark.skipif(not GADRE.is_file(), reason="../shared/data/gadre-overtraining is absent")
@pytest.mark.parametrize("dataset", ["c4_original", "rpj", "rw_original"])
def test_average_on_gadre_meets_the_issue_target_on_each_training_set(dataset):
    """Gadre et al.'s runs, one law per training set, fit <= 160 tokens per parameter, predict
    >= 320: measured 0.94 / 0.82 / 0.87% (target <= 1.5% on each; auto 1.04 / 1.62 / 1.49%)."""
    runs = read_runs(GADRE, loss_col="loss_c4_val", where=f"train_dataset={dataset}")
    r = fit_runs(runs, form="average", holdout="tokens_per_param>=320")
    assert np.abs(r.holdout.relative_error).mean() <= 0.015
    assert r.holdout.intervals["coverage"] >= 0.8


def test_named_parts_are_averaged_alone_and_unknown_fit_forms_are_named():
    r = fit_runs(_runs(), form="average(kaplan,tied)")
    assert {row["form"] for row in r.selection["table"][:-1]} == {"kaplan", "tied"}
    assert set(r.selection["weights"]) <= {"kaplan", "tied"}
    with pytest.raises(InputError, match=r"unknown law form 'cubic' for a fit; valid: .*auto"
                                         r".*average\(f1,f2,...\)"):
        fit_runs(_runs(), form="cubic")
