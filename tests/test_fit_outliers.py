"""Runs far off a fitted law (:mod:`computeplan.fitting.outliers`): named in the fit's table and
JSON, never dropped."""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli_helpers import run_json
from computeplan.cli import app
from computeplan.fitting import Runs, fit_runs, read_runs
from computeplan.fitting.outliers import MIN_LOG_DEVIATION, Z_CUTOFF, off_law, off_law_note
from computeplan.laws import ChinchillaLaw

EXAMPLE_RUNS = Path(__file__).resolve().parents[1] / "examples" / "runs.csv"
LAW = ChinchillaLaw(E=1.8, A=480.0, B=2100.0, alpha=0.34, beta=0.29)


def _ladder():
    n = np.repeat([2e7, 5e7, 1e8, 2e8, 5e8, 1e9], 5)
    d = n * np.tile([5.0, 10.0, 20.0, 40.0, 80.0], 6)
    return n, d, LAW.loss(n, d)


def _runs(loss, weights=None):
    n, d, _ = _ladder()
    return Runs.from_arrays(n, d, loss, weights)


def test_a_run_pushed_off_an_exact_law_is_the_only_one_named():
    n, d, loss = _ladder()
    assert fit_runs(_runs(loss)).outliers == []  # a near-exact fit names none (the floor)
    bumped = loss.copy()
    bumped[7] *= 1.10
    result = fit_runs(_runs(bumped))
    (o,) = result.outliers
    assert o["row"] == 8 and o["loss"] == pytest.approx(bumped[7])
    # the Huber fit is barely pulled: the law's prediction for it is the true law's
    assert o["predicted_loss"] == pytest.approx(loss[7], rel=2e-3)
    assert o["relative_error"] == pytest.approx(1 / 1.10 - 1, rel=0.05)
    assert o["z"] < -Z_CUTOFF
    assert result.to_dict()["outliers"] == [o]


def test_every_form_names_the_run_and_zero_weight_runs_never():
    n, d, loss = _ladder()
    bumped = loss.copy()
    bumped[[7, 20]] *= [1.10, 0.93]
    for form in ("tied", "kaplan", "average(chinchilla,kaplan)"):
        rows = [o["row"] for o in fit_runs(_runs(bumped), form=form).outliers]
        assert sorted(rows) == [8, 21], form
    w = np.ones(len(n))
    w[7] = 0.0
    assert [o["row"] for o in fit_runs(_runs(bumped, w)).outliers] == [21]


def test_epoch_runs_name_the_five_highest_loss_runs_besiroglu_leave_out(shared_data):
    """Besiroglu et al. 2024 fit Epoch's digitised Chinchilla runs without the five of highest
    loss (REFERENCES.md section 6): the fit to all 245 names those five among its outliers."""
    runs = read_runs(shared_data / "chinchilla-epoch" / "svg_extracted_data.csv",
                     params_col="Model Size", flops_col="Training FLOP")
    rows = {o["row"] for o in fit_runs(runs).outliers}
    highest = set(runs.rows[np.argsort(-runs.loss)[:5]].tolist())
    assert highest <= rows
    assert len(rows) < 0.05 * len(runs)


def test_gadre_names_the_shortest_runs_of_the_mid_sized_models(shared_data):
    """Gadre et al.'s runs at 5 tokens per parameter end before or near the end of their warmup
    (README): under a tied-form law fitted to all 35 RedPajama runs the 79M, 154M and 411M
    models' lie above it and are the only ones named; the 11M model's (100 warmup steps) is
    not. Under every form the worst is the 79M model's."""
    runs = read_runs(shared_data / "gadre-overtraining" / "summary_loss_by_model.csv",
                     loss_col="loss_c4_val", where="train_dataset=rpj")
    out = fit_runs(runs, form="tied").outliers
    assert sorted(round(o["params"] / 1e6) for o in out) == [79, 154, 412]
    assert all(round(o["tokens_per_param"]) == 5 and o["relative_error"] < 0 for o in out)
    for form in ("chinchilla", "kaplan", "beta-of-n"):
        worst = fit_runs(runs, form=form).outliers[0]
        assert (round(worst["params"] / 1e6), round(worst["tokens_per_param"])) == (79, 5), form


@settings(max_examples=60, deadline=None)
@given(noise=st.lists(st.floats(-0.004, 0.004), min_size=30, max_size=30, unique=True),
       kick=st.floats(0.05, 0.5), where=st.integers(0, 29), scale=st.floats(0.5, 2.0),
       farther=st.floats(1.0, 3.0))
def test_off_law_properties(noise, kick, where, scale, farther):
    n, d, loss = _ladder()
    actual = loss * np.exp(np.asarray(noise))
    actual[where] *= np.exp(kick)
    runs = _runs(actual)
    named = off_law(runs, loss)
    # a run 5% or more off, among runs within 0.4% of the law, is named, and only it
    assert [o["row"] for o in named] == [where + 1]
    # relative: the same runs under a law off by a constant factor
    assert [o["row"] for o in off_law(runs, scale * loss)] == [where + 1]
    # pushed farther out, it stays named, with a larger |z|
    moved = actual.copy()
    moved[where] *= farther
    (o,) = off_law(_runs(moved), loss)
    assert o["row"] == where + 1 and abs(o["z"]) >= abs(named[0]["z"]) * (1 - 1e-12)
    # a run of weight 0 is never named; with fewer than three runs fitted, none is
    w = np.ones(len(n))
    w[where] = 0.0
    assert off_law(_runs(actual, w), loss) == []
    w[:] = 0.0
    w[:2] = 1.0
    assert off_law(_runs(actual, w), loss) == []


def test_the_floor_keeps_small_misses_unnamed():
    n, d, loss = _ladder()
    actual = loss.copy()
    actual[3] *= np.exp(0.9 * MIN_LOG_DEVIATION)  # z is unbounded (MAD 0), the miss under 2%
    assert off_law(_runs(actual), loss) == []
    actual[3] = loss[3] * np.exp(1.1 * MIN_LOG_DEVIATION)
    (o,) = off_law(_runs(actual), loss)
    assert o["row"] == 4 and o["z"] is None
    json.dumps(o, allow_nan=False)


def test_note_wording():
    o = {"row": 9, "params": 7.89e7, "tokens_per_param": 5.0, "relative_error": -0.14,
         "z": -22.7}
    assert off_law_note([]) is None
    one = off_law_note([o])
    assert one.startswith("1 run lies far off the fitted law")
    assert "row 9 (7.89e+07 params, 5 tokens/param): loss 16.3% above the law, z = -22.7" in one
    many = off_law_note([o] * 7)
    assert many.startswith("7 runs lie") and "and 2 more (JSON: outliers)" in many
    assert off_law_note([dict(o, relative_error=0.05)]).count("below the law") == 1
    assert "z unbounded (MAD 0)" in off_law_note([dict(o, z=None)])


def test_cli_names_them_in_the_table_and_json(shared_data, tmp_path):
    f = shared_data / "gadre-overtraining" / "summary_loss_by_model.csv"
    args = ["fit", str(f), "--where", "train_dataset=rpj", "--loss-col", "loss_c4_val",
            "--form", "tied"]
    out = CliRunner().invoke(app, [*args, "--plot", str(tmp_path / "fit.png")])
    assert out.exit_code == 0, out.output
    assert "note: 3 runs lie far off the fitted law" in out.output
    assert (tmp_path / "fit.png").stat().st_size > 0  # the runs crossed in the figure
    data = run_json(*args)
    assert sorted(round(o["params"] / 1e6) for o in data["outliers"]) == [79, 154, 412]
    clean = run_json("fit", str(EXAMPLE_RUNS))
    assert clean["outliers"] == []
    # a folder of fits: each fit's own list, and a note naming the files that have some
    folder = tmp_path / "ladders"
    folder.mkdir()
    folder.joinpath("clean.csv").write_text(EXAMPLE_RUNS.read_text())
    n, d, loss = _ladder()
    loss = loss.copy()
    loss[7] *= 1.1
    rows = "".join(f"{a},{b},{c}\n" for a, b, c in zip(n, d, loss, strict=True))
    folder.joinpath("bumped.csv").write_text("params,tokens,loss\n" + rows)
    res = CliRunner().invoke(app, ["fit", str(folder)])
    assert res.exit_code == 0, res.output
    assert "note: 1 file has runs far off its fitted law (bumped.csv;" in res.output
    fits = {r["file"]: r for r in json.loads(
        CliRunner().invoke(app, ["fit", str(folder), "--json"]).stdout)["fits"]}
    assert [o["row"] for o in fits["bumped.csv"]["outliers"]] == [8]
    assert fits["clean.csv"]["outliers"] == []
