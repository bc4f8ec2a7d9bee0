"""Sweeps: rows are the plan command's answers, bad rows are isolated, reductions merge, resume."""

import json
import math
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import computeplan as cp
from computeplan.cli import app
from computeplan.commands.plan import plan
from computeplan.errors import InputError
from computeplan.render import jsonable

AXES = {
    "law": ["sardana2024", "hoffmann2022"],
    "loss": {"start": 1.6, "stop": 2.3, "num": 8},   # 1.6 is below E = 1.69: error rows
    "inference_tokens": {"start": 1e10, "stop": 1e14, "num": 5, "log": True},
}
CSV = """loss,requests,input_tokens,output_tokens,train_gpu,train_usd_per_gpu_hour,budget_flops,law
1.947,,,,,,,
2.0,1e10,1000,250,a100-80gb,1.4,,
1.5,,,,,,,
abc,,,,,,,
2.1,1e9,,,,,,
2.0,1e10,1000,250,h900,,,
,,,,,,1e24,hoffmann2022
2.0,1e10,1000,250,h100-sxm,-3,,
1.95,,,,,,,besiroglu2024
"""


def _flat(d, prefix=""):
    """Flattened as the sweep documents: dicts join keys with dots, lists of numbers become
    NAME.0, NAME.1, ...; lists of text (notes, warnings) are left out."""
    for k, v in d.items():
        if k == "notes":
            continue
        if isinstance(v, dict):
            yield from _flat(v, f"{prefix}{k}.")
        elif isinstance(v, list):
            if all(isinstance(x, float | int) for x in v):
                yield from ((f"{prefix}{k}.{i}", x) for i, x in enumerate(v))
        else:
            yield f"{prefix}{k}", v


def _plan_row(options: dict) -> dict:
    """The plan command's answer for one scenario, flattened like a sweep row."""
    return dict(_flat(jsonable(plan(**options).to_dict())))


def _same(a, b) -> bool:
    """Equal, to the planner's tolerance for numbers: a vectorised solve iterates until its
    worst scenario converges, so the last bits depend on which scenarios share a call."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-13, abs_tol=0.0)
    return a == b


def _same_tables(a, b) -> bool:
    ra, rb = a.to_pylist(), b.to_pylist()
    return len(ra) == len(rb) and all(x.keys() == y.keys() and all(_same(x[k], y[k]) for k in x)
                                      for x, y in zip(ra, rb, strict=True))


def _options(row: dict, names) -> dict:
    return {k: row[k] for k in names if row.get(k) is not None}


def _error(options: dict) -> str:
    with pytest.raises(InputError) as exc:
        plan(**options)
    return str(exc.value)


@pytest.fixture
def scenarios(tmp_path):
    path = tmp_path / "scenarios.csv"
    path.write_text(CSV)
    return path


def test_rows_are_the_plan_commands_answers_bit_for_bit(tmp_path):
    out = tmp_path / "rows.parquet"
    result = cp.sweep({"axes": AXES}, out=out, block_size=7)
    rows = pq.read_table(out).to_pylist()
    assert len(rows) == result.scenarios == 2 * 8 * 5
    # input order: C order over the axes, the last varying fastest
    assert [r["inference_tokens"] for r in rows[:5]] == pytest.approx(np.geomspace(1e10, 1e14, 5))
    assert rows[0]["law"] == "sardana2024" and rows[-1]["law"] == "hoffmann2022"
    names = ("law", "loss", "inference_tokens")
    for row in rows:
        options = _options(row, names)
        if row["loss"] <= 1.69:
            assert row["error"] == _error(options)
            assert row["optimal.params"] is None and row["ratios.total_flops"] is None
            continue
        assert row["error"] is None
        expected = _plan_row(options)
        for key, value in expected.items():
            assert _same(row[key], value), key
    assert result.summary["errors"] == 2 * 5


def test_csv_rows_each_get_their_own_error_or_plan(tmp_path, scenarios):
    out = tmp_path / "rows.parquet"
    result = cp.sweep(scenarios=scenarios, out=out)
    rows = pq.read_table(out).to_pylist()
    assert len(rows) == 9
    names = ("loss", "requests", "input_tokens", "output_tokens", "train_gpu",
             "train_usd_per_gpu_hour", "budget_flops", "law")
    ok = [0, 1, 6, 8]
    for i, row in enumerate(rows):
        options = _options(row, names)
        if i in ok:
            assert row["error"] is None, row["error"]
            expected = _plan_row(options)
            assert all(_same(row[k], v) for k, v in expected.items() if k in row)
        elif i == 3:
            assert row["error"] == ("scenarios.csv row 4: loss must be a number (digits with an "
                                    "optional point and exponent, e.g. 2, 0.5 or 1.5e21); got "
                                    "'abc'")
        else:
            assert row["error"] == _error(options)
            assert row["optimal.params"] is None
    assert rows[1]["assumptions.objective"] == "usd" and rows[1]["optimal.total_cost_usd"] > 0
    assert rows[6]["optimal.loss"] is not None and rows[6]["target_loss"] is None
    assert result.summary["ok"] == 4 and result.summary["errors"] == 5
    assert result.summary["first_error"]["index"] == 2


@pytest.mark.parametrize("cell", ["NaN", "nan", "-nan", "NA", "null", "N/A", "#N/A", "None"])
def test_nan_like_cells_are_row_errors_not_the_default(tmp_path, cell):
    """Only an empty cell is "not given" (the default); NaN and its spellings are refused in
    their row, like inf, whichever column they are in, and with a default given too."""
    path = tmp_path / "s.csv"
    path.write_text(f"loss,inference_tokens\n{cell},1e12\n1.95,{cell}\n,1e12\n2.0,1e12\n")
    result = cp.sweep(scenarios=path, out=tmp_path / "rows.parquet", loss=2.1)
    rows = pq.read_table(result.out).to_pylist()
    for i, name in ((0, "loss"), (1, "inference_tokens")):
        assert rows[i]["error"].startswith(f"s.csv row {i + 1}: {name} must be a "), rows[i]
        assert repr(cell) in rows[i]["error"] and rows[i]["optimal.params"] is None
    assert rows[2]["error"] is None and rows[2]["target_loss"] == 2.1  # empty: the default
    assert rows[3]["error"] is None and rows[3]["target_loss"] == 2.0
    assert result.summary["ok"] == 2 and result.summary["errors"] == 2


def test_bad_rows_do_not_change_the_others(tmp_path, scenarios):
    """The same good scenarios, with and without bad neighbours in their block and group."""
    good = [line for i, line in enumerate(CSV.splitlines()) if i == 0 or i - 1 in (0, 1, 6, 8)]
    clean = tmp_path / "clean.csv"
    clean.write_text("\n".join(good) + "\n")
    a = pq.read_table(cp.sweep(scenarios=scenarios, out=tmp_path / "a.parquet").out)
    b = pq.read_table(cp.sweep(scenarios=clean, out=tmp_path / "b.parquet").out)
    assert _same_tables(a.take([0, 1, 6, 8]), b)


def test_many_bad_rows_in_one_group_are_isolated_vectorised(tmp_path):
    """Half the losses below E, prices in (0, 3]: every row's error is the plan's own."""
    loss = np.linspace(1.0, 2.4, 400)
    price = np.linspace(-1.0, 3.0, 5)
    spec = {"axes": {"loss": loss.tolist(), "train_usd_per_gpu_hour": price.tolist()},
            "defaults": {"requests": 1e9, "input_tokens": 100, "output_tokens": 50}}
    out = tmp_path / "rows.parquet"
    cp.sweep(spec, out=out)
    rows = pq.read_table(out).to_pylist()
    bad = [r for r in rows if r["error"] is not None]
    assert len(bad) == sum(1 for r in rows if r["loss"] <= 1.69 or r["train_usd_per_gpu_hour"] <= 0)
    for r in bad[::37]:
        assert r["error"] == _error(_options(r, ("loss", "train_usd_per_gpu_hour", "requests",
                                                 "input_tokens", "output_tokens")))
    good = [r for r in rows if r["error"] is None]
    for r in good[::53]:
        expected = _plan_row(_options(r, ("loss", "train_usd_per_gpu_hour", "requests",
                                          "input_tokens", "output_tokens")))
        assert _same(r["optimal.total_cost_usd"], expected["optimal.total_cost_usd"])


def test_block_size_does_not_change_rows(tmp_path, scenarios):
    spec = {"axes": {"inference_tokens": [1e11, 1e13], "beta": [0.3]}}
    # a CSV times axes: each CSV row with every axis point (CSV varies slowest)
    csv = tmp_path / "s.csv"
    csv.write_text("loss,law\n1.9,\n2.0,hoffmann2022\n1.0,\n2.2,\n")
    tables = [pq.read_table(cp.sweep(dict(spec, scenarios=str(csv)), out=tmp_path / f"{b}.parquet",
                                     block_size=b).out) for b in (1, 3, 1000)]
    assert tables[0].num_rows == 8
    assert _same_tables(tables[0], tables[1]) and _same_tables(tables[0], tables[2])
    assert tables[0].column("loss").to_pylist() == [1.9, 1.9, 2.0, 2.0, 1.0, 1.0, 2.2, 2.2]


def test_defaults_apply_to_every_row_and_rows_win(tmp_path, scenarios):
    out = tmp_path / "rows.parquet"
    cp.sweep(scenarios=scenarios, out=out, law="hoffmann2022")
    rows = pq.read_table(out).to_pylist()
    assert rows[0]["law.name"] == "hoffmann2022"          # the default
    assert rows[8]["law.name"] == "besiroglu2024"         # the row's own value


REDUCTIONS = {"mean": ["ratios.total_flops", "optimal.params"],
              "quantiles": {"columns": ["optimal.params"], "q": [0.1, 0.5, 0.9]},
              "argmin": {"axis": "law", "of": "optimal.total_flops"},
              "saving_exceeds": {"x": [0.01, 0.05]}}


#: Blocks can be short when the argmin axis is the last (its comparisons span 5 scenarios).
STREAMED = REDUCTIONS | {"argmin": {"axis": "inference_tokens", "of": "optimal.total_flops"}}


def test_reductions_equal_the_same_statistics_of_the_rows(tmp_path):
    out = tmp_path / "rows.parquet"
    result = cp.sweep({"axes": AXES, "reductions": REDUCTIONS}, out=out, block_size=3)
    t = pq.read_table(out).to_pylist()
    ok = [r for r in t if r["error"] is None]
    s = result.summary
    assert s["scenarios"] == len(t) and s["ok"] == len(ok)
    ratio = np.array([r["ratios.total_flops"] for r in ok])
    assert s["mean"]["ratios.total_flops"] == pytest.approx(ratio.mean(), rel=1e-12)
    params = np.array([r["optimal.params"] for r in ok])
    assert s["quantiles"]["method"].startswith("exact")
    assert s["quantiles"]["optimal.params"] == pytest.approx(np.quantile(params, [0.1, 0.5, 0.9]),
                                                            rel=1e-12)
    for x in (0.01, 0.05):
        assert s["saving_exceeds"]["probability"][f"{x:g}"] == pytest.approx(
            np.mean(1 - ratio > x), rel=1e-12)
    # argmin over the law axis: for each (loss, demand), which law needs fewer FLOPs
    counts = {"sardana2024": 0, "hoffmann2022": 0}
    undecided = 0
    for j in range(40):
        pair = [t[j], t[40 + j]]
        vals = [r["optimal.total_flops"] for r in pair]
        if all(v is None for v in vals):
            undecided += 1
            continue
        best = min((v, i) for i, v in enumerate(vals) if v is not None)[1]
        counts[pair[best]["law"]] += 1
    assert s["argmin"]["counts"] == counts and s["argmin"]["undecided"] == undecided


def test_sketch_quantiles_are_within_their_relative_accuracy():
    axes = {"loss": {"start": 1.8, "stop": 2.6, "num": 300},
            "inference_tokens": {"start": 1e9, "stop": 1e15, "num": 50, "log": True}}
    red = {"quantiles": {"columns": ["optimal.params", "ratios.total_flops"],
                         "q": [0.0, 0.01, 0.5, 0.99, 1.0]}}
    exact = cp.sweep({"axes": axes, "reductions": red}, block_size=1000).summary["quantiles"]
    acc = 0.002
    sketch = cp.sweep({"axes": axes, "reductions": red | {"exact_quantiles_max": 0,
                                                          "relative_accuracy": acc}},
                      block_size=1000).summary["quantiles"]
    assert sketch["method"].startswith("sketch")
    for col in red["quantiles"]["columns"]:
        for q, e, s in zip(red["quantiles"]["q"], exact[col], sketch[col], strict=True):
            if q in (0.0, 1.0):  # the extremes are data points: within the bucket accuracy
                assert abs(s / e - 1) <= acc * (1 + 1e-9)
            else:  # a rank's bucket: between the neighbouring order statistics, +-acc
                assert abs(s / e - 1) <= acc + 1e-3


def test_interrupted_then_resumed_sweep_gives_the_same_output(tmp_path):
    spec = {"axes": AXES, "reductions": STREAMED}
    whole = cp.sweep(spec, out=tmp_path / "whole.parquet", summary=tmp_path / "whole.json",
                     block_size=10)
    out, summary = tmp_path / "part.parquet", tmp_path / "part.json"

    def stop_after_3(done, total, scenarios):
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cp.sweep(spec, out=out, summary=summary, block_size=10, on_block=stop_after_3)
    assert not out.exists() and (tmp_path / "part.parquet.partial").is_dir()
    with pytest.raises(InputError, match="pass resume to continue"):
        cp.sweep(spec, out=out, summary=summary, block_size=10)
    with pytest.raises(InputError, match="another spec"):
        cp.sweep(spec, out=out, summary=summary, block_size=10, resume=True, E=1.7)
    resumed = cp.sweep(spec, out=out, summary=summary, block_size=10, resume=True)
    assert resumed.blocks_skipped == 3 and resumed.blocks_run == whole.blocks - 3
    assert pq.read_table(out).equals(pq.read_table(tmp_path / "whole.parquet"))
    assert summary.read_text() == (tmp_path / "whole.json").read_text()
    assert resumed.summary == whole.summary
    assert not (tmp_path / "part.parquet.partial").exists()


def test_killed_sweep_resumes_from_the_cli(tmp_path):
    """A sweep killed mid-run (SIGKILL, no clean-up) resumes to the same CSV."""
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"axes": AXES, "block_size": 4, "reductions": STREAMED}))
    CliRunner().invoke(app, ["sweep", str(spec), "--out", str(tmp_path / "whole.csv")])
    script = textwrap.dedent(f"""
        import os, computeplan as cp
        def kill(done, total, n):
            if done == 5:
                os._exit(9)
        cp.sweep({str(spec)!r}, out={str(tmp_path / 'part.csv')!r}, on_block=kill)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert proc.returncode == 9, proc.stderr.decode()
    result = CliRunner().invoke(app, ["sweep", str(spec), "--out", str(tmp_path / "part.csv"),
                                      "--resume"])
    assert result.exit_code == 0, result.output
    assert "(5 already done)" in result.output
    assert (tmp_path / "part.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()


def test_cli_scenarios_with_a_plan_option_as_default(tmp_path, scenarios):
    out = tmp_path / "rows.csv"
    result = CliRunner().invoke(app, ["sweep", "--scenarios", str(scenarios), "--out", str(out),
                                      "--law", "hoffmann2022", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["summary"]["scenarios"] == 9 and data["out"] == str(out)
    import pyarrow.csv as pacsv

    rows = pacsv.read_csv(out).to_pylist()
    assert len(rows) == 9 and rows[0]["law.name"] == "hoffmann2022"
    assert _same(rows[0]["optimal.params"], _plan_row({"loss": 1.947, "law": "hoffmann2022"})[
        "optimal.params"])


def test_yaml_spec_and_human_output(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent("""
        axes:
          loss: {start: 1.9, stop: 2.1, num: 3}
          inference_tokens: [1e11, 1e13]     # YAML reads these as strings: accepted
        defaults: {law: hoffmann2022}
        reductions:
          mean: ratios.total_flops
          saving_exceeds: 0.05
    """))
    result = CliRunner().invoke(app, ["sweep", str(spec)])
    assert result.exit_code == 0, result.output
    assert "6 scenarios: 6 planned, 0 with an error" in result.output
    assert "mean ratios.total_flops" in result.output and "P(1 - ratios.total_flops > 0.05)" in (
        result.output)


@pytest.mark.parametrize(("spec", "message"), [
    ({"axes": {"los": [2.0]}}, "spec axis 'los' is not a plan option; valid: loss, "),
    ({"axes": {"loss": []}}, "spec axis 'loss' is empty; give at least one value"),
    ({"axes": {"loss": {"start": 2, "stop": 3, "num": 0}}}, "num must be a whole number >= 1"),
    ({"axes": {"loss": {"start": 0, "stop": 3, "num": 3, "log": True}}}, "a log range needs"),
    ({"axes": {"loss": [2.0]}, "defaults": {"objective": "flops", "train_gpu": "h100"}},
     "incompatible options in the sweep"),
    ({"axes": {"loss": [2.0], "budget_flops": [1e24]}},
     "incompatible options in the sweep: give one target; got loss and budget_flops"),
    ({"axes": {"train_gpu": ["h100", "h900"], "loss": [2.0]},
      "defaults": {"requests": 1e9, "input_tokens": 1, "output_tokens": 1}},
     "(train_gpu=h900): unknown GPU 'h900'"),
    ({"axes": {"loss": [2.0]}, "defaults": {"loss": 2.1}}, "loss is both an axis and a default"),
    ({"axes": {"loss": [2.0]}, "colour": 1}, "unknown spec key(s) colour"),
    ({"axes": {"loss": [2.0]}, "reductions": {"mean": ["optimal.cost"]}},
     "'optimal.cost' is not a numeric output column"),
    ({"axes": {"loss": [2.0]}, "reductions": {"argmin": {"axis": "law", "of": "optimal.params"}}},
     "no axis 'law'"),
    ({}, "a sweep needs axes in a spec, a scenarios CSV, or both"),
    ({"axes": {"loss": ["2_0"]}}, "spec axis 'loss' value must be a number (digits with an "
                                  "optional point and exponent, e.g. 2, 0.5 or 1.5e21); got '2_0'"),
    ({"axes": {"loss": {"start": "2", "stop": "3", "num": "1_0"}}},
     "spec axis 'loss' num must be a number"),
])
def test_bad_specs_are_one_line_errors(spec, message):
    with pytest.raises(InputError) as exc:
        cp.sweep(spec)
    assert message in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize("cells", [["2_0"], ["2_0", "abc"], ["２"]])
def test_csv_numbers_are_read_as_the_cli_reads_them(tmp_path, cells):
    """A cell Python's float reads but the CLI refuses ('2_0' is 20 to float) is an error row,
    whether or not another cell of the column is malformed too."""
    path = tmp_path / "scenarios.csv"
    path.write_text("loss\n" + "".join(f"{c}\n" for c in cells) + "2.0\n")
    out = tmp_path / "rows.parquet"
    cp.sweep(scenarios=path, out=out)
    rows = pq.read_table(out).to_pylist()
    assert [r["error"] for r in rows] == [
        f"scenarios.csv row {i + 1}: loss must be a number (digits with an optional point and "
        f"exponent, e.g. 2, 0.5 or 1.5e21); got {c!r}" for i, c in enumerate(cells)] + [None]


def test_cli_bad_input_exits_2(tmp_path, scenarios):
    runner = CliRunner()
    spec = tmp_path / "bad.json"
    spec.write_text('{"axes": {"flops": [1]}}')
    result = runner.invoke(app, ["sweep", str(spec)])
    assert result.exit_code == 2 and "is not a plan option" in result.output
    out = tmp_path / "rows.parquet"
    out.write_text("")
    result = runner.invoke(app, ["sweep", "--scenarios", str(scenarios), "--out", str(out)])
    assert result.exit_code == 2 and "already exists; pass --overwrite" in result.output
    result = runner.invoke(app, ["sweep", "--scenarios", str(scenarios), "--out", str(out),
                                 "--overwrite"])
    assert result.exit_code == 0 and pq.read_table(out).num_rows == 9
    result = runner.invoke(app, ["sweep", "--scenarios", str(tmp_path / "none.csv")])
    assert result.exit_code == 2 and "does not exist" in result.output
    result = runner.invoke(app, ["sweep", "--scenarios", str(scenarios), "--workers", "1",
                                 "--scheduler", "tcp://127.0.0.1:1"])
    assert result.exit_code == 2 and "not both" in result.output


SINGLE_PLAN = {"uncertainty": [], "level": ["0.9"], "confidence": ["0.9"],
               "inference_tokens_range": ["1", "2"], "requests_range": ["1", "2"],
               "users_range": ["1", "2"], "train_usd_per_gpu_hour_range": ["1", "2"],
               "inference_usd_per_gpu_hour_range": ["1", "2"]}


def test_options_of_one_plan_are_not_in_sweeps_help_and_are_refused_by_name(scenarios):
    """uncertainty and the ranges are plan options a sweep does not take: hidden from its help,
    and refused as not supported by sweep (not as 'not a plan option'), spelled per shell."""
    from computeplan.commands.plan import SINGLE_PLAN_OPTIONS
    from computeplan.vocabulary import flag

    assert set(SINGLE_PLAN) == set(SINGLE_PLAN_OPTIONS)
    import typer

    params = {p.name: p for p in typer.main.get_command(app).commands["sweep"].params}
    assert not params["loss"].hidden
    assert all(params[name].hidden for name in SINGLE_PLAN)
    runner = CliRunner()
    shown = runner.invoke(app, ["sweep", "--help"], terminal_width=200).output
    assert "--loss" in shown and "--confidence" not in shown and "-range" not in shown
    for name, values in SINGLE_PLAN.items():
        result = runner.invoke(app, ["sweep", "--scenarios", str(scenarios), flag(name), *values])
        assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
        assert result.stderr.startswith(f"error: option '{flag(name)}' is not supported by "
                                        "sweep (it is an option of one plan): "), result.stderr
    with pytest.raises(InputError, match="^option 'requests_range' is not supported by sweep"):
        cp.sweep(scenarios=scenarios, requests_range=(1, 2))
    with pytest.raises(InputError, match="^spec axis 'level' is not supported by sweep"):
        cp.sweep({"axes": {"level": [0.9]}})


def test_cli_exits_1_when_no_scenario_was_planned(tmp_path):
    """Some rows with an error: exit 0; every row: exit 1, the rows written all the same."""
    runner = CliRunner()
    path = tmp_path / "s.csv"
    for losses, code in (("2.0\n1.0\n", 0), ("1.0\n-1\nNaN\n", 1)):
        path.write_text("loss\n" + losses)
        out = tmp_path / "rows.csv"
        for args in ([], ["--json"]):
            result = runner.invoke(app, ["sweep", "--scenarios", str(path), "--out", str(out),
                                         "--overwrite", *args])
            assert result.exit_code == code, result.output
            warned = "warning: no scenario was planned; 3 with an error\n" in result.stderr
            assert warned == (code == 1), result.stderr
            assert len(out.read_text().splitlines()) == 1 + losses.count("\n")


def test_import_computeplan_stays_light():
    code = ("import sys, computeplan; print(sorted(m for m in ('pyarrow', 'dask', 'distributed',"
            " 'yaml', 'computeplan.sweep') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


_PEAK = textwrap.dedent("""
    import resource, sys, computeplan as cp
    n = int(sys.argv[1])
    spec = {"axes": {"loss": {"start": 1.8, "stop": 2.6, "num": 1000},
                     "inference_tokens": {"start": 1e9, "stop": 1e15, "num": n // 1000,
                                          "log": True}},
            "reductions": {"mean": ["ratios.total_flops"], "saving_exceeds": [0.1],
                           "quantiles": ["optimal.params"]}}
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    s = cp.sweep(spec, block_size=16384).summary
    assert s["scenarios"] == n, s
    print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
""")


def test_peak_memory_does_not_grow_with_the_sweep():
    """Reductions only: a sweep 10x larger (sketch quantiles) peaks at the same memory.
    (bench/bench_sweep.py runs 1e8 scenarios and reports the peak, < 1 GiB.)"""
    peaks = []
    for n in (200_000, 2_000_000):
        out = subprocess.run([sys.executable, "-c", _PEAK, str(n)], capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        before, after = map(int, out.stdout.split())
        peaks.append(after)
    growth_mib = (peaks[1] - peaks[0]) / 1024  # ru_maxrss is in KiB on Linux
    assert growth_mib < 32, peaks
    assert math.isfinite(growth_mib)


def test_outputs_never_replace_an_input_and_a_failed_write_keeps_the_old_file(
        tmp_path, scenarios, monkeypatch):
    """Issue 16 item 1 for the sweep: the rows file may not be the scenarios CSV (checked before
    any work), and a write that fails leaves an existing output as it was."""
    with pytest.raises(InputError, match="^out: refusing to overwrite .*input"):
        cp.sweep(scenarios=scenarios, out=scenarios, overwrite=True)
    assert scenarios.read_text() == CSV
    out = tmp_path / "rows.csv"
    out.write_text("old rows\n")

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.replace", full_disk)
    with pytest.raises(InputError, match="cannot write .*No space left on device"):
        cp.sweep(scenarios=scenarios, out=out, overwrite=True)
    monkeypatch.undo()
    assert out.read_text() == "old rows\n"
    assert not [p for p in tmp_path.rglob(".computeplan-*")]


def test_replicate_axis_plans_every_scenario_under_each_replicate_of_the_law(tmp_path):
    """A law ensemble: each row is the plan under one coefficient replicate of the law."""
    from computeplan.laws import get_law

    law = get_law("besiroglu2024")
    spec = {"axes": {"replicate": [0, 7, 999], "inference_tokens": [1e11, 1e13]},
            "defaults": {"law": "besiroglu2024", "reference_params": 1.3e10}}
    out = tmp_path / "rows.parquet"
    cp.sweep(spec, out=out)
    rows = pq.read_table(out).to_pylist()
    assert [r["replicate"] for r in rows] == [0.0, 0.0, 7.0, 7.0, 999.0, 999.0]
    for r in rows:
        coef = dict(zip(("E", "A", "B", "alpha", "beta"), law.replicates[int(r["replicate"])],
                        strict=True))
        expected = _plan_row({"law": "besiroglu2024", "reference_params": 1.3e10,
                              "inference_tokens": r["inference_tokens"]} | coef)
        assert r["error"] is None
        assert all(_same(r[k], v) for k, v in expected.items() if k in r), r
    every = cp.sweep({"axes": {"replicate": "all"}, "defaults": {
        "law": "besiroglu2024", "reference_params": 1.3e10, "inference_tokens": 1e13}})
    assert every.summary["scenarios"] == every.summary["ok"] == len(law.replicates)


@pytest.mark.parametrize("spec, message", [
    ({"axes": {"replicate": "all", "law": ["besiroglu2024", "hoffmann2022"]}},
     "needs one law for every row"),
    ({"axes": {"replicate": "all"}, "defaults": {"law": "hoffmann2022"}},
     "has no coefficient replicates"),
    ({"axes": {"replicate": [1000]}, "defaults": {"law": "besiroglu2024"}},
     "has 1000 replicates (indices 0 to 999)"),
    ({"axes": {"replicate": [0], "E": [1.7]}, "defaults": {"law": "besiroglu2024"}},
     "do not also give E"),
    ({"axes": {"replicate": [-1]}}, "must be 'all' or a list of replicate indices"),
])
def test_bad_replicate_axes_are_one_line_errors(spec, message):
    spec = {**spec, "defaults": {**spec.get("defaults", {}), "reference_params": 1e10}}
    with pytest.raises(InputError) as exc:
        cp.sweep(spec)
    assert message in str(exc.value) and "\n" not in str(exc.value)
