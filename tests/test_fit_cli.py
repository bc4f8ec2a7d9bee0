"""`computeplan fit`: JSON contract, law files usable by `plan`, plots, exit statuses, errors."""

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from computeplan.cli import app

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "runs.csv"
GOOD = [(1e8, 2e9, 3.1), (3e8, 6e9, 2.8), (1e9, 2e10, 2.5), (1e8, 8e9, 2.9),
        (3e8, 3e10, 2.6), (1e9, 8e10, 2.35)]


def write(tmp_path, rows, header=("params", "tokens", "loss")):
    path = tmp_path / f"runs{len(list(tmp_path.iterdir()))}.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return str(path)


def test_json_contract_with_bootstrap_and_holdout():
    result = runner.invoke(app, ["fit", str(EXAMPLE), "--json", "--bootstrap", "20", "--seed", "1",
                                 "--holdout", "tokens_per_param>100"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out["coefficients"]) == {"E", "A", "B", "alpha", "beta"}
    assert out["n_runs"] == 42 and out["ok"] is True and out["objective"] == "huber"
    assert out["bootstrap"]["replicates"] == 20 and out["bootstrap"]["seed"] == 1
    assert set(out["bootstrap"]["intervals"]["alpha"]) == {"se", "lo", "hi"}
    assert out["holdout"]["summary"]["n_held_out"] == 12
    assert len(out["compute_optimal_tokens_per_param"]) == 3
    again = runner.invoke(app, ["fit", str(EXAMPLE), "--json", "--bootstrap", "20", "--seed", "1",
                                "--holdout", "tokens_per_param>100"])
    assert json.loads(again.stdout) == out  # reproducible for a fixed seed


def test_table_output_and_law_file_accepted_by_plan(tmp_path):
    law = tmp_path / "law.json"
    result = runner.invoke(app, ["fit", str(EXAMPLE), "--out", str(law), "--objective", "lsq"])
    assert result.exit_code == 0, result.output
    assert "status: ok" in result.stdout and "lsq" in result.stdout
    saved = json.loads(law.read_text())
    assert saved["name"] == "law" and saved["alpha"] > 0
    plan = runner.invoke(app, ["plan", "--law", str(law), "--json"])
    assert plan.exit_code == 0, plan.output
    assert json.loads(plan.stdout)["law"]["alpha"] == saved["alpha"]


def test_plot_is_written(tmp_path):
    png = tmp_path / "fit.png"
    result = runner.invoke(app, ["fit", str(EXAMPLE), "--plot", str(png), "--holdout",
                                 "params>=5e8"])
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_published_chinchilla_columns_from_the_command_line(shared_data):
    path = shared_data / "chinchilla-epoch" / "svg_extracted_data.csv"
    result = runner.invoke(app, ["fit", str(path), "--params-col", "Model Size",
                                 "--flops-col", "Training FLOP", "--drop-highest-loss", "5",
                                 "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["n_runs"] == 240
    assert f"{out['coefficients']['alpha']:.3g}" == "0.347"
    assert f"{out['coefficients']['B']:.3g}" == "2.14e+03"


def test_boundary_fit_exits_1_and_writes_no_law(tmp_path):
    rows = [(n, d, 1.8 + 1500 * d**-0.3) for n in (1e8, 3e8, 1e9) for d in (2e9, 1e10, 5e10)]
    law = tmp_path / "law.json"
    result = runner.invoke(app, ["fit", write(tmp_path, rows), "--out", str(law)])
    assert result.exit_code == 1
    # the one diagnosis every tied optimum gets (alpha -> 0 or A -> 0 alike): core.boundary_warnings
    assert "NOT RELIABLE" in result.stdout
    assert "the term A/N^alpha is flat or negligible" in result.stdout
    assert "B/D^beta is flat" not in result.stdout and "E = " not in result.stdout
    assert "not reliable" in result.stderr and "not writing" in result.stderr
    assert not law.exists()
    as_json = runner.invoke(app, ["fit", write(tmp_path, rows), "--json", "--bootstrap", "3",
                                  "--seed", "0"])
    assert as_json.exit_code == 1 and "A/N^alpha is flat" in as_json.stderr
    out = json.loads(as_json.stdout)  # valid JSON: no NaN for the meaningless quantities
    assert len(out["warnings"]) == 1 and "A and alpha are not determined" in out["warnings"][0]
    assert out["ok"] is False and out["compute_optimal_tokens_per_param"] is None
    assert out["bootstrap"]["used"] == 0 and out["bootstrap"]["intervals"]["A"]["se"] is None


@pytest.mark.parametrize("rows, args, expected", [
    (GOOD, ["--params-col", "Model Size"], "columns are: 'params', 'tokens', 'loss'"),
    (GOOD, ["--flops-col", "C"], "column 'C' (set by --flops-col) not found"),
    ([*GOOD[:2], (1e9, "x", 2.5)], [], "non-numeric values in row 3"),
    ([*GOOD, (1e9, "2_0e9", 2.5)], [], "non-numeric values in row 7 (e.g. '2_0e9'); write "
                                       "numbers as digits with an optional point and exponent"),
    ([*GOOD[:3], (0, 2e9, 2.5)], [], "must be > 0; got 0 in row 4"),
    ([(1e8, 2e9, "nan"), *GOOD], [], "'loss' is NaN in row 1"),
    ([*GOOD, (1e8, "inf", 2.0)], [], "'tokens' is infinite in row 7"),
    (GOOD[:4], [], "need more than 5 runs"),
    ([(1e8, d, loss) for _, d, loss in GOOD], [], "not identifiable"),
    (GOOD, ["--drop-highest-loss", "9"], "--drop-highest-loss must be an integer in [0, 5]"),
    (GOOD, ["--min-tokens-per-param", "1e6"], "need more than 5 runs"),
    (GOOD, ["--objective", "l1"], "objective must be one of huber, asymmetric, lsq"),
    (GOOD, ["--bootstrap", "1"], "bootstrap must be 0 (none) or an integer in [2, 10000]"),
    (GOOD, ["--seed", "3"], "--seed needs --bootstrap"),
    (GOOD, ["--asymmetry", "0.7"], "--asymmetry needs --objective asymmetric"),
    (GOOD, ["--bootstrap", "4", "--seed", "-1"], "--seed must be a whole number >= 0; got -1"),
    (GOOD, ["--holdout", "size>3"], "holdout must be QUANTITY OP VALUE"),
    (GOOD, ["--tokens-col", "tokens", "--flops-col", "tokens"], "not both"),
])
def test_bad_input_is_one_line_with_exit_2(tmp_path, rows, args, expected):
    result = runner.invoke(app, ["fit", write(tmp_path, rows), *args])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert expected in result.stderr
    assert "Traceback" not in result.output


def test_missing_file_is_exit_2(tmp_path):
    result = runner.invoke(app, ["fit", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2 and "cannot read runs file" in result.stderr


def test_weight_column_and_ratio_filters(tmp_path):
    rows = list(csv.DictReader(EXAMPLE.open()))
    path = tmp_path / "weighted.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["N", "D", "L", "w"])
        for i, r in enumerate(rows):  # weight 0 on runs above 100 tokens per parameter
            tpp = float(r["tokens"]) / float(r["params"])
            w.writerow([r["params"], r["tokens"], r["loss"], 0 if tpp > 100 else 1 + i % 2])
    cols = ["--params-col", "N", "--tokens-col", "D", "--loss-col", "L", "--json"]
    weighted = runner.invoke(app, ["fit", str(path), *cols, "--weight-col", "w"])
    filtered = runner.invoke(app, ["fit", str(path), *cols, "--max-tokens-per-param", "100"])
    assert weighted.exit_code == 0 and filtered.exit_code == 0, weighted.output
    a, b = json.loads(weighted.stdout), json.loads(filtered.stdout)
    assert a["n_runs"] == b["n_runs"] == 30
    assert "kept 30 runs with tokens per parameter in [0, 100]" in b["notes"]
    # Weights 1 and 2 move the optimum; weight 0 removes a run, as the filter does.
    assert a["coefficients"] != b["coefficients"]
    ones = runner.invoke(app, ["fit", str(path), *cols, "--max-tokens-per-param", "100",
                               "--weight-col", "w"])
    c = json.loads(ones.stdout)["coefficients"]
    assert c == pytest.approx(a["coefficients"], rel=1e-6)


def test_optimal_tokens_per_param_say_how_far_beyond_the_runs():
    """Each budget's compute-optimal D/N carries how many orders of magnitude of training compute
    it lies beyond the largest run fitted (0 within), in the JSON and the table."""
    import numpy as np

    from computeplan.fitting import fit_runs
    from computeplan.fitting.runs import Runs

    n = np.repeat(np.geomspace(1e7, 1e9, 5), 4)
    d = n * np.tile([10.0, 20.0, 40.0, 80.0], 5)
    runs = Runs.from_arrays(n, d, 1.7 + 400 * n ** -0.34 + 410 * d ** -0.28)
    rows = fit_runs(runs, budgets=[1e17, 6e20, 6e22]).to_dict()[
        "compute_optimal_tokens_per_param"]
    largest = 6 * 1e9 * 8e10
    assert [r["beyond_runs_oom"] for r in rows] == pytest.approx(
        [0.0, np.log10(6e20 / largest), np.log10(6e22 / largest)], rel=1e-12)
    res = runner.invoke(app, ["fit", str(EXAMPLE)])
    assert res.exit_code == 0 and "beyond the runs" in res.output and "3.72 OOM" in res.output


def test_the_plot_title_of_an_average_law_fits_the_figure():
    """An average of forms has a dozen coefficients: the title wraps them so that every line
    lies inside the figure (one line of them overflowed it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from computeplan.plots.fit import title

    coef = {f"{part}.{k}": 1234.5678 for part in ("chinchilla", "tied", "kaplan")
            for k in ("weight", "E", "A", "B", "alpha", "beta")}
    text = title("average(chinchilla,tied,kaplan)", coef)
    assert text.splitlines()[0] == "Fitted law (average(chinchilla,tied,kaplan))"
    assert " ".join(text.splitlines()[1:]).replace(", ", ",").count("=") == len(coef)
    fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    artist = ax.set_title(text, fontsize=9)
    fig.canvas.draw()
    box, page = artist.get_window_extent(), fig.bbox
    plt.close(fig)
    assert page.x0 <= box.x0 and box.x1 <= page.x1


def test_status_names_a_repetition_coefficient_on_its_edge():
    """The example's runs with U = D repeat no data, and those with N > N_opt(U) fit the base
    law as well as it: R_N* runs to the edge of [1e-3, 1e6]. The base law is ok (exit 0), and
    the status line says which coefficient is on its edge instead of "not on a boundary"."""
    args = ["fit", str(EXAMPLE), "--unique-tokens-col", "tokens"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    status = [line for line in result.output.splitlines() if line.startswith("status:")]
    assert status == ["status: ok (the base law converged, not on a boundary; rn_star at the "
                      "edge of its range, see the note)"]
    out = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    assert out["repetition"]["at_bound"] == ["rn_star"]
    assert out["repetition"]["rn_star"] == pytest.approx(1e6)
