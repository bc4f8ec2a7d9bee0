"""Laws that carry coefficient replicates and a domain: presets, files, validation, `fit --out`."""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from computeplan import PRESETS, ChinchillaLaw, InputError, get_law
from computeplan.cli import app

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "runs.csv"
#: Besiroglu et al. 2024, 95% bootstrap intervals (REFERENCES.md section 1).
BESIROGLU_CI = {"A": (285.2, 743.6), "B": (1042, 5810), "E": (1.769, 1.871),
                "alpha": (0.317, 0.373), "beta": (0.331, 0.415)}
COLUMNS = ("E", "A", "B", "alpha", "beta")


def test_besiroglu_preset_ships_replicates_reproducing_the_published_intervals():
    law = get_law("besiroglu2024")
    assert law.replicates.shape[1] == 5 and law.replicates.shape[0] >= 1000
    for j, c in enumerate(COLUMNS):
        lo, hi = np.percentile(law.replicates[:, j], [2.5, 97.5])
        pub_lo, pub_hi = BESIROGLU_CI[c]
        assert abs(lo / pub_lo - 1) <= 0.10, (c, lo, pub_lo)
        assert abs(hi / pub_hi - 1) <= 0.10, (c, hi, pub_hi)


def test_shipped_replicates_name_their_script_and_seed():
    from computeplan.laws import PRESET_REPLICATES

    data = json.loads(PRESET_REPLICATES.read_text())
    assert data["runs"] == 240 and isinstance(data["seed"], int)
    assert (Path(__file__).resolve().parents[1] / data["script"]).is_file()


def test_presets_carry_the_domain_of_the_chinchilla_runs():
    for name in ("hoffmann2022", "sardana2024", "besiroglu2024"):
        dom = PRESETS[name].domain
        assert set(dom) == {"params", "train_tokens", "tokens_per_param"}
        for lo, hi in dom.values():
            assert 0 < lo < hi
        # tokens per parameter of the runs lie within the ratios of their extremes
        assert dom["tokens_per_param"][0] >= dom["train_tokens"][0] / dom["params"][1]
        assert dom["tokens_per_param"][1] <= dom["train_tokens"][1] / dom["params"][0]


def test_domain_of_the_runs_when_shared_data_is_present(shared_data):
    from computeplan._lawdata import domain_of
    from computeplan.fitting import filter_runs, read_runs

    runs = filter_runs(read_runs(shared_data / "chinchilla-epoch" / "svg_extracted_data.csv",
                                 params_col="Model Size", flops_col="Training FLOP"),
                       drop_highest_loss=5)
    exact = domain_of(runs.params, runs.train_tokens)
    for key, (lo, hi) in PRESETS["besiroglu2024"].domain.items():
        assert lo <= exact[key][0] < lo * 1.01 and hi / 1.01 < exact[key][1] <= hi


# (exponents must exceed 0.01, the fitter's boundary: MIN_EXPONENT)
replicate_rows = st.lists(st.tuples(*[st.floats(0.01, 1e4, exclude_min=True)] * 5), min_size=2,
                          max_size=6)


@given(replicate_rows)
def test_replicates_and_domain_round_trip_through_dict(rows):
    law = ChinchillaLaw(1.7, 400.0, 410.0, 0.34, 0.28, name="x", replicates=rows,
                        domain={"params": [1e8, 1e10], "train_tokens": None})
    back = ChinchillaLaw.from_dict(json.loads(json.dumps(law.to_dict())))
    np.testing.assert_array_equal(back.replicates, np.array(rows, float))
    assert back.domain == {"params": [1e8, 1e10], "train_tokens": None,
                           "tokens_per_param": None}
    assert back == law


def test_replicates_round_trip_through_a_file(tmp_path):
    law = get_law("besiroglu2024")
    law.save(tmp_path / "b.json")
    back = ChinchillaLaw.load(tmp_path / "b.json")
    np.testing.assert_array_equal(back.replicates, law.replicates)
    assert back.domain == law.domain and back.coefficients() == law.coefficients()
    text = (tmp_path / "b.json").read_text()
    assert text.count("\n") < 1100  # one line per replicate, not per number


def test_a_law_without_extras_writes_no_extra_keys():
    assert set(ChinchillaLaw(1.7, 400, 410, 0.3, 0.3).to_dict()) == {*COLUMNS, "name", "source"}
    assert "replicates" not in PRESETS["besiroglu2024"].to_dict(replicates=False)


def test_overriding_a_coefficient_drops_the_replicates_but_keeps_the_domain():
    law = get_law("besiroglu2024", E=1.8)
    assert law.replicates is None and law.domain == PRESETS["besiroglu2024"].domain
    assert get_law("besiroglu2024").replicates is not None


def test_replicates_are_read_only():
    with pytest.raises(ValueError):
        get_law("besiroglu2024").replicates[0, 0] = 1.0


@pytest.mark.parametrize(("rows", "message"), [
    ([[1.7, 400, 410, 0.3]] * 3, "rows of 5 numbers"),
    ([1.7, 400, 410, 0.3, 0.3], "rows of 5 numbers"),
    ([[1.7, 400, 410, 0.3, 0.3]], "at least 2 rows"),
    ([[1.7, 400, 410, 0.3, 0.3], [1.7, float("nan"), 410, 0.3, 0.3]], "A must be a finite"),
    ([[1.7, 400, 410, 0.3, 0.3], [1.7, 400, -410, 0.3, 0.3]], "B must be a finite"),
    ([[1.7, 400, 410, -0.3, 0.3], [1.7, 400, 410, 0.3, 0.3]], "alpha must be a finite"),
    ([[1.7, 400, 410, 0.3, 0.3], [1.7, 400, 410, 0.3, float("inf")]], "beta must be a finite"),
    ([[1.7, 400, 410, 0.3, "x"]] * 2, "rows of 5 numbers"),
])
def test_malformed_replicates_are_input_errors(rows, message):
    with pytest.raises(InputError, match=message):
        ChinchillaLaw.from_dict({"E": 1.7, "A": 400, "B": 410, "alpha": 0.3, "beta": 0.3,
                                 "replicates": rows})


@pytest.mark.parametrize(("domain", "message"), [
    ({"params": [1e10, 1e8]}, "0 < lo <= hi"),
    ({"params": [0, 1e8]}, "0 < lo <= hi"),
    ({"params": [1e8]}, "two numbers"),
    ({"flops": [1, 2]}, "unknown key"),
    ([1, 2], "must be an object"),
])
def test_malformed_domains_are_input_errors(domain, message):
    with pytest.raises(InputError, match=message):
        ChinchillaLaw(1.7, 400, 410, 0.3, 0.3, domain=domain)


def test_malformed_replicates_in_a_law_file_exit_2(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"E": 1.7, "A": 400, "B": 410, "alpha": 0.3, "beta": 0.3,
                                "replicates": [[1.7, 400, 410, 0.3]] * 2}))
    result = runner.invoke(app, ["plan", "--law", str(path), "--loss", "2.0"])
    assert result.exit_code == 2
    assert "rows of 5 numbers" in result.output and "Traceback" not in result.output


def test_fit_bootstrap_out_writes_replicates_and_domain(tmp_path):
    out = tmp_path / "law.json"
    result = runner.invoke(app, ["fit", str(EXAMPLE), "--bootstrap", "6", "--seed", "0",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    law = ChinchillaLaw.load(out)
    assert law.replicates.shape == (6, 5)
    ok = json.loads(runner.invoke(app, ["fit", str(EXAMPLE), "--json"]).stdout)
    assert law.domain == ok["domain"]
    assert law.domain["params"][0] <= law.domain["params"][1]
    # without --bootstrap the file has the domain and no replicates
    runner.invoke(app, ["fit", str(EXAMPLE), "--out", str(out)])
    assert ChinchillaLaw.load(out).replicates is None
    assert ChinchillaLaw.load(out).domain == law.domain
