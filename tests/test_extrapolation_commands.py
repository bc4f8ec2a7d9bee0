"""Every command that evaluates a law says when its models lie outside the runs the law was
fitted on, in plan's words (table, JSON ``extrapolation.warnings``, web API), and a plan that
repeats its unique data beyond the epochs the repetition coefficients were fitted on says so."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from cli_helpers import run_json
from computeplan import get_law
from computeplan._lawdata import extrapolation_words
from computeplan.cli import app
from computeplan.commands.model import model
from computeplan.commands.plan import plan
from computeplan.errors import InputError
from computeplan.extrapolation import PUBLISHED_EPOCHS, epochs_warnings
from computeplan.render import count

runner = CliRunner()
LAW = get_law("sardana2024")


def words(label, n, d, law=LAW):
    """plan's sentences for a model (N, D) (the one place they are made)."""
    oom = law.extrapolation(n, d)
    return extrapolation_words(label, law.domain, oom, {"params": n, "train_tokens": d,
                                                        "tokens_per_param": d / n}, count)


def test_model_far_beyond_the_runs_warns_in_plans_words():
    out = run_json("model", "--chinchilla", "--compute", "1e300")
    said = out["extrapolation"]["warnings"]
    assert len(said) == 3 and all("beyond the runs this law was fitted on" in w for w in said)
    assert said == words("the Chinchilla-optimal model", out["params"], out["train_tokens"])
    table = runner.invoke(app, ["model", "--chinchilla", "--compute", "1e300"]).output
    for w in said:
        assert f"warning: {w}" in table


def test_model_of_given_size_warns_and_one_inside_does_not():
    out = run_json("model", "--params", "1e6", "--tokens", "1e15")
    assert out["extrapolation"]["warnings"] == words("the model", 1e6, 1e15)
    assert {"params_oom", "train_tokens_oom", "tokens_per_param_oom"} <= set(
        out["extrapolation"]["model"])
    inside = run_json("model", "--params", "1e9", "--tokens", "2e10")
    assert inside["extrapolation"]["warnings"] == []
    assert inside["extrapolation"]["model"]["params_oom"] == 0


def test_model_without_a_domain_says_so():
    assert get_law("muennighoff2023").domain is None
    args = ["model", "--params", "1e9", "--tokens", "2e10", "--law", "muennighoff2023"]
    out = runner.invoke(app, args).output
    assert ("note: law muennighoff2023 has no domain (the range of its runs): extrapolation "
            "not checked") in out
    assert run_json(*args)["extrapolation"] is None


def test_overhead_warns_of_its_models_at_a_reference_compute():
    out = run_json("overhead", "--size-fraction", "0.5", "--train-flops", "1e30")
    ref = out["reference"]
    said = out["extrapolation"]["warnings"]
    n, d = 0.5 * ref["params"], ref["train_tokens"] * out["token_multiplier"]
    assert said == (words("the compute-optimal model at the reference compute", ref["params"],
                          ref["train_tokens"])
                    + words("the model of 50% the compute-optimal size", n, d))
    # without a reference compute there is no model: the domain, no warnings, and a note
    plain = run_json("overhead", "--size-fraction", "0.5")
    assert plain["extrapolation"]["warnings"] == []
    assert any("--train-flops" in n and "not checked" in n for n in plain["notes"])


@pytest.mark.parametrize("technique", ["scaling-policy", "pruning"])
def test_law_techniques_warn_of_the_frontiers_farthest_model(technique):
    out = run_json("tradeoff", technique, "--law", "sardana2024", "--grid-points", "60")
    said = out["extrapolation"]["warnings"]
    assert said and all(w.startswith("the frontier's farthest model") for w in said)
    table = runner.invoke(app, ["tradeoff", technique, "--grid-points", "60"]).output
    assert f"warning: {said[0]}" in table


def test_techniques_without_a_law_carry_no_extrapolation():
    assert "extrapolation" not in run_json("tradeoff", "mcts", "--grid-points", "60")


def test_the_point_of_a_tradeoff_is_checked():
    out = run_json("tradeoff", "scaling-policy", "--grid-points", "60", "--train-compute",
                   "1e34", "--inference-compute", "1e9")
    assert any(w.startswith("the model at the point trains on")
               for w in out["extrapolation"]["warnings"])


# ------------------------------------------------------------------ repetition beyond the fit
def test_plan_far_past_the_published_epochs_warns():
    rep = plan(unique_tokens=1e6, loss=10.0, rd_star=1e4)  # ~1.8e4 epochs
    epochs = float(rep.comparison.data_limit.epochs)
    assert epochs > PUBLISHED_EPOCHS[1]
    d = rep.to_dict()["data_limit"]
    assert d["warnings"] == epochs_warnings(LAW, "the optimum", epochs)
    assert "Muennighoff et al. 2023's runs (1-9,000 epochs)" in d["warnings"][0]
    assert f"warning: {d['warnings'][0]}" in d["summary"]  # the table's and the page's lines
    table = runner.invoke(app, ["plan", "--unique-tokens", "1e6", "--loss", "10", "--rd-star",
                                 "1e4"]).output
    assert "epochs over its unique tokens" in table


def test_plan_within_the_published_epochs_does_not_warn():
    rep = plan(unique_tokens=1e11, loss=2.3)
    assert float(rep.comparison.data_limit.epochs) <= PUBLISHED_EPOCHS[1]
    assert rep.to_dict()["data_limit"]["warnings"] == []


def test_model_with_unique_tokens_warns_of_epochs():
    report = model(params=1e9, tokens=1e12, unique_tokens=1e7)  # 1e5 epochs
    said = report.to_dict()["data_limit"]["warnings"]
    assert said and said == epochs_warnings(LAW, "the model", 1e5)
    assert model(params=1e9, tokens=1e12, unique_tokens=1e9).to_dict()["data_limit"][
        "warnings"] == []  # 1000 epochs: inside the runs


def test_a_laws_recorded_epochs_replace_the_published_ones(tmp_path):
    data = LAW.to_dict() | {"name": "fitted"}
    data["domain"] = dict(data["domain"]) | {"epochs": [0.5, 8.0]}
    path = tmp_path / "law.json"
    path.write_text(json.dumps(data))
    law = get_law(str(path))
    assert law.domain["epochs"] == [0.5, 8.0]
    said = epochs_warnings(law, "the optimum", 20.0)
    assert said and "beyond the runs (0.5-8 epochs)" in said[0]
    assert epochs_warnings(law, "the optimum", 8.0) == []
    assert epochs_warnings(LAW, "the optimum", 20.0) == []  # inside Muennighoff et al.'s
    path.write_text(json.dumps(data | {"domain": data["domain"] | {"epochs": [8.0, 1.0]}}))
    with pytest.raises(InputError, match="law domain epochs must be"):
        get_law(str(path))


def test_a_repetition_fit_records_the_epochs_of_its_runs():
    from computeplan.data_limits import limited_loss
    from computeplan.fitting import Runs, fit_runs

    law = get_law("muennighoff2023")
    rng = np.random.default_rng(0)
    n = 10 ** rng.uniform(7.5, 9.5, 80)
    u = np.repeat([1e8, 1e9, 3e9, 1e10], 20)
    d = u * 10 ** rng.uniform(-1, np.log10(40), 80)
    result = fit_runs(Runs.from_arrays(n, d, limited_loss(law, n, d, u), unique_tokens=u))
    lo, hi = result.law.domain["epochs"]
    assert lo == pytest.approx(float(np.min(d / u))) and hi == pytest.approx(
        float(np.max(d / u)))


# ---------------------------------------------------------------------------------- web API
@pytest.mark.parametrize(("name", "body"), [
    ("model", {"chinchilla": True, "compute": 1e300}),
    ("overhead", {"size_fraction": 0.5, "train_flops": 1e30}),
    ("tradeoff", {"technique": "scaling-policy", "grid_points": 60}),
])
def test_the_web_api_carries_the_warnings(client, name, body):
    response = client.post(f"/api/{name}", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["extrapolation"]["warnings"]


@pytest.mark.parametrize("first", ["mcts", "scaling-policy"])
def test_a_combined_technique_under_a_law_is_checked(first):
    """--combine scaling-policy: the second technique's frontier is checked against the law's
    domain too, whether or not the first technique has a law."""
    args = ["tradeoff", first, "--combine", "scaling-policy", "--grid-points", "60"]
    out = run_json(*args)["extrapolation"]
    said = [w for w in out["warnings"] if w.startswith("the combined technique's farthest")]
    assert said and out["combined"]["train_tokens_oom"] > 0
    assert ("frontier" in out) == (first == "scaling-policy")
    table = runner.invoke(app, args).output
    assert f"warning: {said[0]}" in table


def test_a_frontiers_extrapolation_is_its_farthest_model():
    """One distance per quantity, the farthest frontier model's, not one per grid point (the
    JSON would grow with --grid-points)."""
    out = run_json("tradeoff", "scaling-policy", "--grid-points", "600")["extrapolation"]
    frontier = out["frontier"]
    assert set(frontier) == {"params_oom", "train_tokens_oom", "tokens_per_param_oom"}
    assert all(isinstance(x, float) for x in frontier.values())
    assert frontier["train_tokens_oom"] > 0  # its warnings say so
    assert any("trains on" in w for w in out["warnings"])


def test_every_model_of_a_report_is_said_in_words():
    """A model given as arrays, all inside the runs, does not silence the models after it."""
    from computeplan.extrapolation import law_report

    inside = (np.array([1e9, 2e9]), np.array([2e10, 4e10]))
    report = law_report(LAW, {"a": ("the first models", *inside),
                              "b": ("the last model", 1e13, 1e14)})
    assert report["warnings"] and all(w.startswith("the last model")
                                      for w in report["warnings"])
