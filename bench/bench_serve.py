"""Benchmark: the roofline serving model over a grid of scenarios, vectorised vs a per-point loop.

Ours: one `estimate_serving` call over params x batch x context arrays (broadcast), and one
`lifetime_optimal` call with the roofline dollar objective over an array of target losses.

Baseline (measured in the same run): the same functions called once per scenario with scalars,
the way a per-point script (or a calculator with scalar-only functions) would sweep. The loop is
timed on a random subset and scaled per scenario. Both must give the same numbers (relative
difference <= 1e-12 for serving, <= 1e-9 for the planner).

Run: .venv/bin/python bench/bench_serve.py [--baseline 2000]
"""

from __future__ import annotations

import argparse

import numpy as np

from _timing import best
from computeplan import Demand
from computeplan.hardware import Hardware, estimate_serving, estimate_shape, get_gpu
from computeplan.lifetime import lifetime_optimal
from computeplan.objectives import RooflineDollarCost


def serving(baseline: int, rng) -> None:
    hw = Hardware.of(get_gpu("h200"), "fp8")
    params = np.geomspace(1e9, 1e11, 100)[:, None, None]
    batch = np.unique(np.round(np.geomspace(1, 256, 64)))[None, :, None]
    context = np.geomspace(128, 16384, 16)[None, None, :]
    shape = estimate_shape(params, kv_heads=8)

    def vectorised():
        est = estimate_serving(hw, shape, batch=batch, context=context, max_gpus=1024)
        return est, est.usd_per_million_output_tokens

    t_vec, (est, usd) = best(vectorised)
    flat = [np.broadcast_to(x, est.decode_seconds_per_token.shape).ravel()
            for x in (params, batch, context)]
    n_total = flat[0].size
    pick = rng.choice(n_total, size=min(baseline, n_total), replace=False)

    def loop():
        return [float(estimate_serving(hw, estimate_shape(flat[0][i], kv_heads=8),
                                       batch=flat[1][i], context=flat[2][i], max_gpus=1024)
                      .usd_per_million_output_tokens) for i in pick]

    t_loop, out = best(loop, repeat=1)
    ref = usd.ravel()[pick]
    err = float(np.max(np.abs(np.array(out) / ref - 1)))
    per_vec, per_loop = t_vec / n_total, t_loop / len(pick)
    print(f"serving: {n_total:,} scenarios (100 sizes x {batch.size} batches x 16 contexts)")
    print(f"  vectorised  {t_vec * 1e3:8.1f} ms total, {per_vec * 1e9:8.0f} ns per scenario")
    print(f"  loop        {per_loop * 1e6:8.1f} us per scenario ({len(pick)} timed)")
    print(f"  speed-up    {per_loop / per_vec:8.0f}x   max relative difference {err:.1e}")


def planner(baseline: int) -> None:
    cost = RooflineDollarCost(train_gpu="a100-80gb", train_usd_per_gpu_hour=1.40,
                              inference_gpu="a100-40gb", inference_dtype="int8",
                              inference_usd_per_gpu_hour=0.60, batch=64, context=1250,
                              gqa_ratio=8)
    demand = Demand.from_requests(1e10, 1000, 250)
    losses = np.linspace(1.85, 2.6, 10_000)
    t_vec, opt = best(lambda: lifetime_optimal("sardana2024", loss=losses, demand=demand,
                                                cost=cost))
    sub = losses[:: max(1, losses.size // baseline)]
    t_loop, out = best(lambda: [float(lifetime_optimal("sardana2024", loss=x, demand=demand,
                                                        cost=cost).params) for x in sub],
                        repeat=1)
    ref = opt.params[:: max(1, losses.size // baseline)]
    err = float(np.max(np.abs(np.array(out) / ref - 1)))
    per_vec, per_loop = t_vec / losses.size, t_loop / sub.size
    print(f"planner (roofline dollars): {losses.size:,} target losses")
    print(f"  vectorised  {t_vec * 1e3:8.1f} ms total, {per_vec * 1e6:8.1f} us per scenario")
    print(f"  loop        {per_loop * 1e3:8.2f} ms per scenario ({sub.size} timed)")
    print(f"  speed-up    {per_loop / per_vec:8.0f}x   max relative difference {err:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=int, default=2000,
                        help="scenarios timed in the per-point loop")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    serving(args.baseline, rng)
    planner(max(1, args.baseline // 10))


if __name__ == "__main__":
    main()
