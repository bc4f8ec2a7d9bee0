"""Review fixes in the shells: user errors, non-finite results, plot and law files, GPU files."""

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from computeplan.cli import app
from computeplan.errors import ConvergenceError, InputError

runner = CliRunner()


def cli_error(*args):
    """Run the CLI in-process; assert a one-line ``error: ...`` and exit 2; return the message."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def cli_subprocess(*args):
    """Run the CLI as a user would: stderr is exactly one ``error:`` line (no warnings)."""
    proc = subprocess.run([sys.executable, "-m", "computeplan", *args],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
    return proc.stderr


# ----------------------------------------------------------------------------- 1. user errors
def test_convergence_error_is_a_one_line_error():
    cli_error("plan", "--budget-usd", "1e300", "--requests", "1e9", "--input-tokens", "100",
              "--output-tokens", "100")


def test_overflow_error_is_a_one_line_error():
    err = cli_error("tradeoff", "scaling-policy", "--A", "1e300")
    assert "beyond double precision" in err and "A=1e+300" in err


@pytest.mark.parametrize("exc", [ConvergenceError("root finder did not converge"),
                                 OverflowError(34, "Numerical result out of range")])
def test_command_reports_every_user_error(monkeypatch, exc):
    import importlib

    import numpy as np
    import typer

    app_module = importlib.import_module("computeplan.cli.app")

    local = typer.Typer()
    monkeypatch.setattr(app_module, "app", local)

    @app_module.command("boom")
    def boom(x: float = 1.0):
        np.float64(1e308) * 10  # an overflow warning must not reach stderr
        raise exc

    @app_module.command("other")
    def other():
        pass

    result = runner.invoke(local, ["boom"])
    assert result.exit_code == 2, result.exception
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "Warning" not in result.stderr


def test_no_runtime_warning_leaks_to_stderr():
    err = cli_subprocess("serve", "--params", "7e9", "--batch", "1e300")
    assert "RuntimeWarning" not in err and "batch" in err


# ----------------------------------------------------------------------------- 2. non-finite
@pytest.mark.parametrize("as_json", [True, False])
@pytest.mark.parametrize("args", [["plan", "--inference-tokens", "1e300"],
                                  ["tradeoff", "scaling-policy", "--queries", "1e308"]])
def test_non_finite_result_is_a_one_line_error(args, as_json):
    cli_error(*args, *(["--json"] if as_json else []))


@pytest.mark.parametrize("as_json", [True, False])
def test_emit_refuses_non_finite_for_json_and_tables(as_json):
    from computeplan.cli.app import emit

    drawn = []
    with pytest.raises(InputError, match=r"result optimal\.inference_flops is not finite \(inf\)"):
        emit({"optimal": {"params": 1.0, "inference_flops": float("inf")}}, as_json,
             drawn.append)
    assert not drawn


def test_dumps_raises_input_error_with_key_path():
    from computeplan.render import dumps

    with pytest.raises(InputError, match=r"result a\.b\[1\] is not finite \(nan\)"):
        dumps({"a": {"b": [1.0, float("nan")]}, "c": 2.0})
    assert dumps({"a": [1.0, 2]}, indent=None) == '{"a": [1.0, 2]}'


# ----------------------------------------------------------------------------- 3. plot files
@pytest.mark.parametrize("args", [["serve", "--params", "7e9"], ["tradeoff", "scaling-policy"]])
def test_unwritable_plot_is_a_one_line_error(args):
    err = cli_error(*args, "--plot", "/nonexistent/x.png")
    assert err.startswith("error: --plot: cannot write '/nonexistent/x.png'")


def test_plot_save_helper_closes_the_figure(tmp_path):
    from computeplan.plots import pyplot, save

    plt = pyplot()
    fig = plt.figure()
    with pytest.raises(InputError, match="^plot: cannot write"):  # Python: the option's name
        save(fig, tmp_path / "missing" / "x.png")
    assert not plt.fignum_exists(fig.number)
    out = save(plt.figure(), tmp_path / "x.png")
    assert out.read_bytes().startswith(b"\x89PNG")


# ----------------------------------------------------------------------------- 4. fit --out
EXAMPLE_RUNS = str(Path(__file__).resolve().parents[1] / "examples" / "runs.csv")


@pytest.mark.parametrize("flag", ["--out", "--plot"])
def test_fit_unwritable_output_fails_before_the_fit(flag):
    err = cli_error("fit", EXAMPLE_RUNS, flag, "/nonexistent/x.json")
    assert err.startswith(f"error: {flag}: cannot write '/nonexistent/x.json'")


def test_law_save_unwritable_is_input_error(tmp_path):
    from computeplan.laws import PRESETS

    with pytest.raises(InputError, match="law file: cannot write"):
        PRESETS["hoffmann2022"].save(tmp_path / "missing" / "law.json")


# ----------------------------------------------------------------------------- 5. non-UTF-8
def test_non_utf8_law_file_is_a_one_line_error(tmp_path):
    bad = tmp_path / "law.json"
    bad.write_bytes(b"\xff\xfe")
    assert "not UTF-8" in cli_error("plan", "--law", str(bad))


# ----------------------------------------------------------------------------- 7. law values
def test_law_accepts_numpy_integers_and_null_name():
    import numpy as np

    from computeplan.laws import ChinchillaLaw

    law = ChinchillaLaw(np.int64(2), np.int32(400), 400, np.float32(0.5), 0.3)
    assert law.E == 2.0 and type(law.A) is float
    with pytest.raises(InputError, match="must be a number"):
        ChinchillaLaw(True, 400, 400, 0.3, 0.3)
    data = {"E": 1.7, "A": 400, "B": 400, "alpha": 0.3, "beta": 0.3, "name": None,
            "source": None}
    law = ChinchillaLaw.from_dict(data, name="mine")
    assert law.name == "mine" and law.source == ""


# ----------------------------------------------------------------------------- 8. constants
def test_cli_defaults_are_the_library_constants():
    import inspect

    from computeplan.cli import fit as fit_cli
    from computeplan.cli import hardware as hw_cli
    from computeplan.fitting._objective import DEFAULT_ASYMMETRY
    from computeplan.hardware import serving, shape, training

    serve = inspect.signature(hw_cli.serve).parameters
    assert serve["max_gpus"].default is serving.DEFAULT_MAX_GPUS
    assert serve["aspect_ratio"].default is shape.DEFAULT_ASPECT_RATIO
    for name in ("bandwidth", "compute", "memory"):
        const = getattr(serving, f"DEFAULT_{name.upper()}_FRACTION")
        assert serve[f"{name}_fraction"].default is const
    train = inspect.signature(hw_cli.train).parameters
    assert train["bytes_per_param"].default is training.ADAM_MIXED_PRECISION_BYTES_PER_PARAM
    assert inspect.signature(fit_cli.fit).parameters["asymmetry"].default is DEFAULT_ASYMMETRY


def test_non_utf8_gpu_file_is_a_one_line_error(tmp_path):
    bad = tmp_path / "gpus.toml"
    bad.write_bytes(b"\xff\xfe")
    assert "not UTF-8" in cli_error("gpus", "--gpu-file", str(bad))


@pytest.mark.parametrize(("name", "text", "message"), [
    ("runs.csv", "a,b\n1,2\n", "GPU file '{}' is not valid TOML (a GPU file is TOML, or JSON with "
                              "a .json name): "),
    ("g.toml", "[x\n", "GPU file '{}' is not valid TOML: "),
    ("g.json", "{", "GPU file '{}' is not valid JSON: "),
])
def test_gpu_file_syntax_error_names_the_format_it_was_read_as(tmp_path, name, text, message):
    f = tmp_path / name
    f.write_text(text)
    assert cli_error("gpus", "--gpu-file", str(f)).startswith("error: " + message.format(f))


# ----------------------------------------------------------------------------- 6. GPU files
NEW_GPU = 'memory_gb = 1\nbandwidth_gb_per_s = 1\nusd_per_gpu_hour = 1\n'


@pytest.mark.parametrize(("line", "message"), [
    ("aliases = 5", "aliases must be a list of strings; got 5"),
    ('aliases = "abc"', "aliases must be a list of strings; got 'abc'"),
    ("aliases = [1]", "aliases must be a list of strings"),
    ("peak_tflops = {bf16 = inf}", "peak_tflops.bf16 must be a finite number > 0; got inf"),
    ("peak_tflops = {bf16 = nan}", "peak_tflops.bf16 must be a finite number > 0; got nan"),
    ("peak_tflops = {bf16 = 1e300}", "peak_tflops.bf16 must be a finite number > 0 and < "),
    ("usd_per_hour = 1.0", "unknown field 'usd_per_hour'; valid fields: description, memory_gb, "),
    ("peak_tflops = {bf16 = 1, weird = 5}",
     "peak_tflops has an unknown dtype 'weird'; valid dtypes: fp32, tf32, bf16, "),
])
def test_bad_gpu_file_fields(tmp_path, line, message):
    from computeplan.hardware import load_catalog

    peak = "" if line.startswith("peak") else "peak_tflops = {bf16 = 1}\n"
    f = tmp_path / "g.toml"
    f.write_text(f"[my-gpu]\n{NEW_GPU}{peak}{line}\n")
    with pytest.raises(InputError, match=r"GPU 'my-gpu': " + message.replace("[", r"\[")):
        load_catalog(f)
    assert "error: GPU 'my-gpu': " in cli_error("gpus", "--gpu-file", str(f))


@pytest.mark.parametrize("text", [
    "[h100]\nusd_per_hour = 1.0\n",                 # a typo: not silently the catalog price
    "[h100-sxm]\npeak_tflops = {fp9 = 1}\n",
])
def test_gpu_file_override_with_an_unknown_field_or_dtype_is_refused(tmp_path, text):
    f = tmp_path / "g.toml"
    f.write_text(text)
    message = cli_error("train", "--params", "1e9", "--tokens", "1e10", "--gpu", "h100",
                        "--gpu-file", str(f))
    assert message.startswith("error: GPU 'h100-sxm': ") and "valid " in message


@pytest.mark.parametrize(("text", "message"), [
    ("[a100-80gb]\naliases = ['h100']\n", "GPU 'a100-80gb': alias 'h100' already names GPU "
                                          "'h100-sxm'; choose another alias"),
    (f"[my-gpu]\n{NEW_GPU}peak_tflops = {{bf16 = 1}}\naliases = ['A100-80GB']\n",
     "GPU 'my-gpu': alias 'a100-80gb' already names GPU 'a100-80gb'"),
    (f"[a]\n{NEW_GPU}peak_tflops = {{bf16 = 1}}\naliases = ['x']\n"
     f"[b]\n{NEW_GPU}peak_tflops = {{bf16 = 1}}\naliases = ['x']\n",
     "GPU 'b': alias 'x' already names GPU 'a'"),
])
def test_gpu_file_alias_cannot_take_another_gpus_name(tmp_path, text, message):
    f = tmp_path / "g.toml"
    f.write_text(text)
    assert message in cli_error("train", "--params", "1e9", "--tokens", "1e10", "--gpu", "h100",
                                "--gpu-file", str(f))


def test_gpu_file_override_merges_peaks_and_resolves_aliases(tmp_path):
    from computeplan.hardware import get_gpu, load_catalog

    f = tmp_path / "g.toml"
    f.write_text("[h100-sxm]\npeak_tflops = {FP8 = 2000}\n[H100]\nusd_per_gpu_hour = 2.1\n"
                 f"[my-gpu]\n{NEW_GPU}peak_tflops = {{bf16 = 1}}\naliases = ['Mine']\n"
                 "[h100-pcie]\naliases = ['h100-pcie', 'h100_pcie', 'my-pcie']\n")
    builtin = get_gpu("h100-sxm")
    cat = load_catalog(f)
    h100 = cat["h100-sxm"]
    assert "h100" not in cat and get_gpu("h100", cat) is h100
    assert h100.peak("fp8") == 2000e12 and h100.peak("bf16") == builtin.peak("bf16")
    assert h100.usd_per_gpu_hour == 2.1 and h100.aliases == builtin.aliases
    assert get_gpu("mine", cat).name == "my-gpu"
    assert get_gpu("my-pcie", cat).name == "h100-pcie"  # its own name and aliases: no clash


def test_technique_names_come_from_the_library_list(monkeypatch):
    import importlib

    import typer

    from computeplan import defaults
    from computeplan.tradeoffs import techniques

    # one list: the library's (get_technique's) is the one the CLI reads
    assert techniques.TECHNIQUES is defaults.TECHNIQUES
    app_module = importlib.import_module("computeplan.cli.app")
    cli_tradeoff = importlib.import_module("computeplan.cli.tradeoff")
    monkeypatch.setattr(app_module, "app", typer.Typer())  # reloading registers commands again
    monkeypatch.setattr(defaults, "TECHNIQUES", (*defaults.TECHNIQUES, "new-technique"))
    try:
        assert "new-technique" in {t.value for t in importlib.reload(cli_tradeoff).TechniqueName}
    finally:
        monkeypatch.undo()
        monkeypatch.setattr(app_module, "app", typer.Typer())
        names = importlib.reload(cli_tradeoff).TechniqueName
    assert [t.value for t in names] == list(techniques.TECHNIQUES)
    assert cli_error("tradeoff", "mcts", "--level", "-1e300")


# ----------------------------------------------------------------------------- 9. build
ROOT = Path(__file__).resolve().parents[1]


def test_license_metadata_builds_with_setuptools_77():
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["build-system"]["requires"] == ["setuptools>=77"]  # PEP 639 license expression
    assert meta["project"]["license"] == "MIT"
    assert meta["project"]["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Copyright (c) 2026 computeplan developers" in text


def test_ci_installs_chromium_only_when_missing_and_runs_the_readme_command():
    lines = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    install = next(i for i, line in enumerate(lines) if "apt-get install" in line)
    assert "command -v chromium > /dev/null ||" in " ".join(lines[install - 1:install + 1])
    assert lines[-1] in (ROOT / "README.md").read_text().splitlines()
    assert lines[-1].startswith("python3 -m venv .venv && ")
