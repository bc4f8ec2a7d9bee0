"""Serving model: seed-note numbers and roofline properties (hypothesis)."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from computeplan import InputError
from computeplan.hardware import get_gpu, load_catalog
from computeplan.hardware.serving import (
    Hardware,
    decode_gpu_seconds_per_token,
    estimate_serving,
    weight_bytes,
)
from computeplan.hardware.shape import estimate_shape, explicit_shape

GPUS = sorted(load_catalog())
LLAMA2_70B = explicit_shape(layers=80, d_model=8192, heads=64, kv_heads=8, params=70e9)


def hw(gpu="a100-80gb", dtype="fp16", **kw):
    return Hardware.of(get_gpu(gpu), dtype, **kw)


def test_175b_fp16_needs_at_least_five_a100_80gb_for_weights():
    # Seed notes: 175B parameters in fp16 need at least five 80 GB A100s just for the weights.
    w = weight_bytes(175e9, "fp16")
    assert w == 350e9
    assert np.ceil(w / get_gpu("a100-80gb").memory_bytes) == 5
    est = estimate_serving(hw(), estimate_shape(175e9), batch=1, context=2048)
    assert est.min_gpus == 5 and est.gpus == 5
    # At the datasheet memory (memory_fraction 1) four GPUs are still too few.
    est4 = estimate_serving(hw(memory_fraction=1.0), estimate_shape(175e9), context=1)
    assert est4.min_gpus == 5


@pytest.mark.parametrize("gpu, lo_ms, hi_ms", [("a100-40gb", 5.0, 6.5), ("a100-80gb", 3.8, 5.0)])
def test_3b_fp16_decode_step_on_one_a100_is_a_few_ms(gpu, lo_ms, hi_ms):
    # Seed notes: ~6 ms per token in practice. Memory bound: 6 GB of weights read per step at
    # 0.7 x datasheet bandwidth: 5.5 ms on the 40 GB A100 (1555 GB/s), 4.2 ms on the 80 GB one.
    est = estimate_serving(hw(gpu), estimate_shape(3e9), batch=1, context=256)
    assert est.gpus == 1 and not est.compute_bound
    assert lo_ms <= 1e3 * est.decode_seconds_per_token <= hi_ms
    # The datasheet bound (all bandwidth, weights only) is the floor: 3.86 ms on A100-40GB.
    floor = 6e9 / get_gpu(gpu).bandwidth_bytes_per_s
    assert est.decode_seconds_per_token > floor
    # The ~6 ms of the notes corresponds to ~64% of the A100-40GB's bandwidth.
    at_64 = estimate_serving(hw(gpu, bandwidth_fraction=0.64), estimate_shape(3e9), context=1)
    if gpu == "a100-40gb":
        assert abs(1e3 * at_64.decode_seconds_per_token - 6.0) < 0.1


def test_70b_gqa_kv_cache_and_sequence_bytes():
    est = estimate_serving(hw("h100-sxm", "fp16"), LLAMA2_70B, batch=1, context=4096)
    assert est.kv_cache_bytes_per_token == 327_680
    assert est.kv_cache_bytes_per_sequence == 327_680 * 4096


scenario = st.tuples(
    st.sampled_from(GPUS), st.floats(1e8, 2e11), st.floats(1, 32_768),
    st.sampled_from([None, 1, 8]))


def _setup(gpu, n, context, kv_heads):
    assume(kv_heads is None or kv_heads <= float(estimate_shape(n).heads))
    shape = estimate_shape(n, kv_heads=kv_heads)
    h = Hardware.of(get_gpu(gpu), "bf16")
    try:
        one = estimate_serving(h, shape, batch=1, context=context, max_gpus=64)
    except InputError:
        assume(False)
    assume(one.max_batch >= 2)
    batches = np.unique(np.round(np.geomspace(1, one.max_batch, 40)))
    return h, shape, one, estimate_serving(h, shape, batch=batches, context=context,
                                           gpus=one.gpus, max_gpus=64)


@given(scenario)
def test_throughput_rises_until_compute_bound_then_flattens(sc):
    h, shape, one, sweep = _setup(*sc)
    tps = sweep.tokens_per_second
    assert np.all(np.diff(tps) >= -1e-9 * tps[1:])
    mem = ~sweep.compute_bound
    # Memory bound: strictly rising; compute bound: flat at the compute roofline.
    rising = mem[:-1] & mem[1:]
    assert np.all(np.diff(tps)[rising] > 0)
    ceiling = one.gpus * h.peak / shape.forward_flops_per_token(sweep.context)
    assert np.allclose(tps[~mem], ceiling[~mem], rtol=1e-12)
    assert np.all(tps <= ceiling * (1 + 1e-12))
    # The switch happens at the critical batch.
    crit = float(one.critical_batch)
    assert np.all(sweep.batch[~mem] >= crit * (1 - 1e-9))
    assert np.all(sweep.batch[mem] <= crit * (1 + 1e-9))


@given(scenario)
def test_cost_per_token_falls_with_batch(sc):
    _, _, _, sweep = _setup(*sc)
    out = sweep.usd_per_million_output_tokens
    assert np.all(np.diff(out) <= 1e-9 * out[1:])
    assert np.all(out > 0) and np.all(sweep.usd_per_million_input_tokens > 0)


@given(scenario)
def test_decode_step_obeys_both_rooflines_and_memory_fits(sc):
    h, shape, one, sweep = _setup(*sc)
    step = sweep.decode_seconds_per_token
    assert np.all(step >= sweep.weight_bytes / (sweep.gpus * h.bandwidth) * (1 - 1e-12))
    flops = sweep.batch * shape.forward_flops_per_token(sweep.context)
    assert np.all(step >= flops / (sweep.gpus * h.peak) * (1 - 1e-12))
    used = sweep.weight_bytes + sweep.batch * sweep.kv_cache_bytes_per_sequence
    assert np.all(used <= sweep.gpus * h.usable_memory)
    over = sweep.weight_bytes + (one.max_batch + 1) * one.kv_cache_bytes_per_sequence
    assert np.all(over > one.gpus * h.usable_memory)
    # GPU-seconds per token do not depend on the number of GPUs (perfect tensor parallelism).
    per_token = step * sweep.gpus / sweep.batch
    assert np.allclose(per_token, decode_gpu_seconds_per_token(h, shape, sweep.batch,
                                                               sweep.context))


def test_decode_turns_compute_bound_for_gqa_at_short_context():
    est = estimate_serving(hw("h100-sxm", "fp8"), LLAMA2_70B, batch=[1, 512, 1024], context=256,
                           gpus=4)
    crit = float(est.critical_batch[0])
    assert 200 < crit < 300  # W / (F bw_eff / peak_eff - context k) = 241
    assert not est.compute_bound[0] and est.compute_bound[1] and est.compute_bound[2]
    assert np.isclose(est.tokens_per_second[1], est.tokens_per_second[2], rtol=1e-12)
    assert est.usd_per_million_output_tokens[1] < est.usd_per_million_output_tokens[0]


def test_mha_long_context_never_compute_bound():
    est = estimate_serving(hw("a100-40gb"), estimate_shape(3e9), batch=1, context=4096)
    assert np.isinf(est.critical_batch)
    assert est.to_dict()["critical_batch"] is None


@pytest.mark.parametrize("call, message", [
    (lambda: hw("a100-80gb", "fp8"), "GPU a100-80gb has no 'fp8' peak; valid dtypes"),
    (lambda: hw(kv_dtype="fp7"), "kv_dtype must be one of"),
    (lambda: estimate_serving(hw(), estimate_shape(7e9), batch=0), "batch must be > 0; got 0"),
    (lambda: estimate_serving(hw(), estimate_shape(7e9), batch=0.5), "batch must be >= 1"),
    (lambda: estimate_serving(hw(), estimate_shape(7e9), context=0.5), "context must be >= 1"),
    (lambda: estimate_serving(hw(), estimate_shape(7e9), batch=[2, 2.5]),
     "batch must be a whole number of sequences >= 1; got 2.5"),
    (lambda: estimate_serving(hw("a100-40gb"), estimate_shape(175e9)),
     "the model does not fit on max_gpus 8 x a100-40gb: 350 GB of fp16 weights"),
    (lambda: estimate_serving(hw(), estimate_shape(7e9), batch=1e6, gpus=1),
     r"batch must be <= \d+ to fit beside the weights on gpus 1"),
    # the weights and one sequence's KV cache do not fit on the GPUs given: no batch would
    (lambda: estimate_serving(hw("a100-40gb"), estimate_shape(70e9), gpus=1),
     r"the model does not fit on gpus 1 x a100-40gb: 140 GB of fp16 weights .* need 5 GPUs "
     r"at memory_fraction 0.9 \(give gpus >= 5"),
    (lambda: hw(bandwidth_fraction=1.2), r"bandwidth_fraction must be in \(0, 1\]"),
])
def test_serving_bad_input(call, message):
    with pytest.raises(InputError, match=message) as e:
        call()
    assert "\n" not in str(e.value)
