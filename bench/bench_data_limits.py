"""Benchmark: 1,000,000 data-limited inference-aware optima in one call (issue 12).

Scenarios: unique tokens U in 1e10-1e13, lifetime inference tokens in 1e9-1e15, target losses
between the lowest loss reachable with U unique tokens and 2.6 (law `sardana2024` with the
Muennighoff et al. 2023 repetition coefficients); about two thirds of them are data-limited.

Measured in the same run, interleaved (the machine is shared, so absolute times drift):
- `computeplan.data_limits.limited_optimal` on all scenarios (median of --repeats);
- `computeplan.lifetime_optimal` (the same scenarios without the limit): the ratio says what the
  limit costs; the issue's 500 ns target is twice the unlimited plan's 250 ns target (issue 2);
- the per-scenario scipy baseline: for each data-limited scenario, `scipy.optimize.brentq` on the
  first-order condition written independently with scalar `math` (bracketed by a scan in log D),
  on a random subset, scaled per scenario; and the largest relative difference of N and D;
- the budget inverse (`limited_budget_optimal` vs `budget_optimal`), no target.

Targets: <= 500 ns per scenario, the same answers as the baseline (relative difference
<= 1e-9). On a loaded machine the absolute time says little: the script also reports the time
relative to the unlimited plan measured in the same run (the 500 ns target is 2x its 250 ns).

Run: .venv/bin/python bench/bench_data_limits.py [--scenarios 1000000] [--baseline 300]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np
from scipy.optimize import brentq

import computeplan as cp
from _timing import once
from computeplan.data_limits import (
    base_params,
    limited_budget_optimal,
    limited_optimal,
    lowest_reachable_loss,
)


def baseline_solve(law, loss, u, r):
    """One data-limited scenario, scalar: brentq on the first-order condition
    alpha A N'^-alpha eps_N D / (D + r) = beta B D'^-beta eps_D (Muennighoff et al. 2023 eq. 5
    on the iso-loss curve; computeplan.data_limits module docstring), written from scratch."""
    a, b, rd, rn = law.alpha, law.beta, law.rd_star, law.rn_star
    delta = loss - law.E
    n_o = float(base_params(law, u))

    def eff(x, base, star):          # x' and dlog x'/dlog x
        if x <= base:
            return x, 1.0
        rep = x / base - 1.0
        e = math.exp(-rep / star)
        xe = base * (1.0 + star * (1.0 - e))
        return xe, x * e / xe

    def inverse(xe, base, star):     # x from x'
        if xe <= base:
            return xe
        w = 1.0 - (xe / base - 1.0) / star
        return math.inf if w <= 0 else base * (1.0 - star * math.log(w))

    def curve(d):                    # N on the iso-loss curve at D = e^d
        dd = math.exp(d)
        de, eps_d = eff(dd, u, rd)
        s = law.B * de**-b / delta
        if s >= 1:
            return math.inf, dd, de, eps_d
        return inverse((law.A / (delta * (1 - s))) ** (1 / a), n_o, rn), dd, de, eps_d

    def foc(d):
        n, dd, de, eps_d = curve(d)
        if not math.isfinite(n):
            return -math.inf
        ne, eps_n = eff(n, n_o, rn)
        return (math.log(a * law.A * ne**-a * eps_n * dd / (dd + r))
                - math.log(b * law.B * de**-b * eps_d))

    lo = math.log(u) - 3.0
    while foc(lo) >= 0:
        lo -= 1.0
    hi = lo
    while foc(hi) < 0:
        lo, hi = hi, hi + 0.25
    d = brentq(foc, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
    return curve(d)[0], math.exp(d)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", type=int, default=1_000_000)
    ap.add_argument("--baseline", type=int, default=300, help="scenarios timed in the loop")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    law = cp.get_law("sardana2024")
    rng = np.random.default_rng(0)
    m = args.scenarios
    u = 10 ** rng.uniform(10, 13, m)
    tokens = 10 ** rng.uniform(9, 15, m)
    floor = lowest_reachable_loss(law, u)
    loss = floor + (2.6 - floor) * rng.uniform(0.05, 1.0, m)

    limited_optimal(law, loss=loss[:10], unique_tokens=u[:10], inference_tokens=tokens[:10])
    lim_t, unl_t = [], []
    for _ in range(args.repeats):      # interleaved: both see the same machine load
        t, plan = once(lambda: limited_optimal(law, loss=loss, unique_tokens=u,
                                                inference_tokens=tokens))
        lim_t.append(t)
        t, free = once(lambda: cp.lifetime_optimal(law, loss=loss, inference_tokens=tokens))
        unl_t.append(t)
    ours, unl = statistics.median(lim_t) / m, statistics.median(unl_t) / m
    binding = free.train_tokens > u

    budget = plan.total_flops
    t_lb, _ = once(lambda: limited_budget_optimal(law, budget=budget, unique_tokens=u,
                                                   inference_tokens=tokens))
    t_ub, _ = once(lambda: cp.budget_optimal(law, budget=budget, inference_tokens=tokens))

    idx = rng.choice(np.flatnonzero(binding), args.baseline, replace=False)
    t0 = time.perf_counter()
    ref = np.array([baseline_solve(law, loss[i], u[i], tokens[i] / 3) for i in idx])
    base = (time.perf_counter() - t0) / args.baseline
    rel_n = np.max(np.abs(plan.params[idx] / ref[:, 0] - 1))
    rel_d = np.max(np.abs(plan.train_tokens[idx] / ref[:, 1] - 1))

    print(f"scenarios:                    {m:,} ({binding.mean():.0%} data-limited; "
          f"{np.median(plan.train_tokens[binding] / u[binding]):.1f} median epochs there)")
    print(f"limited_optimal, median of {args.repeats}: {ours * 1e9:7.1f} ns per scenario "
          f"(target <= 500 ns)  [{min(lim_t):.3f} s best, {max(lim_t):.3f} s worst]")
    print(f"lifetime_optimal (no limit):  {unl * 1e9:7.1f} ns per scenario, same run")
    print(f"ratio limited / unlimited:    {ours / unl:7.2f}x (500 ns / 250 ns targets: 2x)")
    print(f"scipy brentq loop ({args.baseline:,}):     {base * 1e6:7.1f} us per data-limited "
          f"scenario")
    print(f"speed-up over the loop:       {base / ours:7.0f}x")
    print(f"max relative difference:      N {rel_n:.1e}, D {rel_d:.1e} (target <= 1e-9)")
    print(f"budget inverse, limited:      {t_lb / m * 1e9:7.1f} ns per scenario "
          f"({t_lb / t_ub:.2f}x budget_optimal, same run)")
    # The machine is shared: the unlimited plan's own 250 ns target (bench_plan.py) calibrates it.
    scaled = ours / unl * 250e-9
    print(f"scaled to the unlimited plan at its 250 ns target: {scaled * 1e9:.0f} ns per scenario")
    same = max(rel_n, rel_d) <= 1e-9
    print(f"absolute: {'PASS' if ours <= 500e-9 and same else 'MISS'}; relative to the unlimited "
          f"plan (<= 2x): {'PASS' if ours / unl <= 2.0 and same else 'MISS'}")


if __name__ == "__main__":
    main()
