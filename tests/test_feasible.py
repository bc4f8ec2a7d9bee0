"""A plan or model of fewer than 1 parameter or 1 token is refused, naming the bound."""

import json
import re

import numpy as np
import pytest
from typer.testing import CliRunner

import computeplan as cp
from computeplan.cli import app
from computeplan.commands.model import model
from computeplan.commands.plan import plan
from computeplan.errors import InputError
from form_laws import LAWS, form_law

runner = CliRunner()
DOLLARS = {"requests": 1e6, "input_tokens": 100, "output_tokens": 100}


def law_file(tmp_path, name):
    """A law file of ``name``: a preset, a form of :mod:`form_laws` or their average."""
    if name in LAWS:
        law = form_law(name)
    elif name == "average":
        from computeplan.formaverage import AverageForm
        from computeplan.formlaw import make_law
        from computeplan.forms import get_form

        parts = {"kaplan": 0.5, "farseer": 0.5}
        coef = AverageForm.join([(w, p, LAWS[p]) for p, w in parts.items()])
        law = make_law(get_form("average(kaplan,farseer)").name, coef, name="avg")
    else:
        return name
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(law.to_dict()))
    return str(path)


def bound(message):
    return float(re.search(r"both have one is ([0-9.e+-]+) \(law", message).group(1))


def sizes(rep):
    c = rep.comparison
    return [float(x) for m in (c.chinchilla, c.optimal) for x in (m.params, m.train_tokens)]


@pytest.mark.parametrize("name", ["sardana2024", "kaplan", "beta-of-n", "farseer", "average"])
@pytest.mark.parametrize("target", ["budget_flops", "budget_usd"])
def test_a_budget_too_small_for_one_parameter_is_refused_with_its_bound(tmp_path, name, target):
    law = law_file(tmp_path, name)
    extra = DOLLARS if target == "budget_usd" else {}
    with pytest.raises(InputError, match=rf"^{target} 1e-12 is too small: the "
                       r".* a model needs at least 1 parameter and 1 token") as exc:
        plan(law=law, **{target: 1e-12}, **extra)
    x = bound(str(exc.value))
    assert min(sizes(plan(law=law, **{target: x}, **extra))) >= 1  # the bound holds
    with pytest.raises(InputError, match="is too small"):  # and is the smallest (to 0.1%)
        plan(law=law, **{target: x * 0.999}, **extra)


def test_a_target_loss_too_high_is_refused_with_its_bound():
    with pytest.raises(InputError, match=r"^loss 1000 is too high") as exc:
        plan(loss=1000.0)
    x = bound(str(exc.value))
    assert min(sizes(plan(loss=x))) >= 1
    with pytest.raises(InputError, match="is too high"):
        plan(loss=x * 1.001)
    with pytest.raises(InputError, match=r"^the target loss [0-9.]+ of reference_params 0.5 "):
        plan(reference_params=0.5)


def test_the_cli_exits_2_with_one_line():
    out = runner.invoke(app, ["plan", "--budget-flops", "1"])
    assert out.exit_code == 2 and "Traceback" not in out.output
    assert out.output.startswith("error: --budget-flops 1 is too small: the optimum would "
                                 "have 2.500e-13 parameters")
    assert len(out.output.strip().splitlines()) == 1


def test_only_the_offending_scenarios_of_a_vector_fail():
    with pytest.raises(InputError, match=r"\(scenario 1 of 3, 1 too small\)"):
        plan(budget_flops=np.array([1e24, 1.0, 1e22]))
    rep = plan(budget_flops=np.array([1e24, 1e22]))
    assert np.all(rep.comparison.optimal.params >= 1)


def test_a_sweep_row_too_small_is_that_rows_error(tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "rows.parquet"
    cp.sweep({"axes": {"budget_flops": [1e24, 1.0, 1e22, 1e-3]}}, out=out)
    rows = pq.read_table(out).to_pylist()
    errors = [r["error"] for r in rows]
    assert errors[0] is None and errors[2] is None
    for e, b in ((errors[1], 1.0), (errors[3], 1e-3)):
        with pytest.raises(InputError) as exc:
            plan(budget_flops=b)
        assert e == str(exc.value)


@pytest.mark.parametrize(("given", "key"), [({"compute": 1.0}, "compute"),
                                            ({"params": 1.0}, "params"),
                                            ({"tokens": 0.5}, "tokens"),
                                            ({"loss": 1000.0}, "loss")])
def test_model_too_small_names_the_bound_on_what_was_given(given, key):
    with pytest.raises(InputError, match=r"a model needs at least 1 parameter and 1 token: "
                       rf"give {key} (>=|<=) ([0-9.e+]+)") as exc:
        model(chinchilla=True, **given)
    x = float(re.search(r"(>=|<=) ([0-9.e+]+)", str(exc.value)).group(2))
    p = model(chinchilla=True, **{key: x}).point
    assert p.params >= 1 and p.train_tokens >= 1


def test_model_of_two_quantities_too_small_is_refused():
    with pytest.raises(InputError, match=r"^compute 1 and params 1 give the model 1 "
                       "parameters trained on 0.1667 tokens"):
        model(compute=1.0, params=1.0)


@pytest.mark.parametrize(("key", "value", "unique", "step"), [("compute", 1.0, 0.5, 1 / 1.01),
                                                              ("compute", 1.0, 1e9, 1 / 1.01),
                                                              ("loss", 1000.0, 1.0, 1.01)])
def test_a_data_limited_model_too_small_names_its_bound(key, value, unique, step):
    """With --unique-tokens the bound is the data-limited optimum's (found by search): at it
    the model has N >= 1 and D >= 1, 1% beyond it not."""
    with pytest.raises(InputError, match=rf"at least 1 parameter and 1 token: give {key} "
                       r"(>=|<=) ([0-9.e+]+) \(law") as exc:
        model(chinchilla=True, unique_tokens=unique, **{key: value})
    x = float(re.search(r"(>=|<=) ([0-9.e+]+)", str(exc.value)).group(2))
    p = model(chinchilla=True, unique_tokens=unique, **{key: x}).point
    assert p.params >= 1 and p.train_tokens >= 1
    with pytest.raises(InputError, match="at least 1 parameter and 1 token"):
        model(chinchilla=True, unique_tokens=unique, **{key: x * step})


@pytest.mark.parametrize("unique", [None, 0.5])
def test_a_vector_of_models_names_the_offending_one(unique):
    with pytest.raises(InputError, match=r"^compute 1 gives the Chinchilla-optimal model "
                       r"0\.5719 parameters"):
        model(chinchilla=True, compute=np.array([1e20, 1.0]), unique_tokens=unique)
