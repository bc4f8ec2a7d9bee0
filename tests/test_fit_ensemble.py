"""Ensemble fits (issue 14): `fit FOLDER` fits one law per CSV file with the single-file fit's
own code, isolates files that fail, writes a law ensemble a sweep can take as an axis, and runs
on the sweep's backends (a Dask LocalCluster gives the numpy answers)."""

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import computeplan as cp
from computeplan.cli import app
from computeplan.commands.fit import fit, fit_folder
from computeplan.errors import InputError
from computeplan.laws import COEFFICIENTS, get_law

runner = CliRunner()
GADRE = Path(__file__).resolve().parents[2] / "shared" / "data" / "gadre-overtraining" / \
    "summary_loss_by_model.csv"
TRUE = [dict(E=1.8, A=400.0, B=1500.0, alpha=0.34, beta=0.36),
        dict(E=1.7, A=300.0, B=2500.0, alpha=0.30, beta=0.38),
        dict(E=2.0, A=500.0, B=1000.0, alpha=0.36, beta=0.33)]


def _ladder(c: dict, seed: int) -> str:
    """A 30-run ladder from law ``c`` with 0.3% multiplicative noise."""
    rng = np.random.default_rng(seed)
    n = np.repeat(np.geomspace(5e7, 3e9, 6), 5)
    d = n * np.tile([5.0, 10.0, 20.0, 40.0, 80.0], 6)
    loss = (c["E"] + c["A"] / n ** c["alpha"] + c["B"] / d ** c["beta"]) \
        * np.exp(rng.normal(0, 0.003, n.size))
    rows = zip(n.tolist(), d.tolist(), loss.tolist(), strict=True)
    return "params,tokens,loss\n" + "".join(f"{a!r},{b!r},{x!r}\n" for a, b, x in rows)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("ladders")
    for i, c in enumerate(TRUE):
        (d / f"ladder{i}.csv").write_text(_ladder(c, i))
    (d / "broken.csv").write_text("params,tokens,loss\n1e8,2e9,abc\n")
    (d / "notes.txt").write_text("not runs\n")  # not a .csv: ignored
    return d


@pytest.fixture(scope="module")
def ensemble(folder):
    return fit_folder(folder)


def test_each_file_gets_the_single_file_fit_bit_for_bit(folder, ensemble):
    assert [r["file"] for r in ensemble.rows] == ["broken.csv", "ladder0.csv", "ladder1.csv",
                                                  "ladder2.csv"]
    for row in ensemble.rows[1:]:
        single = fit(folder / row["file"], name=row["name"])
        assert row["ok"] is True and row["error"] is None
        assert row["coefficients"] == single.coefficients
        assert row["objective_value"] == single.objective_value
        assert row["n_runs"] == single.n_runs == 30


def test_fits_recover_their_laws_and_the_spread_brackets_them(ensemble):
    for row, c in zip(ensemble.rows[1:], TRUE, strict=True):
        assert row["coefficients"]["E"] == pytest.approx(c["E"], rel=0.05)
    spread = ensemble.spread()
    for k in COEFFICIENTS:
        s = spread[k]
        values = [r["coefficients"][k] for r in ensemble.rows if r["ok"]]
        assert min(values) <= s["lo"] <= s["median"] <= s["hi"] <= max(values)


def test_a_broken_file_is_its_own_one_line_error(ensemble):
    broken = ensemble.rows[0]
    assert broken["ok"] is False and "non-numeric" in broken["error"]
    assert "\n" not in broken["error"]
    assert not ensemble.ok
    d = ensemble.to_dict()
    assert d["files"] == 4 and d["reliable"] == 3 and d["errors"] == 1
    json.dumps(d, allow_nan=False)  # JSON-clean


def test_cli_writes_a_law_ensemble_that_a_sweep_takes_as_an_axis(folder, tmp_path):
    laws = tmp_path / "laws"
    result = runner.invoke(app, ["fit", str(folder), "--out", str(laws), "--json"])
    assert result.exit_code == 1  # broken.csv
    assert "1 of 4 files failed or are not reliable: broken.csv" in result.stderr
    out = json.loads(result.stdout)
    assert sorted(Path(p).name for p in out["laws_written"]) == [
        "ladder0.json", "ladder1.json", "ladder2.json"]
    for row in out["fits"][1:]:
        law = get_law(str(laws / f"{row['name']}.json"))
        assert {k: getattr(law, k) for k in COEFFICIENTS} == row["coefficients"]
        assert law.domain is not None
    sweep = cp.sweep({"axes": {"law": {"glob": str(laws / "*.json")},
                               "reference_params": [1e10],
                               "inference_tokens": [1e13]}})
    assert sweep.summary["ok"] == 3
    table = runner.invoke(app, ["fit", str(folder)])
    assert table.exit_code == 1 and "3 of 4 fits reliable" in table.stdout
    assert "Spread across the reliable fits" in table.stdout


@pytest.mark.parametrize("args, message", [
    (["--plot", "x.png"], "--plot draws one fit"),
    (["--seed", "1"], "--seed needs --bootstrap"),
    (["--objective", "nope"], "objective must be one of"),
    (["--bootstrap", "1"], "bootstrap must be 0 (none) or an integer in [2, 10000]"),
    (["--holdout", "size>3"], "holdout must be QUANTITY OP VALUE"),
])
def test_folder_bad_options_are_one_line_errors_before_any_fit(folder, args, message,
                                                                 monkeypatch):
    import computeplan.fitting.ensemble as ensemble

    monkeypatch.setattr(ensemble, "_fit_task", None)  # any fit would fail loudly
    result = runner.invoke(app, ["fit", str(folder), *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_bad_folders_and_backends_are_one_line_errors(folder, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="holds no .csv files"):
        fit_folder(empty)
    result = runner.invoke(app, ["fit", str(folder / "ladder0.csv"), "--workers", "2"])
    assert result.exit_code == 2 and "fit a folder of runs files" in result.stderr
    a_file = tmp_path / "law.json"
    a_file.write_text("{}")
    result = runner.invoke(app, ["fit", str(folder), "--out", str(a_file)])
    assert result.exit_code == 2 and "names a folder for the laws" in result.stderr
    result = runner.invoke(app, ["fit", str(folder), "--out", str(folder)])
    assert result.exit_code == 2 and "another folder than the runs" in result.stderr
    with pytest.raises(InputError, match="not both"):
        fit_folder(folder, workers=1, scheduler="tcp://127.0.0.1:1")


def test_local_cluster_gives_the_numpy_fits(folder, ensemble):
    """The same fits on a LocalCluster of 2 workers. Workers may run BLAS with another thread
    count, so sums can differ in the last bits: the optimum agrees to the optimiser's
    tolerance, not bit for bit."""
    pytest.importorskip("distributed")
    remote = fit_folder(folder, workers=2)
    assert remote.backend == "dask" and remote.workers == 2
    assert [r["file"] for r in remote.rows] == [r["file"] for r in ensemble.rows]
    for a, b in zip(remote.rows, ensemble.rows, strict=True):
        assert a["ok"] == b["ok"] and a["error"] == b["error"]
        if b["error"] is None:
            assert a["objective_value"] == pytest.approx(b["objective_value"], rel=1e-8)
            for k in COEFFICIENTS:
                assert a["coefficients"][k] == pytest.approx(b["coefficients"][k], rel=1e-4)


@pytest.mark.skipif(not GADRE.exists(), reason="needs ../shared/data/gadre-overtraining")
def test_gadre_training_sets_as_an_ensemble(tmp_path):
    """Gadre et al.'s runs, one file per training set (c4, RedPajama, RefinedWeb), C4
    validation loss: three reliable fits with E, alpha, beta in a plausible range."""
    import csv

    with GADRE.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    for name in sorted({r["train_dataset"] for r in rows}):
        mine = [r for r in rows if r["train_dataset"] == name]
        (tmp_path / f"{name}.csv").write_text("params,tokens,loss\n" + "".join(
            f"{r['params']},{r['tokens']},{r['loss_c4_val']}\n" for r in mine))
    result = fit_folder(tmp_path)
    assert len(result.rows) == 3
    for row in result.rows:
        c = row["coefficients"]
        assert row["error"] is None and row["n_runs"] > 20
        assert 1.0 < c["E"] < 3.5 and 0.05 < c["alpha"] < 1.5 and 0.05 < c["beta"] < 1.5
