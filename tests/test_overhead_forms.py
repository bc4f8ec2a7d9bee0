"""The over-training overhead (de Vries 2023) for laws of every form: its definition on the law's
own iso-loss contour through the compute-optimal model at a reference compute ``train_flops``,
the closed forms (chinchilla and tied, kaplan) against that definition, and the shells."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli_helpers import run_json
from computeplan import ChinchillaLaw, InputError, get_law
from computeplan.cli import app
from computeplan.tradeoffs import overhead
from computeplan.tradeoffs.overhead import (
    _contour,
    _critical,
    _token_multiplier,
    compute_overhead,
    critical_size_fraction,
    min_size_fraction,
    token_multiplier,
)
from form_laws import form_law

BUDGETS = np.array([1e18, 1e21, 1e24, 1e27])
#: A law of every form besides the Chinchilla form (kaplan twice: the preset and the test law).
OTHER = {"kaplan": form_law("kaplan"), "beta-of-n": form_law("beta-of-n"),
         "farseer": form_law("farseer"), "sardana2024-mpt": get_law("sardana2024-mpt",
                                                                    any_form=True)}
CLOSED = {"sardana2024": get_law("sardana2024"), "gadre2024-c4 (tied)": get_law("gadre2024-c4"),
          "de Vries": ChinchillaLaw(1.69, 406.4, 410.7, 0.336, 0.283),
          **{k: OTHER[k] for k in ("kaplan", "sardana2024-mpt")}}


def _grid(law, c, n=400, top=4.0):
    """Size fractions from just above k_min at budget c to ``top``, with 1 among them."""
    k_min = min_size_fraction(law, c)
    ks = np.exp(np.linspace(np.log(k_min) + 1e-3, np.log(top), n))
    return np.sort(np.append(ks, 1.0))


# ------------------------------------------------------------------ closed forms = definition
@pytest.mark.parametrize("name", list(CLOSED))
def test_closed_forms_equal_the_definition_on_the_contour(name):
    """Chinchilla (de Vries 2023) and kaplan closed forms: the generic path (tokens on the
    form's contour through the compute-optimal model) gives the same k_D, k_min and critical
    size at every budget."""
    law = CLOSED[name]
    ks = np.array([1.01, 1.05, 1.3, 2.0, 5.0]) * min_size_fraction(law)
    ks = np.append(ks, [1.0, 1.5, 3.0])
    closed, generic = _contour(law, BUDGETS), _contour(law, BUDGETS, generic=True)
    tol = 1e-10 if law.form == "chinchilla" else 1e-9  # kaplan: the budget solver's 1e-13
    np.testing.assert_allclose(_token_multiplier(generic, ks), _token_multiplier(closed, ks),
                               rtol=tol)
    np.testing.assert_allclose(np.exp(generic.log_min), np.exp(closed.log_min), rtol=tol)
    np.testing.assert_allclose(_critical(generic, [0.1, 1.0]), _critical(closed, [0.1, 1.0]),
                               rtol=tol)


@given(st.floats(0.1, 0.9), st.floats(0.1, 0.9), st.floats(18.0, 27.0), st.floats(0.02, 3.0))
def test_chinchilla_with_or_without_train_flops_is_the_closed_form(a, b, log_c, u):
    """The generic path goes through L*, so it loses digits as eps E / (L* - E): compared where
    the reducible loss is at least 0.1% of E (every law here at budgets we plan for)."""
    law = ChinchillaLaw(1.7, 400, 400, a, b)
    assume(float(law.compute_optimal(train_flops=10**log_c).loss) > 1.7 * 1.001)
    k = min_size_fraction(law) * (1 + u)
    without = overhead(law, k)
    with_ = overhead(law, k, train_flops=10**log_c)
    assert with_.compute_overhead == without.compute_overhead
    assert with_.critical_size_fraction == without.critical_size_fraction
    generic = _token_multiplier(_contour(law, 10**log_c, generic=True), k)
    assert generic == pytest.approx(float(without.token_multiplier), rel=1e-10)


# ----------------------------------------------------------------------- every other form
@pytest.mark.parametrize("name", list(OTHER))
def test_the_point_lies_on_the_compute_optimal_loss_contour(name):
    law = OTHER[name]
    for c in BUDGETS:
        ref = law.compute_optimal(train_flops=c)
        ks = _grid(law, c, 50)
        kd = token_multiplier(law, ks, c)
        np.testing.assert_allclose(law.loss(ks * ref.params, kd * ref.train_tokens), ref.loss,
                                   rtol=1e-10)


@pytest.mark.parametrize("name", list(OTHER))
def test_overhead_is_zero_at_the_optimum_falls_to_it_and_rises_beyond(name):
    """0 at k = 1; strictly falling on (k_min, 1] and rising beyond (the compute-optimal model
    is the cheapest on the contour, and the only stationary point), so >= 0 everywhere."""
    law = OTHER[name]
    for c in BUDGETS:
        ks = _grid(law, c)
        o = compute_overhead(law, ks, c)
        one = np.flatnonzero(ks == 1.0)[0]
        assert abs(o[one]) < 1e-9
        assert np.all(o >= -1e-9) and np.all(o[ks != 1.0] > 0)
        assert np.all(np.diff(o[:one + 1]) < 0) and np.all(np.diff(o[one:]) > 0)


@pytest.mark.parametrize("name", list(OTHER))
@given(log_c=st.floats(18.0, 27.0), u=st.floats(0.0, 1.0))
def test_overhead_properties_at_any_budget(name, log_c, u):
    law, c = OTHER[name], 10**log_c
    k_min = min_size_fraction(law, c)
    k = k_min + (1 - k_min) * (0.01 + 0.98 * u)
    o = compute_overhead(law, [k, 0.5 * (k + 1), 1.0, 1.01 + u, 2.02 + u], c)
    assert o[0] > o[1] > 0 and abs(o[2]) < 1e-9 and 0 < o[3] < o[4]


@pytest.mark.parametrize("name", list(OTHER))
@pytest.mark.parametrize("target", [0.05, 1.0, 30.0])
def test_critical_size_has_the_target_overhead(name, target):
    law = OTHER[name]
    k = critical_size_fraction(law, target, BUDGETS)
    assert k.shape == BUDGETS.shape
    assert np.all(min_size_fraction(law, BUDGETS) < k) and np.all(k < 1)
    got = [float(compute_overhead(law, ki, c)) for ki, c in zip(k, BUDGETS, strict=True)]
    np.testing.assert_allclose(got, target, rtol=1e-9)


def test_the_overhead_of_other_forms_depends_on_the_budget():
    """beta-of-n and farseer: the overhead at half size moves with the budget (kaplan's does
    not: its closed form has only alpha and beta)."""
    for name in ("beta-of-n", "farseer"):
        o = compute_overhead(OTHER[name], 0.6, BUDGETS)
        assert np.ptp(o) > 0.01, (name, o)
    o = compute_overhead(OTHER["kaplan"], 0.6, BUDGETS)
    assert np.ptp(o) < 1e-12


def test_vectorised_over_train_flops_and_size_fraction():
    law = OTHER["beta-of-n"]
    r = overhead(law, [0.75, 0.5, 2.0], train_flops=BUDGETS)
    assert r.compute_overhead.shape == (4, 3) and r.critical_size_fraction.shape == (4,)
    for i, c in enumerate(BUDGETS):
        one = overhead(law, [0.75, 0.5, 2.0], train_flops=c)
        np.testing.assert_allclose(r.compute_overhead[i], one.compute_overhead, rtol=1e-12)
        assert r.critical_size_fraction[i] == pytest.approx(float(one.critical_size_fraction),
                                                            rel=1e-12)
        assert r.reference.params[i] == pytest.approx(float(one.reference.params), rel=1e-12)


# ------------------------------------------------------------------------------- errors
def test_a_budget_dependent_law_needs_train_flops():
    for name in ("beta-of-n", "farseer"):
        with pytest.raises(InputError, match=rf"form '{name}' depends on the training budget; "
                                             "give train_flops"):
            overhead(OTHER[name], 0.75)
    assert overhead(OTHER["kaplan"], 0.75).reference is None  # a closed form: none needed


@pytest.mark.parametrize("name", list(OTHER))
def test_sizes_at_or_below_the_smallest_model_are_refused(name):
    law = OTHER[name]
    k_min = min_size_fraction(law, 1e21)
    with pytest.raises(InputError, match=rf"size_fraction must be > {k_min:.4g}, .*smallest "
                                         "model"):
        overhead(law, [0.9, k_min], train_flops=1e21)


def test_beyond_the_size_the_form_covers_is_refused():
    """beta-of-n is a law only where beta(N) >= beta(1e9) / 2 (here N < 4.7e14)."""
    with pytest.raises(InputError, match="size_fraction must be < .*beta-of-n form covers"):
        overhead(OTHER["beta-of-n"], 1e6, train_flops=1e21)


# ------------------------------------------------------------------------------- shells
runner = CliRunner()


@pytest.fixture(scope="module")
def farseer_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("laws") / "farseer.json"
    OTHER["farseer"].save(path)
    return str(path)


def test_cli_with_a_law_file_of_a_budget_dependent_form(farseer_file):
    out = run_json("overhead", "--size-fraction", "0.5", "--law", farseer_file,
                   "--train-flops", "1e21")
    want = overhead(OTHER["farseer"], 0.5, train_flops=1e21)
    assert out["compute_overhead"] == pytest.approx(float(want.compute_overhead), rel=1e-12)
    assert out["law"]["form"] == "farseer" and out["depends_on_train_flops"] is True
    assert out["train_flops"] == 1e21 and out["notes"] == []
    assert set(out["reference"]) >= {"params", "train_tokens", "loss"}
    table = runner.invoke(app, ["overhead", "--size-fraction", "0.5", "--law", farseer_file,
                                "--train-flops", "1e21"])
    assert table.exit_code == 0
    assert "reference compute" in table.stdout and "compute-optimal N = " in table.stdout
    assert "form farseer" in table.stdout


@pytest.mark.parametrize("args, message", [
    ([], "the overhead of a law of form 'farseer' depends on the training budget; give "
         "--train-flops"),
    (["--train-flops", "-1"], "--train-flops must be > 0; got -1"),
    (["--train-flops", "nan"], "--train-flops must be a finite number; got nan"),
    (["--train-flops", "1e21", "--train-flops", "0"], "--train-flops must be > 0; got 0"),
])
def test_cli_errors_are_one_line_exit_2(farseer_file, args, message):
    result = runner.invoke(app, ["overhead", "--size-fraction", "0.5", "--law", farseer_file,
                                 *args])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {message}\n" or (
        result.stderr.startswith(f"error: {message}") and result.stderr.count("\n") == 1)
    assert "Traceback" not in result.output


def test_cli_kaplan_preset_needs_no_train_flops_and_says_so_with_one():
    """The kaplan form's overhead depends on alpha and beta alone: the preset runs without
    --train-flops; with it the numbers are the same and a note says the budget does not
    matter."""
    out = run_json("overhead", "--size-fraction", "0.75", "--law", "sardana2024-mpt")
    assert out["law"]["form"] == "kaplan" and out["reference"] is None
    assert out["min_size_fraction"] == pytest.approx(0.5218, abs=1e-4)
    ref = run_json("overhead", "--size-fraction", "0.75", "--law", "sardana2024-mpt",
                   "--train-flops", "1e24")
    assert ref["compute_overhead"] == out["compute_overhead"]
    assert ref["depends_on_train_flops"] is False
    assert any("not on --train-flops" in n for n in ref["notes"])


def test_cli_chinchilla_with_train_flops_is_today_s_numbers():
    plain = run_json("overhead", "--size-fraction", "0.5", "--size-fraction", "0.25")
    ref = run_json("overhead", "--size-fraction", "0.5", "--size-fraction", "0.25",
                   "--train-flops", "1e21", "--train-flops", "1e24")
    assert ref["compute_overhead"] == [plain["compute_overhead"]] * 2
    assert ref["critical_size_fraction"] == [plain["critical_size_fraction"]] * 2
    assert ref["reference"]["params"][0] == pytest.approx(
        float(get_law("sardana2024").compute_optimal(train_flops=1e21).params), rel=1e-12)


def test_web_overhead_takes_train_flops():
    pytest.importorskip("fastapi", reason="the web extra is not installed")
    pytest.importorskip("httpx2", reason="starlette's test client needs httpx2")
    from fastapi.testclient import TestClient

    from cli_helpers import web_spelled
    from computeplan.web import create_app

    with TestClient(create_app()) as client:
        for body, args in (
                ({"size_fraction": 0.75, "law": "sardana2024-mpt", "train_flops": 1e21},
                 ["--size-fraction", "0.75", "--law", "sardana2024-mpt", "--train-flops",
                  "1e21"]),
                ({"size_fraction": [0.5, 0.25], "train_flops": [1e21, 1e24]},
                 ["--size-fraction", "0.5", "--size-fraction", "0.25", "--train-flops", "1e21",
                  "--train-flops", "1e24"])):
            response = client.post("/api/overhead", json=body)
            assert response.status_code == 200, response.text
            assert response.json() == web_spelled(run_json("overhead", *args))
        for bad, message in ((-1, "train_flops must be > 0; got -1"),
                             ([1e21, 0], "train_flops must be > 0; got 0")):
            response = client.post("/api/overhead", json={"size_fraction": 0.5,
                                                          "train_flops": bad})
            assert response.status_code == 422
            assert response.json()["error"].startswith(message), response.text
