"""``fit --tokens-per-param-power P``: each run's weight times (tokens per parameter)^P, the
factors' mean 1 (:func:`computeplan.fitting.filter_runs`)."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from computeplan.cli import app
from computeplan.errors import InputError
from computeplan.fitting import Runs, filter_runs, read_runs

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "runs.csv"
runner = CliRunner()


@settings(max_examples=60, deadline=None, derandomize=True)
@given(power=st.floats(0, 4),
       ratios=st.lists(st.floats(1, 1e4), min_size=2, max_size=12),
       zero=st.integers(0, 11))
def test_weights_are_the_power_of_tokens_per_param_with_mean_one(power, ratios, zero):
    n = len(ratios)
    weights = np.ones(n)
    weights[zero % n] = 0.0
    params = np.full(n, 1e8)
    runs = Runs.from_arrays(params, params * np.array(ratios), np.full(n, 3.0), weights)
    out = filter_runs(runs, tokens_per_param_power=power)
    used = weights > 0
    assert np.all(out.weights[~used] == 0)  # a run left out stays out
    assert out.weights[used].mean() == pytest.approx(1.0, rel=1e-12)
    expected = np.array(ratios)[used] ** power
    assert out.weights[used] == pytest.approx(expected / expected.mean(), rel=1e-9)
    if power == 0:
        assert out is runs and not out.notes
    else:
        assert "(tokens per parameter)^" in out.notes[-1]


@pytest.mark.parametrize("power", [-0.5, 4.5, float("nan"), float("inf"), True])
def test_a_power_outside_its_range_is_a_one_line_error(power):
    runs = read_runs(EXAMPLE)
    with pytest.raises(InputError, match=r"tokens_per_param_power must be a number in \[0, 4\]"):
        filter_runs(runs, tokens_per_param_power=power)


def test_the_cli_refuses_a_power_outside_its_range_with_exit_2():
    result = runner.invoke(app, ["fit", str(EXAMPLE), "--tokens-per-param-power", "5"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "--tokens-per-param-power" in result.stderr and "[0, 4]" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("form", ["chinchilla", "kaplan"])
def test_a_power_is_the_fit_with_those_weights_in_a_column(tmp_path, form):
    """One way to weigh runs: the power gives the fit a --weight-col of r^P gives (the weights'
    scale does not matter), and it moves the fit (P = 1 is not P = 0)."""
    rows = list(csv.DictReader(EXAMPLE.open()))
    path = tmp_path / "weighted.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["params", "tokens", "loss", "w"])
        for r in rows:
            w.writerow([r["params"], r["tokens"], r["loss"],
                        repr(3.0 * float(r["tokens"]) / float(r["params"]))])
    base = ["fit", str(path), "--form", form, "--json"]
    by_power = runner.invoke(app, [*base, "--tokens-per-param-power", "1"])
    by_column = runner.invoke(app, [*base, "--weight-col", "w"])
    plain = runner.invoke(app, base)
    assert by_power.exit_code == by_column.exit_code == plain.exit_code, by_power.output
    a, b, c = (json.loads(x.stdout) for x in (by_power, by_column, plain))
    assert a["coefficients"] == pytest.approx(b["coefficients"], rel=1e-6)
    assert a["coefficients"] != pytest.approx(c["coefficients"], rel=1e-3)
    assert any("--tokens-per-param-power" in note for note in a["notes"])


def test_the_web_fit_takes_the_power_under_the_same_name(client):
    runs = {"runs": ("runs.csv", EXAMPLE.read_bytes(), "text/csv")}
    fine = client.post("/api/fit", files=runs, data={"tokens_per_param_power": "1"})
    assert fine.status_code == 200, fine.text
    assert any("tokens_per_param_power" in note for note in fine.json()["notes"])
    bad = client.post("/api/fit", files=runs, data={"tokens_per_param_power": "5"})
    assert bad.status_code == 422 and "tokens_per_param_power" in bad.json()["error"]
