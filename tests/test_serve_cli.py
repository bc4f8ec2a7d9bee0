"""CLI for gpus, train and serve: JSON contract, seed-note numbers, plots, one-line errors."""

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from cli_helpers import run_json
from computeplan.cli import app

runner = CliRunner()
TRAIN_KEYS = {"train_flops", "gpu_hours", "wall_clock_days", "cost_usd", "min_gpus_for_state"}
SERVE_KEYS = {"weight_bytes", "kv_cache_bytes_per_token", "min_gpus", "max_batch",
              "decode_seconds_per_token", "tokens_per_second", "usd_per_million_output_tokens",
              "usd_per_million_input_tokens", "critical_batch", "prefill_seconds"}
LLAMA70 = ["--layers", "80", "--d-model", "8192", "--heads", "64", "--kv-heads", "8"]


def test_gpus_lists_catalog_with_sources():
    out = run_json("gpus")
    names = {g["name"] for g in out["gpus"]}
    assert {"a100-40gb", "a100-80gb", "h100-sxm", "h100-pcie", "h200", "b200", "mi300x",
            "l4"} <= names
    assert all(g["price_source"] and g["price_date"] for g in out["gpus"])
    table = runner.invoke(app, ["gpus"])
    assert table.exit_code == 0 and "mi300x" in table.stdout


def test_gpus_with_user_file(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text('[tpu-x]\nmemory_gb = 16\nbandwidth_gb_per_s = 800\n'
                 'peak_tflops = { bf16 = 200 }\nusd_per_gpu_hour = 1.2\n')
    out = run_json("gpus", "--gpu-file", str(f))
    assert out["gpus"][-1]["name"] == "tpu-x"
    served = run_json("serve", "--params", "1e9", "--gpu", "tpu-x", "--gpu-file", str(f))
    assert served["assumptions"]["gpu"] == "tpu-x"


def test_train_json_llama2_7b_implied_mfu():
    out = run_json("train", "--params", "7e9", "--tokens", "2e12", "--gpu", "a100-80gb",
                   "--gpus", "2048", "--gpu-hours", "184320")
    assert TRAIN_KEYS | {"implied_mfu"} <= set(out)
    assert out["train_flops"] == 8.4e22
    assert 0.38 < out["implied_mfu"] < 0.42
    assert out["wall_clock_days"] == 184320 / 2048 / 24


def test_train_json_gpt3_flops_and_table():
    out = run_json("train", "--params", "175e9", "--tokens", "300e9", "--gpu", "a100",
                   "--gpus", "1024", "--mfu", "0.5")
    assert TRAIN_KEYS <= set(out) and "implied_mfu" not in out
    assert 3.1e23 <= out["train_flops"] <= 3.2e23
    assert out["min_gpus_for_state"] == 35
    res = runner.invoke(app, ["train", "--params", "175e9", "--tokens", "300e9"])
    assert res.exit_code == 0 and "GPU-hours" in res.stdout
    assert "1 GPU cannot hold the training state; at least 35" in res.stdout


def test_train_attention_adds_flops():
    base = run_json("train", "--params", "7e9", "--tokens", "1e12")
    attn = run_json("train", "--params", "7e9", "--tokens", "1e12", "--attention",
                    "--context", "4096", "--layers", "32", "--d-model", "4096", "--heads", "32")
    assert attn["train_flops"] - base["train_flops"] == pytest.approx(6 * 32 * 4096 * 4096e12)


def test_serve_json_contract_and_seed_numbers():
    out = run_json("serve", "--params", "70e9", "--gpu", "h100", "--dtype", "fp16",
                   "--batch", "8", "--context", "4096", *LLAMA70)
    assert SERVE_KEYS <= set(out)
    assert out["kv_cache_bytes_per_token"] == 327_680
    assert out["weight_bytes"] == 140e9
    assert out["min_gpus"] == 2
    small = run_json("serve", "--params", "3e9", "--gpu", "a100-40gb", "--dtype", "fp16",
                     "--context", "256")
    assert 0.003 < small["decode_seconds_per_token"] < 0.008
    big = run_json("serve", "--params", "175e9", "--gpu", "a100-80gb", "--dtype", "fp16")
    assert big["min_gpus"] >= 5


def test_serve_table_and_plot(tmp_path):
    png = tmp_path / "serve.png"
    res = runner.invoke(app, ["serve", "--params", "70e9", "--gpu", "h100", "--dtype", "fp8",
                              "--batch", "32", "--context", "1024", *LLAMA70, "--plot", str(png)])
    assert res.exit_code == 0, res.output
    assert "$ per million output tokens" in res.stdout
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("args, message", [
    (["serve", "--params", "7e9", "--gpu", "tpu9"], "unknown GPU 'tpu9'; known GPUs: a100-40gb"),
    (["serve", "--params", "7e9", "--gpu", "a100", "--dtype", "fp8"],
     "GPU a100-80gb has no 'fp8' peak; valid dtypes: bf16, fp16, tf32, int8"),
    (["serve", "--params", "175e9", "--gpu", "a100-40gb", "--dtype", "fp16"],
     "the model does not fit on --max-gpus 8 x a100-40gb"),
    (["serve", "--params", "70e9", "--gpu", "h100", "--dtype", "bf16", "--max-gpus", "1"],
     "the model does not fit on --max-gpus 1 x h100-sxm"),
    (["serve", "--params", "7e9", "--batch", "0"], "--batch must be a whole number >= 1; got 0"),
    (["serve", "--params", "7e9", "--context", "0.5"], "context must be >= 1; got 0.5"),
    (["train", "--params", "7e9", "--tokens", "1e12", "--mfu", "1.2"],
     r"mfu must be in (0, 1]; got 1.2"),
    (["train", "--params", "7e9", "--tokens", "1e12", "--mfu", "0"], r"mfu must be in (0, 1]"),
    (["train", "--params", "7e9", "--tokens", "1e12", "--gpu", "h200", "--gpu-hours", "1"],
     "--gpu-hours 1 is too few"),
    (["train", "--params", "-7e9", "--tokens", "1e12"], "params must be > 0; got -7e+09"),
    (["train", "--params", "7e9", "--tokens", "1e12", "--gpus", "2.5"],
     "gpus must be a whole number >= 1; got 2.5"),
    (["train", "--params", "7e9", "--tokens", "1e12", "--layers", "32"],
     "--layers only matter with --attention"),
])
def test_bad_input_is_one_line_exit_2(args, message):
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    err = res.stderr.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    assert message in err


def test_serve_help_and_real_process():
    proc = subprocess.run([sys.executable, "-m", "computeplan", "serve", "--params", "7e9",
                           "--gpu", "nope"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: unknown GPU 'nope'") and proc.stderr.count("\n") == 1
