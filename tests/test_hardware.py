"""GPU catalog, model shape and training cost: seed-note numbers and properties."""

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from computeplan import InputError
from computeplan.hardware import get_gpu, load_catalog
from computeplan.hardware.shape import estimate_shape, explicit_shape, model_shape
from computeplan.hardware.training import (
    estimate_training,
    gpu_hours,
    implied_mfu,
    min_gpus_for_state,
    train_flops,
)

REQUIRED = ["a100-40gb", "a100-80gb", "h100-sxm", "h100-pcie", "h200", "b200", "mi300x", "l4"]
# REFERENCES.md section 7: memory GB, bandwidth GB/s, bf16 TFLOP/s, fp8-or-int8 TFLOP/s (dense).
DATASHEET = {
    "a100-40gb": (40, 1555, 312, 624), "a100-80gb": (80, 2039, 312, 624),
    "h100-sxm": (80, 3350, 989, 1979), "h100-pcie": (80, 2000, 756, 1513),
    "h200": (141, 4800, 989, 1979), "b200": (180, 8000, 2250, 4500),
    "mi300x": (192, 5300, 1307, 2615), "l4": (24, 300, 121, 242),
}


# ----------------------------------------------------------------------------- catalog
def test_catalog_has_required_gpus_with_datasheet_figures():
    cat = load_catalog()
    for name, (mem, bw, bf16, low) in DATASHEET.items():
        g = cat[name]
        assert g.memory_bytes == mem * 1e9 and g.bandwidth_bytes_per_s == bw * 1e9
        assert abs(g.peak("bf16") / 1e12 - bf16) < 1
        low_peak = g.peak("fp8") if "fp8" in g.peak_flops else g.peak("int8")
        assert abs(low_peak / 1e12 - low) < 1
        assert g.usd_per_gpu_hour > 0 and g.price_date and g.price_source


def test_aliases_still_resolve():
    assert get_gpu("h100").name == "h100-sxm"
    assert get_gpu("A100-80GB").name == "a100-80gb"
    assert get_gpu("a100-40gb").name == "a100-40gb"
    assert get_gpu("a100").name == "a100-80gb"


def test_unknown_gpu_lists_known_ones():
    with pytest.raises(InputError, match="unknown GPU 'tpu-v5'; known GPUs: a100-40gb") as e:
        get_gpu("tpu-v5")
    assert "\n" not in str(e.value) and all(n in str(e.value) for n in REQUIRED)


def test_missing_dtype_names_the_valid_ones():
    with pytest.raises(InputError, match="GPU a100-80gb has no 'fp8' peak; valid dtypes: bf16"):
        get_gpu("a100").peak("fp8")


def test_user_file_overrides_and_adds(tmp_path):
    f = tmp_path / "g.json"
    f.write_text(json.dumps({"h100-sxm": {"usd_per_gpu_hour": 1.0},
                             "my-gpu": {"memory_gb": 10, "bandwidth_gb_per_s": 100,
                                        "peak_tflops": {"bf16": 50}, "usd_per_gpu_hour": 0.1}}))
    cat = load_catalog(f)
    assert cat["h100-sxm"].usd_per_gpu_hour == 1.0
    assert cat["h100-sxm"].peak("fp8") == 1979e12  # the rest of the entry is kept
    assert cat["my-gpu"].peak("bf16") == 50e12


# ----------------------------------------------------------------------------- shape
def test_kv_cache_of_70b_gqa_is_327680_bytes_per_token():
    from computeplan.hardware.serving import kv_cache_bytes_per_token

    shape = explicit_shape(layers=80, d_model=8192, heads=64, kv_heads=8)
    assert kv_cache_bytes_per_token(shape, "fp16") == 327_680


def test_aspect_ratio_rule_reproduces_gpt3_shape():
    # GPT-3 175B: 96 layers, d_model 12288 (Brown et al. 2020, Table 2.1).
    s = estimate_shape(175e9)
    assert s.layers == 96
    assert abs(s.d_model / 12288 - 1) < 0.01
    assert s.heads == 96 and abs(s.head_dim / 128 - 1) < 0.01  # 96 heads of 128


@given(st.floats(1e6, 1e13))
def test_estimated_shape_has_whole_heads_near_head_dim_128(n):
    s = estimate_shape(n)
    assert s.heads >= 1 and s.heads == np.round(s.heads)
    assert s.heads == 1 or abs(s.head_dim / 128 - 1) <= 0.5 / s.heads + 1e-12


@given(st.floats(1e6, 1e13))
def test_estimated_shape_keeps_params_exactly(n):
    s = estimate_shape(n)
    assert s.layers >= 1 and s.layers == np.round(s.layers)
    assert np.isclose(12 * s.layers * s.d_model**2, n, rtol=1e-12)


def test_estimated_shape_broadcasts_and_grows():
    s = estimate_shape(np.array([1e8, 1e9, 1e10, 1e11]))
    assert np.all(np.diff(s.layers) > 0) and np.all(np.diff(s.d_model) > 0)


def test_partial_explicit_shape_is_an_error():
    with pytest.raises(InputError, match="missing d_model, heads"):
        model_shape(7e9, layers=32)
    with pytest.raises(InputError, match="kv_heads must be <= heads"):
        explicit_shape(layers=2, d_model=256, heads=2, kv_heads=4)


# ----------------------------------------------------------------------------- training
def test_gpt3_training_flops():
    # GPT-3: 175B parameters, 300B tokens: ~3.1e23 FLOPs (seed notes; Brown et al. 2020).
    c = train_flops(175e9, 300e9)
    assert 3.1e23 <= c <= 3.2e23


def test_llama2_7b_gpu_hours_imply_mfu_near_0_4():
    # Llama-2-7B: 184,320 A100-80GB GPU-hours for 2T tokens (Touvron et al. 2023, Table 2).
    est = estimate_training(get_gpu("a100-80gb"), 7e9, 2e12, hours=184_320, gpus=2048)
    assert 0.38 <= float(est.implied_mfu) <= 0.42
    assert float(est.gpu_hours) == 184_320


def test_175b_training_state_needs_35_a100_80gb():
    # 16 bytes/param (Rajbhandari et al. 2020): 2.8 TB of state -> 35 x 80 GB.
    assert min_gpus_for_state(175e9, 80e9) == 35


@given(st.floats(1e7, 1e12), st.floats(1e9, 1e14), st.floats(0.01, 1.0))
def test_gpu_hours_and_implied_mfu_round_trip(n, d, u):
    peak = 312e12
    c = train_flops(n, d)
    assert np.isclose(implied_mfu(c, gpu_hours(c, peak, u), peak), u, rtol=1e-12)


@given(st.floats(1e7, 1e12), st.floats(1e9, 1e14), st.integers(1, 10_000))
def test_wall_clock_and_cost_scale(n, d, k):
    gpu = get_gpu("h100")
    e = estimate_training(gpu, n, d, gpus=k, mfu=0.5)
    assert np.isclose(e.wall_clock_days * k * 24, e.gpu_hours)
    assert np.isclose(e.cost_usd, e.gpu_hours * gpu.usd_per_gpu_hour)


def test_attention_term_adds_flops():
    base = train_flops(7e9, 1e12)
    with_attn = train_flops(7e9, 1e12, layers=32, context=4096, attention_width=4096)
    assert np.isclose(with_attn - base, 6 * 32 * 4096 * 4096 * 1e12)


@pytest.mark.parametrize("kwargs, message", [
    (dict(mfu=0.0), r"mfu must be in \(0, 1\]; got 0"),
    (dict(mfu=1.5), r"mfu must be in \(0, 1\]; got 1.5"),
    (dict(hours=10.0), r"gpu_hours 10 is too few: it implies MFU .* > 1"),
    (dict(mfu=0.5, hours=100.0), "not both"),
])
def test_training_bad_input(kwargs, message):
    with pytest.raises(InputError, match=message):
        estimate_training(get_gpu("a100"), 7e9, 2e12, **kwargs)
