"""Benchmark: dated plans (computeplan.timeline), vectorised, against baselines in the same run.

1. Present-value factors F of 1,000,000 timelines (ramp, exponential growth, tail, price decline,
   discount, all varying) in closed form, against ``scipy.integrate.quad`` of the same shape per
   scenario (timed on a subset and scaled per scenario); the largest relative difference.
2. Dated optima of 100,000 (loss, demand) scenarios: serving at once (one static solve fed the
   effective demand) and with the training time (the self-consistent fixed point), each as a
   ratio to today's undated planner on the same scenarios.

Run: .venv/bin/python bench/bench_timeline.py [--scenarios 1000000] [--baseline 300]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from scipy.integrate import quad

import computeplan as cp
from _timing import timed
from computeplan.timeline import DAYS_PER_YEAR, Timeline, dated_compare


def quad_factor(h, ramp, tail, g, k) -> float:
    """F by adaptive quadrature (years, continuously compounded rates)."""
    def w(s):
        body = min(s / ramp, 1.0) if ramp > 0 else 1.0
        return body * (min(1.0, (h - s) / tail) if tail > 0 else 1.0) * math.exp(g * s)

    pts = sorted({p for p in (ramp, h - tail) if 0 < p < h}) or None
    opts = dict(points=pts, epsabs=0.0, epsrel=1e-12, limit=200)
    return quad(lambda s: w(s) * math.exp(-k * s), 0, h, **opts)[0] / quad(w, 0, h, **opts)[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", type=int, default=1_000_000)
    ap.add_argument("--plans", type=int, default=100_000)
    ap.add_argument("--baseline", type=int, default=300, help="scenarios timed with quad")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    n = args.scenarios
    horizon = rng.uniform(30, 3650, n)
    t = Timeline(horizon_days=horizon, demand_ramp_days=horizon * rng.uniform(0, 0.5, n),
                 demand_tail_days=horizon * rng.uniform(0, 0.5, n),
                 demand_growth_per_year=rng.uniform(-0.5, 3.0, n),
                 price_performance_doubling_years=2.46,
                 discount_rate_per_year=rng.uniform(0, 0.3, n))
    secs, f = timed(t.service_factor, args.repeats)
    idx = rng.choice(n, args.baseline, replace=False)
    hy, ry, ty = (x / DAYS_PER_YEAR for x in (t.horizon_days, t.demand_ramp_days,
                                              t.demand_tail_days))
    g, k = t.growth_rate, t.decline_rate
    t0 = time.perf_counter()
    ref = np.array([quad_factor(hy[i], ry[i], ty[i], g[i], k[i]) for i in idx])
    loop = (time.perf_counter() - t0) / args.baseline
    err = float(np.max(np.abs(f[idx] / ref - 1)))
    print(f"present-value factors: {1e9 * secs / n:.0f} ns per scenario ({n:,}); quad loop "
          f"{1e6 * loop:.0f} us per scenario: {loop / (secs / n):,.0f}x faster; "
          f"max relative difference {err:.1e}")

    law = cp.get_law("sardana2024")
    m = args.plans
    loss = rng.uniform(1.8, 2.6, m)
    demand = cp.Demand.from_tokens(10 ** rng.uniform(9, 15, m))
    base, _ = timed(lambda: cp.compare(law, loss=loss, demand=demand), args.repeats)
    print(f"today's planner (compare): {1e9 * base / m:.0f} ns per scenario ({m:,})")
    for label, s in (("serving at once", None),
                     ("with training time (1,024 H100)", 1024 * 989.4e12 * 0.5)):
        tl = Timeline(horizon_days=730.0, price_performance_doubling_years="all-gpus",
                      discount_rate_per_year=0.1, train_flops_per_second=s)
        secs, _ = timed(lambda tl=tl: dated_compare(law, loss=loss, demand=demand,
                                                    objective=cp.FlopsObjective(),
                                                    timeline=tl), args.repeats)
        print(f"dated plans, {label}: {1e9 * secs / m:.0f} ns per scenario, "
              f"{secs / base:.1f}x today's planner")


if __name__ == "__main__":
    main()
