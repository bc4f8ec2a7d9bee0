"""Ensemble fits (issue 14): `fit FOLDER` fits one law per CSV file with the single-file fit's
own code, isolates files that fail, writes a law ensemble a sweep can take as an axis, and runs
on the sweep's backends (a Dask LocalCluster gives the numpy answers); with every `--form`, the
spread taken per form."""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

import computeplan as cp
from computeplan.cli import app
from computeplan.commands.fit import EnsembleResult, fit, fit_folder
from computeplan.errors import InputError
from computeplan.formlaw import make_law
from computeplan.forms import FORMS
from computeplan.laws import COEFFICIENTS, get_law
from form_laws import LAWS

runner = CliRunner()
GADRE = Path(__file__).resolve().parents[2] / "shared" / "data" / "gadre-overtraining" / \
    "summary_loss_by_model.csv"
TRUE = [dict(E=1.8, A=400.0, B=1500.0, alpha=0.34, beta=0.36),
        dict(E=1.7, A=300.0, B=2500.0, alpha=0.30, beta=0.38),
        dict(E=2.0, A=500.0, B=1000.0, alpha=0.36, beta=0.33)]


N_GRID = np.repeat(np.geomspace(5e7, 3e9, 6), 5)
D_GRID = N_GRID * np.tile([5.0, 10.0, 20.0, 40.0, 80.0], 6)
#: Three Kaplan-form laws around tests/form_laws.py's (Kaplan et al. 2020, eq. 1.5).
KAPLAN = [LAWS["kaplan"] | {"E": e, "beta": b} for e, b in
          ((1.05, 0.136), (0.95, 0.13), (1.15, 0.142))]


def _ladder(c: dict, seed: int, form: str = "chinchilla", noise: float = 0.003) -> str:
    """A 30-run ladder from the law of ``form`` with coefficients ``c``, multiplicative
    log-normal ``noise``."""
    rng = np.random.default_rng(seed)
    n, d = N_GRID, D_GRID
    loss = make_law(form, c).loss(n, d) * np.exp(rng.normal(0, noise, n.size))
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
def kaplan_folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("kaplan")
    for i, c in enumerate(KAPLAN):
        # 0.05% noise: the Kaplan form's A and B trade off along the runs (E = 1.05 +- 1%,
        # A -9%, B -8% at 0.05%; E +5%, A -41%, B -31% at 0.3%)
        (d / f"mix{i}.csv").write_text(_ladder(c, 10 + i, "kaplan", noise=0.0005))
    return d


@pytest.fixture(scope="module")
def ensemble(folder):
    return fit_folder(folder)


@pytest.fixture(scope="module")
def kaplan_ensemble(kaplan_folder):
    return fit_folder(kaplan_folder, form="kaplan")


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
    assert list(spread) == ["chinchilla"] and spread["chinchilla"]["fits"] == 3
    for k in COEFFICIENTS:
        s = spread["chinchilla"]["coefficients"][k]
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
    (["--form", "cubic"], "unknown law form 'cubic' for a fit; valid: chinchilla"),
    (["--form", "average(kaplan,kaplan)"], "unknown law form 'average(kaplan,kaplan)'"),
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


@pytest.mark.parametrize("which", ["chinchilla", "kaplan"])
def test_local_cluster_gives_the_numpy_fits(which, request):
    """The same fits on a LocalCluster of 2 workers. Workers may run BLAS with another thread
    count, so sums can differ in the last bits: the optimum agrees to the optimiser's
    tolerance, not bit for bit."""
    pytest.importorskip("distributed")
    local = request.getfixturevalue("ensemble" if which == "chinchilla" else "kaplan_ensemble")
    folder = request.getfixturevalue("folder" if which == "chinchilla" else "kaplan_folder")
    remote = fit_folder(folder, workers=2, form=which)
    assert remote.backend == "dask" and remote.workers == 2
    assert [r["file"] for r in remote.rows] == [r["file"] for r in local.rows]
    for a, b in zip(remote.rows, local.rows, strict=True):
        assert a["ok"] == b["ok"] and a["error"] == b["error"]
        if b["error"] is None:
            assert a["form"] == b["form"] == which
            assert a["objective_value"] == pytest.approx(b["objective_value"], rel=1e-8)
            for k in b["coefficients"]:
                assert a["coefficients"][k] == pytest.approx(b["coefficients"][k], rel=1e-4)


# ------------------------------------------------------------------------- other forms
def test_kaplan_files_get_the_single_file_fit_and_recover_their_laws(kaplan_folder,
                                                                     kaplan_ensemble):
    assert kaplan_ensemble.ok and kaplan_ensemble.form == "kaplan"
    for row, c in zip(kaplan_ensemble.rows, KAPLAN, strict=True):
        single = fit(kaplan_folder / row["file"], form="kaplan", name=row["name"])
        assert row["form"] == single.form == "kaplan" and row["error"] is None
        assert row["coefficients"] == single.coefficients
        assert row["objective_value"] == single.objective_value
        assert row["domain"] == single.domain
        for k, v in c.items():
            rel = 0.25 if k in ("A", "B") else 0.03
            assert row["coefficients"][k] == pytest.approx(v, rel=rel), k
        fitted = make_law("kaplan", row["coefficients"])
        np.testing.assert_allclose(fitted.loss(N_GRID, D_GRID),
                                   make_law("kaplan", c).loss(N_GRID, D_GRID), rtol=0.005)
    spread = kaplan_ensemble.spread()
    assert list(spread) == ["kaplan"] and spread["kaplan"]["fits"] == 3
    assert list(spread["kaplan"]["coefficients"]) == list(LAWS["kaplan"])
    es = [r["coefficients"]["E"] for r in kaplan_ensemble.rows]
    s = spread["kaplan"]["coefficients"]["E"]
    assert min(es) <= s["lo"] <= s["median"] == np.median(es) <= s["hi"] <= max(es)


def test_cli_kaplan_folder_writes_kaplan_laws_to_plan_and_sweep_with(kaplan_folder, tmp_path):
    laws = tmp_path / "laws"
    result = runner.invoke(app, ["fit", str(kaplan_folder), "--form", "kaplan", "--out",
                                 str(laws), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["form"] == "kaplan" and out["reliable"] == 3
    assert list(out["spread"]) == ["kaplan"]
    assert sorted(Path(p).name for p in out["laws_written"]) == ["mix0.json", "mix1.json",
                                                                 "mix2.json"]
    for row in out["fits"]:
        law = get_law(str(laws / f"{row['name']}.json"), any_form=True)
        assert law.form == "kaplan" and law.coef == row["coefficients"]
        assert law.domain is not None
    planned = runner.invoke(app, ["plan", "--law", str(laws / "mix0.json"), "--loss", "2.2",
                                  "--inference-tokens", "1e12", "--json"])
    assert planned.exit_code == 0, planned.output
    assert json.loads(planned.stdout)
    sweep = cp.sweep({"axes": {"law": {"glob": str(laws / "*.json")},
                               "reference_params": [1e10], "inference_tokens": [1e13]}})
    assert sweep.summary["ok"] == 3
    table = runner.invoke(app, ["fit", str(kaplan_folder), "--form", "kaplan"])
    assert table.exit_code == 0
    assert "Fitted laws, form kaplan (3 of 3 files" in table.stdout
    assert "Spread across the reliable fits (form kaplan, 3 fits)" in table.stdout
    assert "beta" in table.stdout and "each file's form comes" not in table.stdout


def test_cli_auto_folder_reports_each_files_form(kaplan_folder, tmp_path):
    """``--form auto`` chooses a form per file (cross-validation on each file's own runs): one
    fit per file (costly: every form on three folds), its form in the row and its law file of
    that form."""
    laws = tmp_path / "laws"
    result = runner.invoke(app, ["fit", str(kaplan_folder), "--form", "auto", "--out",
                                 str(laws), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    json.dumps(out, allow_nan=False)
    assert out["form"] == "auto" and out["errors"] == 0
    for row in out["fits"]:
        assert row["form"] in FORMS
        if row["ok"]:
            assert get_law(str(laws / f"{row['name']}.json"), any_form=True).form == row["form"]
    for form, s in (out["spread"] or {}).items():
        mine = [r for r in out["fits"] if r["form"] == form and r["ok"]]
        assert s["fits"] == len(mine) >= 2 and list(s["coefficients"]) == list(
            mine[0]["coefficients"])


def _row(name: str, form: str, coef: dict, ok: bool = True) -> dict:
    return {"file": f"{name}.csv", "name": name, "ok": ok, "error": None, "form": form,
            "n_runs": 30, "coefficients": coef, "warnings": [] if ok else ["on a boundary"]}


def test_mixed_forms_get_a_spread_and_a_table_per_form():
    """Files whose fits have different forms (``--form auto``): each form's spread over its
    own reliable fits, none for a form with one; the table says so."""
    k, f = LAWS["kaplan"], LAWS["farseer"]
    rows = (_row("a", "kaplan", k), _row("b", "farseer", f),
            _row("c", "kaplan", k | {"E": 1.2}), _row("d", "kaplan", k | {"E": 9.0}, ok=False),
            {"file": "e.csv", "name": "e", "ok": False, "error": "cannot read runs file"})
    result = EnsembleResult("runs", rows, "numpy", 1, 0.1, form="auto")
    spread = result.spread()
    assert list(spread) == ["kaplan"] and spread["kaplan"]["fits"] == 2
    assert spread["kaplan"]["coefficients"]["E"]["median"] == pytest.approx(1.125)
    assert list(result.by_form()) == ["kaplan", "farseer"]
    text = _rendered(result)
    assert "Fitted laws, form kaplan (3 of 5 files" in text
    assert "Fitted laws, form farseer (1 of 5 files" in text and "gamma" in text
    assert "Spread across the reliable fits (form kaplan, 2 fits)" in text
    assert "form farseer, " not in text  # one farseer fit: no spread
    assert "Files not fitted (1 of 5)" in text and "cannot read runs file" in text
    assert "with --form auto each file's form comes from its own runs (kaplan: 3 files, " \
        "farseer: 1 file); each form's spread is over its own reliable fits" in text
    json.dumps(result.to_dict(), allow_nan=False)


def _rendered(result) -> str:
    from rich.console import Console

    from computeplan.cli.fit import _render_folder

    console = Console(record=True, width=200)
    _render_folder(console, result)
    return console.export_text()


def test_averaged_fits_show_their_weights_and_the_spread_of_every_coefficient():
    """``--form average``: the fits table shows the parts' weights (all coefficients do not fit
    in a row), the spread every coefficient."""
    def average(w):
        return ({"kaplan.weight": w} | {f"kaplan.{c}": v for c, v in LAWS["kaplan"].items()}
                | {"farseer.weight": 1 - w}
                | {f"farseer.{c}": v for c, v in LAWS["farseer"].items()})

    form = "average(kaplan,farseer)"
    rows = (_row("a", form, average(0.6)), _row("b", form, average(0.8)))
    text = _rendered(EnsembleResult("runs", rows, "numpy", 1, 0.1, form="average"))
    table, spread = text.split("Spread across the reliable fits")
    assert "kaplan.weight" in table and "farseer.weight" in table and "kaplan.E" not in table
    assert "the parts' coefficients: in the law files and with --json, their spread below" in table
    assert "kaplan.E" in spread and "farseer.gamma" in spread and "0.7" in spread


@given(st.lists(st.tuples(st.sampled_from(["kaplan", "farseer"]),
                          st.floats(0.5, 3.0), st.booleans()), max_size=12))
def test_spread_brackets_each_forms_reliable_fits(fits):
    rows = tuple(_row(str(i), form, LAWS[form] | {"alpha": a}, ok)
                 for i, (form, a, ok) in enumerate(fits))
    spread = EnsembleResult("runs", rows, "numpy", 1, 0.0).spread() or {}
    for form in ("kaplan", "farseer"):
        values = [r["coefficients"]["alpha"] for r in rows if r["form"] == form and r["ok"]]
        if len(values) < 2:
            assert form not in spread
            continue
        s = spread[form]["coefficients"]["alpha"]
        assert spread[form]["fits"] == len(values)
        assert min(values) <= s["lo"] <= s["median"] <= s["hi"] <= max(values)


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
