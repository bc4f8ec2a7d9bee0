"""Defaults that follow the hardware and assumptions that stand out (issue 9, item 6)."""

import pytest
from typer.testing import CliRunner

from cli_helpers import run_json
from computeplan.cli import app
from computeplan.hardware import get_gpu
from computeplan.hardware.catalog import INFERENCE_DTYPE_PREFERENCE
from computeplan.objectives import DollarCost

runner = CliRunner()
SPLIT = ("--requests", "1e9", "--input-tokens", "100", "--output-tokens", "100")


@pytest.mark.parametrize("gpu, dtype", [("h100", "fp8"), ("a100-80gb", "int8"),
                                        ("a100-40gb", "int8"), ("b200", "fp8")])
def test_default_inference_dtype_is_the_gpus_best(gpu, dtype):
    g = get_gpu(gpu)
    assert g.inference_dtype == dtype
    # the first of the preference list that the GPU has a peak for
    assert all(d not in g.peak_flops for d in
               INFERENCE_DTYPE_PREFERENCE[:INFERENCE_DTYPE_PREFERENCE.index(dtype)])
    assert DollarCost(inference_gpu=gpu).inference_dtype == dtype


def test_inference_gpu_alone_works_and_says_which_dtype():
    out = run_json("plan", "--inference-gpu", "a100-80gb", *SPLIT)
    assert out["assumptions"]["inference_dtype"] == "int8"
    note, = [n for n in out["notes"] if n.startswith("no --inference-dtype given")]
    assert "int8" in note and "a100-80gb" in note
    # the same default as giving it
    given = run_json("plan", "--inference-gpu", "a100-80gb", "--inference-dtype", "int8", *SPLIT)
    assert given["optimal"] == out["optimal"]


def test_serve_and_plan_assume_the_same_inference_dtype():
    for gpu in ("h100", "a100-80gb"):
        served = run_json("serve", "--params", "7e9", "--gpu", gpu)
        planned = run_json("plan", "--inference-gpu", gpu, *SPLIT)
        assert served["assumptions"]["dtype"] == planned["assumptions"]["inference_dtype"]


def test_decode_mfu_and_serve_batch_stand_out():
    out = run_json("plan", "--train-gpu", "h100", *SPLIT)
    key, = out["key_assumptions"]
    assert "decode MFU 0.01" in key and "--decode-mfu" in key
    assert not any("--decode-mfu" in n for n in out["notes"])  # said once, in the header
    shown = runner.invoke(app, ["plan", "--train-gpu", "h100", *SPLIT]).stdout
    assert shown.splitlines()[0].startswith("assumed decode MFU 0.01")
    # given, or derived by the roofline model: nothing to stress
    assert run_json("plan", "--decode-mfu", "0.2", *SPLIT)["key_assumptions"] == []
    assert run_json("plan", "--decode-model", "roofline", *SPLIT)["key_assumptions"] == []
    assert run_json("plan")["key_assumptions"] == []  # FLOPs: no decode MFU at all

    served = run_json("serve", "--params", "7e9")
    assert served["batch"] == 1 and "batch 1" in served["key_assumptions"][0]
    assert run_json("serve", "--params", "7e9", "--batch", "8")["key_assumptions"] == []
    shown = runner.invoke(app, ["serve", "--params", "7e9"]).stdout
    assert shown.splitlines()[0].startswith("assumed batch 1")


def test_reference_tokens_targets_the_loss_of_that_model():
    from computeplan.commands.plan import plan
    from computeplan.laws import get_law

    law = get_law("sardana2024")
    out = plan(reference_params=8e9, reference_tokens=15e12).to_dict()
    assert out["target_loss"] == pytest.approx(float(law.loss(8e9, 15e12)), rel=1e-12)
    # at the compute-optimal tokens it is the Chinchilla-optimal reference model
    d_opt = float(law.compute_optimal(params=8e9).train_tokens)
    assert plan(reference_params=8e9, reference_tokens=d_opt).to_dict()["target_loss"] == \
        pytest.approx(plan(reference_params=8e9).to_dict()["target_loss"], rel=1e-12)
    # an over-trained reference is better than the Chinchilla-optimal one of its size
    assert out["target_loss"] < plan(reference_params=8e9).to_dict()["target_loss"]


@pytest.mark.parametrize("args, message", [
    (["--reference-tokens", "15e12"], "--reference-tokens needs --reference-params"),
    (["--reference-params", "8e9", "--reference-tokens", "0"],
     "--reference-tokens must be > 0; got 0"),
    (["--loss", "2", "--reference-params", "8e9", "--reference-tokens", "1e12"],
     "give one target; got --loss and --reference-params"),
])
def test_reference_tokens_errors(args, message):
    res = runner.invoke(app, ["plan", *args])
    assert res.exit_code == 2 and message in res.stderr


def test_help_says_which_reference_model_is_meant():
    text = runner.invoke(app, ["plan", "--help"], env={"COLUMNS": "200"}).stdout
    assert "--reference-tokens" in text and "Chinchilla-optimal" in text


def _commands(command, path=()):
    """(path, click command) for the top level and every command below it."""
    yield path, command
    for name, sub in (getattr(command, "commands", None) or {}).items():
        yield from _commands(sub, (*path, name))


def test_help_lists_plan_first():
    import re

    from computeplan.cli.app import app as typer_app

    top = runner.invoke(typer_app, ["--help"], env={"COLUMNS": "120"}).stdout
    commands = re.findall(r"^│ (\w+) ", top.split("Commands")[1], re.M)
    assert commands[0] == "plan" and {"model", "fit", "serve", "sweep"} <= set(commands)


def test_help_shows_no_value_after_any_flag():
    """Flags take no value (``--json true`` is an error), so no help, of any command, shows
    ``<bool>`` (or click's ``BOOLEAN``) after one: ``--help``, ``--json``, ``--uncertainty``,
    ``--chinchilla``, ``--attention``, ``--resume``, ... Each flag's line is found and read."""
    import typer.main

    from computeplan.cli.app import app as typer_app

    commands = list(_commands(typer.main.get_command(typer_app)))
    assert len(commands) >= 12  # the top level and every command
    seen = set()
    for path, command in commands:
        text = runner.invoke(typer_app, [*path, "--help"], env={"COLUMNS": "200"}).stdout
        assert "<bool>" not in text and "BOOLEAN" not in text, path
        for param in command.params:
            if getattr(param, "is_flag", False) and not param.hidden:
                name = max(param.opts, key=len)
                line = next(ln for ln in text.splitlines() if f" {name} " in ln)
                # the flag, then its help text: no type column between them
                after = line.split(name, 1)[1].strip(" │")
                assert after and not after.startswith("<"), (path, line)
                seen.add(name)
    assert {"--json", "--uncertainty", "--chinchilla", "--attention", "--resume",
            "--overwrite"} <= seen
