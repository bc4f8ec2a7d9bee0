"""Benchmark: plans under law uncertainty (computeplan.uncertainty) against a per-replicate loop.

For the issue's example (the quality of a Chinchilla-optimal 13B model, 1e13 inference tokens;
for dollars 1e10 requests of 1,000 + 250 tokens) with the 1,000 shipped ``besiroglu2024``
replicates, under the FLOPs, fixed-MFU dollar and roofline dollar objectives:

1. ``plan_uncertainty`` in process (1,000 optima vectorised over the replicates, the point plan
   under every replicate and the exact robust plan); targets: under 20 ms (FLOPs, fixed MFU) and
   under 200 ms (roofline);
2. the same 1,000 optima by a loop of ``lifetime_optimal`` calls, one per replicate (timed on a
   subset and scaled per replicate), and the ratio;
3. within a lifetime budget (1e24 FLOPs: every replicate's lowest loss and the robust plan
   within the budget, an exact order-statistic search along the budget curve), against a loop
   of ``budget_optimal`` calls; and at a target loss with a timeline whose training time sets
   each plan's present-value factor (every replicate's and the robust plan's own fixed point),
   against the same plan without the timeline; and with 3e11 unique tokens (every
   replicate's data-limited optimum) against the unlimited plan (no targets: figures for the
   README);
4. ``computeplan plan --uncertainty --json`` from a cold start (a fresh interpreter), target under
   0.6 s, against ``computeplan plan --json`` in the same run.

Run: .venv/bin/python bench/bench_uncertainty.py [--loop 200] [--repeats 7]
"""

from __future__ import annotations

import argparse
import subprocess
import sys

import numpy as np

import computeplan as cp
from _timing import timed
from computeplan.objectives import RooflineDollarCost
from computeplan.timeline import Timeline
from computeplan.uncertainty import plan_uncertainty

LAW = cp.get_law("besiroglu2024")
TARGET = float(LAW.compute_optimal(params=13e9).loss)
REQUESTS = cp.Demand.from_requests(1e10, 1000, 250)
CASES = {
    "flops": (dict(inference_tokens=1e13), 0.020),
    "usd (fixed MFU)": (dict(demand=REQUESTS, cost=cp.DollarCost()), 0.020),
    "usd (roofline)": (dict(demand=REQUESTS, cost=RooflineDollarCost(context=1250.0)), 0.200),
}
BUDGET = 1e24
UNIQUE = 3e11
CLI = ["plan", "--law", "besiroglu2024", "--reference-params", "1.3e10",
       "--inference-tokens", "1e13", "--json"]


def loop(kw, rows):
    return [cp.lifetime_optimal(cp.ChinchillaLaw(*row), loss=TARGET, **kw) for row in rows]


def cold(args, repeats):
    cmd = [sys.executable, "-m", "computeplan", *args]
    return timed(lambda: subprocess.run(cmd, check=True, capture_output=True), repeats)[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loop", type=int, default=200, help="replicates timed in the loop")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--no-cli", action="store_true", help="skip the cold-start timing")
    args = ap.parse_args()
    k = len(LAW.replicates)
    print(f"{k} replicates of {LAW.name}, target loss {TARGET:.5f}")
    for name, (kw, target) in CASES.items():
        plan_uncertainty(LAW, loss=TARGET, **kw)  # warm caches (imports, tables)
        t_vec, u = timed(lambda kw=kw: plan_uncertainty(LAW, loss=TARGET, **kw), args.repeats)
        rows = LAW.replicates[:args.loop]
        t_loop, plans = timed(lambda kw=kw, rows=rows: loop(kw, rows), max(1, args.repeats // 3))
        t_loop *= k / len(rows)
        got = np.asarray(u.optimal.params)[:len(rows)]
        worst = max(abs(float(p.params) / g - 1.0) for p, g in zip(plans, got, strict=True))
        print(f"{name:16s} plan_uncertainty {1e3 * t_vec:7.2f} ms (target < {1e3 * target:g} ms: "
              f"{'met' if t_vec < target else 'MISSED'}); per-replicate loop of the optima alone "
              f"{1e3 * t_loop:8.1f} ms; loop / vectorised {t_loop / t_vec:6.1f}x; "
              f"largest relative difference of N {worst:.1e}")
    kw = CASES["flops"][0]
    plan_uncertainty(LAW, budget=BUDGET, **kw)
    t_vec, u = timed(lambda: plan_uncertainty(LAW, budget=BUDGET, **kw), args.repeats)
    rows = LAW.replicates[:args.loop]
    t_loop, plans = timed(lambda: [cp.budget_optimal(cp.ChinchillaLaw(*row), budget=BUDGET, **kw)
                                   for row in rows], max(1, args.repeats // 3))
    t_loop *= k / len(rows)
    worst = max(abs(float(p.loss) / g - 1.0) for p, g in zip(
        plans, np.asarray(u.optimal.loss)[:len(rows)], strict=True))
    print(f"{'flops, budget':16s} plan_uncertainty {1e3 * t_vec:7.2f} ms (robust plan within "
          f"the budget included); per-replicate loop of the optima alone {1e3 * t_loop:8.1f} "
          f"ms; loop / vectorised {t_loop / t_vec:6.1f}x; largest relative difference of the "
          f"loss {worst:.1e}")
    dated = Timeline(horizon_days=730.0, price_performance_doubling_years=2.46,
                     discount_rate_per_year=0.1, train_flops_per_second=1e18)
    plan_uncertainty(LAW, loss=TARGET, timeline=dated, **kw)
    t_dated, _ = timed(lambda: plan_uncertainty(LAW, loss=TARGET, timeline=dated, **kw),
                       args.repeats)
    t_today, _ = timed(lambda: plan_uncertainty(LAW, loss=TARGET, **kw), args.repeats)
    print(f"{'flops, dated':16s} plan_uncertainty {1e3 * t_dated:7.2f} ms with a training-time "
          f"fixed point per plan; {1e3 * t_today:.2f} ms undated; ratio "
          f"{t_dated / t_today:.1f}x")
    plan_uncertainty(LAW, loss=TARGET, unique_tokens=UNIQUE, **kw)
    t_lim, u = timed(lambda: plan_uncertainty(LAW, loss=TARGET, unique_tokens=UNIQUE, **kw),
                     args.repeats)
    binding = float(np.mean(np.asarray(u.optimal.train_tokens) > UNIQUE))
    print(f"{'flops, 300B uniq':16s} plan_uncertainty {1e3 * t_lim:7.2f} ms with "
          f"{UNIQUE:.0e} unique tokens ({100 * binding:.0f}% of replicates data-limited); "
          f"{1e3 * t_today:.2f} ms unlimited; ratio {t_lim / t_today:.1f}x")
    if not args.no_cli:
        base = cold(CLI, args.repeats)
        t = cold([*CLI, "--uncertainty"], args.repeats)
        print(f"cold start: plan --uncertainty --json {t:.3f} s (target < 0.6 s: "
              f"{'met' if t < 0.6 else 'MISSED'}); plan --json {base:.3f} s; "
              f"ratio {t / base:.2f}")


if __name__ == "__main__":
    main()
