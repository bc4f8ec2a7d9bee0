"""The averaged form average(f1,f2,...): sum_i w_i L_i (computeplan.formaverage)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from computeplan.errors import InputError
from computeplan.formaverage import AverageForm
from computeplan.formlaw import make_law
from computeplan.forms import get_form
from form_laws import LAWS

CHIN = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
PARTS = {"chinchilla": CHIN, **LAWS}


def average(weights: dict):
    f = get_form("average(" + ",".join(weights) + ")")
    coef = AverageForm.join([(w, name, PARTS[name]) for name, w in weights.items()])
    return f, coef, make_law(f.name, coef, name="avg")


MIXES = [{"kaplan": 0.5, "beta-of-n": 0.3, "farseer": 0.2},
         {"chinchilla": 0.6, "kaplan": 0.4},
         {"beta-of-n": 0.25, "chinchilla": 0.75}]


@pytest.mark.parametrize("weights", MIXES)
def test_loss_and_slopes_are_the_weighted_sums_of_the_parts(weights):
    f, coef, law = average(weights)
    n, d = np.array([1e8, 3e9, 7e10]), np.array([2e9, 6e10, 1e13])
    parts = [(w, get_form(name), PARTS[name]) for name, w in weights.items()]
    want = sum(w * g.loss(c, n, d) for w, g, c in parts)
    np.testing.assert_allclose(law.loss(n, d), want, rtol=1e-14)
    for j in range(3):
        got = f.log_slopes(coef, n, d)[j]
        np.testing.assert_allclose(got, sum(w * g.log_slopes(c, n, d)[j] for w, g, c in parts),
                                   rtol=1e-13)


@pytest.mark.parametrize("weights", MIXES)
def test_compute_optimal_model_beats_every_other_split_of_the_budget(weights):
    _, _, law = average(weights)
    for c in (1e20, 1e23):
        best = law.compute_optimal(train_flops=c)
        n = float(best.params) * np.exp(np.linspace(-1.5, 1.5, 4001))
        grid = law.loss(n, c / 6 / n)
        assert float(best.loss) <= grid.min() * (1 + 1e-12)
        assert abs(float(best.params) / n[np.argmin(grid)] - 1) < 2e-3


@pytest.mark.parametrize("weights", MIXES)
def test_the_fixed_loss_optimum_is_the_budget_optimum_at_its_loss(weights):
    _, _, law = average(weights)
    best = law.compute_optimal(train_flops=1e22)
    again = law.compute_optimal(loss=float(best.loss))
    assert abs(float(again.params) / float(best.params) - 1) < 1e-8
    assert abs(float(again.train_flops) / 1e22 - 1) < 1e-8


@settings(max_examples=40, deadline=None)
@given(w=st.floats(0.05, 0.95), log_n=st.floats(0.01, 4.0), excess=st.floats(0.02, 1.0))
def test_tokens_for_loss_lie_on_the_contour(w, log_n, excess):
    f, coef, law = average({"kaplan": w, "beta-of-n": 1 - w})
    lo, hi = f.log_params_range(coef, 2.0 + excess)
    ln_n = float(lo) + log_n
    if not ln_n < float(hi):
        return
    d = law.tokens_for_loss(2.0 + excess, np.exp(ln_n))
    assert abs(float(law.loss(np.exp(ln_n), d)) / (2.0 + excess) - 1) < 1e-11
    # the smallest model: its loss at infinite data is the target
    assert abs(float(f.loss_at(coef, lo, np.inf)) / (2.0 + excess) - 1) < 1e-11


def test_the_average_of_identical_parts_is_the_part():
    tied_like = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.34}
    f = get_form("average(chinchilla,tied)")
    coef = AverageForm.join([(0.3, "chinchilla", tied_like),
                             (0.7, "tied", {k: tied_like[k] for k in ("E", "A", "B", "alpha")})])
    avg, one = make_law(f.name, coef), make_law("chinchilla", tied_like)
    for c in (1e19, 1e24):
        a, b = avg.compute_optimal(train_flops=c), one.compute_optimal(train_flops=c)
        assert abs(float(a.params) / float(b.params) - 1) < 1e-9
    assert abs(float(avg.tokens_for_loss(2.0, 1e10)) / float(one.tokens_for_loss(2.0, 1e10))
               - 1) < 1e-11


def test_floor_is_the_weighted_sum_of_the_parts_lowest_losses():
    f, coef, law = average({"chinchilla": 0.6, "kaplan": 0.4})
    assert f.irreducible(coef) == pytest.approx(0.6 * CHIN["E"] + 0.4 * LAWS["kaplan"]["E"])
    with pytest.raises(InputError, match="lowest losses"):
        law.compute_optimal(loss=0.6 * CHIN["E"] + 0.4 * LAWS["kaplan"]["E"])
    # a loss below one part's E but above the average's floor is reachable
    target = 0.5 * (CHIN["E"] + LAWS["kaplan"]["E"]) + 0.1
    assert target < CHIN["E"]
    assert float(law.compute_optimal(loss=target).loss) == pytest.approx(target, rel=1e-12)


@pytest.mark.parametrize("name, match", [
    ("average(kaplan)", "two or more distinct"),
    ("average(kaplan,kaplan)", "two or more distinct"),
    ("average(kaplan,cubic)", "two or more distinct"),
    ("cubic", r"average\(f1,f2,...\)"),
])
def test_bad_average_names(name, match):
    with pytest.raises(InputError, match=match):
        get_form(name)


def test_weights_must_sum_to_one_and_be_positive():
    f = get_form("average(chinchilla,kaplan)")
    coef = AverageForm.join([(0.6, "chinchilla", CHIN), (0.5, "kaplan", LAWS["kaplan"])])
    with pytest.raises(InputError, match="must sum to 1; got 1.1"):
        make_law(f.name, coef)
    coef = AverageForm.join([(1.5, "chinchilla", CHIN), (-0.5, "kaplan", LAWS["kaplan"])])
    with pytest.raises(InputError, match=r"kaplan\.weight must be a finite number > 0 for form "):
        make_law(f.name, coef)


def test_a_law_file_round_trips(tmp_path):
    from computeplan.formlaw import FormLaw

    _, _, law = average({"kaplan": 0.5, "beta-of-n": 0.3, "farseer": 0.2})
    path = tmp_path / "avg.json"
    law.save(path)
    import json

    back = FormLaw.from_dict(json.loads(path.read_text()))
    assert back == law
    assert float(back.loss(1e9, 2e10)) == float(law.loss(1e9, 2e10))
